/** Sequence classification: one or two texts → one of C classes; cross-entropy on the pooled [CLS] head. */
import { METRICS_BY_KIND } from '../config/schema';
import { computeMetric } from '../metrics';
import { crossEntropy } from './loss';
import type { TaskKindModule } from './kind';
import { initPooledHead, pooledHead, pooledHeadParameters, poolerParameters } from './pooled';
import { prepareText, textFileEvaluation, type RowPrediction, type TextScorer } from './text';

const argmax: RowPrediction = (row) => row.indexOf(Math.max(...row));

/** The experiment's metric, and accuracy beside it when that is another. */
const score: TextScorer = (e, predictions, labels) => {
  const out: Record<string, number> = { [e.task.metric]: computeMetric(e.task.metric as 'accuracy', predictions, labels) };
  if (e.task.metric !== 'accuracy') out.accuracy = computeMetric('accuracy', predictions, labels);
  return out;
};

export const classification: TaskKindModule = {
  kind: 'classification',
  metrics: METRICS_BY_KIND.classification,
  prepare: (e, tokenizer) => prepareText(classification, e, tokenizer, score, argmax),
  prepareEvaluation: (e, tokenizer, labelMap, file) => textFileEvaluation(classification, e, tokenizer, labelMap, file, score, argmax),
  headSpec: (numLabels) => ({ kind: 'classification', numLabels }),
  headParameters: () => pooledHeadParameters,
  aboveTopLayer: () => poolerParameters,
  initHead: (weights, spec, seed) => initPooledHead(weights, spec, spec.head.kind === 'classification' ? spec.head.numLabels : 0, seed),
  head: () => pooledHead,
  loss(o, logits, head, dtype) {
    if (head.kind !== 'classification') throw new Error(`a ${head.kind} head has no classification loss`);
    const labels = o.graph.input('labels', 'int64', ['batch']);
    return { loss: crossEntropy(o, logits, labels, head.numLabels, dtype), labelInput: 'labels' };
  },
  predictRow: argmax,
  labelShape: (batch) => [batch.batchSize],
  batchLabels: (items) => ({ kind: 'classification', values: items.map((x) => x.label) }),
};
