/**
 * Forward parity: the engine's ONNX graph (float32, onnxruntime) against the independent
 * float64 reference in test/support/referenceBert.ts, on weights the test generates.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HeadSpec, ModelSpec, NonLinearityName } from '../../../engine/model/bert';
import type { BertDims } from '../../../engine/model/dims';
import { initAdapters, initModel } from '../../../engine/model/init';
import { initHead } from '../../../engine/tasks';
import * as names from '../../../engine/model/names';
import { floatTensor } from '../../../engine/tensor';
import { Trainer, type Batch } from '../../../engine/train/trainer';
import { Random } from '../../../engine/util/random';
import { referenceForward, type ReferenceBatch } from '../../support/referenceBert';

const DIMS: BertDims = { hiddenSize: 32, layers: 3, heads: 4, intermediateSize: 48, vocabSize: 50, maxPositions: 16, typeVocabSize: 2 };

function batchOf(lengths: number[], seq: number, seed: number): { batch: Batch; ref: ReferenceBatch } {
  const rng = new Random(seed);
  const ids: number[][] = [];
  const types: number[][] = [];
  const mask: number[][] = [];
  for (const len of lengths) {
    const split = Math.max(2, Math.floor(len / 2));
    ids.push(Array.from({ length: seq }, (_, s) => (s === 0 ? 2 : s < len ? 5 + rng.int(45) : 0)));
    types.push(Array.from({ length: seq }, (_, s) => (s >= split && s < len ? 1 : 0)));
    mask.push(Array.from({ length: seq }, (_, s) => (s < len ? 1 : 0)));
  }
  const flat = (rows: number[][]) => BigInt64Array.from(rows.flat().map(BigInt));
  return {
    batch: { inputIds: flat(ids), tokenTypeIds: flat(types), attentionMask: flat(mask), batchSize: lengths.length, sequenceLength: seq, tokens: lengths.reduce((a, b) => a + b, 0) },
    ref: { inputIds: ids, tokenTypeIds: types, attentionMask: mask },
  };
}

async function compare(head: HeadSpec, adapters: { nonLinearity: NonLinearityName; layers: number[]; sites: ('attention' | 'ffn')[] } | undefined, gates?: Float32Array): Promise<number> {
  const spec: ModelSpec = { dims: DIMS, layerNormEps: 1e-12, adapters: adapters && { size: 6, ...adapters }, head };
  const weights = initModel(spec, 21);
  // Adapters well away from the identity, so a wrong placement would show.
  initAdapters(weights, spec, 0.3, 21);
  initHead(weights, spec, 21);
  if (!weights.has(names.pooler.weight)) {
    // The reference computes the pooler for every head; the span head does not use it.
    weights.set(names.pooler.weight, floatTensor([DIMS.hiddenSize, DIMS.hiddenSize]));
    weights.set(names.pooler.bias, floatTensor([DIMS.hiddenSize]));
  }
  const { batch, ref } = batchOf([7, 4, 2], 7, 5);
  const trainer = await Trainer.create(spec, weights, [], undefined, { gates: gates !== undefined });
  const engine = await trainer.logits(batch, gates);
  await trainer.release();
  const expected = referenceForward(weights, {
    dims: DIMS,
    layerNormEps: 1e-12,
    adapters: spec.adapters && { size: 6, sites: [...spec.adapters.sites], layers: [...spec.adapters.layers], nonLinearity: spec.adapters.nonLinearity },
    adapterGates: gates ? (layer, site) => gates[layer * 2 + (site === 'attention' ? 0 : 1)]! : undefined,
    head,
  }, ref);
  let worst = 0;
  const S = batch.sequenceLength;
  expected.logits.forEach((row, b) => {
    row.forEach((value, k) => {
      // The engine's span logits are [batch, sequence, 2]; the reference lists all starts, then all ends.
      const got = head.kind === 'span' ? engine.data[b * S * 2 + (k % S) * 2 + Math.floor(k / S)]! : engine.data[b * row.length + k]!;
      worst = Math.max(worst, Math.abs(got - value));
    });
  });
  return worst;
}

describe('forward parity with the float64 reference', () => {
  const all = [0, 1, 2];
  const cases: [string, HeadSpec, Parameters<typeof compare>[1], Float32Array?][] = [
    ['classification, no adapters', { kind: 'classification', numLabels: 3 }, undefined],
    ['classification, GELU adapters at both sites', { kind: 'classification', numLabels: 3 }, { nonLinearity: 'gelu', layers: all, sites: ['attention', 'ffn'] }],
    ['regression, ReLU adapters in layers 1..2 (dropped below)', { kind: 'regression', numLabels: 1 }, { nonLinearity: 'relu', layers: [1, 2], sites: ['attention', 'ffn'] }],
    ['span, swish adapters at ffn only', { kind: 'span' }, { nonLinearity: 'swish', layers: all, sites: ['ffn'] }],
    ['classification, tanh adapters at attention only', { kind: 'classification', numLabels: 2 }, { nonLinearity: 'tanh', layers: all, sites: ['attention'] }],
    ['adapter gates: layer 1 removed, layer 2 ffn halved', { kind: 'classification', numLabels: 2 }, { nonLinearity: 'gelu', layers: all, sites: ['attention', 'ffn'] }, Float32Array.from([1, 1, 0, 0, 1, 0.5])],
  ];
  for (const [name, head, adapters, gates] of cases) {
    test(name, async () => {
      const err = await compare(head, adapters, gates);
      assert.ok(err < 1e-4, `max logit difference ${err.toExponential(2)}`);
    });
  }
});
