/**
 * Frozen-prefix caching: training from the cache equals training through the prefix (the
 * prefix without dropout), in float32, float16 and on disk; a job reports the time saved;
 * a sweep's trials share one cache.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveExperiment, type Experiment } from '../../../engine/config/experiment';
import type { EndEvent, JobEvent } from '../../../engine/events';
import type { BertDims } from '../../../engine/model/dims';
import { initAdapters, initModel } from '../../../engine/model/init';
import { initHead } from '../../../engine/tasks';
import { type EncodedExample } from '../../../engine/tasks/batches';
import { makeBatches } from '../../../engine/tasks';
import { runTrainJob } from '../../../engine/jobs/train';
import { frozenPrefixLayers, planRun } from '../../../engine/train/plan';
import { fromHalf, PrefixCache, PrefixCachePool, toHalf, type PrefixStorage } from '../../../engine/train/prefixCache';
import { Trainer } from '../../../engine/train/trainer';
import { Random } from '../../../engine/util/random';
import { Workspace } from '../../support/fixtures';

const SMALL: BertDims = { hiddenSize: 32, layers: 4, heads: 4, intermediateSize: 64, vocabSize: 64, maxPositions: 32, typeVocabSize: 2 };

function experiment(extra: Record<string, unknown> = {}): Experiment {
  return resolveExperiment({ name: 't', model: 'builtin:tiny-bert', task: { kind: 'classification', train: 'x.tsv', text: 's', label: 'l' }, adapter: { size: 8 }, drop: { layers: '0..1' }, training: { seed: 1 }, ...extra }, '/tmp');
}

/** Variable-length examples whose label says whether a signal token occurs. */
function examples(count: number, seed: number): EncodedExample[] {
  const rng = new Random(seed);
  return Array.from({ length: count }, (_, index) => {
    const len = 4 + rng.int(20);
    const label = rng.int(2);
    const ids = Array.from({ length: len }, (_, s) => (s === 0 ? 2 : label && s === 1 ? 10 : 20 + rng.int(40)));
    return { index, inputIds: ids, tokenTypeIds: ids.map(() => 0), label };
  });
}

const OPTIMIZER = { kind: 'adamw', learningRate: 1e-2, weightDecay: 0.01, maxGradNorm: 1, warmupSteps: 2, totalSteps: 12 } as const;

/** The adapter run the cache tests share: its plan, frozen prefix, initial weights and 32 examples. */
function setup() {
  const plan = planRun(experiment(), SMALL, 2);
  const layers = frozenPrefixLayers(plan.trainable, SMALL.layers)!;
  const weights = initModel(plan.spec, 7);
  initAdapters(weights, plan.spec, 1e-2, 7);
  initHead(weights, plan.spec, 7);
  return { plan, layers, weights, data: examples(32, 4) };
}

/** Losses of 3 epochs × 4 steps, and a final adapter weight, with or without the cache. */
async function train(cached: PrefixStorage | undefined, dir: string): Promise<{ losses: number[]; weight: Float32Array; hits: number }> {
  const { plan, layers, weights, data } = setup();
  // Real tokens × d elements: float32 needs 4 bytes each, float16 2.
  const elements = data.reduce((n, x) => n + x.inputIds.length, 0) * SMALL.hiddenSize;
  const memoryBytes = cached === 'float32' ? elements * 4 : cached === 'float16' ? elements * 3 : 0;
  const cache = cached ? await PrefixCache.create({ spec: plan.spec, weights, layers, examples: data, memoryBytes, spillFile: path.join(dir, `${cached}.bin`), session: { threads: 1 } }) : undefined;
  if (cache) assert.equal(cache.storage, cached);
  const trainer = await Trainer.create(plan.spec, weights, plan.trainable, OPTIMIZER, { threads: 1, dropout: { hidden: 0.1, attention: 0.1 }, seed: 5, prefix: { layers, cached: cache !== undefined } });
  const losses: number[] = [];
  for (let epoch = 1; epoch <= 3; epoch++) {
    for (const batch of makeBatches(data, 8, 100 + epoch, 'classification')) {
      losses.push((await trainer.step(cache ? { ...batch, hidden: await cache.hidden(batch) } : batch)).loss);
    }
  }
  const weight = trainer.weight('encoder.layer.3.output.adapter.up.weight').data;
  const hits = cache?.stats().hits ?? 0;
  await trainer.release();
  await cache?.release();
  if (cached === 'disk') assert.equal(fs.existsSync(path.join(dir, 'disk.bin')), false, 'the spill file is removed on release');
  return { losses, weight, hits };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!)));

describe('frozen-prefix cache', () => {
  let ws: Workspace;
  before(() => (ws = new Workspace()));
  after(() => ws.dispose());

  test('the frozen prefix is the layers below the lowest trained parameter', () => {
    assert.equal(frozenPrefixLayers(planRun(experiment(), SMALL, 2).trainable, 4), 2);
    assert.equal(frozenPrefixLayers(planRun(experiment({ drop: { layers: 'none' } }), SMALL, 2).trainable, 4), 0);
    assert.equal(frozenPrefixLayers(planRun(experiment({ method: 'top_k', top_k: 1 }), SMALL, 2).trainable, 4), 3);
    assert.equal(frozenPrefixLayers(planRun(experiment({ method: 'layernorm' }), SMALL, 2).trainable, 4), undefined);
    assert.equal(frozenPrefixLayers(planRun(experiment({ method: 'full' }), SMALL, 2).trainable, 4), undefined);
  });

  test('training from the float32 cache equals training through the prefix, step for step', async () => {
    const through = await train(undefined, ws.root);
    const cached = await train('float32', ws.root);
    assert.equal(cached.losses.length, 12);
    assert.ok(maxDiff(through.losses, cached.losses) < 1e-5, `loss difference ${maxDiff(through.losses, cached.losses)}`);
    assert.ok(maxDiff(through.weight, cached.weight) < 1e-5);
    // Epochs 2 and 3 read every batch from the cache.
    assert.equal(cached.hits, 8);
  });

  test('past the memory budget: float16 stays close, the disk spill is exact', async () => {
    const through = await train(undefined, ws.root);
    const half = await train('float16', ws.root);
    const disk = await train('disk', ws.root);
    assert.ok(maxDiff(through.losses, disk.losses) < 1e-5, `disk ${maxDiff(through.losses, disk.losses)}`);
    const d16 = maxDiff(through.losses, half.losses);
    assert.ok(d16 < 1e-2, `float16 ${d16}`);
    assert.equal(half.hits, 8);
  });

  test('the memory budget of a pool is the total over its caches: past it, new caches go to float16, then to disk', async () => {
    const { plan, layers, weights, data } = setup();
    const float32Bytes = data.reduce((n, x) => n + x.inputIds.length, 0) * SMALL.hiddenSize * 4;
    const maker = (name: string) => (memoryBytes: number) => PrefixCache.create({ spec: plan.spec, weights, layers, examples: data, memoryBytes, spillFile: path.join(ws.root, `pool-${name}.bin`), session: { threads: 1 } });

    // Room for one float32 cache and one float16 cache, not a byte more.
    const pool = new PrefixCachePool(float32Bytes + float32Bytes / 2);
    const storages: PrefixStorage[] = [];
    for (const key of ['a', 'b', 'c']) {
      // Each run asks with a budget its one cache would fit in: the pool's total is what limits.
      const { cache, reused } = pool.get(key, maker(key), 10 * float32Bytes);
      assert.equal(reused, false);
      storages.push((await cache).storage);
    }
    assert.deepEqual(storages, ['float32', 'float16', 'disk']);
    assert.equal(pool.memoryBytes, float32Bytes + float32Bytes / 2, 'a spilled cache holds no memory');
    const again = pool.get('a', maker('a'), 10 * float32Bytes);
    assert.equal(again.reused, true);
    assert.equal((await again.cache).storage, 'float32');
    assert.ok(fs.existsSync(path.join(ws.root, 'pool-c.bin')));
    await pool.release();
    assert.equal(pool.memoryBytes, 0);
    assert.equal(fs.existsSync(path.join(ws.root, 'pool-c.bin')), false, 'spill files go with the pool');

    // Without a budget of its own, the pool holds to each request's: the second cache spills.
    const unbounded = new PrefixCachePool();
    const first = await unbounded.get('a', maker('d'), float32Bytes).cache;
    const second = await unbounded.get('b', maker('e'), float32Bytes).cache;
    assert.deepEqual([first.storage, second.storage], ['float32', 'disk']);
    await unbounded.release();
  });

  test('float16 conversion rounds to nearest and keeps specials', () => {
    for (const v of [0, 1, -2.5, 65504, 6.1e-5, 5.96e-8, 0.1, -1234.5]) assert.ok(Math.abs(fromHalf(toHalf(v)) - v) <= Math.abs(v) * 1e-3 + 6e-8, String(v));
    assert.equal(fromHalf(toHalf(1e6)), Infinity);
    assert.ok(Number.isNaN(fromHalf(toHalf(NaN))));
    assert.equal(toHalf(1), 0x3c00);
  });
});

describe('training with training.prefix_cache', () => {
  let ws: Workspace;
  before(() => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 48, 1);
    ws.sentiment('dev.tsv', 16, 2);
  });
  after(() => ws.dispose());

  const job = (name: string, extra: string): Experiment =>
    resolveExperiment(
      { name, model: 'builtin:tiny-bert', task: { kind: 'classification', train: './train.tsv', validation: './dev.tsv', text: 'sentence', label: 'label', max_length: 24 }, adapter: { size: 8 }, drop: { layers: '0..0' }, training: { epochs: 3, batch_size: 8, learning_rate: 3e-3, prefix_cache: { enabled: extra !== 'off' } } },
      ws.root,
    );

  test('a run reports the cache and the time it saved; later epochs read every batch from it', async () => {
    const events: JobEvent[] = [];
    const r = await runTrainJob({ experiment: job('cached', 'on'), source: '', runsDir: ws.path('runs'), threads: 1, emit: (e) => events.push(e) });
    assert.equal(r.status, 'completed');
    const end = events.find((e): e is EndEvent => e.type === 'end')!;
    assert.ok(end.prefixCache, 'the end event reports the cache');
    assert.equal(end.prefixCache.layers, 1);
    assert.equal(end.prefixCache.hits, 12, '6 steps per epoch, epochs 2 and 3 from the cache');
    assert.equal(end.prefixCache.storage, 'float32');
    assert.ok(end.prefixCache.computeSeconds > 0);
    assert.ok(end.prefixCache.savedSeconds > 0, 'epochs 2 and 3 read the cache instead of running the prefix');
    assert.ok(events.some((e) => e.type === 'log' && /prefix cache: 48 examples/.test(e.message)));
  });

  test('sweep trials that share model, data and prefix share one cache', async () => {
    const pool = new PrefixCachePool();
    const ends: EndEvent[] = [];
    const logs: string[] = [];
    for (const name of ['trial-a', 'trial-b']) {
      await runTrainJob({ experiment: job(name, 'on'), source: '', runsDir: ws.path('sweep'), threads: 1, prefixCaches: pool, emit: (e) => (e.type === 'end' ? ends.push(e) : e.type === 'log' ? logs.push(e.message) : undefined) });
    }
    await pool.release();
    assert.ok(logs.some((m) => /filled by an earlier trial/.test(m)));
    // The second trial read all 18 of its batches from the cache the first filled; each run reports its own share.
    assert.equal(ends[0]!.prefixCache!.hits, 12);
    assert.equal(ends[1]!.prefixCache!.hits, 18);
    assert.equal(ends[1]!.prefixCache!.computeSeconds, 0);
    assert.ok(ends[1]!.prefixCache!.savedSeconds > 0, 'the second trial ran no prefix at all');
  });
});
