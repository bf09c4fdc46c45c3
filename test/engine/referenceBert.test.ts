/**
 * Tests of the float64 reference BERT itself (test/support/referenceBert.ts), independent of
 * the engine: erf accuracy, hand arithmetic on tiny models, and structural properties
 * (identity adapters, gates, masking, permutation, layer-norm statistics).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BertDims } from '../../engine/model/dims';
import * as names from '../../engine/model/names';
import { floatTensor, type WeightMap } from '../../engine/tensor';
import { erf, gelu, MASKED_SCORE, nonLinearity, referenceForward, type ReferenceBatch, type ReferenceConfig } from '../support/referenceBert';
import { Random } from '../../engine/util/random';

// ---------------------------------------------------------------------------------------
// Helpers

/** A seeded generator so failures reproduce: the engine's own, values in [0, 1). */
function seeded(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** Values uniform in [-scale, scale]. */
function uniform(rand: () => number, n: number, scale: number): number[] {
  return Array.from({ length: n }, () => (2 * rand() - 1) * scale);
}

function put(w: WeightMap, name: string, shape: number[], values: readonly number[]): void {
  w.set(name, floatTensor(shape, values));
}

/** Random weights for every parameter the reference can read, adapters at every layer and site included. */
function randomWeights(dims: BertDims, seed: number, opts: { adapterSize?: number; numLabels?: number } = {}): WeightMap {
  const rand = seeded(seed);
  const w: WeightMap = new Map();
  const d = dims.hiddenSize;
  const linear = (p: { weight: string; bias: string }, out: number, inp: number) => {
    put(w, p.weight, [out, inp], uniform(rand, out * inp, 1.5 / Math.sqrt(inp)));
    put(w, p.bias, [out], uniform(rand, out, 0.2));
  };
  const ln = (p: { weight: string; bias: string }) => {
    put(w, p.weight, [d], uniform(rand, d, 0.3).map((v) => 1 + v));
    put(w, p.bias, [d], uniform(rand, d, 0.3));
  };
  put(w, names.embeddings.word, [dims.vocabSize, d], uniform(rand, dims.vocabSize * d, 1));
  put(w, names.embeddings.position, [dims.maxPositions, d], uniform(rand, dims.maxPositions * d, 1));
  put(w, names.embeddings.tokenType, [dims.typeVocabSize, d], uniform(rand, dims.typeVocabSize * d, 1));
  ln({ weight: names.embeddings.lnWeight, bias: names.embeddings.lnBias });
  for (let l = 0; l < dims.layers; l++) {
    const n = names.layer(l);
    linear(n.query, d, d);
    linear(n.key, d, d);
    linear(n.value, d, d);
    linear(n.attentionOutput, d, d);
    ln(n.attentionLn);
    linear(n.intermediate, dims.intermediateSize, d);
    linear(n.output, d, dims.intermediateSize);
    ln(n.outputLn);
    const m = opts.adapterSize ?? 4;
    for (const site of ['attention', 'ffn'] as const) {
      const a = names.adapter(l, site);
      linear(a.down, m, d);
      linear(a.up, d, m);
    }
  }
  linear(names.pooler, d, d);
  linear(names.classifier, opts.numLabels ?? 3, d);
  linear(names.qaOutputs, 2, d);
  return w;
}

function randomBatch(dims: BertDims, seed: number, batchSize: number, seq: number, lengths: number[]): ReferenceBatch {
  const rand = seeded(seed);
  const inputIds: number[][] = [];
  const tokenTypeIds: number[][] = [];
  const attentionMask: number[][] = [];
  for (let b = 0; b < batchSize; b++) {
    inputIds.push(Array.from({ length: seq }, () => Math.floor(rand() * dims.vocabSize)));
    tokenTypeIds.push(Array.from({ length: seq }, () => Math.floor(rand() * dims.typeVocabSize)));
    attentionMask.push(Array.from({ length: seq }, (_, s) => (s < lengths[b] ? 1 : 0)));
  }
  return { inputIds, tokenTypeIds, attentionMask };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const diff = maxDiff(actual, expected);
  assert.ok(diff <= tol, `${what}: max |diff| ${diff} > ${tol}\n  actual   ${Array.from(actual).join(', ')}\n  expected ${Array.from(expected).join(', ')}`);
}

/** Largest difference over all hidden states, pooled outputs and logits of two results. */
function outputDiff(a: ReturnType<typeof referenceForward>, b: ReturnType<typeof referenceForward>): number {
  let m = 0;
  a.hidden.forEach((row, i) => row.forEach((h, s) => (m = Math.max(m, maxDiff(h, b.hidden[i][s])))));
  a.pooled.forEach((p, i) => (m = Math.max(m, maxDiff(p, b.pooled[i]))));
  a.logits.forEach((l, i) => (m = Math.max(m, maxDiff(l, b.logits[i]))));
  return m;
}

const SMALL: BertDims = { hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 16, vocabSize: 20, maxPositions: 8, typeVocabSize: 2 };
const ALL_SITES: ('attention' | 'ffn')[] = ['attention', 'ffn'];

// ---------------------------------------------------------------------------------------

describe('reference erf and non-linearities', () => {
  test('erf matches known values to 1e-14', () => {
    // The brief's values, then more from mpmath at 50 digits (rounded to the nearest double).
    const known: [number, number][] = [
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [2, 0.9953222650189527],
      [-1.5, -0.9661051464753108],
      [3, 0.9999779095030014],
      [1e-10, 1.1283791670955126e-10],
      [0.001, 0.0011283787909692365],
      [0.1, 0.1124629160182849],
      [0.25, 0.27632639016823696],
      [0.75, 0.7111556336535151],
      [1.25, 0.9229001282564583],
      [1.75, 0.9866716712191824],
      [2.25, 0.9985372834133188],
      [2.45, 0.999469419887749],
      [2.5, 0.999593047982555],
      [2.55, 0.9996893396573608],
      [2.75, 0.9998993780778803],
      [3.3, 0.9999969422902035],
      [3.9, 0.9999999652077514],
      [4.4, 0.999999999510829],
      [5, 0.9999999999984626],
      [5.7, 0.9999999999999992],
      [6, 1.0],
      [-0.3, -0.3286267594591274],
      [-2.2, -0.9981371537020182],
      [-4.1, -0.9999999932999724],
    ];
    for (const [x, expected] of known) {
      const err = Math.abs(erf(x) - expected);
      assert.ok(err <= 1e-14, `erf(${x}) = ${erf(x)}, expected ${expected} (error ${err})`);
    }
  });

  test('erf is odd, zero at zero, and saturates at ±1', () => {
    assert.equal(erf(0), 0);
    for (let x = 0.01; x < 8; x += 0.173) assert.equal(erf(-x), -erf(x), `erf(-${x})`);
    assert.equal(erf(10), 1);
    assert.equal(erf(-40), -1);
    assert.equal(erf(Infinity), 1);
    assert.ok(Number.isNaN(erf(NaN)));
  });

  test('erf has derivative 2/√π·e^{−x²} everywhere on [−6, 6], with no seam between its branches', () => {
    // Central differences: truncation ~h²·|f'''|/6 ≈ 1e-10, rounding ~1e-16/h ≈ 1e-11.
    const h = 1e-5;
    for (let x = -6; x <= 6; x += 0.0137) {
      const numeric = (erf(x + h) - erf(x - h)) / (2 * h);
      const exact = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x);
      assert.ok(Math.abs(numeric - exact) < 1e-8, `erf'(${x}): ${numeric} vs ${exact}`);
    }
    // Across the switch from the series to the continued fraction at 2.5 (slope there ≈ 2.2e-3).
    const below = 2.4999999999999996;
    assert.ok(Math.abs(erf(2.5) - erf(below)) < 1e-15);
  });

  test('gelu is the exact erf GELU x·Φ(x); relu, swish and tanh as defined', () => {
    // x·Φ(x) with Φ the standard normal CDF (mpmath).
    close([gelu(1), gelu(-1), gelu(2), gelu(0.5), gelu(0)], [0.8413447460685429, -0.15865525393145705, 1.9544997361036416, 0.34573123063700656, 0], 1e-15, 'gelu');
    assert.equal(nonLinearity('gelu')(1), gelu(1));
    assert.equal(nonLinearity('relu')(-2), 0);
    assert.equal(nonLinearity('relu')(1.5), 1.5);
    close([nonLinearity('swish')(1), nonLinearity('swish')(-2)], [0.7310585786300049, -2 / (1 + Math.exp(2))], 1e-15, 'swish');
    assert.equal(nonLinearity('tanh')(0.7), Math.tanh(0.7));
  });
});

describe('reference BERT forward', () => {
  test('micro model (d=2, 1 head, 1 layer, seq 1, adapters at both sites) matches hand arithmetic', () => {
    // layerNormEps = 1 on purpose: with d = 2 and a tiny eps every layer norm would return
    // ±(1, −1) whatever its input, hiding every value upstream of it.
    const dims: BertDims = { hiddenSize: 2, layers: 1, heads: 1, intermediateSize: 2, vocabSize: 3, maxPositions: 2, typeVocabSize: 2 };
    const w: WeightMap = new Map();
    const L = names.layer(0);
    put(w, names.embeddings.word, [3, 2], [2.5, 1, 0, 0, -1, 1]);
    put(w, names.embeddings.position, [2, 2], [0.25, -0.25, 7, 7]);
    put(w, names.embeddings.tokenType, [2, 2], [0.25, 0.25, 9, 9]);
    put(w, names.embeddings.lnWeight, [2], [2, 1]);
    put(w, names.embeddings.lnBias, [2], [0.5, -0.5]);
    // Query and key cannot matter with one token (its only attention weight is 1): random.
    const rand = seeded(7);
    put(w, L.query.weight, [2, 2], uniform(rand, 4, 3));
    put(w, L.query.bias, [2], uniform(rand, 2, 3));
    put(w, L.key.weight, [2, 2], uniform(rand, 4, 3));
    put(w, L.key.bias, [2], uniform(rand, 2, 3));
    put(w, L.value.weight, [2, 2], [1, 0.5, 0, 1]);
    put(w, L.value.bias, [2], [0.125, -0.125]);
    put(w, L.attentionOutput.weight, [2, 2], [1, 0, 0, 2]);
    put(w, L.attentionOutput.bias, [2], [0, 0]);
    put(w, L.attentionLn.weight, [2], [1, 0.5]);
    put(w, L.attentionLn.bias, [2], [0, 0.25]);
    put(w, L.intermediate.weight, [2, 2], [0.5, 0, 0.5, 1]);
    put(w, L.intermediate.bias, [2], [0, -0.5]);
    put(w, L.output.weight, [2, 2], [1, -1, 2, 0]);
    put(w, L.output.bias, [2], [0.125, 0]);
    put(w, L.outputLn.weight, [2], [1, 1]);
    put(w, L.outputLn.bias, [2], [0, 0]);
    const A = names.adapter(0, 'attention');
    put(w, A.down.weight, [1, 2], [1, -1]);
    put(w, A.down.bias, [1], [0]);
    put(w, A.up.weight, [2, 1], [0.5, -0.25]);
    put(w, A.up.bias, [2], [0.125, 0.25]);
    const F = names.adapter(0, 'ffn');
    put(w, F.down.weight, [1, 2], [0.5, 0.5]);
    put(w, F.down.bias, [1], [0.125]);
    put(w, F.up.weight, [2, 1], [1, 1]);
    put(w, F.up.bias, [2], [0, 0]);
    put(w, names.pooler.weight, [2, 2], [1, 0, 0.5, 1]);
    put(w, names.pooler.bias, [2], [0, 0.125]);
    put(w, names.classifier.weight, [3, 2], [1, 0, 0, 1, 1, -1]);
    put(w, names.classifier.bias, [3], [0, 0.5, -0.5]);

    // Every weight above is exact in float32, so the float64 hand arithmetic sees the same values.
    // Hand arithmetic. LayerNorm of a pair (a, b) with eps 1: mean (a+b)/2, deviations ±δ with
    // δ = (a−b)/2, variance δ², so the normalised pair is ±δ/√(δ² + 1).
    const lnPair = (a: number, b: number, g: [number, number], beta: [number, number]): [number, number] => {
      const delta = (a - b) / 2;
      const n = delta / Math.sqrt(delta * delta + 1);
      return [n * g[0] + beta[0], -n * g[1] + beta[1]];
    };
    const phi = (t: number) => 0.5 * (1 + erf(t / Math.SQRT2)); // standard normal CDF; erf is checked above
    /** The whole forward pass by hand, for adapter non-linearity f at the given sites. */
    const byHand = (f: (t: number) => number, attention: boolean, ffn: boolean) => {
      // Embedding: word[0] + pos[0] + type[0] = (3, 1): δ = 1, normalised ±1/√2, then affine.
      const x = [2 / Math.SQRT2 + 0.5, -1 / Math.SQRT2 - 0.5];
      // One token attends only to itself: context = value(x).
      const ctx = [x[0] + 0.5 * x[1] + 0.125, x[1] - 0.125];
      let a = [ctx[0], 2 * ctx[1]];
      if (attention) {
        const z = f(a[0] - a[1]);
        a = [a[0] + 0.5 * z + 0.125, a[1] - 0.25 * z + 0.25];
      }
      const h = lnPair(x[0] + a[0], x[1] + a[1], [1, 0.5], [0, 0.25]);
      const pre = [0.5 * h[0], 0.5 * h[0] + h[1] - 0.5];
      const mid = [pre[0] * phi(pre[0]), pre[1] * phi(pre[1])];
      let o = [mid[0] - mid[1] + 0.125, 2 * mid[0]];
      if (ffn) {
        const z = f(0.5 * o[0] + 0.5 * o[1] + 0.125);
        o = [o[0] + z, o[1] + z];
      }
      const y = lnPair(h[0] + o[0], h[1] + o[1], [1, 1], [0, 0]);
      const pooled = [Math.tanh(y[0]), Math.tanh(0.5 * y[0] + y[1] + 0.125)];
      const logits = [pooled[0], pooled[1] + 0.5, pooled[0] - pooled[1] - 0.5];
      return { y, pooled, logits };
    };

    const batch: ReferenceBatch = { inputIds: [[0]], tokenTypeIds: [[0]], attentionMask: [[1]] };
    const cases: { f: 'relu' | 'tanh'; sites: ('attention' | 'ffn')[] }[] = [
      { f: 'tanh', sites: ['attention', 'ffn'] },
      { f: 'relu', sites: ['attention', 'ffn'] },
      { f: 'tanh', sites: ['attention'] },
      { f: 'tanh', sites: ['ffn'] },
      { f: 'tanh', sites: [] },
    ];
    const seen = new Set<string>();
    for (const c of cases) {
      const cfg: ReferenceConfig = {
        dims,
        layerNormEps: 1,
        adapters: { size: 1, sites: c.sites, layers: [0], nonLinearity: c.f },
        head: { kind: 'classification', numLabels: 3 },
      };
      const got = referenceForward(w, cfg, batch);
      const want = byHand(c.f === 'relu' ? (t) => Math.max(0, t) : Math.tanh, c.sites.includes('attention'), c.sites.includes('ffn'));
      const what = `${c.f} at [${c.sites.join(', ')}]`;
      close(got.hidden[0][0], want.y, 1e-14, `hidden, ${what}`);
      close(got.pooled[0], want.pooled, 1e-14, `pooled, ${what}`);
      close(got.logits[0], want.logits, 1e-14, `logits, ${what}`);
      seen.add(got.logits[0].join());
    }
    // Each adapter placement really changes the result (else the comparisons prove little).
    assert.equal(seen.size, cases.length);
  });

  test('one layer, 2 heads, padded rows: matches an independent matrix-style computation', () => {
    // A second derivation written differently from the reference: whole-sequence matrices,
    // heads as column slices, masked keys given probability 0 directly (no additive constant),
    // softmax without the max shift. Realistic eps; d = 4 so layer norms keep information.
    const dims: BertDims = { hiddenSize: 4, layers: 1, heads: 2, intermediateSize: 6, vocabSize: 7, maxPositions: 5, typeVocabSize: 2 };
    const w = randomWeights(dims, 11, { adapterSize: 2, numLabels: 2 });
    const eps = 1e-12;
    const batch: ReferenceBatch = { inputIds: [[1, 4, 6, 2], [3, 5, 0, 0]], tokenTypeIds: [[0, 0, 1, 1], [0, 1, 0, 1]], attentionMask: [[1, 1, 1, 1], [1, 1, 0, 0]] };

    const get = (name: string): number[] => Array.from(w.get(name)!.data);
    const mat = (name: string, cols: number): number[][] => {
      const flat = get(name);
      return Array.from({ length: flat.length / cols }, (_, r) => flat.slice(r * cols, (r + 1) * cols));
    };
    /** X·Wᵀ + b for rows X, W stored [out, in]. */
    const dense = (X: number[][], p: { weight: string; bias: string }, inp: number): number[][] => {
      const W = mat(p.weight, inp);
      const b = get(p.bias);
      return X.map((x) => W.map((row, o) => row.reduce((acc, wi, i) => acc + wi * x[i], 0) + b[o]));
    };
    const norm = (X: number[][], p: { weight: string; bias: string }): number[][] => {
      const g = get(p.weight);
      const beta = get(p.bias);
      return X.map((x) => {
        const mu = x.reduce((a, v) => a + v, 0) / x.length;
        const sigma2 = x.reduce((a, v) => a + (v - mu) ** 2, 0) / x.length;
        return x.map((v, i) => ((v - mu) / Math.sqrt(sigma2 + eps)) * g[i] + beta[i]);
      });
    };
    const plus = (X: number[][], Y: number[][]) => X.map((x, r) => x.map((v, c) => v + Y[r][c]));
    const adapt = (X: number[][], site: 'attention' | 'ffn') => {
      const a = names.adapter(0, site);
      const z = dense(X, a.down, 4).map((r) => r.map(Math.tanh));
      return plus(X, dense(z, a.up, 2));
    };
    const L = names.layer(0);
    const wordE = mat(names.embeddings.word, 4);
    const posE = mat(names.embeddings.position, 4);
    const typeE = mat(names.embeddings.tokenType, 4);

    const expectHidden: number[][][] = [];
    const expectSpan: number[][] = [];
    const expectLogits: number[][] = [];
    for (let b = 0; b < 2; b++) {
      const ids = batch.inputIds[b];
      const E = ids.map((id, s) => wordE[id].map((v, c) => v + posE[s][c] + typeE[batch.tokenTypeIds[b][s]][c]));
      const X = norm(E, { weight: names.embeddings.lnWeight, bias: names.embeddings.lnBias });
      const Q = dense(X, L.query, 4);
      const K = dense(X, L.key, 4);
      const V = dense(X, L.value, 4);
      const C = X.map(() => [0, 0, 0, 0]);
      for (const cols of [[0, 1], [2, 3]]) {
        for (let i = 0; i < ids.length; i++) {
          const e = ids.map((_, j) => (batch.attentionMask[b][j] ? Math.exp((Q[i][cols[0]] * K[j][cols[0]] + Q[i][cols[1]] * K[j][cols[1]]) / Math.SQRT2) : 0));
          const total = e.reduce((a, v) => a + v, 0);
          for (const c of cols) C[i][c] = e.reduce((a, ej, j) => a + (ej / total) * V[j][c], 0);
        }
      }
      const H = norm(plus(X, adapt(dense(C, L.attentionOutput, 4), 'attention')), L.attentionLn);
      const M = dense(H, L.intermediate, 4).map((r) => r.map((t) => 0.5 * t * (1 + erf(t / Math.SQRT2))));
      const Y = norm(plus(H, adapt(dense(M, L.output, 6), 'ffn')), L.outputLn);
      expectHidden.push(Y);
      const qa = dense(Y, names.qaOutputs, 4);
      expectSpan.push([...qa.map((r) => r[0]), ...qa.map((r) => r[1])]);
      const pooled = dense([Y[0]], names.pooler, 4)[0].map(Math.tanh);
      expectLogits.push(dense([pooled], names.classifier, 4)[0]);
    }

    const adapters = { size: 2, sites: ALL_SITES, layers: [0], nonLinearity: 'tanh' as const };
    const span = referenceForward(w, { dims, layerNormEps: eps, adapters, head: { kind: 'span' } }, batch);
    const cls = referenceForward(w, { dims, layerNormEps: eps, adapters, head: { kind: 'classification', numLabels: 2 } }, batch);
    for (let b = 0; b < 2; b++) {
      for (let s = 0; s < 4; s++) close(span.hidden[b][s], expectHidden[b][s], 1e-12, `hidden[${b}][${s}]`);
      close(span.logits[b], expectSpan[b], 1e-12, `span logits[${b}]`);
      close(cls.logits[b], expectLogits[b], 1e-12, `classification logits[${b}]`);
    }
  });

  test('an adapter with zero up-projection weights and biases is exactly the identity', () => {
    const w = randomWeights(SMALL, 21);
    const batch = randomBatch(SMALL, 22, 2, 6, [6, 4]);
    const head = { kind: 'classification' as const, numLabels: 3 };
    const plain = referenceForward(w, { dims: SMALL, layerNormEps: 1e-12, head }, batch);
    for (const nonLin of ['gelu', 'relu', 'swish', 'tanh'] as const) {
      const cfg: ReferenceConfig = { dims: SMALL, layerNormEps: 1e-12, adapters: { size: 4, sites: ALL_SITES, layers: [0, 1], nonLinearity: nonLin }, head };
      // The random adapters change the output...
      assert.ok(outputDiff(referenceForward(w, cfg, batch), plain) > 1e-3, `${nonLin}: random adapters should matter`);
      // ...and with W_up = 0, b_up = 0 (W_down, b_down left random) they vanish exactly.
      const zeroed: WeightMap = new Map(w);
      for (const l of [0, 1]) {
        for (const site of ALL_SITES) {
          const up = names.adapter(l, site).up;
          zeroed.set(up.weight, floatTensor([8, 4]));
          zeroed.set(up.bias, floatTensor([8]));
        }
      }
      assert.equal(outputDiff(referenceForward(zeroed, cfg, batch), plain), 0, nonLin);
    }
  });

  test('a gate of 0 equals removing the adapter; other gates scale its branch', () => {
    const w = randomWeights(SMALL, 31, { numLabels: 1 });
    const batch = randomBatch(SMALL, 32, 2, 6, [5, 6]);
    const head = { kind: 'regression' as const, numLabels: 1 };
    const base = { dims: SMALL, layerNormEps: 1e-12, head };
    const adapters = { size: 4, sites: ALL_SITES, layers: [0, 1], nonLinearity: 'gelu' as const };
    const all = referenceForward(w, { ...base, adapters }, batch);
    const none = referenceForward(w, base, batch);
    // Layer 1 gated off at both sites = adapters at layer 0 only.
    const gatedLayer1 = referenceForward(w, { ...base, adapters, adapterGates: (l) => (l === 1 ? 0 : 1) }, batch);
    const layer0Only = referenceForward(w, { ...base, adapters: { ...adapters, layers: [0] } }, batch);
    assert.equal(outputDiff(gatedLayer1, layer0Only), 0);
    // One site gated off = that site removed.
    const gatedFfn = referenceForward(w, { ...base, adapters, adapterGates: (_l, site) => (site === 'ffn' ? 0 : 1) }, batch);
    const attentionOnly = referenceForward(w, { ...base, adapters: { ...adapters, sites: ['attention'] } }, batch);
    assert.equal(outputDiff(gatedFfn, attentionOnly), 0);
    // Everything gated off = no adapters at all.
    assert.equal(outputDiff(referenceForward(w, { ...base, adapters, adapterGates: () => 0 }, batch), none), 0);
    // Gate 1 is the default, and the configurations above really differ from one another.
    assert.equal(outputDiff(referenceForward(w, { ...base, adapters, adapterGates: () => 1 }, batch), all), 0);
    assert.ok(outputDiff(all, layer0Only) > 1e-3);
    assert.ok(outputDiff(all, attentionOnly) > 1e-3);
    assert.ok(outputDiff(layer0Only, none) > 1e-3);
    // A gate of 2 doubles the branch: with one adapter (layer 1, ffn, right before the last
    // layer norm), LN input = h + 2·branch, so doubling the branch by hand gives the same.
    const only = { ...adapters, layers: [1], sites: ['ffn' as const] };
    const doubled = referenceForward(w, { ...base, adapters: only, adapterGates: () => 2 }, batch);
    const scaled: WeightMap = new Map(w);
    const up = names.adapter(1, 'ffn').up;
    scaled.set(up.weight, floatTensor([8, 4], w.get(up.weight)!.data.map((v) => 2 * v)));
    scaled.set(up.bias, floatTensor([8], w.get(up.bias)!.data.map((v) => 2 * v)));
    assert.ok(outputDiff(doubled, referenceForward(scaled, { ...base, adapters: only }, batch)) < 1e-12);
    assert.ok(outputDiff(doubled, referenceForward(w, { ...base, adapters: only }, batch)) > 1e-3);
  });

  test('masked positions do not influence unmasked positions', () => {
    const w = randomWeights(SMALL, 41);
    const cfg: ReferenceConfig = { dims: SMALL, layerNormEps: 1e-12, adapters: { size: 4, sites: ALL_SITES, layers: [1], nonLinearity: 'swish' }, head: { kind: 'span' } };
    const batch = randomBatch(SMALL, 42, 1, 6, [4]);
    const before = referenceForward(w, cfg, batch);
    const changed: ReferenceBatch = structuredClone(batch);
    changed.inputIds[0][4] = (changed.inputIds[0][4] + 5) % SMALL.vocabSize;
    changed.tokenTypeIds[0][5] = 1 - changed.tokenTypeIds[0][5];
    const after = referenceForward(w, cfg, changed);
    // Masked keys get probability exactly 0, so unmasked outputs are bit-identical.
    for (let s = 0; s < 4; s++) assert.equal(maxDiff(after.hidden[0][s], before.hidden[0][s]), 0, `position ${s}`);
    assert.equal(maxDiff(after.pooled[0], before.pooled[0]), 0);
    // The changed masked positions' own states do change (so the test can see a change)...
    assert.ok(maxDiff(after.hidden[0][4], before.hidden[0][4]) > 1e-3);
    assert.ok(maxDiff(after.hidden[0][5], before.hidden[0][5]) > 1e-3);
    // ...and the same change at an attended position reaches every other position.
    const unmasked: ReferenceBatch = { ...batch, attentionMask: [[1, 1, 1, 1, 1, 1]] };
    const changedUnmasked: ReferenceBatch = { ...changed, attentionMask: unmasked.attentionMask };
    const u0 = referenceForward(w, cfg, unmasked);
    const u1 = referenceForward(w, cfg, changedUnmasked);
    for (let s = 0; s < 4; s++) assert.ok(maxDiff(u0.hidden[0][s], u1.hidden[0][s]) > 1e-6, `position ${s} with mask 1`);
  });

  test('a padded row equals the same row run unpadded, and batch rows are independent', () => {
    const w = randomWeights(SMALL, 51);
    const cfg: ReferenceConfig = { dims: SMALL, layerNormEps: 1e-12, adapters: { size: 4, sites: ['ffn'], layers: [0, 1], nonLinearity: 'relu' }, head: { kind: 'classification', numLabels: 3 } };
    const batch = randomBatch(SMALL, 52, 3, 7, [7, 3, 5]);
    const together = referenceForward(w, cfg, batch);
    for (let b = 0; b < 3; b++) {
      const n = batch.attentionMask[b].reduce((a, v) => a + v, 0);
      const alone = referenceForward(w, cfg, {
        inputIds: [batch.inputIds[b].slice(0, n)],
        tokenTypeIds: [batch.tokenTypeIds[b].slice(0, n)],
        attentionMask: [batch.attentionMask[b].slice(0, n)],
      });
      for (let s = 0; s < n; s++) close(together.hidden[b][s], alone.hidden[0][s], 1e-13, `row ${b} position ${s}`);
      close(together.pooled[b], alone.pooled[0], 1e-13, `row ${b} pooled`);
      close(together.logits[b], alone.logits[0], 1e-13, `row ${b} logits`);
    }
    assert.ok(maxDiff(together.logits[0], together.logits[1]) > 1e-3);
  });

  test('with zero position embeddings, swapping two positions permutes their hidden states', () => {
    const w = randomWeights(SMALL, 61);
    const cfg: ReferenceConfig = { dims: SMALL, layerNormEps: 1e-12, adapters: { size: 4, sites: ALL_SITES, layers: [0, 1], nonLinearity: 'gelu' }, head: { kind: 'span' } };
    const batch: ReferenceBatch = { inputIds: [[2, 9, 14, 5, 17, 0]], tokenTypeIds: [[0, 0, 1, 0, 1, 1]], attentionMask: [[1, 1, 1, 1, 1, 0]] };
    const swapped: ReferenceBatch = { inputIds: [[2, 9, 17, 5, 14, 0]], tokenTypeIds: [[0, 0, 1, 0, 1, 1]], attentionMask: batch.attentionMask };
    swapped.tokenTypeIds[0][2] = batch.tokenTypeIds[0][4];
    swapped.tokenTypeIds[0][4] = batch.tokenTypeIds[0][2];
    const perm = [0, 1, 4, 3, 2, 5]; // swapped position s holds original position perm[s]

    // Position embeddings break the symmetry, so with them the states are not a permutation.
    const withPos0 = referenceForward(w, cfg, batch);
    const withPos1 = referenceForward(w, cfg, swapped);
    assert.ok(maxDiff(withPos1.hidden[0][2], withPos0.hidden[0][4]) > 1e-3);

    const noPos: WeightMap = new Map(w);
    noPos.set(names.embeddings.position, floatTensor([SMALL.maxPositions, SMALL.hiddenSize]));
    const a = referenceForward(noPos, cfg, batch);
    const b = referenceForward(noPos, cfg, swapped);
    for (let s = 0; s < 5; s++) close(b.hidden[0][s], a.hidden[0][perm[s]], 1e-12, `position ${s}`);
    close(b.pooled[0], a.pooled[0], 1e-12, 'pooled ([CLS] unchanged)');
    // Span logits permute with their tokens, in both the start and the end halves.
    const S = 6;
    for (let s = 0; s < 5; s++) {
      assert.ok(Math.abs(b.logits[0][s] - a.logits[0][perm[s]]) < 1e-12);
      assert.ok(Math.abs(b.logits[0][S + s] - a.logits[0][S + perm[s]]) < 1e-12);
    }
    assert.ok(maxDiff(a.hidden[0][2], a.hidden[0][4]) > 1e-3); // the swap moved different states
  });

  test('layer norm outputs have mean 0 and variance 1 before the affine', () => {
    for (const layers of [0, 2]) {
      const dims: BertDims = { ...SMALL, layers };
      const w = randomWeights(dims, 71);
      // The last layer norm is the embeddings' with 0 layers, else the last output LayerNorm.
      const ln = layers === 0 ? { weight: names.embeddings.lnWeight, bias: names.embeddings.lnBias } : names.layer(layers - 1).outputLn;
      const g = w.get(ln.weight)!.data;
      const beta = w.get(ln.bias)!.data;
      const eps = 1e-5; // large enough that var/(var + eps) is visibly below 1
      const out = referenceForward(w, { dims, layerNormEps: eps, adapters: layers ? { size: 4, sites: ALL_SITES, layers: [1], nonLinearity: 'relu' } : undefined, head: { kind: 'span' } }, randomBatch(dims, 72, 2, 6, [6, 3]));
      for (const row of out.hidden) {
        for (const h of row) {
          const n = Array.from(h, (v, i) => (v - beta[i]) / g[i]);
          const mean = n.reduce((a, v) => a + v, 0) / n.length;
          const variance = n.reduce((a, v) => a + (v - mean) ** 2, 0) / n.length; // biased, as LayerNorm
          assert.ok(Math.abs(mean) < 1e-12, `mean ${mean}`);
          // Exactly var/(var + eps) with var the input's variance; inputs here have var ≥ 0.01.
          assert.ok(variance < 1 && variance > 1 - eps / 0.01, `variance ${variance}`);
          assert.ok(Math.abs(variance - 1) > 1e-12); // eps is really inside the square root
        }
      }
    }
  });

  test('head layouts: classification [numLabels], regression [1], span [start…, end…]', () => {
    const w = randomWeights(SMALL, 81, { numLabels: 1 });
    const batch = randomBatch(SMALL, 82, 2, 5, [5, 5]);
    const base = { dims: SMALL, layerNormEps: 1e-12 };
    const reg = referenceForward(w, { ...base, head: { kind: 'regression', numLabels: 1 } }, batch);
    const cls = referenceForward(w, { ...base, head: { kind: 'classification', numLabels: 1 } }, batch);
    const span = referenceForward(w, { ...base, head: { kind: 'span' } }, batch);
    const pw = w.get(names.pooler.weight)!.data;
    const pb = w.get(names.pooler.bias)!.data;
    const cw = w.get(names.classifier.weight)!.data;
    const cb = w.get(names.classifier.bias)!.data;
    const qw = w.get(names.qaOutputs.weight)!.data;
    const qb = w.get(names.qaOutputs.bias)!.data;
    const d = SMALL.hiddenSize;
    const dot = (row: ArrayLike<number>, offset: number, x: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < d; i++) s += row[offset + i] * x[i];
      return s;
    };
    for (let b = 0; b < 2; b++) {
      const cls0 = reg.hidden[b][0];
      const pooled = Array.from({ length: d }, (_, o) => Math.tanh(dot(pw, o * d, cls0) + pb[o]));
      close(reg.pooled[b], pooled, 1e-14, 'pooled = tanh(W_p·h_[CLS] + b_p)');
      assert.equal(reg.logits[b].length, 1);
      close(reg.logits[b], [dot(cw, 0, pooled) + cb[0]], 1e-14, 'regression');
      assert.deepEqual(cls.logits[b], reg.logits[b]);
      assert.equal(span.logits[b].length, 10);
      for (let s = 0; s < 5; s++) {
        const h = span.hidden[b][s];
        assert.ok(Math.abs(span.logits[b][s] - (dot(qw, 0, h) + qb[0])) < 1e-14, 'start logits first');
        assert.ok(Math.abs(span.logits[b][5 + s] - (dot(qw, d, h) + qb[1])) < 1e-14, 'end logits second');
      }
    }
    const three = randomWeights(SMALL, 83, { numLabels: 3 });
    assert.equal(referenceForward(three, { ...base, head: { kind: 'classification', numLabels: 3 } }, batch).logits[0].length, 3);
  });

  test('masked keys use finfo(float32).min, so an all-masked row attends uniformly as in Hugging Face', () => {
    assert.equal(MASKED_SCORE, -3.4028234663852886e38);
    assert.equal(MASKED_SCORE, -new Float32Array([3.4028234663852886e38])[0]); // float32 max, exactly
    // With every key masked, the constant swamps the scores: uniform attention, so the row's
    // states are those of the same tokens with every key attended and Q = K = 0.
    const w = randomWeights(SMALL, 91);
    const cfg: ReferenceConfig = { dims: SMALL, layerNormEps: 1e-12, head: { kind: 'span' } };
    const ids = [3, 1, 4, 1];
    const allMasked = referenceForward(w, cfg, { inputIds: [ids], tokenTypeIds: [[0, 0, 0, 0]], attentionMask: [[0, 0, 0, 0]] });
    const flat: WeightMap = new Map(w);
    for (let l = 0; l < SMALL.layers; l++) {
      const n = names.layer(l);
      for (const p of [n.query, n.key]) {
        flat.set(p.weight, floatTensor([8, 8]));
        flat.set(p.bias, floatTensor([8]));
      }
    }
    const uniformAttention = referenceForward(flat, cfg, { inputIds: [ids], tokenTypeIds: [[0, 0, 0, 0]], attentionMask: [[1, 1, 1, 1]] });
    for (let s = 0; s < 4; s++) close(allMasked.hidden[0][s], uniformAttention.hidden[0][s], 1e-12, `position ${s}`);
  });

  test('rejects missing or misshapen weights and out-of-range inputs', () => {
    const w = randomWeights(SMALL, 101);
    const cfg: ReferenceConfig = { dims: SMALL, layerNormEps: 1e-12, head: { kind: 'classification', numLabels: 3 } };
    const batch = randomBatch(SMALL, 102, 1, 4, [4]);
    const missing: WeightMap = new Map(w);
    missing.delete(names.layer(1).key.bias);
    assert.throws(() => referenceForward(missing, cfg, batch), /missing weight encoder\.layer\.1\.attention\.self\.key\.bias/);
    const misshapen: WeightMap = new Map(w);
    misshapen.set(names.layer(0).query.weight, floatTensor([4, 16]));
    assert.throws(() => referenceForward(misshapen, cfg, batch), /shape \[4, 16\], expected \[8, 8\]/);
    assert.throws(() => referenceForward(w, { ...cfg, head: { kind: 'classification', numLabels: 2 } }, batch), /classifier\.weight/);
    assert.throws(() => referenceForward(w, { ...cfg, adapters: { size: 5, sites: ['ffn'], layers: [0], nonLinearity: 'relu' } }, batch), /adapter\.down\.weight/);
    assert.throws(() => referenceForward(w, { ...cfg, adapters: { size: 4, sites: ['ffn'], layers: [2], nonLinearity: 'relu' } }, batch), /adapter layer 2/);
    assert.throws(() => referenceForward(w, cfg, { ...batch, inputIds: [[0, 1, 20, 3]] }), /token id 20/);
    assert.throws(() => referenceForward(w, cfg, { ...batch, tokenTypeIds: [[0, 2, 0, 0]] }), /token type 2/);
    assert.throws(() => referenceForward(w, cfg, { ...batch, attentionMask: [[1, 1, 1]] }), /not of length 4/);
    const long = randomBatch(SMALL, 103, 1, 9, [9]);
    assert.throws(() => referenceForward(w, cfg, long), /exceeds maxPositions/);
  });

  test('d=32, 2 layers, 4 heads, seq 16, batch 3: every output present and finite', () => {
    const dims: BertDims = { hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 128, vocabSize: 100, maxPositions: 16, typeVocabSize: 2 };
    const w = randomWeights(dims, 111, { adapterSize: 8 });
    const batch = randomBatch(dims, 112, 3, 16, [16, 9, 12]);
    const out = referenceForward(w, { dims, layerNormEps: 1e-12, adapters: { size: 8, sites: ALL_SITES, layers: [0, 1], nonLinearity: 'gelu' }, head: { kind: 'span' } }, batch);
    assert.equal(out.hidden.length, 3);
    assert.equal(out.hidden[0].length, 16);
    assert.equal(out.logits[2].length, 32);
    assert.ok(out.hidden.every((row) => row.every((h) => h.every(Number.isFinite))));
  });
});
