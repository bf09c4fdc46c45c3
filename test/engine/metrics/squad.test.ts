/**
 * SQuAD v1.1 exact match and F1. Expected values are worked out by hand from the official
 * evaluate-v1.1.py definitions (normalize_answer, exact_match_score, f1_score, max over
 * ground truths, mean over questions); each case shows its arithmetic.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MetricError } from '../../../engine/metrics/errors';
import { exactMatch, exactMatchScore, normalizeAnswer, spanF1, tokenF1Score } from '../../../engine/metrics/squad';

const close = (actual: number, expected: number): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${actual} ≠ ${expected}`);

describe('normalizeAnswer', () => {
  test('lower-cases, removes punctuation and articles, collapses white space', () => {
    assert.equal(normalizeAnswer('  The  Quick, brown fox!  '), 'quick brown fox');
    assert.equal(normalizeAnswer('an apple A day'), 'apple day');
  });

  test('articles only as whole words; punctuation goes first', () => {
    assert.equal(normalizeAnswer('Theater thematic another'), 'theater thematic another');
    // "the-end" → "theend" (punctuation removed) → no article left.
    assert.equal(normalizeAnswer('The-end'), 'theend');
    // "(the)" → "the" → removed.
    assert.equal(normalizeAnswer('(the) end'), 'end');
  });

  test('word boundaries are Unicode-aware as in Python: "éthe" keeps its "the"', () => {
    assert.equal(normalizeAnswer('éthe'), 'éthe');
    assert.equal(normalizeAnswer('the éclair'), 'éclair');
    assert.equal(normalizeAnswer('αthe theβ the'), 'αthe theβ');
  });

  test("only ASCII punctuation is removed (Python's string.punctuation)", () => {
    assert.equal(normalizeAnswer('«Paris»—France'), '«paris»—france');
    assert.equal(normalizeAnswer('$1,000.50'), '100050');
  });

  test("white space is Python's str.split(): U+001C separates, U+FEFF does not", () => {
    assert.equal(normalizeAnswer('x\x1cy\u3000z'), 'x y z');
    assert.equal(normalizeAnswer('x\uFEFFy'), 'x\uFEFFy');
  });
});

describe('per-answer scores', () => {
  test('exact match after normalisation', () => {
    assert.equal(exactMatchScore('the Eiffel Tower.', 'Eiffel tower'), 1);
    assert.equal(exactMatchScore('Eiffel', 'Eiffel Tower'), 0);
    // Both normalise to "": equal strings.
    assert.equal(exactMatchScore('', 'The'), 1);
  });

  test('token F1 with precision and recall over bags of tokens', () => {
    // "in the year 1998 or so" → [in, year, 1998, or, so]; "year 1998" → [year, 1998].
    // 2 shared: P = 2/5, R = 2/2, F1 = 2·0.4·1/1.4 = 4/7.
    close(tokenF1Score('in the year 1998 or so', 'year 1998'), 4 / 7);
    // [x, y, y, y] vs [y, y, z, w]: y shared min(3, 2) = 2 times: P = 2/4, R = 2/4, F1 = 1/2.
    close(tokenF1Score('x y y y', 'y y z w'), 0.5);
    assert.equal(tokenF1Score('Denver Broncos', 'denver broncos!'), 1);
  });

  test('no shared token is 0, even when both are empty (v1.1 has no special case)', () => {
    assert.equal(tokenF1Score('Paris', 'London'), 0);
    assert.equal(tokenF1Score('', 'the'), 0);
  });
});

describe('dataset scores', () => {
  test('best over gold answers, mean over questions', () => {
    const predictions = ['Denver Broncos', 'the 1990s', 'Paris France', 'in the year 1998 or so'];
    const golds = [['Denver Broncos', 'Broncos'], ['nineties', '1990s'], ['France'], ['1998', 'year 1998']];
    // EM: 1, 1, 0, 0 → 2/4.
    close(exactMatch(predictions, golds), 0.5);
    // F1: 1; 1; [paris, france] vs [france]: P 1/2, R 1, F1 2/3; max(1/3 for "1998", 4/7) = 4/7.
    close(spanF1(predictions, golds), (1 + 1 + 2 / 3 + 4 / 7) / 4);
  });

  test('empty inputs, mismatched counts and questions without gold answers are MetricErrors', () => {
    for (const f of [exactMatch, spanF1]) {
      assert.throws(() => f([], []), MetricError);
      assert.throws(() => f(['a'], []), MetricError);
      assert.throws(() => f(['a'], [[]]), (e: unknown) => e instanceof MetricError && /question 0 has no gold answers/.test(e.message));
    }
  });
});
