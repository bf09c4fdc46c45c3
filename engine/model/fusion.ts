/**
 * AdapterFusion (Pfeiffer et al., 2021), as AdapterHub builds it. At a site shared by the
 * fused adapters, with x the sub-layer's residual input, h its projected output and LN the
 * layer's own (pretrained) layer norm, the adapters read a tensor a, each gives
 * z_n = s·up_n(f(down_n(a))), its output without its own skip connection, and
 *
 *   Q = W_q·q + b_q,  K_n = W_k·z_n + b_k,  V_n = W_v·z_n,
 *   p = softmax(dropout(Q·K_n) / T) over n,  o = Σ p_n·V_n,  output LN(x + h + o).
 *
 * Which tensor is which follows AdapterHub's BottleneckLayer: the last fused adapter's
 * `pre_forward` gives the adapters' input, the query and the residual r, the children give
 * their bottleneck outputs z_n (`up`, scaled, before their own residual), BertFusion adds r
 * to its context (or, with `residual_before`, to the tensor its keys and values share), and
 * `post_forward` applies LN(· + x) (`original_ln_after`). For the two serial placements:
 *
 *                                 adapters read a   query q                     residual r
 *   Houlsby  (input output)       h                 h                           h
 *   Pfeiffer (input normalized)   LN(x + h)         LN(x + h), or h with        h
 *                                                   `query_before_ln`
 *
 * Houlsby's adapters have `original_ln_before: false`, so `query_before_ln` changes nothing
 * for them. Pfeiffer's (`seq_bn`: `original_ln_before`, `residual_before_ln`,
 * `original_ln_after`) read the normalised sum, but their residual is still h, so in both
 * the output is LN(x + h + o), or with `residual_before` (r added to every z_n for the keys
 * and values, and not after) LN(x + o). The fused adapters must share one placement:
 * AdapterHub takes the last one's for all. The `static` config has no value matrix (V_n = z_n).
 * Parallel adapters are not fused here: AdapterHub's fusion of them takes x as their input,
 * query and residual, and its parallel `post_forward` then adds h and LN(· + x), so x is
 * added twice, LN(2x + h + o).
 *
 * The graph computes the same function with less work (`fuse`): V is linear without a bias
 * and Σp = 1, so Σ p_n·W_v·z_n = W_v·(Σ p_n·z_n), one projection per token whatever N; and
 * Q·(W_k·z_n + b_k) = (W_kᵀ·Q)·z_n + Q·b_k, where Q·b_k is the same for every n and cancels
 * in the softmax, so W_kᵀ·Q is computed once per token and each adapter costs two dot
 * products. The key bias therefore has no effect on the output and never gets a gradient:
 * it is kept (AdapterHub's files hold it) but not fed to the graph. Neither step depends on
 * what q, z_n and r are, so both placements use it.
 */
import type { Value } from '../graph/graph';
import type { Ops } from '../graph/ops';
import { adapterVariant, type AdapterInput, type AdapterVariantFields } from './adapterVariant';
import type { AdapterSite, FusionConfig } from './parameters';
import * as names from './names';

/** What the fusion layers are, besides the adapters they fuse. */
export interface FusionLayerSpec {
  readonly config: FusionConfig;
  /** Add the residual h to each adapter's output before the keys and values (and not after). */
  readonly residualBefore: boolean;
  /**
   * The query reads h even where the adapters read LN(x + h) (AdapterHub's `query_before_ln`;
   * it matters only for Pfeiffer's placement). Absent: false, AdapterHub's default.
   */
  readonly queryBeforeLn?: boolean;
  /** Softmax temperature annealed from 50 to 1 during training (AdapterHub's `temperature`). */
  readonly temperature: boolean;
  /** Weight of the value regulariser Σ‖I − W_v‖² in the loss (dynamic only; AdapterHub: 0.01). */
  readonly regularization: number;
  /** Dropout on the scores; undefined: the model's attention dropout (AdapterHub's `dropout_prob: null`). */
  readonly dropout: number | undefined;
}

/** The fusion layer's weights at one site, as graph values. */
export interface FusionWeights {
  readonly query: { readonly weight: Value; readonly bias: Value };
  /** [d, d], Hugging Face's [out, in] layout. */
  readonly key: Value;
  /** [d, d]; absent in the static config. */
  readonly value: Value | undefined;
}

/** The tensors a fusion layer reads besides the adapters' outputs, each [tokens, d] (the table above). */
export interface FusionInputs {
  /** What the query projection reads. */
  readonly query: Value;
  /** The residual r: added to the context, or with `residualBefore` to each adapter's output. */
  readonly residual: Value;
}

export interface FuseOptions {
  readonly residualBefore: boolean;
  /**
   * Query and key weights are constants (an inference graph): W_kᵀ·Q is then q·(W_qᵀ·W_k) +
   * b_q·W_k, whose d × d product onnxruntime folds once when the session loads, saving one
   * d × d projection per token.
   */
  readonly foldQueryKey?: boolean;
  /** A scalar the scores are divided by (the annealed temperature); none: 1. */
  readonly temperature?: Value;
  /** Dropout on adapter n's score. */
  readonly dropScore?: (score: Value, n: number) => Value;
}

export interface Fused {
  /** What the fusion adds to x + r: o, or with `residualBefore`, o − r (so the caller always forms x + r + this). */
  readonly added: Value;
  /** The softmax weight of each adapter, [tokens, 1] each. */
  readonly weights: readonly Value[];
}

/**
 * The fusion of the adapters' outputs `z` (each [tokens, d]) at one site, by the exact
 * rewrite described above: about 3·d² multiply-adds per token for the three projections,
 * plus 2·N·d for the scores and the weighted sum.
 */
export function fuse(o: Ops, at: FusionInputs, z: readonly Value[], w: FusionWeights, opts: FuseOptions): Fused {
  if (z.length === 0) throw new Error('a fusion layer needs at least one adapter');
  const r = at.residual;
  const q = at.query;
  const inputs = opts.residualBefore ? z.map((zn) => o.add(zn, r)) : z;
  // W_kᵀ·Q per token: Q [tokens, d] times W_k [out, in] is Σ_out Q_out·W_k[out, in].
  const qk = opts.foldQueryKey ? o.add(o.matmul(q, o.matmul(o.transpose(w.query.weight, [1, 0]), w.key)), o.matmul(o.unsqueeze(w.query.bias, [0]), w.key)) : o.matmul(o.linear(q, w.query.weight, w.query.bias), w.key);
  let scores = inputs.map((zn, n) => {
    const s = o.reduceSum(o.mul(qk, zn), [1], true);
    return opts.dropScore ? opts.dropScore(s, n) : s;
  });
  if (opts.temperature) scores = scores.map((s) => o.div(s, opts.temperature!));
  // A softmax over separate [tokens, 1] scores: the largest is subtracted for range (it
  // cancels, so no gradient flows through it).
  const top = o.stopGradient(scores.reduce((a, b) => o.max(a, b)));
  const e = scores.map((s) => o.exp(o.sub(s, top)));
  const total = e.reduce((a, b) => o.add(a, b));
  const weights = e.map((en) => o.div(en, total));
  const mixed = inputs.map((zn, n) => o.mul(zn, weights[n]!)).reduce((a, b) => o.add(a, b));
  const out = w.value ? o.linear(mixed, w.value) : mixed;
  return { added: opts.residualBefore ? o.sub(out, r) : out, weights };
}

/**
 * What the fused adapters read: h (Houlsby's placement) or LN(x + h) (Pfeiffer's). All must
 * agree, since one fusion layer reads one query and residual for all of them (AdapterHub
 * silently uses the last adapter's placement for every one); parallel adapters are refused
 * (see above). Throws a message naming the adapter that differs.
 */
export function fusedInputOf(adapters: readonly { readonly name: string; readonly adapter: AdapterVariantFields }[]): AdapterInput {
  const first = adapters[0];
  if (!first) throw new Error('a fusion needs at least one adapter');
  const want = adapterVariant(first.adapter).input;
  for (const a of adapters) {
    const v = adapterVariant(a.adapter);
    if (v.placement === 'parallel') throw new Error(`adapter "${a.name}" is a parallel adapter; a fusion fuses serial adapters (Houlsby's or Pfeiffer's placement)`);
    if (v.input !== want) throw new Error(`adapter "${a.name}" reads ${inputWords(v.input)}, but "${first.name}" reads ${inputWords(want)}: fused adapters need one placement`);
  }
  return want;
}

/** An adapter input in words, for messages. */
export function inputWords(input: AdapterInput): string {
  return input === 'normalized' ? "the layer's normalised sum LN(x + h) (Pfeiffer's placement, original_ln_before: true)" : "the sub-layer's output h (Houlsby's placement, original_ln_before: false)";
}

/** The graph output that holds a fusion layer's weights (BuildOptions.fusionWeights). */
export function fusionWeightsOutput(layer: number, site: AdapterSite): string {
  return `fusion_weights.${layer}.${site}`;
}

/** The fusion layer's parameters at a site, in a fixed order, with shapes. */
export function fusionParameters(config: FusionConfig, layer: number, site: AdapterSite, d: number): [string, readonly number[]][] {
  const p = names.fusion(layer, site);
  const out: [string, readonly number[]][] = [
    [p.query.weight, [d, d]],
    [p.query.bias, [d]],
    [p.key.weight, [d, d]],
    [p.key.bias, [d]],
  ];
  if (config === 'dynamic') out.push([p.value.weight, [d, d]]);
  return out;
}

/** Whether a parameter is one the graph feeds: the key bias cancels in the softmax (see above). */
export function fusionParameterUsed(name: string): boolean {
  return !/\.adapter_fusion_layer\.key\.bias$/.test(name);
}

/**
 * AdapterHub's value initialisation (`value_initialized`): 1 on the diagonal and 1e-6
 * elsewhere, so that the fusion starts as the softmax-weighted sum of the adapters' outputs.
 */
export function identityValue(d: number): Float32Array {
  const data = new Float32Array(d * d).fill(1e-6);
  for (let i = 0; i < d; i++) data[i * d + i] = 1;
  return data;
}

/** Softmax temperature at a training step: 50, less 50/1000 per step, down to 1 (AdapterHub anneals per forward pass). */
export function temperatureAt(o: Ops, step: Value): Value {
  const t = step.dtype;
  return o.max(o.scalar(1, t), o.sub(o.scalar(50, t), o.mul(o.sub(step, o.scalar(1, t)), o.scalar(0.05, t))));
}
