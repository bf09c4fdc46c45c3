/** The training engine on generated models and data: what is trained, what is differentiated, and that it learns. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveExperiment, type Experiment } from '../../../engine/config/experiment';
import type { BertDims } from '../../../engine/model/dims';
import { initAdapters, initModel } from '../../../engine/model/init';
import { initHead } from '../../../engine/tasks';
import { countParameters } from '../../../engine/model/parameters';
import { planRun } from '../../../engine/train/plan';
import { Trainer, type Batch } from '../../../engine/train/trainer';
import { buildTrainingGraph } from '../../../engine/train/trainingGraph';
import { Random } from '../../../engine/util/random';

const SMALL: BertDims = { hiddenSize: 32, layers: 4, heads: 4, intermediateSize: 64, vocabSize: 64, maxPositions: 32, typeVocabSize: 2 };

function experiment(overrides: Record<string, unknown>): Experiment {
  const base = { name: 't', model: 'builtin:tiny-bert', task: { kind: 'classification', train: 'x.tsv', text: 's', label: 'l' }, adapter: { size: 8 }, training: { seed: 1 } };
  const merged = structuredClone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) merged[k] = typeof v === 'object' && v !== null && !Array.isArray(v) ? { ...(merged[k] as object), ...v } : v;
  return resolveExperiment(merged, '/tmp');
}

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Sequences whose label is 1 when a "signal" token (ids 10–13) occurs; learnable from attention. */
function syntheticBatches(count: number, batchSize: number, seed: number): Batch[] {
  const rng = new Random(seed);
  const batches: Batch[] = [];
  for (let k = 0; k < count; k++) {
    const S = 10;
    const ids = new BigInt64Array(batchSize * S);
    const mask = new BigInt64Array(batchSize * S);
    const labels = new BigInt64Array(batchSize);
    let tokens = 0;
    for (let b = 0; b < batchSize; b++) {
      const positive = rng.next() < 0.5;
      const len = 5 + rng.int(S - 5);
      const signalAt = 1 + rng.int(len - 1);
      for (let s = 0; s < len; s++) {
        ids[b * S + s] = BigInt(s === 0 ? 2 : positive && s === signalAt ? 10 + rng.int(4) : 20 + rng.int(40));
        mask[b * S + s] = 1n;
      }
      labels[b] = positive ? 1n : 0n;
      tokens += len;
    }
    batches.push({ inputIds: ids, tokenTypeIds: new BigInt64Array(batchSize * S), attentionMask: mask, batchSize, sequenceLength: S, labels, tokens });
  }
  return batches;
}

async function accuracy(trainer: Trainer, batches: Batch[]): Promise<number> {
  let right = 0;
  let total = 0;
  for (const b of batches) {
    const { data } = await trainer.logits(b);
    for (let i = 0; i < b.batchSize; i++) {
      const pred = data[i * 2 + 1]! > data[i * 2]! ? 1n : 0n;
      if (pred === b.labels![i]) right++;
      total++;
    }
  }
  return right / total;
}

describe('training plan', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['adapters at both sites of every layer', { method: 'adapter' }],
    ['adapters with static AdapterDrop of 0..1', { method: 'adapter', drop: { layers: '0..1' } }],
    ['adapters at ffn only, no layer norms', { method: 'adapter', adapter: { size: 4, sites: ['ffn'], train_layernorm: false } }],
    ['full fine-tuning', { method: 'full' }],
    ['top 2 layers', { method: 'top_k', top_k: 2 }],
    ['layer norms only', { method: 'layernorm' }],
    ['regression head', { method: 'adapter', task: { kind: 'regression' } }],
    ['span head with top 1 layer', { method: 'top_k', top_k: 1, task: { kind: 'span' } }],
  ];
  for (const [name, overrides] of cases) {
    test(`trainable parameters equal the counting formula: ${name}`, () => {
      const e = experiment(overrides);
      const plan = planRun(e, SMALL, 3);
      const weights = initModel(plan.spec, 1);
      initAdapters(weights, plan.spec, 1e-2, 1);
      initHead(weights, plan.spec, 1);
      const summed = plan.trainable.reduce((n, p) => n + sizeOf(weights.get(p)!.shape), 0);
      assert.equal(summed, countParameters(SMALL, plan.counting).trainable);
      assert.equal(new Set(plan.trainable).size, plan.trainable.length, 'no parameter twice');
    });
  }
});

describe('AdapterDrop', () => {
  const SIX: BertDims = { ...SMALL, layers: 6 };
  const graphFor = (overrides: Record<string, unknown>) => {
    const plan = planRun(experiment(overrides), SIX, 2);
    const weights = initModel(plan.spec, 1);
    initAdapters(weights, plan.spec, 1e-2, 1);
    initHead(weights, plan.spec, 1);
    return buildTrainingGraph(plan.spec, weights, plan.trainable, { kind: 'adamw', learningRate: 1e-3, weightDecay: 0, maxGradNorm: 1, warmupSteps: 0, totalSteps: 10 });
  };

  test('with drop.layers 0..4 the training graph has no backward nodes for layers 0-4', () => {
    const g = graphFor({ method: 'adapter', drop: { layers: '0..4' } });
    const touched = [...g.differentiated].filter((n) => n.startsWith('encoder.layer.'));
    assert.ok(touched.some((n) => n.startsWith('encoder.layer.5.')), 'backward reaches layer 5');
    assert.deepEqual(touched.filter((n) => /^encoder\.layer\.[0-4]\./.test(n)), []);
    const all = graphFor({ method: 'adapter' });
    assert.ok([...all.differentiated].some((n) => n.startsWith('encoder.layer.0.')), 'without AdapterDrop, backward reaches layer 0');
    assert.ok(g.nodeCount.total - g.nodeCount.forward < (all.nodeCount.total - all.nodeCount.forward) / 3, 'dropping five of six layers removes most backward nodes');
  });
});

describe('initialisation', () => {
  test('adapters initialised with init_std 1e-7 leave the logits of the base model unchanged (1e-4)', async () => {
    const e = experiment({ method: 'adapter', adapter: { size: 8, init_std: 1e-7 } });
    const plan = planRun(e, SMALL, 2);
    const weights = initModel(plan.spec, 4);
    initHead(weights, plan.spec, 4);
    initAdapters(weights, plan.spec, 1e-7, 4);
    const adapted = await Trainer.create(plan.spec, weights, plan.trainable, undefined);
    const baseSpec = { ...plan.spec, adapters: undefined };
    const base = await Trainer.create(baseSpec, weights, [], undefined);
    const [batch] = syntheticBatches(1, 6, 3);
    const a = await adapted.logits(batch!);
    const b = await base.logits(batch!);
    const diff = Math.max(...Array.from(a.data, (v, i) => Math.abs(v - b.data[i]!)));
    assert.ok(diff < 1e-4, `max logit difference ${diff}`);
    assert.ok(Math.max(...Array.from(a.data, Math.abs)) > 1e-3, 'the logits are not trivially zero');
    await adapted.release();
    await base.release();
  });
});

describe('reproducibility', () => {
  test('training with dropout: the same seed gives identical weights, another seed different ones', async () => {
    const plan = planRun(experiment({ method: 'adapter' }), SMALL, 2);
    const run = async (seed: number): Promise<Float32Array> => {
      const weights = initModel(plan.spec, 7);
      initAdapters(weights, plan.spec, 1e-2, 7);
      initHead(weights, plan.spec, 7);
      const trainer = await Trainer.create(plan.spec, weights, plan.trainable, { kind: 'adamw', learningRate: 1e-2, weightDecay: 0.01, maxGradNorm: 1, warmupSteps: 2, totalSteps: 10 }, { threads: 1, dropout: { hidden: 0.1, attention: 0.1 }, seed });
      for (const b of syntheticBatches(10, 8, 5)) await trainer.step(b);
      const w = trainer.weight('encoder.layer.3.output.adapter.up.weight').data;
      await trainer.release();
      return w;
    };
    const [a, b, c] = [await run(1), await run(1), await run(2)];
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });
});

describe('learning', () => {
  // Each method with the learning rate and step budget it needs on a random (not pretrained) base.
  const methods: [string, Record<string, unknown>, number, number][] = [
    ['adapter', { method: 'adapter', adapter: { size: 16 } }, 1e-2, 300],
    ['full', { method: 'full' }, 2e-3, 300],
    ['top_k', { method: 'top_k', top_k: 2 }, 1e-2, 600],
    ['layernorm', { method: 'layernorm' }, 5e-2, 800],
  ];
  for (const [name, overrides, lr, steps] of methods) {
    test(`${name}: reaches high accuracy on a learnable synthetic task`, async () => {
      const plan = planRun(experiment(overrides), SMALL, 2);
      const weights = initModel(plan.spec, 7);
      initAdapters(weights, plan.spec, 1e-2, 7);
      initHead(weights, plan.spec, 7);
      const trainer = await Trainer.create(plan.spec, weights, plan.trainable, { kind: 'adamw', learningRate: lr, weightDecay: 0, maxGradNorm: 1, warmupSteps: 20, totalSteps: steps }, { threads: 1 });
      const data = syntheticBatches(steps, 16, 11);
      const held = syntheticBatches(8, 32, 99);
      const before = await accuracy(trainer, held);
      let first = 0;
      let last = 0;
      for (let i = 0; i < steps; i++) {
        const r = await trainer.step(data[i]!);
        if (i < 20) first += r.loss / 20;
        if (i >= steps - 20) last += r.loss / 20;
      }
      const after = await accuracy(trainer, held);
      await trainer.release();
      assert.ok(after >= 0.9, `held-out accuracy ${before.toFixed(2)} → ${after.toFixed(2)}; loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
      assert.ok(last < first / 2, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    });
  }
});
