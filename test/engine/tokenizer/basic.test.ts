/** BasicTokenizer on its own: Hugging Face's cleaning, CJK, case, accent and punctuation rules, with spans. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BasicTokenizer } from '../../../engine/tokenizer/basic';

const uncased = new BasicTokenizer();

describe('BasicTokenizer', () => {
  test('lower-cases, strips accents and splits punctuation by default', () => {
    assert.deepEqual(uncased.tokenize('Hello, World! Café'), ['hello', ',', 'world', '!', 'cafe']);
  });

  test("punctuation is HF's _is_punctuation: all of ASCII's symbols, and Unicode P* only", () => {
    // '$' and '^' are ASCII 36 and 94 (categories Sc, Sk) and count; '€' (Sc, non-ASCII) does not.
    // '¿' (Po) and the em dash (Pd) do.
    assert.deepEqual(uncased.tokenize('$5 €5 a^b ¿Qué? hello—world'), ['$', '5', '€5', 'a', '^', 'b', '¿', 'que', '?', 'hello', '—', 'world']);
  });

  test('[CLS] is split like any text unless it is in never_split', () => {
    assert.deepEqual(uncased.tokenize('[CLS] hi'), ['[', 'cls', ']', 'hi']);
    assert.deepEqual(uncased.tokenize('[CLS] hi', ['[CLS]']), ['[CLS]', 'hi']);
    assert.deepEqual(new BasicTokenizer({ neverSplit: ['[CLS]'] }).tokenize('[CLS] [CLS]x'), ['[CLS]', '[', 'cls', ']', 'x']);
  });

  test('CJK ideographs are isolated; kana is not', () => {
    // Accent stripping also takes the voicing mark off kana: NFD(で) = て + U+3099 (Mn), so uncased BERT
    // sees "てす" (a known property of Hugging Face's uncased tokenizers); kept when accents are kept.
    assert.deepEqual(uncased.tokenize('日本語です'), ['日', '本', '語', 'てす']);
    assert.deepEqual(new BasicTokenizer({ doLowerCase: false }).tokenize('日本語です'), ['日', '本', '語', 'です']);
    assert.deepEqual(new BasicTokenizer({ doLowerCase: false, tokenizeChineseChars: false }).tokenize('日本語です'), ['日本語です']);
    // The eight ranges: one ideograph from each of Extension A (U+3400), B (U+20000), C (U+2A700),
    // D (U+2B740), E (U+2B820), compatibility (U+F900 → NFD U+8C48) and its supplement (U+2F800 → U+4E3D).
    const ideographs = '\u{3400}\u{20000}\u{2A700}\u{2B740}\u{2B820}\u{F900}\u{2F800}';
    assert.deepEqual(uncased.tokenize(`x${ideographs}x`), ['x', '\u{3400}', '\u{20000}', '\u{2A700}', '\u{2B740}', '\u{2B820}', '\u{8C48}', '\u{4E3D}', 'x']);
    // Just outside the ranges, assigned but not isolated: U+4DC0 (after Extension A), U+A000 (after the
    // main block) and U+2CEB0 (Extension F, after HF's last extension range).
    assert.deepEqual(uncased.tokenize('x\u{4DC0}\u{A000}\u{2CEB0}x'), ['x\u{4DC0}\u{A000}\u{2CEB0}x']);
  });

  test('strip_accents and do_lower_case are independent when strip_accents is given', () => {
    assert.deepEqual(new BasicTokenizer({ doLowerCase: false }).tokenize('Café'), ['Café']);
    assert.deepEqual(new BasicTokenizer({ doLowerCase: false, stripAccents: true }).tokenize('Café'), ['Cafe']);
    assert.deepEqual(new BasicTokenizer({ doLowerCase: true, stripAccents: false }).tokenize('Café'), ['café']);
  });

  test('control, format, private-use and lone-surrogate characters are removed; U+0000 and U+FFFD too', () => {
    // BEL (Cc), ZWSP and BOM (Cf), U+E000 (Co), a lone high surrogate (Cs).
    assert.deepEqual(uncased.tokenize('a\u0007b\u200bc\ufeffd\ue000e\ud800f\u0000g\ufffdh'), ['abcdefgh']);
    // With clean_text off nothing is removed.
    assert.deepEqual(new BasicTokenizer({ cleanText: false }).tokenize('a\u0007b'), ['a\u0007b']);
  });

  test('spans: words are placed in the original text; from/to select a range', () => {
    assert.deepEqual(
      uncased.split('  Hello,  World '),
      [
        { text: 'hello', start: 2, end: 7, unitStarts: null, unitEnds: null, neverSplit: false },
        { text: ',', start: 7, end: 8, unitStarts: null, unitEnds: null, neverSplit: false },
        { text: 'world', start: 10, end: 15, unitStarts: null, unitEnds: null, neverSplit: false },
      ],
    );
    assert.deepEqual(uncased.split('xx hello yy', 3, 8).map((w) => [w.text, w.start, w.end]), [['hello', 3, 8]]);
  });

  test('spans: an expanding lower-case maps both units to the one original character', () => {
    // "İ" (1 unit) → "i̇" (2 units) when accents are kept.
    const [w] = new BasicTokenizer({ stripAccents: false }).split('İstanbul');
    assert.equal(w.text, 'i\u0307stanbul');
    assert.deepEqual([w.start, w.end], [0, 8]);
    assert.deepEqual(w.unitStarts, [0, 0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(w.unitEnds, [1, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test('spans: a stripped accent maps to nothing; the letter before it keeps its own span', () => {
    const [w] = uncased.split('Cafe\u0301s');
    assert.equal(w.text, 'cafes');
    assert.deepEqual([w.start, w.end], [0, 6]);
    assert.deepEqual(w.unitStarts, [0, 1, 2, 3, 5]);
    assert.deepEqual(w.unitEnds, [1, 2, 3, 4, 6]);
    // At the end of a word the word ends with the letter.
    const [e] = uncased.split('Cafe\u0301 ');
    assert.deepEqual([e.text, e.start, e.end], ['cafe', 0, 4]);
  });

  test('cased: NFC composes a decomposed accent; the composed letter spans both original units', () => {
    const [w] = new BasicTokenizer({ doLowerCase: false }).split('Cafe\u0301s');
    assert.equal(w.text, 'Cafés');
    assert.deepEqual(w.unitStarts, [0, 1, 2, 3, 5]);
    assert.deepEqual(w.unitEnds, [1, 2, 3, 5, 6]);
    assert.deepEqual(new BasicTokenizer({ doLowerCase: false, normalizeNfc: false }).tokenize('Cafe\u0301s'), ['Cafe\u0301s']);
  });

  test('spans: a removed control character maps to nothing; the word covers it only between kept characters', () => {
    const [w] = uncased.split('ab\u200bc');
    assert.equal(w.text, 'abc');
    assert.deepEqual([w.start, w.end], [0, 4]);
    assert.deepEqual(w.unitStarts, [0, 1, 3]);
    assert.deepEqual(w.unitEnds, [1, 2, 4]);
    assert.deepEqual(uncased.split('\u200bab\u0007\ufffd c').map((x) => [x.text, x.start, x.end]), [['ab', 1, 3], ['c', 6, 7]]);
  });

  test('punctuation splitting can be turned off (do_split_on_punc)', () => {
    assert.deepEqual(new BasicTokenizer({ splitOnPunctuation: false }).tokenize("don't stop."), ["don't", 'stop.']);
  });
});
