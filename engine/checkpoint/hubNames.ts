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
 * - the variants follow the same module layout (AdapterHub's `Adapter`): an inner layer norm
 *   (`ln_before`) is the first entry of that Sequential, so the down projection moves to
 *   `adapter_down.1` (AdapterHub's state dict also names the norm `adapter_norm_before`,
 *   read as the same tensor); a learned scaling is `….adapters.{name}.scaling`; the hidden
 *   layers of a deeper bottleneck, which AdapterHub lacks, continue the Sequential after the
 *   down projection's non-linearity (`adapter_down.{2k}` for the k-th linear layer);
 * - a head is `heads.{name}.1.weight|bias`: AdapterHub's prediction heads are nn.Sequential
 *   stacks [Dropout, Linear] for one layer, and only the `heads.{name}.` form is read back
 *   by its head loader together with head_config.json (Hugging Face's `classifier.weight`
 *   would load into BertForSequenceClassification only, which reads no head config);
 * - a masked-LM head (a language adapter's) is AdapterHub's `BertStyleMaskedLMHead`, the
 *   stack [Linear d→d, GELU, LayerNorm, Linear d→vocab]: BertForMaskedLM's transform is
 *   `heads.{name}.0.…`, its layer norm `heads.{name}.2.…` and the decoder's bias
 *   `heads.{name}.3.bias`. The decoder's weight is the word-embedding matrix (tied), so it
 *   is not written; `heads.{name}.3.weight`, which AdapterHub's state dict also holds, is
 *   read as an alias of `bert.embeddings.word_embeddings.weight` (loading it there is what
 *   the tie does in AdapterHub too);
 * - every other weight (layer norms, top-k layers, full fine-tuning, the pooler) is
 *   `bert.` + the engine's name, the key it has in BertAdapterModel and BertFor* models.
 *
 * Both directions are pure. For one adapter name, head kind and adapter layout the mapping
 * is a bijection between the engine's parameter names and their hub names: `toInternal`
 * accepts exactly the names `toHub` produces, and the aliases `aliases` lists.
 *
 * The AdapterHub configurations, in the engine's settings (adapterFolder.ts maps the config):
 *
 * | AdapterHub | sites | placement | input | non_linearity | size | scaling |
 * | --- | --- | --- | --- | --- | --- | --- |
 * | `double_seq_bn` (Houlsby) | attention, ffn | serial | output | swish | hidden // 16 | 1.0 |
 * | `seq_bn` (Pfeiffer) | ffn | serial | normalized (`original_ln_before`) | relu | hidden // 16 | 1.0 |
 * | `par_bn` (He et al.) | ffn | parallel (`is_parallel`) | the sub-layer's input | relu | hidden // 2 | 4.0 |
 *
 * All three name their weights alike: `adapter_down.0` and `adapter_up` at
 * `attention.output` (`mh_adapter`) and `output` (`output_adapter`); `ln_before` adds the
 * norm at `adapter_down.0`, `scaling: learned` adds `scaling`.
 */
import * as names from '../model/names';

/** The head kinds a saved folder can hold; classification and regression share one linear head. */
export type HeadKind = 'classification' | 'regression' | 'span' | 'mlm';

export interface HubNaming {
  /** The adapter (and head) name inside the hub names. */
  readonly adapterName: string;
  toHub(internal: string): string;
  /** The engine's name for a hub name, or undefined when neither `toHub` nor `aliases` gives it. */
  toInternal(hub: string): string | undefined;
  /** Other hub names that hold the same tensor in AdapterHub's state dicts (read, never written). */
  aliases(internal: string): readonly string[];
}

/** What inside the adapters changes their hub names. */
export interface HubLayout {
  /** An inner layer norm (`ln_before`) takes `adapter_down.0`. */
  readonly innerNorm: boolean;
  /** Hidden layers in the bottleneck. */
  readonly depth: number;
}

const HOULSBY_LAYOUT: HubLayout = { innerNorm: false, depth: 1 };

/**
 * The index of the head's linear layer in AdapterHub's head stack: a dropout comes first.
 * The head config written with it names a dropout rate, so the stack is built that way.
 */
export const HEAD_LINEAR_INDEX = 1;

/** The masked-LM head's parameters at their index in AdapterHub's BertStyleMaskedLMHead stack. */
const MLM_HEAD_HUB: readonly (readonly [string, string])[] = [
  [names.mlmHead.transform.weight, '0.weight'],
  [names.mlmHead.transform.bias, '0.bias'],
  [names.mlmHead.layerNorm.weight, '2.weight'],
  [names.mlmHead.layerNorm.bias, '2.bias'],
  [names.mlmHead.bias, '3.bias'],
];

/** The tied decoder weight's place in that stack: the word embeddings under another name. */
const MLM_DECODER_HUB = '3.weight';

const ADAPTER = /^encoder\.layer\.(\d+)\.(attention\.output|output)\.adapter\.(.+)$/;
const HUB_ADAPTER = /^bert\.encoder\.layer\.(\d+)\.(attention\.output|output)\.adapters\.([^.]+)\.(.+)$/;
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

export function hubNaming(adapterName: string, head: HeadKind, layout: HubLayout = HOULSBY_LAYOUT): HubNaming {
  if (!isValidAdapterName(adapterName)) throw new Error(`"${adapterName}" is not a valid adapter name (letters, digits, _ and - only)`);
  const headPrefix = `heads.${adapterName}.`;
  // The head's engine names and their names after `heads.{name}.`.
  const headPairs: readonly (readonly [string, string])[] =
    head === 'mlm' ? MLM_HEAD_HUB : HEAD_SUFFIXES.map((s) => [(head === 'span' ? names.qaOutputs : names.classifier)[s], `${HEAD_LINEAR_INDEX}.${s}`] as const);
  const headToHub = new Map(headPairs);
  const headToInternal = new Map(headPairs.map(([a, b]) => [b, a]));
  // The Sequential adapter_down: [LayerNorm,] Linear, act, (Linear, act)…: linear layer k is entry first + 2k.
  const first = layout.innerNorm ? 1 : 0;

  /** An adapter parameter's name inside the adapter module, from the engine's suffix (`down.weight`, …). */
  const hubSuffix = (suffix: string): string | undefined => {
    let m = /^(down|up|LayerNorm)\.(weight|bias)$/.exec(suffix);
    if (m) return m[1] === 'down' ? `adapter_down.${first}.${m[2]}` : m[1] === 'up' ? `adapter_up.${m[2]}` : `adapter_down.0.${m[2]}`;
    m = /^hidden\.(\d+)\.(weight|bias)$/.exec(suffix);
    if (m) return `adapter_down.${first + 2 * (Number(m[1]) + 1)}.${m[2]}`;
    return suffix === 'scaling' ? 'scaling' : undefined;
  };
  const engineSuffix = (suffix: string): string | undefined => {
    if (suffix === 'scaling') return 'scaling';
    let m = /^adapter_up\.(weight|bias)$/.exec(suffix);
    if (m) return `up.${m[1]}`;
    m = /^adapter_norm_before\.(weight|bias)$/.exec(suffix);
    if (m) return layout.innerNorm ? `LayerNorm.${m[1]}` : undefined;
    m = /^adapter_down\.(\d+)\.(weight|bias)$/.exec(suffix);
    if (!m) return undefined;
    const index = Number(m[1]);
    if (layout.innerNorm && index === 0) return `LayerNorm.${m[2]}`;
    const k = (index - first) / 2;
    if (!Number.isInteger(k) || k < 0 || k >= layout.depth) return undefined;
    return k === 0 ? `down.${m[2]}` : `hidden.${k - 1}.${m[2]}`;
  };

  const toHub = (internal: string): string => {
    const a = ADAPTER.exec(internal);
    const suffix = a ? hubSuffix(a[3]!) : undefined;
    if (a && suffix) return `bert.encoder.layer.${a[1]}.${a[2]}.adapters.${adapterName}.${suffix}`;
    const h = headToHub.get(internal);
    if (h) return headPrefix + h;
    return `bert.${internal}`;
  };

  const aliases = (internal: string): string[] => {
    if (head === 'mlm' && internal === names.embeddings.word) return [headPrefix + MLM_DECODER_HUB];
    const a = ADAPTER.exec(internal);
    const m = a && layout.innerNorm ? /^LayerNorm\.(weight|bias)$/.exec(a[3]!) : null;
    return a && m ? [`bert.encoder.layer.${a[1]}.${a[2]}.adapters.${adapterName}.adapter_norm_before.${m[1]}`] : [];
  };

  const candidate = (hub: string): string | undefined => {
    const a = HUB_ADAPTER.exec(hub);
    if (a) {
      const [, layer, site, name, rest] = a;
      const suffix = name === adapterName ? engineSuffix(rest!) : undefined;
      return suffix ? `encoder.layer.${layer}.${site}.adapter.${suffix}` : undefined;
    }
    if (hub.startsWith(headPrefix)) {
      const suffix = hub.slice(headPrefix.length);
      return head === 'mlm' && suffix === MLM_DECODER_HUB ? names.embeddings.word : headToInternal.get(suffix);
    }
    return hub.startsWith('bert.') ? hub.slice('bert.'.length) : undefined;
  };

  return {
    adapterName,
    toHub,
    aliases,
    // Accepting only what toHub (or an alias) gives back keeps the mapping one-to-one:
    // `bert.classifier.weight` or `bert.…adapter.down.weight` have no preimage, because toHub
    // names those differently.
    toInternal: (hub) => {
      const internal = candidate(hub);
      return internal !== undefined && (toHub(internal) === hub || aliases(internal).includes(hub)) ? internal : undefined;
    },
  };
}
