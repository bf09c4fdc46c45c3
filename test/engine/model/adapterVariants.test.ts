/**
 * Adapter variants (placement, Pfeiffer's input, scaling, inner norm, depth, sharing): float64
 * gradient checks, forward parity of AdapterHub's three configurations and of each variant
 * against the independent float64 reference, the near-identity start at init_std 1e-7, and
 * parameter counts against the shapes the graph holds.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveExperiment } from '../../../engine/config/experiment';
import { gradients } from '../../../engine/graph/autodiff';
import { Ops } from '../../../engine/graph/ops';
import { parameterShapes, type AdapterSpec, type HeadSpec, type ModelSpec } from '../../../engine/model/bert';
import type { BertDims } from '../../../engine/model/dims';
import { initAdapters, initModel } from '../../../engine/model/init';
import * as names from '../../../engine/model/names';
import { countParameters } from '../../../engine/model/parameters';
import { EngineSession, type RunTensor } from '../../../engine/runtime/session';
import { buildBert, initHead } from '../../../engine/tasks';
import { floatTensor, type WeightMap } from '../../../engine/tensor';
import { planRun } from '../../../engine/train/plan';
import { Trainer, type Batch } from '../../../engine/train/trainer';
import { Random } from '../../../engine/util/random';
import { referenceForward, type ReferenceConfig } from '../../support/referenceBert';

type Adapters = Omit<AdapterSpec, 'layers'> & { layers?: readonly number[] };

/** Weights far from the identity, with every variant parameter moved off its initial value, so a wrong graph shows. */
function weightsFor(spec: ModelSpec, seed: number, std: number): WeightMap {
  const weights = initModel(spec, seed);
  initAdapters(weights, spec, std, seed);
  initHead(weights, spec, seed);
  const rng = new Random(seed + 1);
  for (const [name, t] of weights) {
    if (/adapter\.(LayerNorm|scaling)/.test(name) || name.endsWith('adapter.down.bias') || name.endsWith('adapter.up.bias')) {
      for (let i = 0; i < t.data.length; i++) t.data[i] = (name.endsWith('weight') || name.endsWith('scaling') ? 1 : 0) + (rng.next() - 0.5) * 0.6;
    }
  }
  if (!weights.has(names.pooler.weight)) {
    weights.set(names.pooler.weight, floatTensor([spec.dims.hiddenSize, spec.dims.hiddenSize]));
    weights.set(names.pooler.bias, floatTensor([spec.dims.hiddenSize]));
  }
  return weights;
}

// --- gradient checks ------------------------------------------------------------------------

const SMALL: BertDims = { hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 12, vocabSize: 20, maxPositions: 8, typeVocabSize: 2 };

async function gradError(adapters: Adapters, pick: (name: string) => boolean): Promise<{ worst: number; trainable: string[] }> {
  const spec: ModelSpec = { dims: SMALL, layerNormEps: 1e-12, adapters: { layers: [0, 1], ...adapters }, head: { kind: 'classification', numLabels: 3 } };
  const weights = weightsFor(spec, 3, 0.5);
  const trainable = [...parameterShapes(spec).keys()].filter(pick);
  const o = new Ops();
  const bert = buildBert(o, spec, weights, { trainable: new Set(trainable), dtype: 'float64' });
  const rnd = new Random(9);
  const r = o.graph.initializer('r', { dtype: 'float64', shape: [6], data: Float64Array.from({ length: 6 }, () => rnd.next() * 2 - 1) });
  const loss = o.reduceSum(o.mul(o.reshape(bert.logits, [-1], [6]), r), [0], false);
  o.graph.output(loss, 'loss');
  const grads = gradients(o, loss, [...bert.params.values()]);
  for (const [name, v] of bert.params) o.graph.output(grads.get(v)!, `grad.${name}`);
  const session = await EngineSession.create(o.graph.toOnnx());
  const feeds: Record<string, RunTensor> = {
    input_ids: { data: BigInt64Array.from([2, 5, 9, 13, 0, 2, 7, 7, 0, 0].map(BigInt)), shape: [2, 5] },
    token_type_ids: { data: BigInt64Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0].map(BigInt)), shape: [2, 5] },
    attention_mask: { data: BigInt64Array.from([1, 1, 1, 1, 0, 1, 1, 1, 0, 0].map(BigInt)), shape: [2, 5] },
  };
  const values = new Map<string, Float64Array>();
  for (const name of trainable) {
    values.set(name, Float64Array.from(weights.get(name)!.data));
    feeds[name] = { data: values.get(name)!, shape: weights.get(name)!.shape };
  }
  const analytic = await session.run(feeds);
  let worst = 0;
  for (const name of trainable) {
    const x = values.get(name)!;
    const g = analytic[`grad.${name}`]!.data as Float64Array;
    for (let s = 0; s < Math.min(3, x.length); s++) {
      const k = rnd.int(x.length);
      const keep = x[k]!;
      x[k] = keep + 1e-6;
      const plus = ((await session.run(feeds, ['loss'])).loss!.data as Float64Array)[0]!;
      x[k] = keep - 1e-6;
      const minus = ((await session.run(feeds, ['loss'])).loss!.data as Float64Array)[0]!;
      x[k] = keep;
      const numeric = (plus - minus) / 2e-6;
      worst = Math.max(worst, Math.abs(numeric - g[k]!) / Math.max(1e-4, Math.abs(numeric), Math.abs(g[k]!)));
    }
  }
  await session.release();
  return { worst, trainable };
}

const adapterOrLn = (n: string) => n.includes('.adapter.') || n.includes('LayerNorm');

describe('adapter variants: gradient checks (float64)', () => {
  const cases: [string, Adapters][] = [
    ['parallel, scaling 4 (par_bn)', { size: 3, sites: ['attention', 'ffn'], nonLinearity: 'swish', placement: 'parallel', scaling: 4 }],
    ["Pfeiffer's input: the layer norm used before and after the adapter (seq_bn)", { size: 3, sites: ['attention', 'ffn'], nonLinearity: 'gelu', input: 'normalized' }],
    ['inner layer norm, depth 3, learned scaling', { size: 3, sites: ['attention', 'ffn'], nonLinearity: 'tanh', innerNorm: 'layernorm', depth: 3, scaling: 'learned' }],
    ['shared across layers, parallel, learned scaling, inner norm', { size: 3, sites: ['attention', 'ffn'], nonLinearity: 'swish', placement: 'parallel', share: 'all_layers', scaling: 'learned', innerNorm: 'layernorm' }],
  ];
  for (const [name, adapters] of cases) {
    test(name, async () => {
      const { worst, trainable } = await gradError(adapters, adapterOrLn);
      assert.ok(worst < 1e-5, `max relative error ${worst.toExponential(2)}`);
      if (adapters.share === 'all_layers') assert.ok(!trainable.some((n) => n.startsWith('encoder.layer.1.') && n.includes('.adapter.')), 'a shared adapter has one set of parameters');
    });
  }
});

// --- forward parity -------------------------------------------------------------------------

const DIMS: BertDims = { hiddenSize: 32, layers: 3, heads: 4, intermediateSize: 48, vocabSize: 50, maxPositions: 16, typeVocabSize: 2 };
const HEAD: HeadSpec = { kind: 'classification', numLabels: 3 };

function batch(): { batch: Batch; ref: { inputIds: number[][]; tokenTypeIds: number[][]; attentionMask: number[][] } } {
  const rng = new Random(5);
  const lengths = [7, 4, 2];
  const seq = 7;
  const ids = lengths.map((len) => Array.from({ length: seq }, (_, s) => (s === 0 ? 2 : s < len ? 5 + rng.int(45) : 0)));
  const types = lengths.map((len) => Array.from({ length: seq }, (_, s) => (s >= Math.max(2, Math.floor(len / 2)) && s < len ? 1 : 0)));
  const mask = lengths.map((len) => Array.from({ length: seq }, (_, s) => (s < len ? 1 : 0)));
  const flat = (rows: number[][]) => BigInt64Array.from(rows.flat().map(BigInt));
  return {
    batch: { inputIds: flat(ids), tokenTypeIds: flat(types), attentionMask: flat(mask), batchSize: 3, sequenceLength: seq, tokens: 13 },
    ref: { inputIds: ids, tokenTypeIds: types, attentionMask: mask },
  };
}

async function logits(spec: ModelSpec, weights: WeightMap, gates?: Float32Array): Promise<Float32Array> {
  const trainer = await Trainer.create(spec, weights, [], undefined, { gates: gates !== undefined });
  try {
    return (await trainer.logits(batch().batch, gates)).data;
  } finally {
    await trainer.release();
  }
}

function referenceOf(a: AdapterSpec): ReferenceConfig['adapters'] {
  return { size: a.size, sites: [...a.sites], layers: [...a.layers], nonLinearity: a.nonLinearity, placement: a.placement, input: a.input, scaling: a.scaling, innerNorm: a.innerNorm === 'layernorm', depth: a.depth, shared: a.share === 'all_layers' };
}

async function parity(adapters: Adapters, gates?: Float32Array): Promise<number> {
  const spec: ModelSpec = { dims: DIMS, layerNormEps: 1e-12, adapters: { layers: [0, 1, 2], ...adapters }, head: HEAD };
  const weights = weightsFor(spec, 21, 0.3);
  const got = await logits(spec, weights, gates);
  const expected = referenceForward(weights, { dims: DIMS, layerNormEps: 1e-12, adapters: referenceOf(spec.adapters!), adapterGates: gates ? (l, s) => gates[l * 2 + (s === 'attention' ? 0 : 1)]! : undefined, head: HEAD }, batch().ref);
  return Math.max(...expected.logits.flatMap((row, b) => row.map((v, k) => Math.abs(got[b * row.length + k]! - v))));
}

/** AdapterHub's three configurations as the engine's presets resolve them on this model. */
function presetAdapters(preset: string): Adapters {
  const e = resolveExperiment({ name: 'x', model: 'builtin:tiny-bert', task: { kind: 'classification', train: 't.tsv', text: 's', label: 'l' }, adapter: { preset } }, '/');
  const plan = planRun(e, DIMS, 3);
  return plan.spec.adapters!;
}

describe('adapter variants: forward parity with the float64 reference', () => {
  for (const preset of ['houlsby', 'pfeiffer', 'parallel']) {
    test(`preset ${preset}`, async () => {
      const a = presetAdapters(preset);
      const err = await parity(a);
      assert.ok(err < 1e-4, `max logit difference ${err.toExponential(2)}`);
    });
  }
  const cases: [string, Adapters, Float32Array?][] = [
    ['parallel with learned scaling', { size: 6, sites: ['attention', 'ffn'], nonLinearity: 'relu', placement: 'parallel', scaling: 'learned' }],
    ['inner layer norm and depth 2, scaling 0.5', { size: 6, sites: ['attention', 'ffn'], nonLinearity: 'gelu', innerNorm: 'layernorm', depth: 2, scaling: 0.5 }],
    ['shared across layers (Pfeiffer input)', { size: 6, sites: ['attention', 'ffn'], nonLinearity: 'swish', share: 'all_layers', input: 'normalized' }],
    ['parallel, gates remove branches (layer 1 off, layer 2 ffn halved)', { size: 6, sites: ['attention', 'ffn'], nonLinearity: 'gelu', placement: 'parallel', scaling: 4 }, Float32Array.from([1, 1, 0, 0, 1, 0.5])],
    ['Pfeiffer input, gates remove branches', { size: 6, sites: ['ffn'], nonLinearity: 'relu', input: 'normalized' }, Float32Array.from([0, 0, 1, 0, 0, 1])],
  ];
  for (const [name, adapters, gates] of cases) {
    test(name, async () => {
      const err = await parity(adapters, gates);
      assert.ok(err < 1e-4, `max logit difference ${err.toExponential(2)}`);
    });
  }

  test('with every gate at 0, each variant computes the base model', async () => {
    const base: ModelSpec = { dims: DIMS, layerNormEps: 1e-12, adapters: undefined, head: HEAD };
    for (const adapters of [presetAdapters('pfeiffer'), presetAdapters('parallel'), { ...presetAdapters('houlsby'), share: 'all_layers' as const, scaling: 'learned' as const }]) {
      const spec: ModelSpec = { ...base, adapters: { layers: [0, 1, 2], ...adapters } };
      const weights = weightsFor(spec, 4, 0.3);
      const off = await logits(spec, weights, new Float32Array(DIMS.layers * 2));
      const plain = await logits(base, weights);
      const diff = Math.max(...off.map((v, i) => Math.abs(v - plain[i]!)));
      assert.ok(diff < 1e-5, `${JSON.stringify(adapters)}: ${diff}`);
    }
  });
});

describe('adapter variants: near-identity initialisation', () => {
  test('with init_std 1e-7 every variant starts at the base model\'s logits (1e-4)', async () => {
    const base: ModelSpec = { dims: DIMS, layerNormEps: 1e-12, adapters: undefined, head: HEAD };
    const weights = initModel(base, 8);
    initHead(weights, base, 8);
    const plain = await logits(base, weights);
    const variants: Adapters[] = [
      presetAdapters('houlsby'),
      presetAdapters('pfeiffer'),
      presetAdapters('parallel'),
      { size: 8, sites: ['attention', 'ffn'], nonLinearity: 'gelu', innerNorm: 'layernorm', depth: 3, scaling: 'learned', share: 'all_layers' },
      { size: 8, sites: ['attention', 'ffn'], nonLinearity: 'tanh', placement: 'parallel', input: 'normalized', innerNorm: 'layernorm', depth: 2 },
    ];
    for (const adapters of variants) {
      const spec: ModelSpec = { ...base, adapters: { layers: [0, 1, 2], ...adapters } };
      const w = new Map(weights);
      initAdapters(w, spec, 1e-7, 8);
      const got = await logits(spec, w);
      const diff = Math.max(...got.map((v, i) => Math.abs(v - plain[i]!)));
      assert.ok(diff < 1e-4, `${JSON.stringify(adapters)}: ${diff}`);
      // A strong init moves them: the check can fail.
      const far = new Map(weights);
      initAdapters(far, spec, 0.5, 8);
      const moved = await logits(spec, far);
      assert.ok(Math.max(...moved.map((v, i) => Math.abs(v - plain[i]!))) > 1e-3, `${JSON.stringify(adapters)} does not change the logits at all`);
    }
  });
});

describe('adapter variants: parameter counts', () => {
  const experiment = (adapter: Record<string, unknown>) => resolveExperiment({ name: 'x', model: 'builtin:tiny-bert', task: { kind: 'classification', train: 't.tsv', text: 's', label: 'l' }, adapter: { train_layernorm: false, ...adapter } }, '/');
  test('the counts equal the trained shapes, shared weights once', () => {
    const cases: Record<string, unknown>[] = [
      { preset: 'houlsby' },
      { preset: 'pfeiffer' },
      { preset: 'parallel', scaling: 'learned' },
      { size: 5, inner_norm: 'layernorm', depth: 3, scaling: 'learned' },
      { size: 5, share: 'all_layers', inner_norm: 'layernorm', scaling: 'learned', layers: '1..2' },
    ];
    for (const adapter of cases) {
      const plan = planRun(experiment(adapter), DIMS, 3);
      const shapes = parameterShapes(plan.spec);
      const trained = plan.trainable.filter((n) => n.includes('.adapter.')).reduce((sum, n) => sum + shapes.get(n)!.reduce((a, b) => a * b, 1), 0);
      const counts = countParameters(DIMS, plan.counting);
      assert.equal(counts.adapters, trained, JSON.stringify(adapter));
    }
    const d = DIMS.hiddenSize;
    const houlsby = countParameters(DIMS, planRun(experiment({ preset: 'houlsby' }), DIMS, 3).counting);
    assert.equal(houlsby.adapterSize, d / 16);
    assert.equal(houlsby.adapters, 2 * 3 * (2 * 2 * d + d + 2));
    const parallel = countParameters(DIMS, planRun(experiment({ preset: 'parallel' }), DIMS, 3).counting);
    assert.equal(parallel.adapters, 3 * (2 * 16 * d + d + 16), 'par_bn: ffn only, m = d // 2');
    const shared = countParameters(DIMS, planRun(experiment({ size: 4, share: 'all_layers' }), DIMS, 3).counting);
    assert.equal(shared.adapters, 2 * (2 * 4 * d + d + 4), 'one adapter per site, whatever the layers');
  });
});
