/** Longest-first truncation against a literal transcription of the Python tokenizer's loop. */
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

describe('truncateLongestFirst', () => {
  test('equals the one-token-at-a-time loop for every length pair up to 12 and every budget', () => {
    for (let a = 0; a <= 12; a++) {
      for (let b = 0; b <= 12; b++) {
        for (let budget = 0; budget <= 25; budget++) {
          assert.deepEqual(truncateLongestFirst(a, b, budget), pythonLoop(a, b, budget), `a=${a} b=${b} budget=${budget}`);
        }
      }
    }
  });

  test('worked examples', () => {
    assert.deepEqual(truncateLongestFirst(10, 3, 8), [5, 3]); // only the longer is cut
    assert.deepEqual(truncateLongestFirst(4, 4, 7), [4, 3]); // tie: the second loses the odd token
    assert.deepEqual(truncateLongestFirst(4, 8, 7), [4, 3]); // cut to (4,4), then the tie rule
    assert.deepEqual(truncateLongestFirst(8, 4, 7), [4, 3]);
    assert.deepEqual(truncateLongestFirst(5, 0, 3), [3, 0]); // a single sequence
  });
});
