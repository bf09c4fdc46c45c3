/** Dynamic MLM masking: BERT's statistics, special tokens untouched, whole words, and draws that depend on (seed, step, example) only. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { maskSequence, type MaskingOptions } from '../../../engine/tasks/masking';
import { Random } from '../../../engine/util/random';

const CLS = 2;
const SEP = 3;
const PAD = 0;
const MASK = 4;
const UNK = 1;
const OPTIONS: MaskingOptions = { probability: 0.15, wholeWord: false, maskId: MASK, vocabSize: 8192, specialIds: new Set([PAD, UNK, CLS, SEP, MASK]) };

/** A packed sequence: [CLS] tokens [SEP] tokens [SEP], ordinary ids 5..vocab−1. */
function sequence(rng: Random, length: number): number[] {
  const ids = [CLS];
  for (let i = 1; i < length - 1; i++) ids.push(i === Math.floor(length / 2) ? SEP : 5 + Math.floor(rng.next() * (OPTIONS.vocabSize - 5)));
  ids.push(SEP);
  return ids;
}

describe('MLM masking', () => {
  test('on 100k positions: 15% ± 0.5 selected, 80/10/10 within a point, no special token selected', () => {
    const rng = new Random(7);
    let ordinary = 0;
    let selected = 0;
    let masked = 0;
    let replaced = 0;
    let kept = 0;
    for (let example = 0; ordinary < 100_000; example++) {
      const ids = sequence(rng, 128);
      ordinary += ids.filter((id) => !OPTIONS.specialIds.has(id)).length;
      const m = maskSequence(ids, undefined, OPTIONS, 11, 1 + (example % 50), example);
      selected += m.positions.length;
      m.positions.forEach((p, i) => {
        assert.ok(!OPTIONS.specialIds.has(ids[p]!), `special token ${ids[p]} at ${p} was selected`);
        assert.equal(m.labels[i], ids[p]);
        if (m.inputIds[p] === MASK) masked++;
        else if (m.inputIds[p] === ids[p]) kept++;
        else replaced++;
        assert.ok(!OPTIONS.specialIds.has(m.inputIds[p]!) || m.inputIds[p] === MASK, 'a random replacement is never a special token');
      });
      // Nothing outside the selected positions changes.
      const chosen = new Set(m.positions);
      ids.forEach((id, p) => chosen.has(p) || assert.equal(m.inputIds[p], id));
    }
    const share = selected / ordinary;
    assert.ok(Math.abs(share - 0.15) <= 0.005, `selected ${(share * 100).toFixed(2)}%`);
    // A random replacement can draw the original token (1 in 8k): counted as kept, within the margin.
    assert.ok(Math.abs(masked / selected - 0.8) <= 0.01, `[MASK] ${(masked / selected).toFixed(4)}`);
    assert.ok(Math.abs(replaced / selected - 0.1) <= 0.01, `random ${(replaced / selected).toFixed(4)}`);
    assert.ok(Math.abs(kept / selected - 0.1) <= 0.01, `kept ${(kept / selected).toFixed(4)}`);
  });

  test('the same seed, step and example give the same masks; another step or example, others', () => {
    const ids = sequence(new Random(3), 64);
    const a = maskSequence(ids, undefined, OPTIONS, 5, 10, 42);
    assert.deepEqual(maskSequence(ids, undefined, OPTIONS, 5, 10, 42), a);
    assert.notDeepEqual(maskSequence(ids, undefined, OPTIONS, 5, 11, 42), a);
    assert.notDeepEqual(maskSequence(ids, undefined, OPTIONS, 5, 10, 43), a);
    assert.notDeepEqual(maskSequence(ids, undefined, OPTIONS, 6, 10, 42), a);
  });

  test('whole-word masking selects every piece of a word or none', () => {
    const rng = new Random(9);
    let words = 0;
    for (let example = 0; example < 300; example++) {
      const ids = sequence(rng, 40);
      // Every third ordinary token continues the previous word (a ## piece).
      const continues = ids.map((id, i) => i > 1 && !OPTIONS.specialIds.has(id) && !OPTIONS.specialIds.has(ids[i - 1]!) && i % 3 === 0);
      const m = maskSequence(ids, continues, { ...OPTIONS, wholeWord: true }, 1, 1, example);
      const chosen = new Set(m.positions);
      ids.forEach((_, i) => {
        if (continues[i]) {
          words++;
          assert.equal(chosen.has(i), chosen.has(i - 1), `example ${example}: piece ${i} and its word's start ${i - 1} differ`);
        }
      });
    }
    assert.ok(words > 1000);
  });

  test('a short sequence always has a position to learn from; one of special tokens only has none', () => {
    for (let example = 0; example < 200; example++) assert.equal(maskSequence([CLS, 100, SEP], undefined, OPTIONS, 1, 1, example).positions.length, 1);
    assert.deepEqual(maskSequence([CLS, SEP], undefined, OPTIONS, 1, 1, 0).positions, []);
    assert.throws(() => maskSequence([CLS, 100, SEP], undefined, { ...OPTIONS, probability: 0 }, 1, 1, 0), /outside \(0, 1\]/);
  });
});
