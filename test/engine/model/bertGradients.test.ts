/**
 * Whole-model gradient checks: BERT with adapters, padding and each head, in float64,
 * reverse-mode gradients against central finite differences for sampled parameter entries.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradients } from '../../../engine/graph/autodiff';
import { Ops } from '../../../engine/graph/ops';
import { parameterShapes, type HeadSpec, type ModelSpec } from '../../../engine/model/bert';
import { buildBert } from '../../../engine/tasks';
import type { BertDims } from '../../../engine/model/dims';
import { initAdapters, initModel } from '../../../engine/model/init';
import { initHead } from '../../../engine/tasks';
import { EngineSession, type RunTensor } from '../../../engine/runtime/session';
import { Random } from '../../../engine/util/random';

const DIMS: BertDims = { hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 12, vocabSize: 20, maxPositions: 8, typeVocabSize: 2 };

async function check(head: HeadSpec, nonLinearity: 'gelu' | 'relu' | 'swish' | 'tanh', pick: (name: string) => boolean): Promise<number> {
  const spec: ModelSpec = { dims: DIMS, layerNormEps: 1e-12, adapters: { size: 3, sites: ['attention', 'ffn'], layers: [0, 1], nonLinearity }, head };
  const weights = initModel(spec, 3);
  // Adapters far from the identity, so their gradients are not trivially small.
  initAdapters(weights, spec, 0.5, 3);
  initHead(weights, spec, 3);
  const trainable = [...parameterShapes(spec).keys()].filter(pick);
  const o = new Ops();
  const bert = buildBert(o, spec, weights, { trainable: new Set(trainable), dtype: 'float64' });
  const rnd = new Random(9);
  const logitsSize = head.kind === 'span' ? 2 * 5 * 2 : 2 * (head.kind === 'regression' ? 1 : 'numLabels' in head ? head.numLabels : 0);
  const r = o.graph.initializer('r', { dtype: 'float64', shape: [logitsSize], data: Float64Array.from({ length: logitsSize }, () => rnd.next() * 2 - 1) });
  const flat = o.reshape(bert.logits, [-1], [logitsSize]);
  const loss = o.reduceSum(o.mul(flat, r), [0], false);
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
    for (let s = 0; s < Math.min(4, x.length); s++) {
      const k = rnd.int(x.length);
      const keep = x[k]!;
      const eps = 1e-6;
      x[k] = keep + eps;
      const plus = ((await session.run(feeds, ['loss'])).loss!.data as Float64Array)[0]!;
      x[k] = keep - eps;
      const minus = ((await session.run(feeds, ['loss'])).loss!.data as Float64Array)[0]!;
      x[k] = keep;
      const numeric = (plus - minus) / (2 * eps);
      worst = Math.max(worst, Math.abs(numeric - g[k]!) / Math.max(1e-4, Math.abs(numeric), Math.abs(g[k]!)));
    }
  }
  await session.release();
  return worst;
}

describe('BERT gradient checks (float64)', () => {
  test('classification, adapters with GELU, every parameter of the model', async () => {
    const err = await check({ kind: 'classification', numLabels: 3 }, 'gelu', () => true);
    assert.ok(err < 1e-5, `max relative error ${err.toExponential(2)}`);
  });
  test('regression head, adapters with swish, adapters and layer norms only', async () => {
    const err = await check({ kind: 'regression', numLabels: 1 }, 'swish', (n) => n.includes('.adapter.') || n.includes('LayerNorm'));
    assert.ok(err < 1e-5, `max relative error ${err.toExponential(2)}`);
  });
  test('span head, adapters with tanh, embeddings and the top layer', async () => {
    const err = await check({ kind: 'span' }, 'tanh', (n) => n.startsWith('embeddings.') || n.startsWith('encoder.layer.1.') || n.startsWith('qa_outputs'));
    assert.ok(err < 1e-5, `max relative error ${err.toExponential(2)}`);
  });
  test('relu adapters', async () => {
    const err = await check({ kind: 'classification', numLabels: 2 }, 'relu', (n) => n.includes('.adapter.'));
    assert.ok(err < 1e-5, `max relative error ${err.toExponential(2)}`);
  });
});
