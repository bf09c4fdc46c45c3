/** computeMetric dispatches the schema's metric names to the right implementation. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { METRICS } from '../../../engine/config/schema';
import { accuracy, binaryF1, computeMetric, exactMatch, HIGHER_IS_BETTER, matthewsCorrelation, MetricError, pearson, spanF1, spearman } from '../../../engine/metrics';

describe('computeMetric', () => {
  // Vectors on which every metric of a kind gives a different value, so a wrong dispatch shows.
  const predictions = [1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1];
  const labels = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1];
  const x = [0.5, 2.3, 1.1, 4.8, 3.3, 2.3, 0.0, 5.5, 1.1, 2.3];
  const y = [0.2, 2.0, 1.9, 4.1, 3.9, 1.5, 0.7, 4.8, 0.9, 3.0];
  const answers = ['Paris France', 'the 1990s'];
  const golds = [['France'], ['1990s']];

  test('each name gives its own metric', () => {
    const values = {
      accuracy: computeMetric('accuracy', predictions, labels),
      f1: computeMetric('f1', predictions, labels),
      mcc: computeMetric('mcc', predictions, labels),
      pearson: computeMetric('pearson', x, y),
      spearman: computeMetric('spearman', x, y),
      exact_match: computeMetric('exact_match', answers, golds),
      span_f1: computeMetric('span_f1', answers, golds),
    };
    // The masked-LM metrics come from the loss and predictions at masked positions (test/engine/tasks/mlm.test.ts).
    const masked = ['masked_accuracy', 'mlm_loss', 'perplexity'];
    assert.deepEqual(Object.keys(values).sort(), METRICS.filter((m) => !masked.includes(m)).sort());
    assert.equal(values.accuracy, accuracy(predictions, labels));
    assert.equal(values.f1, binaryF1(predictions, labels));
    assert.equal(values.mcc, matthewsCorrelation(predictions, labels));
    assert.equal(values.pearson, pearson(x, y));
    assert.equal(values.spearman, spearman(x, y));
    assert.equal(values.exact_match, exactMatch(answers, golds));
    assert.equal(values.span_f1, spanF1(answers, golds));
    assert.equal(new Set([values.accuracy, values.f1, values.mcc]).size, 3);
    assert.notEqual(values.pearson, values.spearman);
    assert.notEqual(values.exact_match, values.span_f1);
  });

  test('inputs of the wrong kind for a metric are MetricErrors', () => {
    const name = (n: string): (typeof METRICS)[number] => n as (typeof METRICS)[number];
    assert.throws(() => computeMetric(name('accuracy'), ['a'], [['a']]), (e: unknown) => e instanceof MetricError && /numbers/.test(e.message));
    assert.throws(() => computeMetric(name('span_f1'), [1], [1]), (e: unknown) => e instanceof MetricError && /answer texts/.test(e.message));
    assert.throws(() => computeMetric(name('exact_match'), ['a'], [1]), (e: unknown) => e instanceof MetricError && /gold answer texts/.test(e.message));
    assert.throws(() => computeMetric(name('nonsense'), [1], [1]), (e: unknown) => e instanceof MetricError && /unknown metric "nonsense"/.test(e.message));
  });

  test('every schema metric has a direction', () => {
    // Every metric is higher-is-better but the masked-LM loss and its perplexity.
    for (const m of METRICS) assert.equal(HIGHER_IS_BETTER[m], m !== 'mlm_loss' && m !== 'perplexity', m);
  });
});
