/**
 * Longest-first truncation against literal transcriptions of the two Hugging Face algorithms:
 * the Python tokenizer's one-token-at-a-time loop ('slow') and tokenizers' `truncate_encodings`
 * ('fast'). parity.test.ts checks the fast one against the real library.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { truncateLongestFirst } from '../../../engine/tokenizer/bertTokenizer';

/** transformers' truncate_sequences, LONGEST_FIRST: one token per step, from ids if strictly longer, else from pair_ids. */
function pythonLoop(first: number, second: number, budget: number): [number, number] {
  let a = first;
  let b = second;
  const remove = Math.max(0, a + b - budget);
  for (let i = 0; i < remove; i++) {
    if (a > b) a--;
    else b--;
  }
  return [a, b];
}

/**
 * tokenizers' truncate_encodings, LongestFirst, step by step, for texts of one-token words
 * (which it counts as at most maxLength tokens): n1 the shorter (the first on a tie), n2 the
 * longer; the shorter is kept when the longer can take the rest, else both get half and the
 * longer the odd token.
 */
function tokenizersSteps(first: number, second: number, budget: number, maxLength: number): [number, number] {
  let n1 = Math.min(first, maxLength);
  let n2 = Math.min(second, maxLength);
  if (n1 + n2 <= budget) return [n1, n2];
  let swap = false;
  if (n1 > n2) {
    swap = true;
    [n1, n2] = [n2, n1];
  }
  n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
  if (n1 + n2 > budget) {
    n1 = Math.floor(budget / 2);
    n2 = n1 + (budget % 2);
  }
  return swap ? [n2, n1] : [n1, n2];
}

describe('truncateLongestFirst', () => {
  test("slow: equals the Python loop for every length pair up to 12 and every budget", () => {
    for (let a = 0; a <= 12; a++) {
      for (let b = 0; b <= 12; b++) {
        for (let budget = 0; budget <= 25; budget++) {
          assert.deepEqual(truncateLongestFirst(a, b, budget, 'slow'), pythonLoop(a, b, budget), `a=${a} b=${b} budget=${budget}`);
        }
      }
    }
  });

  test("fast: equals tokenizers' steps for every length pair up to 40 and every pair budget (maxLength − 3)", () => {
    for (let a = 0; a <= 40; a++) {
      for (let b = 0; b <= 40; b++) {
        for (let maxLength = 3; maxLength <= 36; maxLength++) {
          const budget = maxLength - 3;
          // Texts of one-token words: tokenizers counts each as at most maxLength tokens.
          const counted = [Math.min(a, maxLength), Math.min(b, maxLength)] as const;
          assert.deepEqual(truncateLongestFirst(a, b, budget, 'fast', counted), tokenizersSteps(a, b, budget, maxLength), `a=${a} b=${b} maxLength=${maxLength}`);
        }
      }
    }
  });

  test('the behaviours differ only in where the odd token goes when both texts are cut', () => {
    let differing = 0;
    for (let a = 0; a <= 30; a++) {
      for (let b = 0; b <= 30; b++) {
        for (let budget = 0; budget <= 30; budget++) {
          const fast = truncateLongestFirst(a, b, budget, 'fast', [Math.min(a, budget + 3), Math.min(b, budget + 3)]);
          const slow = truncateLongestFirst(a, b, budget, 'slow');
          assert.equal(fast[0] + fast[1], Math.min(a + b, budget), `fast keeps the budget: a=${a} b=${b} budget=${budget}`);
          assert.equal(slow[0] + slow[1], Math.min(a + b, budget), `slow keeps the budget: a=${a} b=${b} budget=${budget}`);
          if (fast[0] !== slow[0]) {
            differing++;
            assert.ok(budget % 2 === 1 && a > budget / 2 && b > budget / 2, `a=${a} b=${b} budget=${budget}`);
            assert.deepEqual(slow, [Math.ceil(budget / 2), Math.floor(budget / 2)]);
            assert.deepEqual(fast, [Math.floor(budget / 2), Math.ceil(budget / 2)]);
          }
        }
      }
    }
    assert.ok(differing > 0);
  });

  test('worked examples', () => {
    assert.deepEqual(truncateLongestFirst(10, 3, 8), [5, 3]); // only the longer is cut (both behaviours)
    assert.deepEqual(truncateLongestFirst(10, 3, 8, 'slow'), [5, 3]);
    assert.deepEqual(truncateLongestFirst(4, 4, 7, 'slow'), [4, 3]); // slow, tie: the first keeps the odd token
    assert.deepEqual(truncateLongestFirst(4, 4, 7), [3, 4]); // fast, tie: the second keeps it
    assert.deepEqual(truncateLongestFirst(4, 8, 7, 'slow'), [4, 3]);
    assert.deepEqual(truncateLongestFirst(4, 8, 7), [3, 4]); // fast: the longer keeps it
    assert.deepEqual(truncateLongestFirst(8, 4, 7, 'slow'), [4, 3]);
    assert.deepEqual(truncateLongestFirst(8, 4, 7), [4, 3]);
    // BERT's usual lengths: 300 and 200 tokens at max_length 128 (budget 125).
    assert.deepEqual(truncateLongestFirst(300, 200, 125, 'slow'), [63, 62]);
    assert.deepEqual(truncateLongestFirst(300, 200, 125, 'fast', [128, 129]), [62, 63]); // counted as 128 and 129: the second is longer
    assert.deepEqual(truncateLongestFirst(300, 200, 125, 'fast', [128, 128]), [62, 63]); // counted as equal: the second keeps it
    assert.deepEqual(truncateLongestFirst(300, 200, 125, 'fast'), [63, 62]); // counted as they are, the first is longer
    assert.deepEqual(truncateLongestFirst(5, 0, 3), [3, 0]); // an empty second text
  });
});
