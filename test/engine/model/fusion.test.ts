/**
 * The fusion layer: the engine's exact rewrite (W_v after the weighted sum, W_kᵀQ once per
 * token, no adapter output formed; with constant weights, every d × d product folded)
 * against the plain formulation as AdapterHub computes it, in float64, with the query
 * reading the residual h (Houlsby's placement) or another tensor (Pfeiffer's: LN(x + h));
 * gradient checks of both configs and of a whole sub-layer end in Pfeiffer's placement; and
 * the whole model: against the float64 reference's AdapterHub fusion in both placements, and
 * its special cases (one adapter with the value at the identity is the adapter model; zero
 * query weights average the adapters).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { constantData, Ops } from '../../../engine/graph/ops';
import type { Value } from '../../../engine/graph/graph';
import { fuse, identityValue, type FusedBottlenecks, type FusionInputs } from '../../../engine/model/fusion';
import { fusionParameterCount } from '../../../engine/model/parameters';
import { activation, parameterShapes, type AdapterSpec, type ModelSpec } from '../../../engine/model/bert';
import type { BertDims } from '../../../engine/model/dims';
import { initAdapters, initFusion, initModel } from '../../../engine/model/init';
import { Trainer } from '../../../engine/train/trainer';
import * as names from '../../../engine/model/names';
import { EngineSession, type RunTensor } from '../../../engine/runtime/session';
import { buildBert, initHead } from '../../../engine/tasks';
import type { WeightMap } from '../../../engine/tensor';
import { floatTensor } from '../../../engine/tensor';
import { Random } from '../../../engine/util/random';
import { gradCheck, random } from '../../support/gradcheck';
import { referenceForward, type ReferenceConfig } from '../../support/referenceBert';

const T = 5;
const D = 6;

/** Row-major [rows, cols] matrices as plain arrays of rows. */
type Mat = number[][];
const randMat = (rng: Random, rows: number, cols: number, scale = 1): Mat => Array.from({ length: rows }, () => Array.from({ length: cols }, () => (rng.next() * 2 - 1) * scale));
const flat = (m: Mat): Float64Array => Float64Array.from(m.flat());
/** y = x·Wᵀ (+ b), W stored [out, in] as Hugging Face stores it. */
const linear = (x: Mat, w: Mat, b?: number[]): Mat => x.map((row) => w.map((wo, o) => wo.reduce((s, v, i) => s + v * row[i]!, b ? b[o]! : 0)));

/** One fused adapter: z = s·(f·Uᵀ + b), f its bottleneck activation [T, m]. */
interface Bottleneck {
  readonly f: Mat;
  readonly up: Mat;
  readonly b: number[];
  readonly scale?: number;
}

interface Case {
  readonly h: Mat;
  /** What the query reads when it is not h (Pfeiffer's placement: LN(x + h)). */
  readonly q?: Mat;
  readonly adapters: Bottleneck[];
  readonly wq: Mat;
  readonly bq: number[];
  readonly wk: Mat;
  readonly bk: number[];
  readonly wv: Mat | undefined;
}

const outputOf = (a: Bottleneck): Mat => linear(a.f, a.up, a.b).map((row) => row.map((v) => v * (a.scale ?? 1)));

/** N adapters of unequal widths (2, 3, 4, 2, …), every other one scaled. */
function randomCase(seed: number, n: number, dynamic: boolean, separateQuery = false): Case {
  const rng = new Random(seed);
  return {
    h: randMat(rng, T, D),
    ...(separateQuery ? { q: randMat(rng, T, D) } : {}),
    adapters: Array.from({ length: n }, (_, k) => {
      const m = 2 + (k % 3);
      return { f: randMat(rng, T, m), up: randMat(rng, D, m), b: randMat(rng, 1, D)[0]!, ...(k % 2 === 1 ? { scale: 0.5 + rng.next() } : {}) };
    }),
    wq: randMat(rng, D, D, 0.8),
    bq: randMat(rng, 1, D)[0]!,
    wk: randMat(rng, D, D, 0.8),
    // A key bias far from zero: it must cancel in the softmax.
    bk: randMat(rng, 1, D, 3)[0]!,
    wv: dynamic ? randMat(rng, D, D) : undefined,
  };
}

/**
 * AdapterHub's BertFusion, literally: the adapters' outputs z_n, Q, K_n and V_n per adapter,
 * scores (times `keep` [T][N] when given: dropped scores), softmax over the adapters,
 * weighted sum of the values; returns what is added to x (h + o, or with residual_before o
 * alone after h was added to the adapters' outputs).
 */
function plainFusion(c: Case, residualBefore: boolean, temperature = 1, keep?: number[][]): Mat {
  const outputs = c.adapters.map(outputOf);
  const z = residualBefore ? outputs.map((zn) => zn.map((row, t) => row.map((v, i) => v + c.h[t]![i]!))) : outputs;
  const q = linear(c.q ?? c.h, c.wq, c.bq);
  const k = z.map((zn) => linear(zn, c.wk, c.bk));
  const v = z.map((zn) => (c.wv ? linear(zn, c.wv) : zn));
  return c.h.map((hrow, t) => {
    const s = k.map((kn, n) => (kn[t]!.reduce((acc, kv, i) => acc + kv * q[t]![i]!, 0) * (keep ? keep[t]![n]! : 1)) / temperature);
    const m = Math.max(...s);
    const e = s.map((x) => Math.exp(x - m));
    const total = e.reduce((a, b) => a + b, 0);
    const o = hrow.map((_, i) => v.reduce((acc, vn, n) => acc + (e[n]! / total) * vn[t]![i]!, 0));
    return residualBefore ? o : o.map((x, i) => x + hrow[i]!);
  });
}

/** The graph's inputs for a case's adapters: F side by side, and each adapter's U_n, b_n and s_n. */
function bottleneckInputs(c: Case, input: (name: string, shape: number[]) => Value): FusedBottlenecks {
  const total = c.adapters.reduce((sum, a) => sum + a.f[0]!.length, 0);
  return {
    hidden: input('f', [T, total]),
    adapters: c.adapters.map((a, n) => {
      const m = a.f[0]!.length;
      return { size: m, up: { weight: input(`up${n}`, [D, m]), bias: input(`upb${n}`, [D]) }, ...(a.scale !== undefined ? { scale: input(`s${n}`, [1]) } : {}) };
    }),
  };
}

function bottleneckFeeds(c: Case): Record<string, RunTensor> {
  const total = c.adapters.reduce((sum, a) => sum + a.f[0]!.length, 0);
  const feeds: Record<string, RunTensor> = { f: { data: Float64Array.from(c.h.flatMap((_, t) => c.adapters.flatMap((a) => a.f[t]!))), shape: [T, total] } };
  c.adapters.forEach((a, n) => {
    feeds[`up${n}`] = { data: flat(a.up), shape: [D, a.f[0]!.length] };
    feeds[`upb${n}`] = { data: Float64Array.from(a.b), shape: [D] };
    if (a.scale !== undefined) feeds[`s${n}`] = { data: Float64Array.from([a.scale]), shape: [1] };
  });
  return feeds;
}

/**
 * The engine's rewrite in a float64 graph; returns h + added (the same quantity as
 * plainFusion). `constantWeights`: the inference form (products of weights that onnxruntime
 * folds when they are constants); `keep`: scores multiplied by it, as dropout would;
 * `throughUp`: the training form's keys and values through W_k·[U B] and W_v·[U B].
 */
async function rewrittenFusion(c: Case, residualBefore: boolean, temperature?: number, constantWeights = false, keep?: number[][], throughUp?: boolean, keyBias = false): Promise<Mat> {
  const o = new Ops();
  const input = (name: string, shape: number[]) => o.graph.input(name, 'float64', shape);
  const h = input('h', [T, D]);
  const q = c.q ? input('q', [T, D]) : h;
  const z = bottleneckInputs(c, input);
  const weights = { query: { weight: input('wq', [D, D]), bias: input('bq', [D]) }, key: input('wk', [D, D]), ...(keyBias ? { keyBias: input('bk', [D]) } : {}), value: c.wv ? input('wv', [D, D]) : undefined };
  const mask = keep ? input('keep', [T, c.adapters.length]) : undefined;
  const fused = fuse(o, { query: q, residual: h }, z, weights, { residualBefore, constantWeights, ...(throughUp !== undefined ? { throughUp } : {}), ...(temperature ? { temperature: o.scalar(temperature, 'float64') } : {}), ...(mask ? { dropScores: (s: Value) => o.mul(s, mask) } : {}) });
  o.graph.output(o.add(h, fused.added), 'out');
  const session = await EngineSession.create(o.graph.toOnnx());
  const feeds: Record<string, RunTensor> = { ...bottleneckFeeds(c), h: { data: flat(c.h), shape: [T, D] }, wq: { data: flat(c.wq), shape: [D, D] }, bq: { data: Float64Array.from(c.bq), shape: [D] }, wk: { data: flat(c.wk), shape: [D, D] } };
  if (c.q) feeds.q = { data: flat(c.q), shape: [T, D] };
  if (c.wv) feeds.wv = { data: flat(c.wv), shape: [D, D] };
  if (keep) feeds.keep = { data: flat(keep), shape: [T, c.adapters.length] };
  if (keyBias) feeds.bk = { data: Float64Array.from(c.bk), shape: [D] };
  const out = (await session.run(feeds)).out!.data as Float64Array;
  await session.release();
  return Array.from({ length: T }, (_, t) => Array.from(out.subarray(t * D, (t + 1) * D)));
}

const maxDiff = (a: Mat, b: Mat): number => Math.max(...a.flatMap((row, t) => row.map((v, i) => Math.abs(v - b[t]![i]!))));

describe('fusion layer: the exact rewrite equals the plain formulation (float64)', () => {
  for (const n of [1, 2, 3, 8]) {
    for (const config of ['dynamic', 'static'] as const) {
      for (const residualBefore of [false, true]) {
        test(`N = ${n}, ${config}${residualBefore ? ', residual_before' : ''}`, async () => {
          const c = randomCase(100 + n, n, config === 'dynamic');
          for (const throughUp of [false, true]) {
            const diff = maxDiff(await rewrittenFusion(c, residualBefore, undefined, false, undefined, throughUp), plainFusion(c, residualBefore));
            assert.ok(diff < 1e-6, `${throughUp ? 'through W_k·[U B]' : 'through k'}: max difference ${diff.toExponential(2)}`);
          }
        });
      }
    }
  }
  for (const n of [1, 2, 3, 8]) {
    for (const config of ['dynamic', 'static'] as const) {
      for (const residualBefore of [false, true]) {
        test(`the query apart from the residual (Pfeiffer's placement), N = ${n}, ${config}${residualBefore ? ', residual_before' : ''}`, async () => {
          const c = randomCase(500 + n, n, config === 'dynamic', true);
          const diff = maxDiff(await rewrittenFusion(c, residualBefore), plainFusion(c, residualBefore));
          assert.ok(diff < 1e-6, `max difference ${diff.toExponential(2)}`);
          // The query's input matters: reading h instead gives another fusion.
          assert.ok(maxDiff(plainFusion(c, residualBefore), plainFusion({ ...c, q: undefined }, residualBefore)) > 1e-3 || n === 1);
        });
      }
    }
  }
  test('inference form, the query apart from the residual: scores through W_qᵀ·W_k·[U B], values through W_v·[U B]', async () => {
    for (const residualBefore of [false, true]) {
      const c = randomCase(601, 4, true, true);
      const diff = maxDiff(await rewrittenFusion(c, residualBefore, undefined, true), plainFusion(c, residualBefore));
      assert.ok(diff < 1e-6, `max difference ${diff.toExponential(2)}`);
    }
  });
  test('inference form, N = 1 and 8, dynamic and static', async () => {
    for (const n of [1, 8]) {
      for (const dynamic of [true, false]) {
        const c = randomCase(300 + n, n, dynamic);
        const diff = maxDiff(await rewrittenFusion(c, false, undefined, true), plainFusion(c, false));
        assert.ok(diff < 1e-6, `N = ${n}: max difference ${diff.toExponential(2)}`);
      }
    }
  });
  test('dropped scores with residual_before: each score keeps k·r, so the rewrite still equals the plain form (key bias 0)', async () => {
    const rng = new Random(77);
    const c = { ...randomCase(78, 4, true), bk: new Array<number>(D).fill(0) };
    const keep = Array.from({ length: T }, () => Array.from({ length: 4 }, () => (rng.next() < 0.3 ? 0 : 1 / 0.7)));
    assert.ok(keep.flat().includes(0));
    for (const throughUp of [false, true]) {
      const diff = maxDiff(await rewrittenFusion(c, true, undefined, false, keep, throughUp), plainFusion(c, true, 1, keep));
      assert.ok(diff < 1e-6, `max difference ${diff.toExponential(2)}`);
    }
    // Leaving k·r out would change the result once a score is dropped.
    assert.ok(maxDiff(plainFusion(c, true, 1, keep), plainFusion(c, true)) > 1e-3);
  });
  test('dropped scores with a key bias: fed, Q·b_k joins every score before the dropout, as in the plain form', async () => {
    const rng = new Random(79);
    const c = randomCase(80, 4, true);
    const keep = Array.from({ length: T }, () => Array.from({ length: 4 }, () => (rng.next() < 0.3 ? 0 : 1 / 0.7)));
    for (const residualBefore of [false, true]) {
      for (const throughUp of [false, true]) {
        const diff = maxDiff(await rewrittenFusion(c, residualBefore, undefined, false, keep, throughUp, true), plainFusion(c, residualBefore, 1, keep));
        assert.ok(diff < 1e-6, `${residualBefore ? 'residual_before, ' : ''}${throughUp ? 'through W·[U B]' : 'through k'}: max difference ${diff.toExponential(2)}`);
      }
      // Without it the dropped scores would differ from AdapterHub's; with every score kept it cancels.
      assert.ok(maxDiff(await rewrittenFusion(c, residualBefore, undefined, false, keep), plainFusion(c, residualBefore, 1, keep)) > 1e-3);
      assert.ok(maxDiff(await rewrittenFusion(c, residualBefore, undefined, false, undefined, undefined, true), plainFusion(c, residualBefore)) < 1e-6);
    }
  });
  test('with a temperature the scores are divided by it', async () => {
    const c = randomCase(7, 4, true);
    const diff = maxDiff(await rewrittenFusion(c, false, 3.5), plainFusion(c, false, 3.5));
    assert.ok(diff < 1e-6, `max difference ${diff.toExponential(2)}`);
    // And the temperature matters: without it the result differs.
    assert.ok(maxDiff(plainFusion(c, false, 3.5), plainFusion(c, false)) > 1e-3);
  });
  test('with zero query weights and bias, the output is the plain average of the adapters through W_v', async () => {
    const c = { ...randomCase(11, 5, true), wq: randMat(new Random(1), D, D, 0), bq: new Array<number>(D).fill(0) };
    const got = await rewrittenFusion(c, false);
    const z = c.adapters.map(outputOf);
    const mean = c.h.map((_, t) => Array.from({ length: D }, (_, i) => z.reduce((s, zn) => s + zn[t]![i]!, 0) / z.length));
    const want = linear(mean, c.wv!).map((row, t) => row.map((v, i) => v + c.h[t]![i]!));
    assert.ok(maxDiff(got, want) < 1e-9);
  });
  test('the parameter count per site is 3d² + 2d dynamic, 2d² + 2d static (d = 768: 1,771,008)', () => {
    assert.equal(fusionParameterCount('dynamic', 768), 1_771_008);
    assert.equal(fusionParameterCount('static', 768), 2 * 768 * 768 + 2 * 768);
  });
});

/**
 * A case's fusion inputs for a gradient check, each drawn in ±0.5 from `seed`: h, F, each
 * adapter's up projection (and scale), the query and key weights, then `weights` in order.
 */
function gradInputs(c: Case, seed: number, weights: readonly { readonly name: string; readonly shape: number[] }[]) {
  const total = c.adapters.reduce((sum, a) => sum + a.f[0]!.length, 0);
  const rnd = random(seed);
  const shapes = [
    { name: 'h', shape: [T, D] },
    { name: 'f', shape: [T, total] },
    ...c.adapters.flatMap((a, n) => [{ name: `up${n}`, shape: [D, a.f[0]!.length] }, { name: `upb${n}`, shape: [D] }, ...(a.scale !== undefined ? [{ name: `s${n}`, shape: [1] }] : [])]),
    { name: 'wq', shape: [D, D] },
    { name: 'bq', shape: [D] },
    { name: 'wk', shape: [D, D] },
    ...weights,
  ];
  return shapes.map((i) => ({ ...i, data: Float64Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, () => rnd() - 0.5) }));
}

describe('fusion layer: gradient checks (float64)', () => {
  for (const config of ['dynamic', 'static'] as const) {
    for (const [residualBefore, throughUp] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      test(`${config}${residualBefore ? ', residual_before' : ''}, ${throughUp ? 'keys and values through W·[U B]' : 'through k and W_v'}: h, the adapters' activations, up projections and scales, and every weight`, async () => {
        const c = randomCase(40, 3, config === 'dynamic');
        // Inputs in ±0.5: at gradCheck's default ±1 the absolute errors were over ten times
        // larger (up to 7e-8, whatever the step from 1e-7 to 1e-4). Here they are 1e-9 to
        // 4e-9, against gradients near 1e-3: a floor of a few 1e-6 in relative error, where a
        // wrong rule is off by far more.
        const inputs = gradInputs(c, 40, config === 'dynamic' ? [{ name: 'wv', shape: [D, D] }] : []);
        const r = await gradCheck(inputs, (o, v: Value[]) => {
          const at = new Map(inputs.map((input, i) => [input.name, v[i]!]));
          const get = (name: string): Value => at.get(name)!;
          const z = bottleneckInputs(c, get);
          const h = get('h');
          return o.add(h, fuse(o, { query: h, residual: h }, z, { query: { weight: get('wq'), bias: get('bq') }, key: get('wk'), value: at.get('wv') }, { residualBefore, throughUp, temperature: o.scalar(1.7, 'float64') }).added);
        });
        assert.ok(r.maxRelError < 1e-5, `max relative error ${r.maxRelError.toExponential(2)}`);
      });
    }
  }

  for (const throughUp of [false, true]) {
    test(`dynamic, residual_before, dropped scores, ${throughUp ? 'through W·[U B]' : 'through k and W_v'}: the key bias gets its gradient`, async () => {
      const c = randomCase(41, 3, true);
      const inputs = gradInputs(c, 41, [
        { name: 'bk', shape: [D] },
        { name: 'wv', shape: [D, D] },
      ]);
      // A fixed dropout mask: a third of the scores dropped, the rest scaled by 1/0.7.
      const keep = Array.from({ length: T * 3 }, (_, i) => ((Math.floor(i / 3) + i) % 3 === 0 ? 0 : 1 / 0.7));
      const r = await gradCheck(inputs, (o, v: Value[]) => {
        const at = new Map(inputs.map((input, i) => [input.name, v[i]!]));
        const get = (name: string): Value => at.get(name)!;
        const mask = o.graph.initializer('keep', constantData('float64', [T, 3], keep));
        const h = get('h');
        const fused = fuse(o, { query: h, residual: h }, bottleneckInputs(c, get), { query: { weight: get('wq'), bias: get('bq') }, key: get('wk'), keyBias: get('bk'), value: get('wv') }, { residualBefore: true, throughUp, dropScores: (s) => o.mul(s, mask) });
        return o.add(h, fused.added);
      });
      assert.ok(r.maxRelError < 1e-5, `max relative error ${r.maxRelError.toExponential(2)}`);
    });
  }

  // A whole sub-layer end in Pfeiffer's placement, LN(x + h + o) with the adapters (and, unless
  // query_before_ln, the query) reading LN(x + h): gradients reach x, h and the layer norm
  // through the adapters, the query and the residual alike. onnxruntime's LayerNormalization
  // keeps its mean and inverse std in float32 whatever the input type, so through a layer
  // norm the check holds to about 1e-6, as the whole model's checks (bertGradients) do.
  const M = 2;
  const N = 2;
  const cases = [
    ['dynamic', false, false],
    ['dynamic', true, false],
    ['dynamic', false, true],
    ['static', false, false],
  ] as const;
  for (const [config, residualBefore, queryBeforeLn] of cases) {
    test(`Pfeiffer's placement, ${config}${residualBefore ? ', residual_before' : ''}${queryBeforeLn ? ', query_before_ln' : ''}: x, h, the layer norm, the adapters and every fusion weight`, async () => {
      const adapterInputs = Array.from({ length: N }, (_, k) => [
        { name: `down${k}`, shape: [M, D] },
        { name: `downb${k}`, shape: [M] },
        { name: `up${k}`, shape: [D, M] },
        { name: `upb${k}`, shape: [D] },
      ]).flat();
      const inputs = [
        { name: 'x', shape: [T, D] },
        { name: 'h', shape: [T, D] },
        { name: 'lnw', shape: [D] },
        { name: 'lnb', shape: [D] },
        ...adapterInputs,
        { name: 'wq', shape: [D, D] },
        { name: 'bq', shape: [D] },
        { name: 'wk', shape: [D, D] },
        ...(config === 'dynamic' ? [{ name: 'wv', shape: [D, D] }] : []),
      ];
      const r = await gradCheck(inputs, (o, v: Value[]) => {
        const at = new Map(inputs.map((input, i) => [input.name, v[i]!]));
        const get = (name: string): Value => at.get(name)!;
        const norm = (t: Value): Value => o.layerNorm(t, get('lnw'), get('lnb'), 1e-12);
        const x = get('x');
        const h = get('h');
        const a = norm(o.add(x, h));
        // F from each adapter's own down projection, side by side (gradients through the concatenation).
        const z: FusedBottlenecks = {
          hidden: o.concat(Array.from({ length: N }, (_, k) => activation(o, o.linear(a, get(`down${k}`), get(`downb${k}`)), 'tanh')), 1),
          adapters: Array.from({ length: N }, (_, k) => ({ size: M, up: { weight: get(`up${k}`), bias: get(`upb${k}`) } })),
        };
        const inputsOf: FusionInputs = { query: queryBeforeLn ? h : a, residual: h };
        const fused = fuse(o, inputsOf, z, { query: { weight: get('wq'), bias: get('bq') }, key: get('wk'), value: config === 'dynamic' ? get('wv') : undefined }, { residualBefore, temperature: o.scalar(1.3, 'float64') });
        return norm(o.add(x, o.add(h, fused.added)));
      });
      assert.ok(r.maxRelError < 1e-5, `max relative error ${r.maxRelError.toExponential(2)}`);
    });
  }
});

const DIMS: BertDims = { hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 12, vocabSize: 20, maxPositions: 8, typeVocabSize: 2 };
const FEEDS: Record<string, RunTensor> = {
  input_ids: { data: BigInt64Array.from([2, 5, 9, 13, 0, 2, 7, 7, 0, 0].map(BigInt)), shape: [2, 5] },
  token_type_ids: { data: BigInt64Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0].map(BigInt)), shape: [2, 5] },
  attention_mask: { data: BigInt64Array.from([1, 1, 1, 1, 0, 1, 1, 1, 0, 0].map(BigInt)), shape: [2, 5] },
};

async function logitsOf(spec: ModelSpec, weights: WeightMap): Promise<Float64Array> {
  const o = new Ops();
  const bert = buildBert(o, spec, weights, { trainable: new Set(), dtype: 'float64' });
  o.graph.output(bert.logits, 'logits');
  const session = await EngineSession.create(o.graph.toOnnx());
  const out = (await session.run(FEEDS)).logits!.data as Float64Array;
  await session.release();
  return out;
}

/** A model with Houlsby adapters in both layers, and the same adapters' weights under fused names. */
const HOULSBY_ADAPTER: AdapterSpec = { size: 3, sites: ['attention', 'ffn'], layers: [0, 1], nonLinearity: 'gelu' };

function adapterModel(seed: number, adapter: AdapterSpec = HOULSBY_ADAPTER) {
  const spec: ModelSpec = { dims: DIMS, layerNormEps: 1e-12, adapters: adapter, head: { kind: 'classification', numLabels: 3 } };
  const weights = initModel(spec, seed);
  initAdapters(weights, spec, 0.5, seed);
  initHead(weights, spec, seed);
  return { adapter, spec, weights };
}

/** Copies the adapter weights of `from` to fused adapter `name`'s names. */
function asFused(weights: WeightMap, from: WeightMap, name: string): void {
  for (const [k, t] of from) {
    const m = /^encoder\.layer\.(\d+)\.(attention\.output|output)\.adapter\.(.*)$/.exec(k);
    if (m) weights.set(`encoder.layer.${m[1]}.${m[2]}.adapters.${name}.${m[3]}`, t);
  }
}

function setFusionWeights(weights: WeightMap, layers: readonly number[], rng: Random, opts: { readonly zeroQuery?: boolean; readonly exactIdentity?: boolean; readonly keyBiasScale?: number } = {}): void {
  const d = DIMS.hiddenSize;
  for (const l of layers) {
    for (const site of ['attention', 'ffn'] as const) {
      const p = names.fusion(l, site);
      const rand = (shape: number[], scale: number) => floatTensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() * 2 - 1) * scale));
      weights.set(p.query.weight, opts.zeroQuery ? floatTensor([d, d]) : rand([d, d], 0.5));
      weights.set(p.query.bias, opts.zeroQuery ? floatTensor([d]) : rand([d], 0.5));
      weights.set(p.key.weight, rand([d, d], 0.5));
      weights.set(p.key.bias, rand([d], opts.keyBiasScale ?? 0.5));
      const eye = identityValue(d);
      if (opts.exactIdentity) for (let i = 0; i < eye.length; i++) if (i % (d + 1) !== 0) eye[i] = 0;
      weights.set(p.value.weight, floatTensor([d, d], eye));
    }
  }
}

describe('fusion in the whole model', () => {
  test('one adapter with the value at the identity: the fused model is the adapter model', async () => {
    const { adapter, spec, weights } = adapterModel(5);
    const fusedWeights = new Map([...weights].filter(([k]) => !k.includes('.adapter.')));
    asFused(fusedWeights, weights, 'only');
    setFusionWeights(fusedWeights, [0, 1], new Random(3), { exactIdentity: true });
    const fusedSpec: ModelSpec = { ...spec, adapters: undefined, fusion: { adapters: [{ name: 'only', adapter }], layers: [0, 1], sites: ['attention', 'ffn'], config: 'dynamic', residualBefore: false, temperature: false, regularization: 0.01, dropout: undefined } };
    const a = await logitsOf(spec, weights);
    const b = await logitsOf(fusedSpec, fusedWeights);
    const diff = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));
    assert.ok(diff < 1e-9, `max difference ${diff.toExponential(2)}`);
    // And the model with no adapter at all differs: the adapter does something here.
    const plain = await logitsOf({ ...spec, adapters: undefined }, weights);
    assert.ok(Math.max(...Array.from(a, (v, i) => Math.abs(v - plain[i]!))) > 1e-4);
  });

  test('fusing two adapters lists both adapters and the fusion layers, and the output depends on both', async () => {
    const one = adapterModel(5);
    const two = adapterModel(6);
    const weights = new Map([...one.weights].filter(([k]) => !k.includes('.adapter.')));
    asFused(weights, one.weights, 'a');
    asFused(weights, two.weights, 'b');
    setFusionWeights(weights, [0, 1], new Random(4));
    const fusion = { adapters: [{ name: 'a', adapter: one.adapter }, { name: 'b', adapter: two.adapter }], layers: [0, 1], sites: ['attention', 'ffn'] as const, config: 'dynamic' as const, residualBefore: false, temperature: false, regularization: 0.01, dropout: undefined };
    const spec: ModelSpec = { ...one.spec, adapters: undefined, fusion };
    const shapes = parameterShapes(spec);
    assert.ok(shapes.has('encoder.layer.1.output.adapters.b.up.weight'));
    assert.deepEqual(shapes.get('encoder.layer.0.attention.output.adapter_fusion_layer.value.weight'), [8, 8]);
    const both = await logitsOf(spec, weights);
    // Pruned to adapter a only: a different model.
    const pruned = await logitsOf({ ...spec, fusion: { ...fusion, adapters: [fusion.adapters[0]!] } }, weights);
    assert.ok(Math.max(...Array.from(both, (v, i) => Math.abs(v - pruned[i]!))) > 1e-5);
  });
});

/** A model with adapters in Pfeiffer's placement (AdapterHub's seq_bn: after the feed-forward sub-layer, reading LN(x + h)). */
function pfeifferModel(seed: number) {
  return adapterModel(seed, { size: 3, sites: ['ffn'], layers: [0, 1], nonLinearity: 'relu', input: 'normalized' });
}

const REFERENCE_BATCH = {
  inputIds: [Array.from(FEEDS.input_ids!.data as BigInt64Array, Number).slice(0, 5), Array.from(FEEDS.input_ids!.data as BigInt64Array, Number).slice(5)],
  tokenTypeIds: [Array.from(FEEDS.token_type_ids!.data as BigInt64Array, Number).slice(0, 5), Array.from(FEEDS.token_type_ids!.data as BigInt64Array, Number).slice(5)],
  attentionMask: [Array.from(FEEDS.attention_mask!.data as BigInt64Array, Number).slice(0, 5), Array.from(FEEDS.attention_mask!.data as BigInt64Array, Number).slice(5)],
};

/**
 * Two fused adapters with their fusion layers at random (key biases far from zero), in either
 * placement; `second` changes the second adapter (Houlsby's placement), `upBiases` draws the
 * adapters' up biases away from zero.
 */
function twoFused(placement: 'houlsby' | 'pfeiffer', opts: { readonly config?: 'dynamic' | 'static'; readonly residualBefore?: boolean; readonly queryBeforeLn?: boolean; readonly second?: Pick<AdapterSpec, 'size' | 'nonLinearity'>; readonly upBiases?: boolean } = {}) {
  const one = placement === 'pfeiffer' ? pfeifferModel(5) : adapterModel(5);
  const two = placement === 'pfeiffer' ? pfeifferModel(6) : adapterModel(6, { ...HOULSBY_ADAPTER, ...opts.second });
  const weights = new Map([...one.weights].filter(([k]) => !k.includes('.adapter.')));
  asFused(weights, one.weights, 'a');
  asFused(weights, two.weights, 'b');
  if (opts.upBiases) {
    const rng = new Random(10);
    for (const [name, t] of weights) if (/\.adapters\.[ab]\.up\.bias$/.test(name)) weights.set(name, floatTensor(t.shape, Float32Array.from(t.data, () => rng.next() - 0.5)));
  }
  setFusionWeights(weights, [0, 1], new Random(8), { keyBiasScale: 3 });
  const config = opts.config ?? 'dynamic';
  const fusion = { adapters: [{ name: 'a', adapter: one.adapter }, { name: 'b', adapter: two.adapter }], layers: [0, 1], sites: one.adapter.sites, config, residualBefore: opts.residualBefore ?? false, queryBeforeLn: opts.queryBeforeLn ?? false, temperature: false, regularization: 0.01, dropout: undefined };
  const spec: ModelSpec = { ...one.spec, adapters: undefined, fusion };
  const reference: ReferenceConfig = {
    dims: DIMS,
    layerNormEps: 1e-12,
    head: { kind: 'classification', numLabels: 3 },
    fusion: {
      adapters: fusion.adapters.map((f) => ({ name: f.name, size: f.adapter.size, nonLinearity: f.adapter.nonLinearity, layers: [...f.adapter.layers], sites: [...f.adapter.sites] })),
      input: placement === 'pfeiffer' ? 'normalized' : 'output',
      layers: [0, 1],
      sites: [...fusion.sites],
      config,
      residualBefore: fusion.residualBefore,
      queryBeforeLn: fusion.queryBeforeLn,
    },
  };
  return { spec, weights, reference };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>): number => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe("fusion in the whole model: Pfeiffer's placement", () => {
  for (const residualBefore of [false, true]) {
    for (const queryBeforeLn of [false, true]) {
      test(`one Pfeiffer adapter with the value at the identity${residualBefore ? ', residual_before' : ''}${queryBeforeLn ? ', query_before_ln' : ''}: the fused model is the Pfeiffer adapter model`, async () => {
        const { adapter, spec, weights } = pfeifferModel(5);
        const fusedWeights = new Map([...weights].filter(([k]) => !k.includes('.adapter.')));
        asFused(fusedWeights, weights, 'only');
        setFusionWeights(fusedWeights, [0, 1], new Random(3), { exactIdentity: true });
        const fusedSpec: ModelSpec = { ...spec, adapters: undefined, fusion: { adapters: [{ name: 'only', adapter }], layers: [0, 1], sites: ['ffn'], config: 'dynamic', residualBefore, queryBeforeLn, temperature: false, regularization: 0.01, dropout: undefined } };
        const a = await logitsOf(spec, weights);
        const b = await logitsOf(fusedSpec, fusedWeights);
        assert.ok(maxAbs(a, b) < 1e-9, `max difference ${maxAbs(a, b).toExponential(2)}`);
        // The adapter reads LN(x + h): the same weights read as Houlsby's placement give another model.
        const houlsby = await logitsOf({ ...spec, adapters: { ...adapter, input: 'output' } }, weights);
        assert.ok(maxAbs(a, houlsby) > 1e-4);
      });
    }
  }

  for (const placement of ['pfeiffer', 'houlsby'] as const) {
    for (const config of ['dynamic', 'static'] as const) {
      for (const residualBefore of [false, true]) {
        for (const queryBeforeLn of placement === 'pfeiffer' ? [false, true] : [false]) {
          test(`two ${placement === 'pfeiffer' ? "Pfeiffer" : 'Houlsby'} adapters, ${config}${residualBefore ? ', residual_before' : ''}${queryBeforeLn ? ', query_before_ln' : ''}: the engine's rewrite equals AdapterHub's plain fusion (float64 reference)`, async () => {
            const { spec, weights, reference } = twoFused(placement, { config, residualBefore, queryBeforeLn });
            const engine = await logitsOf(spec, weights);
            const ref = referenceForward(weights, reference, REFERENCE_BATCH).logits.flat();
            // Layer norms keep float32 statistics in onnxruntime (see the gradient checks): about 1e-7 here.
            assert.ok(maxAbs(engine, ref) < 1e-6, `max difference ${maxAbs(engine, ref).toExponential(2)}`);
          });
        }
      }
    }
  }

  // Plain bottlenecks with one non-linearity share one stacked down projection; others each
  // compute their own. Both, with unequal widths, against the reference's adapter-by-adapter fusion.
  for (const [label, second] of [
    ['unequal widths, one non-linearity (one stacked down projection)', { size: 5, nonLinearity: 'gelu' }],
    ['unequal widths and non-linearities (a down projection each)', { size: 5, nonLinearity: 'relu' }],
  ] as const) {
    test(`two Houlsby adapters of ${label}: the engine's rewrite equals AdapterHub's plain fusion (float64 reference)`, async () => {
      // Up biases away from zero: with zero biases, swapping which adapter a column belongs to
      // would swap scores and weights alike and go unseen.
      const { spec, weights, reference } = twoFused('houlsby', { second, upBiases: true });
      const engine = await logitsOf(spec, weights);
      const ref = referenceForward(weights, reference, REFERENCE_BATCH).logits.flat();
      assert.ok(maxAbs(engine, ref) < 1e-6, `max difference ${maxAbs(engine, ref).toExponential(2)}`);
    });
  }

  test("query_before_ln changes a Pfeiffer fusion (the query reads h, not LN(x + h)) and not a Houlsby one", async () => {
    const pfeiffer = [false, true].map((queryBeforeLn) => twoFused('pfeiffer', { queryBeforeLn }));
    const [p0, p1] = await Promise.all(pfeiffer.map((m) => logitsOf(m.spec, m.weights)));
    assert.ok(maxAbs(p0!, p1!) > 1e-6, `difference ${maxAbs(p0!, p1!).toExponential(2)}`);
    const houlsby = [false, true].map((queryBeforeLn) => twoFused('houlsby', { queryBeforeLn }));
    const [h0, h1] = await Promise.all(houlsby.map((m) => logitsOf(m.spec, m.weights)));
    assert.equal(maxAbs(h0!, h1!), 0);
  });

  test('adapters of two placements, or parallel adapters, are refused when the graph is built', () => {
    const { spec, weights } = twoFused('pfeiffer');
    const fusion = spec.fusion!;
    const mixed: ModelSpec = { ...spec, fusion: { ...fusion, adapters: [fusion.adapters[0]!, { name: 'b', adapter: { ...fusion.adapters[1]!.adapter, input: 'output' } }] } };
    assert.throws(() => buildBert(new Ops(), mixed, weights, { trainable: new Set() }), /adapter "b" reads the sub-layer's output h .*, but "a" reads the layer's normalised sum LN\(x \+ h\) .*: fused adapters need one placement/);
    const parallel: ModelSpec = { ...spec, fusion: { ...fusion, adapters: [{ name: 'a', adapter: { ...fusion.adapters[0]!.adapter, placement: 'parallel' } }, fusion.adapters[1]!] } };
    assert.throws(() => buildBert(new Ops(), parallel, weights, { trainable: new Set() }), /adapter "a" is a parallel adapter; a fusion fuses serial adapters/);
  });
});

describe('fusion in the training step', () => {
  const BATCH = {
    inputIds: FEEDS.input_ids!.data as BigInt64Array,
    tokenTypeIds: FEEDS.token_type_ids!.data as BigInt64Array,
    attentionMask: FEEDS.attention_mask!.data as BigInt64Array,
    batchSize: 2,
    sequenceLength: 5,
    labels: BigInt64Array.of(1n, 2n),
    tokens: 7,
  };
  const OPTIMIZER = { kind: 'adamw' as const, learningRate: 1e-3, weightDecay: 0, maxGradNorm: 1, warmupSteps: 0, totalSteps: 10 };

  function fusedModel(regularization: number) {
    const one = adapterModel(5);
    const two = adapterModel(6);
    const weights = new Map([...one.weights].filter(([k]) => !k.includes('.adapter.')));
    asFused(weights, one.weights, 'a');
    asFused(weights, two.weights, 'b');
    const fusion = { adapters: [{ name: 'a', adapter: one.adapter }, { name: 'b', adapter: two.adapter }], layers: [0, 1], sites: ['attention', 'ffn'] as const, config: 'dynamic' as const, residualBefore: false, temperature: false, regularization, dropout: undefined };
    const spec: ModelSpec = { ...one.spec, adapters: undefined, fusion };
    initFusion(weights, spec, false, 9);
    const trainable = [...parameterShapes(spec).keys()].filter((n) => n.includes('.adapter_fusion_layer.') || n.startsWith('classifier.'));
    return { spec, weights, trainable };
  }

  test("the loss includes the value regulariser, weight · Σ ‖I − W_v‖²", async () => {
    const losses: number[] = [];
    let penalty = 0;
    for (const weight of [0, 0.5]) {
      const { spec, weights, trainable } = fusedModel(weight);
      penalty = 0;
      for (const [n, t] of weights) if (n.endsWith('adapter_fusion_layer.value.weight')) t.data.forEach((x, i) => (penalty += (x - (i % 9 === 0 ? 1 : 0)) ** 2));
      const trainer = await Trainer.create(spec, weights, trainable, OPTIMIZER, { threads: 1 });
      losses.push((await trainer.step(BATCH)).loss);
      await trainer.release();
    }
    assert.ok(penalty > 1, 'the values start away from the identity here');
    assert.ok(Math.abs(losses[1]! - losses[0]! - 0.5 * penalty) < 1e-3 * penalty, `${losses[1]! - losses[0]!} vs ${0.5 * penalty}`);
  });

  test('a gate of 0 removes a layer\'s fusion and its adapters (AdapterDrop)', async () => {
    const { spec, weights, trainable } = fusedModel(0.01);
    const trainer = await Trainer.create(spec, weights, trainable, undefined, { threads: 1, gates: true });
    const off = await trainer.logits(BATCH, Float32Array.of(0, 0, 0, 0));
    const on = await trainer.logits(BATCH, Float32Array.of(1, 1, 1, 1));
    await trainer.release();
    const plain = await logitsOf({ ...spec, fusion: undefined }, weights);
    assert.ok(Math.max(...Array.from(off.data, (v, i) => Math.abs(v - plain[i]!))) < 1e-5);
    assert.ok(Math.max(...Array.from(on.data, (v, i) => Math.abs(v - plain[i]!))) > 1e-4);
  });
});
