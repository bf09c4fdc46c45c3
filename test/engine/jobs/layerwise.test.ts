/** Layer-by-layer inference: the same logits as the whole-model graph under any gates, with lower-layer states reused. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveExperiment } from '../../../engine/config/experiment';
import type { BertDims } from '../../../engine/model/dims';
import { initAdapters, initModel } from '../../../engine/model/init';
import { initHead } from '../../../engine/tasks';
import { type EncodedExample } from '../../../engine/tasks/batches';
import { makeBatches } from '../../../engine/tasks';
import { LayerwiseModel } from '../../../engine/jobs/layerwise';
import { planRun } from '../../../engine/train/plan';
import { Trainer } from '../../../engine/train/trainer';
import { Random } from '../../../engine/util/random';

const DIMS: BertDims = { hiddenSize: 32, layers: 5, heads: 4, intermediateSize: 64, vocabSize: 64, maxPositions: 32, typeVocabSize: 2 };

function setup() {
  const e = resolveExperiment({ name: 't', model: 'builtin:tiny-bert', task: { kind: 'classification', train: 'x.tsv', text: 's', label: 'l' }, adapter: { size: 8 } }, '/tmp');
  const plan = planRun(e, DIMS, 3);
  const weights = initModel(plan.spec, 3);
  // Large adapters, so that removing one visibly changes the logits.
  initAdapters(weights, plan.spec, 0.5, 3);
  initHead(weights, plan.spec, 3);
  const rng = new Random(9);
  const examples: EncodedExample[] = Array.from({ length: 20 }, (_, index) => {
    const ids = Array.from({ length: 3 + rng.int(12) }, (_, s) => (s === 0 ? 2 : 5 + rng.int(50)));
    return { index, inputIds: ids, tokenTypeIds: ids.map(() => 0), label: rng.int(3) };
  });
  return { plan, weights, batches: makeBatches(examples, 8, 0, 'classification', false) };
}

/** Gates with the adapters of layers from..to removed. */
function span(from: number, to: number): Float32Array {
  const g = new Float32Array(DIMS.layers * 2).fill(1);
  for (let l = from; l <= to; l++) g[l * 2] = g[l * 2 + 1] = 0;
  return g;
}

describe('layer-by-layer inference', () => {
  test('every span cell, in heatmap order, equals the whole-model graph; reuse runs fewer layers', async () => {
    const { plan, weights, batches } = setup();
    const whole = await Trainer.create(plan.spec, weights, [], undefined, { threads: 1, gates: true });
    const layerwise = await LayerwiseModel.create(plan.spec, weights, { threads: 1 });
    const unbudgeted = await LayerwiseModel.create(plan.spec, weights, { threads: 1, memoryBytes: 0 });
    const cells: Float32Array[] = [new Float32Array(DIMS.layers * 2).fill(1)];
    for (let i = 0; i < DIMS.layers; i++) for (let j = i; j < DIMS.layers; j++) cells.push(span(i, j));
    let changed = 0;
    for (const gates of cells) {
      for (const batch of batches) {
        const a = await whole.logits(batch, gates);
        const b = await layerwise.logits(batch, gates);
        const c = await unbudgeted.logits(batch, gates);
        assert.deepEqual(b.shape, a.shape);
        for (let k = 0; k < a.data.length; k++) {
          assert.ok(Math.abs(a.data[k]! - b.data[k]!) < 1e-5, `logit ${k}: ${a.data[k]} vs ${b.data[k]}`);
          assert.equal(c.data[k], b.data[k], 'the memory budget changes speed, never results');
        }
        const base = await whole.logits(batch);
        if (a.data.some((v, k) => Math.abs(v - base.data[k]!) > 1e-3)) changed++;
      }
    }
    assert.ok(changed > cells.length, 'removing adapters changes the logits (the test can see a wrong gate)');
    const naive = cells.length * batches.length * DIMS.layers;
    assert.equal(unbudgeted.layersRun, naive);
    // Rows reuse the state entering layer i and the previous cell's chain: 5 layers → 15 cells + baseline.
    assert.ok(layerwise.layersRun <= naive * 0.5, `${layerwise.layersRun} of ${naive} layers run`);
    for (const m of [whole, layerwise, unbudgeted]) await m.release();
  });
});
