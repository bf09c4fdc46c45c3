/**
 * The sequence-level head that classification and regression share, as
 * BertForSequenceClassification: the pooled [CLS] state, tanh(W·h_[CLS] + b) as
 * BertPooler, dropout, then a linear layer to the outputs.
 */
import type { HeadBuilder, ModelSpec } from '../model/bert';
import { BERT_INIT_STD, normalTensor } from '../model/init';
import * as names from '../model/names';
import { floatTensor, type WeightMap } from '../tensor';
import { Random } from '../util/random';

export const pooledHead: HeadBuilder = ({ o, hidden, ioShape, hiddenSize: d, linear, dropout }) => {
  const hidden3 = o.reshape(hidden, o.concatShapes([ioShape, o.ints([d])], 3), ['batch', 'sequence', d]);
  const cls = o.gather(o.transpose(hidden3, [1, 0, 2]), o.scalar(0, 'int64'));
  const pooled = o.tanh(linear(cls, names.pooler));
  return linear(dropout(pooled, 'pooler'), names.classifier);
};

/** The pooler, trained with the encoder's top layers. */
export const poolerParameters = [names.pooler.weight, names.pooler.bias] as const;

/** The classifier every method trains (the pooler is trained with the encoder's top). */
export const pooledHeadParameters = [names.classifier.weight, names.classifier.bias] as const;

/** N(0, 0.02²) weights and zero biases for a classifier of the wrong shape or none, and a pooler where the checkpoint has none. */
export function initPooledHead(weights: WeightMap, spec: ModelSpec, outputs: number, seed: number): string[] {
  const rng = new Random(seed ^ 0x4ead);
  const d = spec.dims.hiddenSize;
  const existing = weights.get(names.classifier.weight);
  if (existing && existing.shape[0] === outputs && existing.shape[1] === d) return [];
  const created: string[] = [names.classifier.weight, names.classifier.bias];
  weights.set(names.classifier.weight, normalTensor([outputs, d], BERT_INIT_STD, rng, false));
  weights.set(names.classifier.bias, floatTensor([outputs]));
  // A checkpoint without a pooler (a masked-LM one, say): the run draws one, trains and saves it.
  if (!weights.has(names.pooler.weight)) {
    weights.set(names.pooler.weight, normalTensor([d, d], BERT_INIT_STD, rng, false));
    weights.set(names.pooler.bias, floatTensor([d]));
    created.push(names.pooler.weight, names.pooler.bias);
  }
  return created;
}
