/**
 * Parameter names. Base-model weights use Hugging Face's BertModel names without the
 * `bert.` prefix; linear weights are stored [out, in] as Hugging Face stores them
 * (y = x·Wᵀ + b). Adapters and heads follow the same conventions.
 */
import type { AdapterSite } from './parameters';

export const embeddings = {
  word: 'embeddings.word_embeddings.weight',
  position: 'embeddings.position_embeddings.weight',
  tokenType: 'embeddings.token_type_embeddings.weight',
  lnWeight: 'embeddings.LayerNorm.weight',
  lnBias: 'embeddings.LayerNorm.bias',
} as const;

/** Weights of encoder layer `i`. */
export function layer(i: number) {
  const p = `encoder.layer.${i}`;
  return {
    query: { weight: `${p}.attention.self.query.weight`, bias: `${p}.attention.self.query.bias` },
    key: { weight: `${p}.attention.self.key.weight`, bias: `${p}.attention.self.key.bias` },
    value: { weight: `${p}.attention.self.value.weight`, bias: `${p}.attention.self.value.bias` },
    attentionOutput: { weight: `${p}.attention.output.dense.weight`, bias: `${p}.attention.output.dense.bias` },
    attentionLn: { weight: `${p}.attention.output.LayerNorm.weight`, bias: `${p}.attention.output.LayerNorm.bias` },
    intermediate: { weight: `${p}.intermediate.dense.weight`, bias: `${p}.intermediate.dense.bias` },
    output: { weight: `${p}.output.dense.weight`, bias: `${p}.output.dense.bias` },
    outputLn: { weight: `${p}.output.LayerNorm.weight`, bias: `${p}.output.LayerNorm.bias` },
  };
}

/**
 * The adapter of layer `i` at a site: `down` is [m, d], `up` is [d, m]; the variants add an
 * inner layer norm, hidden layers and a learned scaling (engine/model/adapterVariant.ts). The attention
 * adapter sits in `attention.output` (after the output projection, before the residual
 * add and layer norm); the feed-forward adapter in `output`.
 */
export function adapter(i: number, site: AdapterSite) {
  return adapterAt(`${siteModule(i, site)}.adapter`);
}

/** The module of layer `i` that holds a site's adapters: the attention output, or the layer's output. */
function siteModule(i: number, site: AdapterSite): string {
  return `encoder.layer.${i}.${site === 'attention' ? 'attention.output' : 'output'}`;
}

function adapterAt(p: string) {
  return {
    down: { weight: `${p}.down.weight`, bias: `${p}.down.bias` },
    up: { weight: `${p}.up.weight`, bias: `${p}.up.bias` },
    /** The layer norm inside the adapter, before the down projection (`inner_norm: layernorm`): [d]. */
    norm: { weight: `${p}.LayerNorm.weight`, bias: `${p}.LayerNorm.bias` },
    /** Hidden layer k of a deeper bottleneck (`depth` > 1), after the down projection: [m, m]. */
    hidden: (k: number) => ({ weight: `${p}.hidden.${k}.weight`, bias: `${p}.hidden.${k}.bias` }),
    /** The learned scaling of the adapter's output (`scaling: learned`): [1]. */
    scaling: `${p}.scaling`,
  };
}

export type AdapterNames = ReturnType<typeof adapter>;

/**
 * A fused adapter of layer `i` at a site (AdapterFusion): the same parts as `adapter`, under
 * the adapter's own name, so that several adapters sit side by side (AdapterHub's
 * `adapters.{name}`).
 */
export function fusedAdapter(name: string, i: number, site: AdapterSite): AdapterNames {
  return adapterAt(`${siteModule(i, site)}.adapters.${name}`);
}

/**
 * The fusion layer of layer `i` at a site (AdapterHub's `adapter_fusion_layer`, without the
 * fusion's name, which joins the fused adapters' names): query and key [d, d] with biases,
 * value [d, d] without one.
 */
export function fusion(i: number, site: AdapterSite) {
  const p = `${siteModule(i, site)}.adapter_fusion_layer`;
  return {
    query: { weight: `${p}.query.weight`, bias: `${p}.query.bias` },
    key: { weight: `${p}.key.weight`, bias: `${p}.key.bias` },
    value: { weight: `${p}.value.weight` },
  };
}

export const pooler = { weight: 'pooler.dense.weight', bias: 'pooler.dense.bias' } as const;
/** Sequence classification and regression head (as BertForSequenceClassification). */
export const classifier = { weight: 'classifier.weight', bias: 'classifier.bias' } as const;
/** Span head: start and end logits per token (as BertForQuestionAnswering). */
export const qaOutputs = { weight: 'qa_outputs.weight', bias: 'qa_outputs.bias' } as const;
/**
 * Masked-LM head (as BertForMaskedLM's `cls.predictions`): a transform (dense, GELU, layer
 * norm), then the decoder, whose weight is the word-embedding matrix (tied) plus its own bias.
 */
export const mlmHead = {
  transform: { weight: 'cls.predictions.transform.dense.weight', bias: 'cls.predictions.transform.dense.bias' },
  layerNorm: { weight: 'cls.predictions.transform.LayerNorm.weight', bias: 'cls.predictions.transform.LayerNorm.bias' },
  bias: 'cls.predictions.bias',
} as const;
