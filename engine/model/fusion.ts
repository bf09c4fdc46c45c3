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
 * The graph computes the same function with less work (`fuse`). Each adapter's output is
 * z_n = s_n·(U_n·f_n + b_n), f_n its bottleneck's last activation (m_n wide), U_n and b_n
 * its up projection; F = [f_1 … f_N] side by side, U = [s_1·U_1 … s_N·U_N] [d, Σm] and
 * B = [s_1·b_1 … s_N·b_N] [d, N]. Then, exactly:
 *
 * - V has no bias and Σp = 1, so Σ p_n·W_v·z_n = W_v·(Σ p_n·z_n): one value projection per
 *   token whatever N, and Σ p_n·z_n = (F ⊙ p per column)·Uᵀ + p·Bᵀ, so no z_n is formed.
 * - Q·(W_k·z_n + b_k) = (W_kᵀ·Q)·z_n + Q·b_k; Q·b_k is the same for every n and cancels in
 *   the softmax, so the key bias has no effect on the output. Only dropout on the scores
 *   tells it apart (a dropped score loses its Q·b_k, the kept ones keep it), so graphs that
 *   train it feed it, as one scalar per token, and the others leave it out.
 *   With k = W_kᵀ·Q, k·z_n = Σ_{j∈n} F_j·(k·U)_j + (k·B)_n: one [d, Σm + N] product per
 *   token gives every adapter's score.
 * - The products can be taken the other way round: k·U = q·(W_qᵀ·W_k·U) + b_q·W_k·U and
 *   W_v·(Σ p_n·z_n) = (F ⊙ p per column)·(W_v·U)ᵀ + p·(W_v·B)ᵀ. With constant weights
 *   (evaluation, export) these [d, Σm + N] products are constants that onnxruntime folds once
 *   when the session loads, so a site costs about 3·Σm·d multiply-adds per token (the
 *   adapters' down projections included) and no d × d product at all. Training forms them
 *   once a step (d²·(Σm + N) each), which replaces the per-token d × d projections while
 *   Σm + N < d; with more adapters it projects Q, k and the mixed output per token instead.
 *
 * Neither step depends on what q, F and r are, so both placements use it.
 */
import type { Value } from '../graph/graph';
import { constantData, type Ops } from '../graph/ops';
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
  /**
   * b_k [d]. It adds Q·b_k to every score alike, which matters only where scores are dropped:
   * graphs that train it feed it (so that it learns as in AdapterHub); the others need not.
   */
  readonly keyBias?: Value;
  /** [d, d]; absent in the static config. */
  readonly value: Value | undefined;
}

/** The tensors a fusion layer reads besides the adapters, each [tokens, d] (the table above). */
export interface FusionInputs {
  /** What the query projection reads. */
  readonly query: Value;
  /** The residual r: added to the context, or with `residualBefore` to each adapter's output. */
  readonly residual: Value;
}

/** The fused adapters at a site, split where the fusion needs them: z_n = s_n·(U_n·f_n + b_n). */
export interface FusedBottlenecks {
  /** F: every adapter's last bottleneck activation side by side, [tokens, Σ m_n], in `adapters`' order. */
  readonly hidden: Value;
  readonly adapters: readonly {
    /** m_n: the adapter's columns in F. */
    readonly size: number;
    /** U_n [d, m_n] (Hugging Face's [out, in] layout) and b_n [d]. */
    readonly up: { readonly weight: Value; readonly bias: Value };
    /** s_n, a one-element scaling; absent: 1. */
    readonly scale?: Value;
  }[];
}

export interface FuseOptions {
  readonly residualBefore: boolean;
  /**
   * The fusion's weights are constants (an inference graph): the scores and values then go
   * through W_qᵀ·W_k·[U B] and W_v·[U B] (`throughUp`), constants that onnxruntime folds
   * when the session loads (see above).
   */
  readonly constantWeights?: boolean;
  /** A scalar the scores are divided by (the annealed temperature); none: 1. */
  readonly temperature?: Value;
  /**
   * The scores and values reach the adapters through W_qᵀ·W_k·[U B] and W_v·[U B] (products
   * formed once a step) rather than per token through W_q, W_k and W_v. Absent: with
   * constant weights, or while Σm + N < d, where it costs less. Either is exact; tests check both.
   */
  readonly throughUp?: boolean;
  /** Dropout on the scores [tokens, N]. */
  readonly dropScores?: (scores: Value) => Value;
}

export interface Fused {
  /** What the fusion adds to x + r: o, or with `residualBefore`, o − r (so the caller always forms x + r + this). */
  readonly added: Value;
  /** The softmax weight of each adapter, [tokens, N]. */
  readonly weights: Value;
}

/**
 * The fusion of the adapters at one site by the exact rewrite described above: per token,
 * 2·Σm·d multiply-adds through the up projections (plus the adapters' down projections,
 * Σm·d), or 3·d² + 2·Σm·d through W_q, W_k and W_v.
 */
export function fuse(o: Ops, at: FusionInputs, z: FusedBottlenecks, w: FusionWeights, opts: FuseOptions): Fused {
  const n = z.adapters.length;
  if (n === 0) throw new Error('a fusion layer needs at least one adapter');
  const dtype = at.query.dtype;
  const r = at.residual;
  const scaled = (t: Value, s: Value | undefined): Value => (s ? o.mul(t, s) : t);
  const U = o.concat(z.adapters.map((a) => scaled(a.up.weight, a.scale)), 1);
  const B = o.concat(z.adapters.map((a) => o.unsqueeze(scaled(a.up.bias, a.scale), [1])), 1);
  // Which adapter each column of F belongs to: [Σm, N], 1 where column j is adapter n's.
  const total = z.adapters.reduce((sum, a) => sum + a.size, 0);
  const groups = new Array<number>(total * n).fill(0);
  let column = 0;
  z.adapters.forEach((a, k) => {
    for (let j = 0; j < a.size; j++, column++) groups[column * n + k] = 1;
  });
  const member = o.graph.initializer('fusion_columns', constantData(dtype, [total, n], groups));
  const memberT = o.transpose(member, [1, 0]);

  // kU [tokens, Σm] and kB [tokens, N], with k = W_kᵀ·Q. Through the up projections,
  // k·U = q·(W_qᵀ·W_k·U) + b_q·W_k·U: a [d, Σm + N] product a step (with constant weights,
  // once when the session loads) replaces the per-token d × d projections Q and k, which
  // saves work while Σm + N < d (and the step has more tokens than Σm).
  const throughUp = opts.constantWeights === true || (opts.throughUp ?? total + n < (w.key.shape[0] as number));
  // Q per token, formed only where it is used; or Q·Y for a [d, c] Y without it: q·(W_qᵀ·Y) + b_q·Y.
  let Q: Value | undefined;
  const query = (): Value => (Q ??= o.linear(at.query, w.query.weight, w.query.bias));
  let queryT: Value | undefined;
  let queryBias: Value | undefined;
  const viaQuery = (Y: Value): Value => {
    queryT ??= o.transpose(w.query.weight, [1, 0]);
    queryBias ??= o.unsqueeze(w.query.bias, [0]);
    return o.add(o.matmul(at.query, o.matmul(queryT, Y)), o.matmul(queryBias, Y));
  };
  let k: Value | undefined;
  const keys = (): Value => (k ??= o.matmul(query(), w.key));
  let kU: Value;
  let kB: Value;
  if (throughUp) {
    kU = viaQuery(o.matmul(w.key, U));
    kB = viaQuery(o.matmul(w.key, B));
  } else {
    kU = o.matmul(keys(), U);
    kB = o.matmul(keys(), B);
  }
  // With residual_before each score also has k·r: the same for every adapter, so it cancels
  // in the softmax unless a score is dropped.
  if (opts.residualBefore && opts.dropScores) kB = o.add(kB, o.reduceSum(o.mul(keys(), r), [1], true));
  // Q·b_k, one scalar per token, likewise (fed only where the key bias is trained).
  if (w.keyBias) {
    const bk = o.unsqueeze(w.keyBias, [1]);
    kB = o.add(kB, Q ? o.matmul(Q, bk) : viaQuery(bk));
  }
  let scores = o.add(o.matmul(o.mul(z.hidden, kU), member), kB);
  if (opts.dropScores) scores = opts.dropScores(scores);
  if (opts.temperature) scores = o.div(scores, opts.temperature);
  const p = o.softmax(scores, -1);
  // Σ p_n·z_n without forming z_n: F with each adapter's columns weighted by p_n, through U.
  const weighted = o.mul(z.hidden, o.matmul(p, memberT));
  let out: Value;
  if (w.value && throughUp) out = o.add(o.linear(weighted, o.matmul(w.value, U)), o.linear(p, o.matmul(w.value, B)));
  else {
    const mixed = o.add(o.linear(weighted, U), o.linear(p, B));
    out = w.value ? o.linear(mixed, w.value) : mixed;
  }
  // residual_before: r joins every adapter's output, so Σ p_n·(z_n + r) = Σ p_n·z_n + r, and
  // the value adds W_v·r; what is added beyond r is then W_v·r − r (nothing in the static config).
  if (opts.residualBefore && w.value) out = o.add(out, o.sub(o.linear(r, w.value), r));
  return { added: out, weights: p };
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
