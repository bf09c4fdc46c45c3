/** Parameter counting against known numbers: Hugging Face's BERT-base and the papers'. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BertDims } from '../../engine/model/dims';
import { adapterParameterCount, baseParameterCounts, countParameters, formatCount, type TrainingPlan } from '../../engine/model/parameters';

const BERT_BASE: BertDims = { hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2 };
const BERT_LARGE: BertDims = { hiddenSize: 1024, layers: 24, heads: 16, intermediateSize: 4096, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2 };
const ALL = Array.from({ length: 12 }, (_, i) => i);
const plan = (p: Partial<TrainingPlan>): TrainingPlan => ({ method: 'adapter', adapterSize: 64, sites: ['attention', 'ffn'], adapterLayers: ALL, trainLayerNorm: true, topK: 1, head: 'classification', numLabels: 2, ...p });

describe('parameter counting', () => {
  test('BertModel base and large match Hugging Face\'s counts', () => {
    assert.equal(baseParameterCounts(BERT_BASE).total, 109_482_240);
    assert.equal(baseParameterCounts(BERT_LARGE).total, 335_141_888);
  });

  test('one adapter: 2md + d + m (d = 768, m = 64 gives 99,136)', () => {
    assert.equal(adapterParameterCount(768, 64), 99_136);
    assert.equal(adapterParameterCount(768, 8), 13_064);
  });

  test('Houlsby on BERT-base: 24 adapters of size 64 are ≈2.38M, ≈2.2% of the base model', () => {
    const p = countParameters(BERT_BASE, plan({ trainLayerNorm: false, numLabels: 2 }));
    assert.equal(p.adapters, 2_379_264);
    assert.equal(p.head, 1_538);
    assert.ok(Math.abs(p.percentOfBase - 2.17) < 0.01, String(p.percentOfBase));
  });

  test('layer-norm-only tuning trains about 40k parameters on BERT-base (38,400 plus the head)', () => {
    const p = countParameters(BERT_BASE, plan({ method: 'layernorm' }));
    assert.equal(p.layerNorms, 38_400);
    assert.equal(p.adapters, 0);
    assert.equal(p.trainable, 38_400 + 1_538);
  });

  test('top-k fine-tuning trains k layers, the pooler and the head', () => {
    const perLayer = baseParameterCounts(BERT_BASE).perLayer;
    assert.equal(perLayer, 7_087_872);
    const p = countParameters(BERT_BASE, plan({ method: 'top_k', topK: 3 }));
    assert.equal(p.trainable, 3 * perLayer + 590_592 + 1_538);
    const span = countParameters(BERT_BASE, plan({ method: 'top_k', topK: 3, head: 'span' }));
    assert.equal(span.trainable, 3 * perLayer + 2 * 768 + 2, 'the span head does not use the pooler');
  });

  test('full fine-tuning trains everything plus the head', () => {
    const p = countParameters(BERT_BASE, plan({ method: 'full', numLabels: 3 }));
    assert.equal(p.trainable, 109_482_240 + 768 * 3 + 3);
  });

  test('layer norms train only in layers that hold adapters (so AdapterDrop can stop backpropagation)', () => {
    const p = countParameters(BERT_BASE, plan({ adapterLayers: [5, 6, 7, 8, 9, 10, 11] }));
    assert.equal(p.layerNorms, 7 * 2 * 2 * 768);
    assert.equal(countParameters(BERT_BASE, plan({})).layerNorms, 12 * 2 * 2 * 768);
  });

  test('dropped layers and single sites shrink the adapter count', () => {
    const p = countParameters(BERT_BASE, plan({ sites: ['ffn'], adapterLayers: [5, 6, 7, 8, 9, 10, 11], trainLayerNorm: false }));
    assert.equal(p.adapters, 7 * 99_136);
  });

  test('regression and span heads', () => {
    assert.equal(countParameters(BERT_BASE, plan({ head: 'regression' })).head, 769);
    assert.equal(countParameters(BERT_BASE, plan({ head: 'span' })).head, 1_538);
  });

  test('counts format compactly', () => {
    assert.deepEqual([formatCount(2_379_264), formatCount(99_136), formatCount(1_538), formatCount(3_000_000_000)], ['2.38M', '99.1k', '1,538', '3.00B']);
  });
});
