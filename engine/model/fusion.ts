/**
 * AdapterFusion (Pfeiffer et al., 2021), as AdapterHub builds it. At a site shared by the
 * fused adapters, with h the sub-layer's projected output (the adapters' input) and x its
 * residual input, each adapter n gives z_n = s·up_n(f(down_n(h))), its output without its
 * own skip connection, and
 *
 *   Q = W_q·h + b_q,  K_n = W_k·z_n + b_k,  V_n = W_v·z_n,
 *   p = softmax(dropout(Q·K_n) / T) over n,  o = Σ p_n·V_n,  output LN(x + h + o).
 *
 * With `residual_before`, h is added to every z_n first (AdapterHub adds it to the tensor
 * its keys and values share) and not again after: LN(x + o). The `static` config has no
 * value matrix (V_n = z_n).
 *
 * The graph computes the same function with less work (`fuse`): V is linear without a bias
 * and Σp = 1, so Σ p_n·W_v·z_n = W_v·(Σ p_n·z_n), one projection per token whatever N; and
 * Q·(W_k·z_n + b_k) = (W_kᵀ·Q)·z_n + Q·b_k, where Q·b_k is the same for every n and cancels
 * in the softmax, so W_kᵀ·Q is computed once per token and each adapter costs two dot
 * products. The key bias therefore has no effect on the output and never gets a gradient:
 * it is kept (AdapterHub's files hold it) but not fed to the graph.
 */
import type { Value } from '../graph/graph';
import type { Ops } from '../graph/ops';
import type { AdapterSite, FusionConfig } from './parameters';
import * as names from './names';

/** What the fusion layers are, besides the adapters they fuse. */
export interface FusionLayerSpec {
  readonly config: FusionConfig;
  /** Add h to each adapter's output before the keys and values (and not after). */
  readonly residualBefore: boolean;
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

export interface FuseOptions {
  readonly residualBefore: boolean;
  /**
   * Query and key weights are constants (an inference graph): W_kᵀ·Q is then h·(W_qᵀ·W_k) +
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
  /** What the fusion adds to x: o, or with `residualBefore`, o − h (so the caller always forms x + h + this). */
  readonly added: Value;
  /** The softmax weight of each adapter, [tokens, 1] each. */
  readonly weights: readonly Value[];
}

/**
 * The fusion of the adapters' outputs `z` (each [tokens, d]) at one site, by the exact
 * rewrite described above: about 3·d² multiply-adds per token for the three projections,
 * plus 2·N·d for the scores and the weighted sum.
 */
export function fuse(o: Ops, h: Value, z: readonly Value[], w: FusionWeights, opts: FuseOptions): Fused {
  if (z.length === 0) throw new Error('a fusion layer needs at least one adapter');
  const inputs = opts.residualBefore ? z.map((zn) => o.add(zn, h)) : z;
  // W_kᵀ·Q per token: Q [tokens, d] times W_k [out, in] is Σ_out Q_out·W_k[out, in].
  const qk = opts.foldQueryKey ? o.add(o.matmul(h, o.matmul(o.transpose(w.query.weight, [1, 0]), w.key)), o.matmul(o.unsqueeze(w.query.bias, [0]), w.key)) : o.matmul(o.linear(h, w.query.weight, w.query.bias), w.key);
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
  return { added: opts.residualBefore ? o.sub(out, h) : out, weights };
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
