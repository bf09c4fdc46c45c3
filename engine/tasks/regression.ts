/** Sequence regression: one or two texts → one value; mean squared error on the pooled [CLS] head. */
import { METRICS_BY_KIND } from '../config/schema';
import { computeMetric } from '../metrics';
import type { TaskKindModule } from './kind';
import { mean } from './loss';
import { initPooledHead, pooledHead, pooledHeadParameters, poolerParameters } from './pooled';
import { prepareText, textFileEvaluation, type RowPrediction, type TextScorer } from './text';

const value: RowPrediction = (row) => row[0]!;

const score: TextScorer = (e, predictions, labels) => ({ [e.task.metric]: computeMetric(e.task.metric as 'pearson', predictions, labels) });

export const regression: TaskKindModule = {
  kind: 'regression',
  metrics: METRICS_BY_KIND.regression,
  prepare: (e, tokenizer) => prepareText(regression, e, tokenizer, score, value),
  prepareEvaluation: (e, tokenizer, labelMap, file) => textFileEvaluation(regression, e, tokenizer, labelMap, file, score, value),
  // One output, whatever the label map says.
  headSpec: () => ({ kind: 'regression', numLabels: 1 }),
  headParameters: () => pooledHeadParameters,
  aboveTopLayer: () => poolerParameters,
  initHead: (weights, spec, seed) => initPooledHead(weights, spec, 1, seed),
  head: () => pooledHead,
  loss(o, logits, _head, dtype) {
    const labels = o.graph.input('labels', dtype, ['batch']);
    const diff = o.sub(o.reshape(logits, [-1], ['batch']), labels);
    return { loss: mean(o, o.mul(diff, diff), dtype), labelInput: 'labels' };
  },
  predictRow: value,
  labelShape: (batch) => [batch.batchSize],
  batchLabels: (items) => ({ kind: 'regression', values: items.map((x) => x.label) }),
};
