/** Pearson and Spearman against scipy's values, ties, and degenerate inputs. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { averageRanks, pearson, spearman } from '../../../engine/metrics/correlation';
import { MetricError } from '../../../engine/metrics/errors';

const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);

// Reference values computed once with scipy 1.10.1 (scipy.stats.pearsonr, spearmanr,
// rankdata) on these vectors and pasted here; the tests do not run Python.
const x = [0.5, 2.3, 1.1, 4.8, 3.3, 2.3, 0.0, 5.5, 1.1, 2.3];
const y = [0.2, 2.0, 1.9, 4.1, 3.9, 1.5, 0.7, 4.8, 0.9, 3.0];
const a = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
const b = [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4];

describe('against scipy', () => {
  test('pearsonr: 0.9331681786126008 and 0.09422924859889797', () => {
    close(pearson(x, y), 0.9331681786126008);
    close(pearson(a, b), 0.09422924859889797);
  });

  test('spearmanr (ties share their average rank): 0.9416499059918954 and 0.1384567651467695', () => {
    close(spearman(x, y), 0.9416499059918954);
    close(spearman(a, b), 0.1384567651467695);
  });

  test('rankdata: average ranks for ties', () => {
    assert.deepEqual(averageRanks(x), [2.0, 6.0, 3.5, 9.0, 8.0, 6.0, 1.0, 10.0, 3.5, 6.0]);
  });

  test('perfect negative relations: pearson −1, spearman −1 for a monotone but non-linear one', () => {
    close(pearson([1, 2, 3, 4], [8, 6, 4, 2]), -1);
    close(spearman([1, 2, 3, 4], [10, 9, 8, -100]), -1);
    assert.ok(pearson([1, 2, 3, 4], [10, 9, 8, -100]) > -0.9);
  });
});

describe('degenerate cases', () => {
  test('a constant vector scores 0 (scipy gives NaN), including float values whose mean is inexact', () => {
    assert.equal(pearson([1, 2, 3], [5, 5, 5]), 0);
    assert.equal(pearson([0.1, 0.1, 0.1], [1, 2, 3]), 0);
    assert.equal(spearman([7, 7, 7, 7], [1, 2, 3, 4]), 0);
    assert.equal(pearson([3], [4]), 0);
    assert.equal(spearman([3], [4]), 0);
  });

  test('stays within [−1, 1] and copes with large magnitudes', () => {
    const r = pearson([1e200, 2e200, 3e200], [1, 2, 3]);
    close(r, 1);
    assert.ok(r <= 1);
  });

  test('empty, mismatched and non-finite inputs are MetricErrors', () => {
    for (const f of [pearson, spearman]) {
      assert.throws(() => f([], []), (e: unknown) => e instanceof MetricError && /no predictions/.test(e.message));
      assert.throws(() => f([1, 2], [1]), MetricError);
      assert.throws(() => f([1, Number.NaN], [1, 2]), (e: unknown) => e instanceof MetricError && /prediction 1 is NaN/.test(e.message));
      assert.throws(() => f([1, 2], [Number.POSITIVE_INFINITY, 2]), (e: unknown) => e instanceof MetricError && /label 0 is Infinity/.test(e.message));
    }
  });
});
