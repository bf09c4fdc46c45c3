/**
 * Robust AdapterDrop: each step switches off the adapters of a random number of the lowest
 * droppable layers, drawn from (seed, step) alone; training feeds exactly those gates.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { resolveExperiment } from '../../../engine/config/experiment';
import type { JobEvent, StepEvent } from '../../../engine/events';
import { runTrainJob } from '../../../engine/jobs/train';
import { droppedAt, robustDropGates } from '../../../engine/train/robustDrop';
import { Workspace } from '../../support/fixtures';

/** Per layer: 0 when both its adapters are off, 1 when both are on (a layer's two gates never differ). */
function layerGates(gates: Float32Array): number[] {
  const out: number[] = [];
  for (let l = 0; l < gates.length / 2; l++) {
    assert.equal(gates[l * 2], gates[l * 2 + 1], `layer ${l}: attention and feed-forward adapters are dropped together`);
    out.push(gates[l * 2]!);
  }
  return out;
}

describe('robust AdapterDrop gates', () => {
  test('a pure function of (seed, step): the same draw every time, another seed draws otherwise', () => {
    const draws = (seed: number) => Array.from({ length: 64 }, (_, i) => Array.from(robustDropGates([0, 1, 2], 4, seed, i + 1)).join(''));
    assert.deepEqual(draws(7), draws(7));
    assert.notDeepEqual(draws(7), draws(8));
    // The step alone decides: drawing out of order changes nothing (a resumed run draws what the uninterrupted one drew).
    assert.deepEqual(Array.from(robustDropGates([0, 1, 2], 4, 7, 40)), Array.from(robustDropGates([0, 1, 2], 4, 7, 40)));
    assert.equal(draws(7)[39], Array.from(robustDropGates([0, 1, 2], 4, 7, 40)).join(''));
  });

  test('only a prefix of the lowest droppable layers is dropped: 0…0 1…1', () => {
    for (let step = 1; step <= 500; step++) {
      const layers = layerGates(robustDropGates([0, 1, 2], 4, 3, step));
      const n = droppedAt(3, 3, step);
      assert.deepEqual(layers, [0, 1, 2, 3].map((l) => (l < n ? 0 : 1)), `step ${step}`);
      assert.equal(layers[3], 1, 'a layer outside drop.layers keeps its adapters');
    }
    // Droppable layers 2..3 of 4: the lowest n of those, layers 0 and 1 always kept.
    const seen = new Set<string>();
    for (let step = 1; step <= 200; step++) seen.add(layerGates(robustDropGates([3, 2], 4, 5, step)).join(''));
    assert.deepEqual([...seen].sort(), ['1100', '1101', '1111']);
  });

  test('n varies from step to step, uniform over 0..D with mean D/2', () => {
    const D = 3;
    const steps = 6000;
    const counts = new Array<number>(D + 1).fill(0);
    let sum = 0;
    for (let step = 1; step <= steps; step++) {
      const n = layerGates(robustDropGates([0, 1, 2], 4, 11, step)).filter((g) => g === 0).length;
      counts[n]!++;
      sum += n;
    }
    assert.ok(Math.abs(sum / steps - D / 2) < 0.05, `mean ${sum / steps}`);
    for (const c of counts) assert.ok(Math.abs(c / steps - 1 / (D + 1)) < 0.025, `frequencies ${counts.join(', ')}`);
  });
});

describe('training with robust AdapterDrop', () => {
  let ws: Workspace;
  before(() => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 32, 1);
  });
  after(() => ws.dispose());

  test('the step graph gets the drawn gates: a robust run equals a standard one until its first draw drops a layer', async () => {
    // A seed whose first draw drops nothing and whose second drops at least one layer.
    const seed = Array.from({ length: 1000 }, (_, s) => s).find((s) => droppedAt(3, s, 1) === 0 && droppedAt(3, s, 2) > 0)!;
    const losses = async (name: string, drop: Record<string, string>): Promise<number[]> => {
      const e = resolveExperiment({ name, model: 'builtin:tiny-bert', task: { kind: 'classification', train: './train.tsv', text: 'sentence', label: 'label', max_length: 24 }, adapter: { size: 8, init_std: 0.5 }, drop, training: { epochs: 1, batch_size: 8, learning_rate: 1e-2, seed } }, ws.root);
      const events: JobEvent[] = [];
      const r = await runTrainJob({ experiment: e, source: '', runsDir: ws.path('runs'), threads: 1, maxSteps: 2, emit: (ev) => events.push(ev) });
      assert.equal(r.status, 'completed', r.message);
      return events.filter((ev): ev is StepEvent => ev.type === 'step').map((ev) => ev.loss);
    };
    const robust = await losses('robust', { layers: '0..2', mode: 'robust' });
    const standard = await losses('standard', { layers: 'none' });
    assert.ok(Math.abs(robust[0]! - standard[0]!) < 1e-6, `step 1 drops nothing: ${robust[0]} vs ${standard[0]}`);
    assert.ok(Math.abs(robust[1]! - standard[1]!) > 1e-4, `step 2 drops ${droppedAt(3, seed, 2)} layers: ${robust[1]} vs ${standard[1]}`);
  });
});
