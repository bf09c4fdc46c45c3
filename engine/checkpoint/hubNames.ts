/**
 * Parameter names as AdapterHub's `adapters` library saves them, for a saved adapter folder.
 *
 * The engine's names (engine/model/names.ts) are Hugging Face BertModel names without the
 * `bert.` prefix, plus `…adapter.down|up.…` and the heads of BertForSequenceClassification
 * and BertForQuestionAnswering. In a saved folder:
 *
 * - an adapter is `bert.encoder.layer.{i}.attention.output.adapters.{name}.adapter_down.0.…`
 *   and `….adapter_up.…` (`….output.adapters.…` at the feed-forward site): AdapterHub's
 *   bottleneck module keeps its down projection as the first entry of an nn.Sequential
 *   (linear, then the non-linearity) and its up projection as a plain Linear;
 * - a head is `heads.{name}.1.weight|bias`: AdapterHub's prediction heads are nn.Sequential
 *   stacks [Dropout, Linear] for one layer, and only the `heads.{name}.` form is read back
 *   by its head loader together with head_config.json (Hugging Face's `classifier.weight`
 *   would load into BertForSequenceClassification only, which reads no head config);
 * - every other weight (layer norms, top-k layers, full fine-tuning, the pooler) is
 *   `bert.` + the engine's name, the key it has in BertAdapterModel and BertFor* models.
 *
 * Both directions are pure. For one adapter name and head kind the mapping is a bijection
 * between the engine's parameter names and their hub names: `toInternal` accepts exactly
 * the names `toHub` produces.
 */
import * as names from '../model/names';

/** The head kinds a saved folder can hold; classification and regression share one linear head. */
export type HeadKind = 'classification' | 'regression' | 'span';

export interface HubNaming {
  /** The adapter (and head) name inside the hub names. */
  readonly adapterName: string;
  toHub(internal: string): string;
  /** The engine's name for a hub name, or undefined when `toHub` produces no such name. */
  toInternal(hub: string): string | undefined;
}

/**
 * The index of the head's linear layer in AdapterHub's head stack: a dropout comes first.
 * The head config written with it names a dropout rate, so the stack is built that way.
 */
export const HEAD_LINEAR_INDEX = 1;

const ADAPTER = /^encoder\.layer\.(\d+)\.(attention\.output|output)\.adapter\.(down|up)\.(weight|bias)$/;
const HUB_ADAPTER = /^bert\.encoder\.layer\.(\d+)\.(attention\.output|output)\.adapters\.(.+)\.(adapter_down\.0|adapter_up)\.(weight|bias)$/;
const HEAD_SUFFIXES = ['weight', 'bias'] as const;

/**
 * Whether a name can be an adapter name in AdapterHub: a key of a torch ModuleDict, so not
 * empty and without dots; kept to characters that survive file names and URLs.
 */
export function isValidAdapterName(name: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(name);
}

/** An adapter name made from an experiment name (other characters become `_`). */
export function adapterNameFrom(text: string): string {
  const safe = text.replace(/[^A-Za-z0-9_-]+/g, '_').replace(/^_+|_+$/g, '');
  return safe || 'adapter';
}

export function hubNaming(adapterName: string, head: HeadKind): HubNaming {
  if (!isValidAdapterName(adapterName)) throw new Error(`"${adapterName}" is not a valid adapter name (letters, digits, _ and - only)`);
  const headWeights = head === 'span' ? names.qaOutputs : names.classifier;
  const headPrefix = `heads.${adapterName}.${HEAD_LINEAR_INDEX}.`;

  const toHub = (internal: string): string => {
    const a = ADAPTER.exec(internal);
    if (a) {
      const [, layer, site, proj, kind] = a;
      return `bert.encoder.layer.${layer}.${site}.adapters.${adapterName}.${proj === 'down' ? 'adapter_down.0' : 'adapter_up'}.${kind}`;
    }
    for (const suffix of HEAD_SUFFIXES) if (internal === headWeights[suffix]) return headPrefix + suffix;
    return `bert.${internal}`;
  };

  const candidate = (hub: string): string | undefined => {
    const a = HUB_ADAPTER.exec(hub);
    if (a) {
      const [, layer, site, name, proj, kind] = a;
      return name === adapterName ? `encoder.layer.${layer}.${site}.adapter.${proj === 'adapter_up' ? 'up' : 'down'}.${kind}` : undefined;
    }
    if (hub.startsWith(headPrefix)) {
      const suffix = hub.slice(headPrefix.length);
      return suffix === 'weight' || suffix === 'bias' ? headWeights[suffix] : undefined;
    }
    return hub.startsWith('bert.') ? hub.slice('bert.'.length) : undefined;
  };

  return {
    adapterName,
    toHub,
    // Accepting only what toHub gives back keeps the mapping one-to-one: `bert.classifier.weight`
    // or `bert.…adapter.down.weight` have no preimage, because toHub names those differently.
    toInternal: (hub) => {
      const internal = candidate(hub);
      return internal !== undefined && toHub(internal) === hub ? internal : undefined;
    },
  };
}
