/**
 * An independent float64 reference of Hugging Face's BertModel (eval mode, no dropout) with
 * bottleneck adapters — Houlsby's, and the variants AdapterHub computes (parallel, Pfeiffer's
 * input, scaling, an inner layer norm, deeper bottlenecks, shared weights) — AdapterFusion
 * over serial adapters in AdapterHub's plain form (a key and a value per adapter), and the
 * sequence-classification / regression / span heads.
 * Tests use it to check the engine's ONNX graphs, so it deliberately shares nothing with
 * engine/model or engine/graph beyond the weight names and the tensor type: every step is
 * a plain loop over float64 values, written for clarity rather than speed.
 */
import type { BertDims } from '../../engine/model/dims';
import * as names from '../../engine/model/names';

/**
 * Weights by name: the engine's float32 `WeightMap`, or float64 values (parameters part-way
 * through a reference training trajectory, perturbed for finite differences).
 */
export type ReferenceWeights = ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array | Float64Array }>;

export type ReferenceSite = 'attention' | 'ffn';
export type ReferenceNonLinearity = 'gelu' | 'relu' | 'swish' | 'tanh';

export interface ReferenceConfig {
  dims: BertDims;
  /** config.json layer_norm_eps, 1e-12 for BERT. */
  layerNormEps: number;
  /** Adapters at every listed site of every listed layer (Houlsby's unless the variant fields say otherwise); none when omitted. */
  adapters?: {
    size: number;
    sites: ReferenceSite[];
    layers: number[];
    nonLinearity: ReferenceNonLinearity;
    /**
     * With x the sub-layer's input, h its projected output and LN its layer norm:
     * serial/output (default) LN(x + h + s·f(h)); serial/normalized (AdapterHub's seq_bn)
     * LN(f(LN(h + x))·s + h + x); parallel (par_bn) LN(s·f(x) + h + x).
     */
    placement?: 'serial' | 'parallel';
    input?: 'output' | 'normalized';
    /** A constant, or `learned`: the weight `….adapter.scaling`. Default 1. */
    scaling?: number | 'learned';
    /** A LayerNorm (eps 1e-5, torch's default) before the down projection. */
    innerNorm?: boolean;
    /** Linear layers in the bottleneck before the up projection: down, then depth − 1 of m→m. Default 1. */
    depth?: number;
    /** One adapter per site for every layer, stored under the lowest adapter layer's names. */
    shared?: boolean;
  };
  /**
   * AdapterFusion over serial adapters (weights `….adapters.{name}.…` and
   * `….adapter_fusion_layer.…`), computed as AdapterHub's BottleneckLayer does: the last
   * adapter's `pre_forward` (what the adapters and the query read, and the residual), each
   * adapter's bottleneck output, BertFusion (query, a key and a value per adapter, key bias
   * included, softmax, residual), `post_forward` (the layer's residual add and norm).
   */
  fusion?: {
    adapters: { name: string; size: number; nonLinearity: ReferenceNonLinearity; layers: number[]; sites: ReferenceSite[] }[];
    /** AdapterHub's `original_ln_before` (Pfeiffer's placement) is `normalized`. */
    input: 'output' | 'normalized';
    layers: number[];
    sites: ReferenceSite[];
    /** `static`: no value matrix. */
    config: 'dynamic' | 'static';
    residualBefore: boolean;
    queryBeforeLn: boolean;
  };
  /** Per-layer, per-site multipliers on the adapter's bottleneck branch (1 = on, 0 = removed); default all 1. */
  adapterGates?: (layer: number, site: ReferenceSite) => number;
  head:
    | { kind: 'classification' | 'regression'; numLabels: number }
    | { kind: 'span' }
    /** BertForMaskedLM's head at the given (row, position) pairs; the decoder is the word embeddings (tied) plus `cls.predictions.bias`. */
    | { kind: 'mlm'; vocabSize: number; positions?: readonly (readonly [number, number])[] };
}

/** Token ids, token types and attention mask (1 = attend, 0 = padding), each [batch][seq]. */
export interface ReferenceBatch {
  inputIds: number[][];
  tokenTypeIds: number[][];
  attentionMask: number[][];
}

export interface ReferenceOutput {
  /** Last hidden state: [batch][seq], each a vector of hiddenSize. */
  hidden: Float64Array[][];
  /** Pooler output (tanh of a linear map of the [CLS] hidden state): [batch], each hiddenSize. */
  pooled: Float64Array[];
  /**
   * Head output per batch row. classification: numLabels logits; regression: numLabels
   * values (1 for a single target); span: 2·seq values laid out as
   * [start_0 … start_{S-1}, end_0 … end_{S-1}] — `qa_outputs` row 0 gives the start
   * logits, row 1 the end logits, as BertForQuestionAnswering splits its last axis.
   * mlm: one row per masked position (not per batch row), vocabSize logits each.
   */
  logits: number[][];
}

/**
 * What a masked key adds to its attention score. Hugging Face adds (1 − mask)·finfo(float32).min
 * for float32 models; we use the same constant in float64, so a row whose keys are all
 * masked degenerates exactly as Hugging Face's does (the constant swamps the scores and the
 * softmax becomes uniform), and a masked key otherwise gets probability exactly 0.
 */
export const MASKED_SCORE = -3.4028234663852886e38;

const TWO_OVER_SQRT_PI = 1.1283791670955126; // 2/√π
const ONE_OVER_SQRT_PI = 0.5641895835477563; // 1/√π

/**
 * erf in float64, max absolute error well under 1e-14 on the real line.
 * |x| < 2.5: erf(x) = (2/√π)·e^{−x²}·Σ 2ⁿx^{2n+1}/(1·3·…·(2n+1)), a series of positive
 * terms, so no cancellation (the alternating Maclaurin series loses digits beyond |x| ≈ 2).
 * |x| ≥ 2.5: erf = 1 − erfc, with erfc from its continued fraction
 * erfc(x) = (e^{−x²}/√π) · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated by
 * the modified Lentz method; erfc is below 5e-4 there, so its relative error barely matters.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return -erf(-x); // odd function: symmetry holds exactly
  if (x === 0) return 0;
  if (x < 2.5) {
    const x2 = x * x;
    let term = x; // n = 0: 2⁰x¹/1
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  }
  if (x > 27) return 1; // erfc(27) < 1e-300: erf is 1 to every representable digit
  return 1 - erfcContinuedFraction(x);
}

/** erfc(x) for x ≥ 2.5 (see erf): continued fraction b₀ + a₁/(b₁ + a₂/(b₂ + …)), bₖ = x, aₖ = k/2. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x; // b₀
  let c = f;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    if (d === 0) d = tiny;
    c = x + a / c;
    if (c === 0) c = tiny;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (ONE_OVER_SQRT_PI * Math.exp(-x * x)) / f;
}

/** Exact (erf) GELU, as BERT uses: 0.5·x·(1 + erf(x/√2)). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

/** The adapter non-linearities. */
export function nonLinearity(kind: ReferenceNonLinearity): (x: number) => number {
  switch (kind) {
    case 'gelu':
      return gelu;
    case 'relu':
      return (x) => (x > 0 ? x : 0);
    case 'swish':
      return (x) => x / (1 + Math.exp(-x)); // x·sigmoid(x)
    case 'tanh':
      return Math.tanh;
  }
}

/** A linear layer in Hugging Face's layout: weight rows are outputs ([out, in]), y = x·Wᵀ + b. */
interface Linear {
  weight: Float64Array[]; // [out][in]
  bias: Float64Array; // [out]
}

interface LayerNormParams {
  weight: Float64Array;
  bias: Float64Array;
}

/** Reads weights into float64 (float32 widens exactly), checking each shape so a wrong map fails loudly. */
class WeightReader {
  constructor(private readonly weights: ReferenceWeights) {}

  private data(name: string, shape: readonly number[]): Float32Array | Float64Array {
    const t = this.weights.get(name);
    if (!t) throw new Error(`reference: missing weight ${name}`);
    if (t.shape.length !== shape.length || t.shape.some((n, i) => n !== shape[i])) {
      throw new Error(`reference: weight ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return t.data;
  }

  vector(name: string, n: number): Float64Array {
    return Float64Array.from(this.data(name, [n]));
  }

  /** A [rows, cols] matrix as rows. */
  matrix(name: string, rows: number, cols: number): Float64Array[] {
    const data = this.data(name, [rows, cols]);
    const out: Float64Array[] = [];
    for (let r = 0; r < rows; r++) out.push(Float64Array.from(data.subarray(r * cols, (r + 1) * cols)));
    return out;
  }

  linear(p: { weight: string; bias: string }, outFeatures: number, inFeatures: number): Linear {
    return { weight: this.matrix(p.weight, outFeatures, inFeatures), bias: this.vector(p.bias, outFeatures) };
  }

  layerNorm(p: { weight: string; bias: string }, n: number): LayerNormParams {
    return { weight: this.vector(p.weight, n), bias: this.vector(p.bias, n) };
  }
}

function applyLinear(x: Float64Array, p: Linear): Float64Array {
  const out = new Float64Array(p.weight.length);
  for (let o = 0; o < p.weight.length; o++) {
    const row = p.weight[o];
    let sum = p.bias[o];
    for (let i = 0; i < row.length; i++) sum += row[i] * x[i];
    out[o] = sum;
  }
  return out;
}

/** Hugging Face LayerNorm over the last axis: biased variance, eps inside the square root. */
function layerNorm(x: Float64Array, p: LayerNormParams, eps: number): Float64Array {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) * (x[i] - mean);
  variance /= n;
  const scale = 1 / Math.sqrt(variance + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * scale * p.weight[i] + p.bias[i];
  return out;
}

function add(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] + b[i];
  return out;
}

/** Numerically stable softmax (subtracting the maximum changes nothing mathematically). */
function softmax(scores: Float64Array): Float64Array {
  let max = -Infinity;
  for (const s of scores) if (s > max) max = s;
  const out = new Float64Array(scores.length);
  let total = 0;
  for (let i = 0; i < scores.length; i++) {
    out[i] = Math.exp(scores[i] - max);
    total += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

interface AdapterParams {
  norm: LayerNormParams | undefined;
  /** The down projection, then the hidden layers, each followed by f. */
  linears: Linear[];
  up: Linear;
  f: (x: number) => number;
  scale: number;
  gate: number;
}

/** An adapter's branch without its skip: gate·s·(W_up·f(…f(W_down·LN?(v) + b_down)…) + b_up). */
function adapterBranch(v: Float64Array, a: AdapterParams): Float64Array {
  let t = a.norm ? layerNorm(v, a.norm, 1e-5) : v;
  for (const lin of a.linears) {
    t = applyLinear(t, lin);
    for (let j = 0; j < t.length; j++) t[j] = a.f(t[j]);
  }
  const branch = applyLinear(t, a.up);
  for (let i = 0; i < branch.length; i++) branch[i] *= a.gate * a.scale;
  return branch;
}

/**
 * A sub-layer's end with its adapter, following AdapterHub's order of operations: x is the
 * sub-layer's input, h its projected output.
 */
function subLayerEnd(x: Float64Array, h: Float64Array, a: AdapterParams | undefined, placement: 'serial' | 'parallel', input: 'output' | 'normalized', ln: LayerNormParams, eps: number): Float64Array {
  if (!a) return layerNorm(add(x, h), ln, eps);
  if (placement === 'parallel') return layerNorm(add(add(adapterBranch(x, a), h), x), ln, eps);
  const read = input === 'normalized' ? layerNorm(add(h, x), ln, eps) : h;
  return layerNorm(add(add(adapterBranch(read, a), h), x), ln, eps);
}

interface FusionParams {
  adapters: AdapterParams[];
  query: Linear;
  key: Linear;
  value: Float64Array[] | undefined;
  input: 'output' | 'normalized';
  residualBefore: boolean;
  queryBeforeLn: boolean;
}

/** x·Wᵀ for a linear layer without a bias (BertFusion's value). */
function applyMatrix(x: Float64Array, w: Float64Array[]): Float64Array {
  return applyLinear(x, { weight: w, bias: new Float64Array(w.length) });
}

/**
 * A sub-layer's end with a fusion, step by step as AdapterHub computes it for one token:
 * x the sub-layer's input, h its projected output. Every adapter here is serial with
 * `residual_before_ln: true`, so the residual is h.
 */
function fusedSubLayerEnd(x: Float64Array, h: Float64Array, f: FusionParams, ln: LayerNormParams, eps: number): Float64Array {
  // pre_forward: the query before the layer norm, the adapters' input after it (original_ln_before).
  const residual = h;
  const read = f.input === 'normalized' ? layerNorm(add(h, x), ln, eps) : h;
  const queryIn = f.queryBeforeLn ? h : read;
  // Each adapter's `up` (scaled, before its own residual).
  const ups = f.adapters.map((a) => adapterBranch(read, a));
  // BertFusion: residual_before adds the residual to the tensor keys and values share.
  const kv = f.residualBefore ? ups.map((u) => add(u, residual)) : ups;
  const q = applyLinear(queryIn, f.query);
  const scores = Float64Array.from(kv.map((v) => {
    const k = applyLinear(v, f.key);
    let dot = 0;
    for (let i = 0; i < k.length; i++) dot += q[i] * k[i];
    return dot;
  }));
  const p = softmax(scores);
  const values = kv.map((v) => (f.value ? applyMatrix(v, f.value) : v));
  let context: Float64Array = new Float64Array(h.length);
  values.forEach((v, n) => {
    for (let i = 0; i < v.length; i++) context[i] += p[n] * v[i];
  });
  if (!f.residualBefore) context = add(context, residual);
  // post_forward: original_ln_after.
  return layerNorm(add(context, x), ln, eps);
}

function checkBatch(batch: ReferenceBatch, dims: BertDims): { batchSize: number; seq: number } {
  const batchSize = batch.inputIds.length;
  if (batchSize === 0) throw new Error('reference: empty batch');
  const seq = batch.inputIds[0].length;
  if (seq === 0) throw new Error('reference: empty sequence');
  if (seq > dims.maxPositions) throw new Error(`reference: sequence length ${seq} exceeds maxPositions ${dims.maxPositions}`);
  if (batch.tokenTypeIds.length !== batchSize || batch.attentionMask.length !== batchSize) {
    throw new Error('reference: inputIds, tokenTypeIds and attentionMask must have the same batch size');
  }
  for (let b = 0; b < batchSize; b++) {
    if (batch.inputIds[b].length !== seq || batch.tokenTypeIds[b].length !== seq || batch.attentionMask[b].length !== seq) {
      throw new Error(`reference: batch row ${b} is not of length ${seq} in every input`);
    }
    for (let s = 0; s < seq; s++) {
      const id = batch.inputIds[b][s];
      const tt = batch.tokenTypeIds[b][s];
      if (!Number.isInteger(id) || id < 0 || id >= dims.vocabSize) throw new Error(`reference: token id ${id} outside [0, ${dims.vocabSize})`);
      if (!Number.isInteger(tt) || tt < 0 || tt >= dims.typeVocabSize) throw new Error(`reference: token type ${tt} outside [0, ${dims.typeVocabSize})`);
    }
  }
  return { batchSize, seq };
}

export function referenceForward(weights: ReferenceWeights, cfg: ReferenceConfig, batch: ReferenceBatch): ReferenceOutput {
  const dims = cfg.dims;
  const d = dims.hiddenSize;
  const eps = cfg.layerNormEps;
  if (d % dims.heads !== 0) throw new Error(`reference: hiddenSize ${d} is not divisible by heads ${dims.heads}`);
  const headDim = d / dims.heads;
  const { batchSize, seq } = checkBatch(batch, dims);
  const w = new WeightReader(weights);

  // Embeddings: word[id] + position[pos] + token_type[tt], then LayerNorm.
  const wordEmb = w.matrix(names.embeddings.word, dims.vocabSize, d);
  const posEmb = w.matrix(names.embeddings.position, dims.maxPositions, d);
  const typeEmb = w.matrix(names.embeddings.tokenType, dims.typeVocabSize, d);
  const embLn = w.layerNorm({ weight: names.embeddings.lnWeight, bias: names.embeddings.lnBias }, d);

  // x[b][s] is the current hidden state of token s in row b.
  let x: Float64Array[][] = [];
  for (let b = 0; b < batchSize; b++) {
    const row: Float64Array[] = [];
    for (let s = 0; s < seq; s++) {
      const e = new Float64Array(d);
      const word = wordEmb[batch.inputIds[b][s]];
      const pos = posEmb[s];
      const type = typeEmb[batch.tokenTypeIds[b][s]];
      for (let i = 0; i < d; i++) e[i] = word[i] + pos[i] + type[i];
      row.push(layerNorm(e, embLn, eps));
    }
    x.push(row);
  }

  const adapterAt = (layer: number, site: ReferenceSite): AdapterParams | undefined => {
    const a = cfg.adapters;
    if (!a || !a.layers.includes(layer) || !a.sites.includes(site)) return undefined;
    const n = names.adapter(a.shared ? Math.min(...a.layers) : layer, site);
    const hidden = Array.from({ length: (a.depth ?? 1) - 1 }, (_, k) => w.linear(n.hidden(k), a.size, a.size));
    return {
      norm: a.innerNorm ? w.layerNorm(n.norm, d) : undefined,
      linears: [w.linear(n.down, a.size, d), ...hidden],
      up: w.linear(n.up, d, a.size),
      f: nonLinearity(a.nonLinearity),
      scale: a.scaling === 'learned' ? w.vector(n.scaling, 1)[0] : a.scaling ?? 1,
      gate: cfg.adapterGates ? cfg.adapterGates(layer, site) : 1,
    };
  };
  const fusionAt = (layer: number, site: ReferenceSite): FusionParams | undefined => {
    const f = cfg.fusion;
    if (!f || !f.layers.includes(layer) || !f.sites.includes(site)) return undefined;
    const present = f.adapters.filter((a) => a.layers.includes(layer) && a.sites.includes(site));
    if (present.length === 0) return undefined;
    const p = names.fusion(layer, site);
    return {
      adapters: present.map((a) => {
        const n = names.fusedAdapter(a.name, layer, site);
        return { norm: undefined, linears: [w.linear(n.down, a.size, d)], up: w.linear(n.up, d, a.size), f: nonLinearity(a.nonLinearity), scale: 1, gate: 1 };
      }),
      query: w.linear(p.query, d, d),
      key: w.linear(p.key, d, d),
      value: f.config === 'dynamic' ? w.matrix(p.value.weight, d, d) : undefined,
      input: f.input,
      residualBefore: f.residualBefore,
      queryBeforeLn: f.queryBeforeLn,
    };
  };
  const placement = cfg.adapters?.placement ?? 'serial';
  const adapterInput = cfg.adapters?.input ?? 'output';
  if (cfg.adapters) {
    for (const l of cfg.adapters.layers) {
      if (!Number.isInteger(l) || l < 0 || l >= dims.layers) throw new Error(`reference: adapter layer ${l} outside [0, ${dims.layers})`);
    }
  }

  for (let l = 0; l < dims.layers; l++) {
    const n = names.layer(l);
    const query = w.linear(n.query, d, d);
    const key = w.linear(n.key, d, d);
    const value = w.linear(n.value, d, d);
    const attnOut = w.linear(n.attentionOutput, d, d);
    const attnLn = w.layerNorm(n.attentionLn, d);
    const inter = w.linear(n.intermediate, dims.intermediateSize, d);
    const out = w.linear(n.output, d, dims.intermediateSize);
    const outLn = w.layerNorm(n.outputLn, d);
    const attnAdapter = adapterAt(l, 'attention');
    const ffnAdapter = adapterAt(l, 'ffn');
    const attnFusion = fusionAt(l, 'attention');
    const ffnFusion = fusionAt(l, 'ffn');

    const next: Float64Array[][] = [];
    for (let b = 0; b < batchSize; b++) {
      const xs = x[b];
      const q = xs.map((v) => applyLinear(v, query));
      const k = xs.map((v) => applyLinear(v, key));
      const v = xs.map((t) => applyLinear(t, value));
      const mask = batch.attentionMask[b];

      // Multi-head attention: head h owns features [h·headDim, (h+1)·headDim).
      const context = xs.map(() => new Float64Array(d));
      for (let h = 0; h < dims.heads; h++) {
        const lo = h * headDim;
        for (let i = 0; i < seq; i++) {
          const scores = new Float64Array(seq);
          for (let j = 0; j < seq; j++) {
            let dot = 0;
            for (let c = lo; c < lo + headDim; c++) dot += q[i][c] * k[j][c];
            scores[j] = dot / Math.sqrt(headDim) + (1 - mask[j]) * MASKED_SCORE;
          }
          const probs = softmax(scores);
          for (let j = 0; j < seq; j++) {
            for (let c = lo; c < lo + headDim; c++) context[i][c] += probs[j] * v[j][c];
          }
        }
      }

      const row: Float64Array[] = [];
      for (let s = 0; s < seq; s++) {
        // Attention sub-layer: projection, adapter, residual add, post-LN.
        const a = applyLinear(context[s], attnOut);
        const h1 = attnFusion ? fusedSubLayerEnd(xs[s], a, attnFusion, attnLn, eps) : subLayerEnd(xs[s], a, attnAdapter, placement, adapterInput, attnLn, eps);

        // Feed-forward sub-layer: GELU(erf) intermediate, projection, adapter, residual add, post-LN.
        const mid = applyLinear(h1, inter);
        for (let i = 0; i < mid.length; i++) mid[i] = gelu(mid[i]);
        const f = applyLinear(mid, out);
        row.push(ffnFusion ? fusedSubLayerEnd(h1, f, ffnFusion, outLn, eps) : subLayerEnd(h1, f, ffnAdapter, placement, adapterInput, outLn, eps));
      }
      next.push(row);
    }
    x = next;
  }

  const head = cfg.head;
  if (head.kind === 'mlm') {
    // A masked-LM model has no pooler: transform (dense, GELU, layer norm), then x·Eᵀ + b.
    const m = names.mlmHead;
    const transform = w.linear(m.transform, d, d);
    const ln = w.layerNorm(m.layerNorm, d);
    const bias = w.vector(m.bias, head.vocabSize);
    const logits = (head.positions ?? []).map(([b, s]) => {
      const t = applyLinear(x[b][s], transform);
      for (let i = 0; i < t.length; i++) t[i] = gelu(t[i]);
      const h = layerNorm(t, ln, eps);
      return Array.from({ length: head.vocabSize }, (_, v) => {
        let dot = bias[v];
        for (let i = 0; i < d; i++) dot += h[i] * wordEmb[v][i];
        return dot;
      });
    });
    return { hidden: x, pooled: [], logits };
  }

  // Pooler on the [CLS] (position 0) hidden state.
  const pooler = w.linear(names.pooler, d, d);
  const pooled = x.map((row) => applyLinear(row[0], pooler).map(Math.tanh));

  let logits: number[][];
  if (head.kind === 'span') {
    const qa = w.linear(names.qaOutputs, 2, d);
    logits = x.map((row) => {
      const both = row.map((t) => applyLinear(t, qa));
      return [...both.map((p) => p[0]), ...both.map((p) => p[1])];
    });
  } else {
    const classifier = w.linear(names.classifier, head.numLabels, d);
    logits = pooled.map((p) => Array.from(applyLinear(p, classifier)));
  }
  return { hidden: x, pooled, logits };
}
