/**
 * Metrics by the experiment schema's names. Classification metrics take class ids,
 * regression metrics numbers, span metrics predicted answer texts against each question's
 * gold answer texts. Each module documents its degenerate cases; inputs of the wrong kind
 * for a metric are MetricErrors.
 */
import type { Metric } from './names';
import { accuracy, binaryF1, matthewsCorrelation } from './classification';
import { pearson, spearman } from './correlation';
import { MetricError } from './errors';
import { exactMatch, spanF1 } from './squad';

export { accuracy, binaryF1, macroF1, matthewsCorrelation } from './classification';
export { averageRanks, pearson, spearman } from './correlation';
export { MetricError } from './errors';
export { exactMatch, exactMatchScore, normalizeAnswer, spanF1, tokenF1Score } from './squad';

export type NumericMetric = Exclude<Metric, SpanMetric | MlmMetric>;
export type SpanMetric = 'exact_match' | 'span_f1';
/** Masked-language-model metrics: computed from the loss and the predictions at masked positions (engine/tasks/mlm.ts). */
export type MlmMetric = 'masked_accuracy' | 'mlm_loss' | 'perplexity';

/** Whether a larger value is better (model selection picks the best trial by it). */
export const HIGHER_IS_BETTER: Readonly<Record<Metric, boolean>> = {
  accuracy: true,
  f1: true,
  mcc: true,
  pearson: true,
  spearman: true,
  exact_match: true,
  span_f1: true,
  masked_accuracy: true,
  mlm_loss: false,
  perplexity: false,
};

export function computeMetric(name: NumericMetric, predictions: readonly number[], labels: readonly number[]): number;
export function computeMetric(name: SpanMetric, predictions: readonly string[], golds: readonly (readonly string[])[]): number;
export function computeMetric(name: Metric, predictions: readonly number[] | readonly string[], labels: readonly number[] | readonly (readonly string[])[]): number;
export function computeMetric(name: Metric, predictions: readonly (number | string)[], labels: readonly (number | readonly string[])[]): number {
  switch (name) {
    case 'accuracy':
      return accuracy(numbers(name, predictions), numbers(name, labels));
    case 'f1':
      return binaryF1(numbers(name, predictions), numbers(name, labels));
    case 'mcc':
      return matthewsCorrelation(numbers(name, predictions), numbers(name, labels));
    case 'pearson':
      return pearson(numbers(name, predictions), numbers(name, labels));
    case 'spearman':
      return spearman(numbers(name, predictions), numbers(name, labels));
    case 'exact_match':
      return exactMatch(strings(name, predictions), golds(name, labels));
    case 'span_f1':
      return spanF1(strings(name, predictions), golds(name, labels));
    default:
      throw new MetricError(`unknown metric "${String(name)}"`);
  }
}

function numbers(name: Metric, values: readonly unknown[]): readonly number[] {
  if (!values.every((v): v is number => typeof v === 'number')) throw new MetricError(`${name} scores numbers; found ${typeof values.find((v) => typeof v !== 'number')}`);
  return values;
}

function strings(name: Metric, values: readonly unknown[]): readonly string[] {
  if (!values.every((v): v is string => typeof v === 'string')) throw new MetricError(`${name} scores predicted answer texts (strings)`);
  return values;
}

function golds(name: Metric, values: readonly unknown[]): readonly (readonly string[])[] {
  if (!values.every((v): v is readonly string[] => Array.isArray(v) && v.every((s) => typeof s === 'string'))) throw new MetricError(`${name} needs a list of gold answer texts per question`);
  return values;
}
