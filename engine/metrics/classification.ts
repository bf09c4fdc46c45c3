/**
 * Classification metrics over class ids (non-negative integers).
 *
 * Degenerate cases follow scikit-learn's defaults, so numbers match what Python users see:
 * - F1 is 0 when it is 0/0 (no positive predictions and no positive labels for that class);
 * - Matthews correlation is 0 when undefined (all predictions or all labels one class);
 * - empty or mismatched inputs, and ids that are not non-negative integers, are MetricErrors.
 */
import { checkPaired, MetricError } from './errors';

export function accuracy(predictions: readonly number[], labels: readonly number[]): number {
  checkClasses('accuracy', predictions, labels);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return correct / labels.length;
}

/**
 * F1 of the positive class (id 1) of a binary task. Ids other than 0 and 1 are a MetricError:
 * use macroF1 for more classes.
 */
export function binaryF1(predictions: readonly number[], labels: readonly number[]): number {
  checkClasses('f1', predictions, labels);
  // A loop, not Math.max(...values): spreading a large evaluation set overflows the stack.
  let highest = 0;
  for (const v of predictions) highest = Math.max(highest, v);
  for (const v of labels) highest = Math.max(highest, v);
  if (highest > 1) throw new MetricError(`f1 is the F1 of class 1 in a binary task, but class id ${highest} occurs; use macro F1 for ${highest + 1} classes`);
  return f1Of(1, predictions, labels);
}

/**
 * Unweighted mean of the per-class F1 over `classes` (default: every id that occurs in the
 * predictions or the labels, as scikit-learn's `f1_score(average='macro')` does).
 */
export function macroF1(predictions: readonly number[], labels: readonly number[], classes?: readonly number[]): number {
  checkClasses('macro F1', predictions, labels);
  const ids = classes ?? [...new Set([...labels, ...predictions])].sort((a, b) => a - b);
  if (ids.length === 0) throw new MetricError('macro F1: no classes to average over');
  return ids.reduce((sum, c) => sum + f1Of(c, predictions, labels), 0) / ids.length;
}

/**
 * Matthews correlation coefficient, multi-class form (Gorodkin's R_K, as scikit-learn):
 * (c·s − Σ p_k t_k) / sqrt((s² − Σ p_k²)(s² − Σ t_k²)) with c correct, s samples, p_k and t_k
 * the predicted and true counts of class k. 0 when the denominator is 0.
 */
export function matthewsCorrelation(predictions: readonly number[], labels: readonly number[]): number {
  checkClasses('mcc', predictions, labels);
  const predicted = new Map<number, number>();
  const truth = new Map<number, number>();
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = predictions[i]!;
    const t = labels[i]!;
    predicted.set(p, (predicted.get(p) ?? 0) + 1);
    truth.set(t, (truth.get(t) ?? 0) + 1);
    if (p === t) correct++;
  }
  const s = labels.length;
  let pt = 0;
  for (const [k, pk] of predicted) pt += pk * (truth.get(k) ?? 0);
  const sq = (m: Map<number, number>): number => [...m.values()].reduce((a, v) => a + v * v, 0);
  const denominator = Math.sqrt((s * s - sq(predicted)) * (s * s - sq(truth)));
  if (denominator === 0) return 0;
  return (correct * s - pt) / denominator;
}

function f1Of(positive: number, predictions: readonly number[], labels: readonly number[]): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = predictions[i] === positive;
    const t = labels[i] === positive;
    if (p && t) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  // 2tp / (2tp + fp + fn) is F1 = 2PR/(P+R) without dividing twice; 0/0 → 0.
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 0 : (2 * tp) / denominator;
}

function checkClasses(name: string, predictions: readonly number[], labels: readonly number[]): void {
  checkPaired(name, predictions, labels);
  for (const [what, values] of [['prediction', predictions], ['label', labels]] as const) {
    const bad = values.findIndex((v) => !Number.isInteger(v) || v < 0);
    if (bad >= 0) throw new MetricError(`${name}: ${what} ${bad} is ${values[bad]}, not a class id (a non-negative integer)`);
  }
}
