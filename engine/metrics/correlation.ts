/**
 * Correlation metrics for regression (STS-B reports both).
 *
 * Degenerate cases: a constant vector (including a single value) has no defined
 * correlation (scipy returns NaN with a warning); here it scores 0, so that a model
 * predicting one value ranks as uninformative in sweeps instead of poisoning comparisons
 * with NaN. Empty or mismatched inputs and non-finite values (NaN, ±Infinity) are MetricErrors.
 */
import { checkPaired, MetricError } from './errors';

/** Pearson's r, computed about the means in float64. */
export function pearson(predictions: readonly number[], labels: readonly number[]): number {
  checkReal('pearson', predictions, labels);
  return pearsonOf(predictions, labels);
}

/** Spearman's ρ: Pearson's r of the ranks, tied values sharing their average rank (scipy's default). */
export function spearman(predictions: readonly number[], labels: readonly number[]): number {
  checkReal('spearman', predictions, labels);
  return pearsonOf(averageRanks(predictions), averageRanks(labels));
}

/** 1-based ranks; tied values get the mean of the ranks they span (1, 2.5, 2.5, 4). */
export function averageRanks(values: readonly number[]): number[] {
  const order = Array.from(values, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Array<number>(values.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!] = rank;
    i = j + 1;
  }
  return ranks;
}

function pearsonOf(x: readonly number[], y: readonly number[]): number {
  // Tested exactly: the mean of equal floats may differ from them in the last bit, and the
  // deviations left over would make a constant vector look correlated.
  if (isConstant(x) || isConstant(y)) return 0;
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  // Deviations are scaled by their largest magnitude so that squaring cannot overflow (1e200²).
  let ax = 0;
  let ay = 0;
  for (let i = 0; i < n; i++) {
    ax = Math.max(ax, Math.abs(x[i]! - mx));
    ay = Math.max(ay, Math.abs(y[i]! - my));
  }
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i]! - mx) / ax;
    const dy = (y[i]! - my) / ay;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  const r = sxy / (Math.sqrt(sxx) * Math.sqrt(syy));
  return Math.max(-1, Math.min(1, r));
}

function isConstant(values: readonly number[]): boolean {
  return values.every((v) => v === values[0]);
}

function checkReal(name: string, predictions: readonly number[], labels: readonly number[]): void {
  checkPaired(name, predictions, labels);
  for (const [what, values] of [['prediction', predictions], ['label', labels]] as const) {
    const bad = values.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new MetricError(`${name}: ${what} ${bad} is ${values[bad]}; correlations need finite numbers`);
  }
}
