/**
 * Parameter counting: the one place that knows how many weights a BERT model, its
 * adapters, layer norms and heads have, and which of them a method trains. The language
 * server's hints and hover and the engine's run records both use it.
 */
import type { BertDims } from './dims';

/** AdapterFusion's layer (engine/model/fusion.ts): with a value matrix (`dynamic`) or without (`static`). */
export type FusionConfig = 'dynamic' | 'static';

/** Parameters of one fusion layer: query and key with biases, and a value without one (dynamic): `3d² + 2d`; static `2d² + 2d`. */
export function fusionParameterCount(config: FusionConfig, d: number): number {
  return (config === 'dynamic' ? 3 : 2) * d * d + 2 * d;
}

export type TrainMethod = 'adapter' | 'full' | 'top_k' | 'layernorm' | 'fusion';
export type HeadKind = 'classification' | 'regression' | 'span' | 'mlm';
export type AdapterSite = 'attention' | 'ffn';

/** What inside an adapter changes its parameter count (engine/model/adapterVariant.ts). */
export interface AdapterShape {
  /** A layer norm before the down projection: 2·d. */
  readonly innerNorm: boolean;
  /** Hidden layers in the bottleneck; each beyond the first adds an m→m layer: m² + m. */
  readonly depth: number;
  /** A learned scaling: 1. */
  readonly learnedScaling: boolean;
}

/**
 * Parameters of one bottleneck adapter `h + W_up f(W_down h + b_down) + b_up`: 2·m·d + d + m,
 * plus 2·d for an inner layer norm, (depth − 1)·(m² + m) for hidden layers and 1 for a
 * learned scaling.
 */
export function adapterParameterCount(hiddenSize: number, bottleneck: number, shape?: AdapterShape): number {
  const d = hiddenSize;
  const m = bottleneck;
  let n = 2 * m * d + d + m;
  if (shape?.innerNorm) n += 2 * d;
  if (shape && shape.depth > 1) n += (shape.depth - 1) * (m * m + m);
  if (shape?.learnedScaling) n += 1;
  return n;
}

export interface BaseParameterCounts {
  readonly embeddings: number;
  readonly perLayer: number;
  readonly pooler: number;
  /** Layer norms only: the embeddings' and two per layer. */
  readonly layerNorms: number;
  /** BertModel with pooler, as Hugging Face counts it. */
  readonly total: number;
}

export function baseParameterCounts(d: BertDims): BaseParameterCounts {
  const h = d.hiddenSize;
  const ln = 2 * h;
  const embeddings = (d.vocabSize + d.maxPositions + d.typeVocabSize) * h + ln;
  const attention = 4 * (h * h + h) + ln;
  const ffn = h * d.intermediateSize + d.intermediateSize + d.intermediateSize * h + h + ln;
  const perLayer = attention + ffn;
  const pooler = h * h + h;
  return { embeddings, perLayer, pooler, layerNorms: ln + 2 * ln * d.layers, total: embeddings + perLayer * d.layers + pooler };
}

/** Head parameters: a linear layer on the pooled output, one regression output, or start/end logits. */
export function headParameterCount(hiddenSize: number, kind: HeadKind, numLabels: number): number {
  switch (kind) {
    case 'classification':
      return hiddenSize * numLabels + numLabels;
    case 'regression':
      return hiddenSize + 1;
    case 'span':
      return 2 * hiddenSize + 2;
    case 'mlm':
      // The decoder's bias, one per vocabulary entry (numLabels); its weight is the tied word embeddings.
      return numLabels;
  }
}

/** The masked-LM head's transform (dense d→d and its layer norm): trained like the pooler, with the top layers. */
export function mlmTransformCount(hiddenSize: number): number {
  return hiddenSize * hiddenSize + 3 * hiddenSize;
}

export interface TrainingPlan {
  readonly method: TrainMethod;
  readonly adapterSize: number;
  readonly sites: readonly AdapterSite[];
  /** Layers that hold adapters after static AdapterDrop. */
  readonly adapterLayers: readonly number[];
  readonly trainLayerNorm: boolean;
  /** The adapters' inner shape; Houlsby's when absent. */
  readonly adapterShape?: AdapterShape;
  /** One adapter per site serves every adapter layer (`share: all_layers`): counted once. */
  readonly sharedAdapters?: boolean;
  readonly topK: number;
  readonly head: HeadKind;
  readonly numLabels: number;
  /** Head parts the run drew itself beyond its usual head (a pooler the checkpoint lacks), trained with it. */
  readonly createdHeadParameters?: number;
  /** `method: fusion`: the fusion layers (trained) and the fused adapters' own parameters (frozen). */
  readonly fusion?: { readonly config: FusionConfig; readonly fusionLayers: number; readonly adapterParameters: number };
}

export interface ParameterCounts {
  /** The pretrained model (BertModel with pooler). */
  readonly base: number;
  /** The bottleneck size m the counts are for. */
  readonly adapterSize: number;
  readonly perAdapter: number;
  /** Distinct adapters: sites × layers, or the sites alone when shared. */
  readonly adapterCount: number;
  /** New adapter parameters (zero unless the method is `adapter`). */
  readonly adapters: number;
  /** Trained layer-norm parameters. */
  readonly layerNorms: number;
  /** The new task head. */
  readonly head: number;
  /** Pretrained weights that are fine-tuned (full and top_k). */
  readonly fineTuned: number;
  /** Fusion layers' parameters, trained (`method: fusion`; 0 otherwise): 3d² + 2d per site dynamic, 2d² + 2d static. */
  readonly fusion: number;
  /** The fused adapters' parameters, frozen (`method: fusion`; 0 otherwise). */
  readonly fusedAdapters: number;
  readonly trainable: number;
  /** Trainable parameters as a percentage of the base model. */
  readonly percentOfBase: number;
}

export function countParameters(dims: BertDims, plan: TrainingPlan): ParameterCounts {
  const base = baseParameterCounts(dims);
  const h = dims.hiddenSize;
  const perAdapter = adapterParameterCount(h, plan.adapterSize, plan.adapterShape);
  const head = headParameterCount(h, plan.head, plan.numLabels) + (plan.createdHeadParameters ?? 0);
  // The span head reads token outputs, so the pooler gets no gradient there; a masked-LM model
  // has none, and its head's transform sits where the pooler would.
  const poolerTrained = plan.head === 'span' ? 0 : plan.head === 'mlm' ? mlmTransformCount(h) : base.pooler;
  // Shared weights count once, however many layers use them.
  const adapterCount = plan.method === 'adapter' ? plan.sites.length * (plan.sharedAdapters ? Math.min(1, plan.adapterLayers.length) : plan.adapterLayers.length) : 0;
  let adapters = 0;
  let layerNorms = 0;
  let fineTuned = 0;
  switch (plan.method) {
    case 'adapter':
      adapters = perAdapter * adapterCount;
      // Layer norms train only where adapters are: below them, nothing may need a gradient (AdapterDrop).
      layerNorms = plan.trainLayerNorm ? 4 * h * plan.adapterLayers.length : 0;
      break;
    case 'full':
      fineTuned = base.total - base.pooler + poolerTrained;
      break;
    case 'top_k':
      fineTuned = Math.min(plan.topK, dims.layers) * base.perLayer + poolerTrained;
      break;
    case 'layernorm':
      layerNorms = base.layerNorms + (plan.head === 'mlm' ? 2 * h : 0);
      break;
    case 'fusion':
      break;
  }
  // The fusion trains its layers and the head only: base model and fused adapters stay frozen.
  const fusion = plan.method === 'fusion' && plan.fusion ? plan.fusion.fusionLayers * fusionParameterCount(plan.fusion.config, h) : 0;
  const fusedAdapters = plan.method === 'fusion' && plan.fusion ? plan.fusion.adapterParameters : 0;
  const trainable = adapters + layerNorms + head + fineTuned + fusion;
  return { base: base.total, adapterSize: plan.adapterSize, perAdapter, adapterCount, adapters, layerNorms, head, fineTuned, fusion, fusedAdapters, trainable, percentOfBase: (100 * trainable) / base.total };
}

/**
 * The pooler a run draws when its checkpoint has none (a masked-LM one) and its head reads
 * the pooled [CLS] vector: trained with the head, so counted with it. `full` and `top_k`
 * already count the pooler as fine-tuned, so nothing is added for them.
 */
export function createdPoolerCount(dims: BertDims, method: TrainMethod, head: HeadKind, hasPooler: boolean): number {
  if (hasPooler || head === 'span' || head === 'mlm' || method === 'full' || method === 'top_k') return 0;
  return baseParameterCounts(dims).pooler;
}

/** 2,379,264 → "2.38M"; 99,136 → "99.1k". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toLocaleString('en-US');
}
