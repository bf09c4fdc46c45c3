/** Loss building blocks shared by task kinds, as graph ops. */
import type { Value } from '../graph/graph';
import type { Ops } from '../graph/ops';
import type { FloatType } from './kind';

/** Mean over the batch of −log softmax(logits)[label], computed stably (max subtracted). */
export function crossEntropy(o: Ops, logits: Value, labels: Value, classes: number | string, dtype: FloatType): Value {
  // The max only keeps exp() in range; its gradient cancels exactly, so it is a constant.
  const max = o.stopGradient(o.reduceMax(logits, [-1], true));
  const shifted = o.sub(logits, max);
  const logSumExp = o.log(o.reduceSum(o.exp(shifted), [-1], true));
  const logProbs = o.sub(shifted, logSumExp);
  // One-hot by comparing each label with 0..C−1.
  const classIds = typeof classes === 'number' ? o.ints(Array.from({ length: classes }, (_, i) => i)) : o.range(o.element(o.shapeOf(logits), 1), classes);
  const oneHot = o.cast(o.equal(o.unsqueeze(labels, [-1]), classIds), dtype);
  const picked = o.reduceSum(o.mul(logProbs, oneHot), [-1], false);
  return o.neg(mean(o, picked, dtype));
}

export function mean(o: Ops, x: Value, dtype: FloatType): Value {
  const n = o.cast(o.element(o.shapeOf(x), 0), dtype);
  return o.div(o.reduceSum(x, [0], false), n);
}
