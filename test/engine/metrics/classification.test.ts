/** Classification metrics against scikit-learn's values, and their degenerate cases. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accuracy, binaryF1, macroF1, matthewsCorrelation } from '../../../engine/metrics/classification';
import { MetricError } from '../../../engine/metrics/errors';

const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);

// Reference values computed once with scikit-learn 1.2.1 (accuracy_score, f1_score,
// matthews_corrcoef) on these vectors and pasted here; the tests do not run Python.
const binaryTrue = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1];
const binaryPred = [1, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1];
const multiTrue = [0, 1, 2, 2, 1, 0, 2, 1, 0, 2, 2, 1, 0];
const multiPred = [0, 2, 2, 1, 1, 0, 2, 0, 0, 2, 1, 1, 1];

describe('against scikit-learn', () => {
  test('binary: accuracy 0.75, F1 0.7692307692307692, MCC 0.50709255283711', () => {
    close(accuracy(binaryPred, binaryTrue), 0.75);
    close(binaryF1(binaryPred, binaryTrue), 0.7692307692307692);
    close(matthewsCorrelation(binaryPred, binaryTrue), 0.50709255283711);
  });

  test('three classes: accuracy 0.6153846153846154, macro F1 0.6203703703703703, MCC 0.42857142857142855', () => {
    close(accuracy(multiPred, multiTrue), 0.6153846153846154);
    close(macroF1(multiPred, multiTrue), 0.6203703703703703);
    close(matthewsCorrelation(multiPred, multiTrue), 0.42857142857142855);
  });

  test('macro F1 averages over classes seen in labels or predictions: 0.5555555555555555', () => {
    // f1_score([0,0,1,1], [0,2,1,1], average='macro'): class 2 is only predicted and scores 0.
    close(macroF1([0, 2, 1, 1], [0, 0, 1, 1]), 0.5555555555555555);
    // Over explicit classes (a head with 4 outputs), class 3 adds another 0.
    close(macroF1([0, 2, 1, 1], [0, 0, 1, 1], [0, 1, 2, 3]), (2 / 3 + 1 + 0 + 0) / 4);
  });
});

describe('degenerate cases', () => {
  test('MCC is 0 when predictions or labels are all one class (scikit-learn gives 0.0)', () => {
    assert.equal(matthewsCorrelation([1, 1, 1, 1], [0, 1, 1, 0]), 0);
    assert.equal(matthewsCorrelation([0, 1, 1, 0], [1, 1, 1, 1]), 0);
    assert.equal(matthewsCorrelation([2, 2], [2, 2]), 0);
  });

  test('MCC is ±1 for perfect and inverted binary predictions', () => {
    assert.equal(matthewsCorrelation([0, 1, 1, 0], [0, 1, 1, 0]), 1);
    assert.equal(matthewsCorrelation([1, 0, 0, 1], [0, 1, 1, 0]), -1);
  });

  test('F1 is 0 with no positive predictions and no positive labels (0/0, scikit-learn zero_division=0)', () => {
    assert.equal(binaryF1([0, 0, 0], [0, 0, 0]), 0);
    assert.equal(binaryF1([0, 0], [1, 1]), 0);
    assert.equal(binaryF1([1, 1], [1, 1]), 1);
  });

  test('binary F1 refuses a third class; macro F1 takes it', () => {
    assert.throws(() => binaryF1([0, 2], [0, 1]), (e: unknown) => e instanceof MetricError && /class id 2/.test(e.message));
    close(macroF1([0, 2], [0, 1]), (1 + 0 + 0) / 3);
  });

  test('empty, mismatched, fractional and negative inputs are MetricErrors', () => {
    for (const f of [accuracy, binaryF1, macroF1, matthewsCorrelation]) {
      assert.throws(() => f([], []), (e: unknown) => e instanceof MetricError && /no predictions/.test(e.message));
      assert.throws(() => f([0, 1], [0]), (e: unknown) => e instanceof MetricError && /2 predictions for 1 labels/.test(e.message));
      assert.throws(() => f([0.5], [0]), (e: unknown) => e instanceof MetricError && /prediction 0 is 0.5/.test(e.message));
      assert.throws(() => f([0], [-1]), (e: unknown) => e instanceof MetricError && /label 0 is -1/.test(e.message));
      assert.throws(() => f([Number.NaN], [0]), MetricError);
    }
  });

  test('large inputs do not overflow the stack', () => {
    const n = 300000;
    const labels = Array.from({ length: n }, (_, i) => i % 2);
    assert.equal(binaryF1(labels, labels), 1);
  });
});
