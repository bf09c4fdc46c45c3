/**
 * The full BERT tokenizer against outputs derived by hand from Hugging Face's algorithm
 * (special tokens split out, BasicTokenizer, greedy WordPiece; offsets as BertTokenizerFast
 * reports them) on the fixture vocabulary, loaded from a vocab.txt written to a temporary
 * folder; both behaviours where BertTokenizerFast ('fast', the default) and the Python
 * BertTokenizer ('slow') differ. parity.test.ts compares with the real tokenizers library.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { BertTokenizer, loadBertTokenizer, type Encoding } from '../../../engine/tokenizer/bertTokenizer';
import { ids, modelFolder, removeModelFolders, VOCAB, vocabTxt } from './fixture';

after(removeModelFolders);

const uncased = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt() }));
const cased = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': JSON.stringify({ do_lower_case: false }) }));

/** The tokens of one text with their offsets, [CLS]/[SEP] left out, and the ids checked against the fixture. */
function words(tokenizer: BertTokenizer, text: string): { tokens: string[]; offsets: [number, number][] } {
  const e = tokenizer.encode(text);
  assert.equal(e.tokens[0], '[CLS]');
  assert.equal(e.tokens[e.tokens.length - 1], '[SEP]');
  const tokens = e.tokens.slice(1, -1);
  assert.deepEqual(e.inputIds.slice(1, -1), tokens.map((t) => (t === '[UNK]' ? 2 : VOCAB.indexOf(t))), 'ids follow the tokens');
  assert.deepEqual(tokenizer.tokenize(text), tokens, 'tokenize() agrees with encode()');
  return { tokens, offsets: e.offsets.slice(1, -1) };
}

describe('BertTokenizer: single texts (uncased: lower-case + strip accents)', () => {
  test('plain English with punctuation: "Hello, world!" → hello , world !', () => {
    const e = uncased.encode('Hello, world!');
    assert.deepEqual(e.tokens, ['[CLS]', 'hello', ',', 'world', '!', '[SEP]']);
    assert.deepEqual(e.inputIds, [3, 14, 7, 15, 6, 4]);
    assert.deepEqual(e.tokenTypeIds, [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(e.attentionMask, [1, 1, 1, 1, 1, 1]);
    assert.deepEqual(e.specialTokensMask, [1, 0, 0, 0, 0, 1]);
    assert.deepEqual(e.offsets, [[0, 0], [0, 5], [5, 6], [7, 12], [12, 13], [0, 0]]);
  });

  test("contractions and hyphens: the apostrophe and '-' are ASCII punctuation and split out", () => {
    assert.deepEqual(words(uncased, "don't"), { tokens: ['don', "'", 't'], offsets: [[0, 3], [3, 4], [4, 5]] });
    assert.deepEqual(words(uncased, 'state-of-the-art'), {
      tokens: ['state', '-', 'of', '-', 'the', '-', 'art'],
      offsets: [[0, 5], [5, 6], [6, 8], [8, 9], [9, 12], [12, 13], [13, 16]],
    });
  });

  test('accents are lower-cased and stripped; offsets still point at the accented originals', () => {
    // "naïve" → "naive"; "naive" is not in the vocabulary, the longest prefix is "na", then "##ive".
    // 'ï' (index 7) becomes 'i', so ##ive starts at 7 in the original.
    assert.deepEqual(words(uncased, 'Café naïve résumé'), {
      tokens: ['cafe', 'na', '##ive', 'resume'],
      offsets: [[0, 4], [5, 7], [7, 10], [11, 17]],
    });
  });

  test('a decomposed accent (e + U+0301) is stripped and maps to nothing: the token ends with the e', () => {
    // NFD of "e\u0301" drops the Mn mark; as in tokenizers' alignments the dropped mark belongs to no
    // character, so "cafe" covers units 0..4, not the mark at 4.
    assert.deepEqual(words(uncased, 'Cafe\u0301'), { tokens: ['cafe'], offsets: [[0, 4]] });
    assert.deepEqual(words(uncased, 'e\u0301'), { tokens: ['[UNK]'], offsets: [[0, 1]] });
    // Inside a word the mark is covered by the word, not by the piece before it: un|aff|able with a
    // mark after "un" gives un [0, 2], ##aff [3, 6].
    assert.deepEqual(words(uncased, 'un\u0301affable'), { tokens: ['un', '##aff', '##able'], offsets: [[0, 2], [3, 6], [6, 10]] });
  });

  test('CJK: every ideograph is a word; the Latin run after them is one word, split greedily', () => {
    // "我爱NLP" → 我 | 爱 | nlp; "nlp" is not in the vocabulary, the longest prefix is "nl" (not "n"),
    // so the result is nl ##p although n ##lp would also cover it.
    assert.deepEqual(words(uncased, '我爱NLP'), { tokens: ['我', '爱', 'nl', '##p'], offsets: [[0, 1], [1, 2], [2, 4], [4, 5]] });
  });

  test('astral characters: an astral ideograph is isolated whole; unknown emoji and ideographs become [UNK]', () => {
    // U+2000B is a surrogate pair (2 units) in CJK Extension B → its own word.
    assert.deepEqual(words(uncased, '𠀋x'), { tokens: ['𠀋', 'x'], offsets: [[0, 2], [2, 3]] });
    // 🙂 (So, not punctuation) is a word of its own here and unknown; U+20000 is an ideograph, unknown.
    assert.deepEqual(words(uncased, 'hello 🙂 𠀀'), { tokens: ['hello', '[UNK]', '[UNK]'], offsets: [[0, 5], [6, 8], [9, 11]] });
    // An emoji is not punctuation, so it stays inside its word: "hello😀" → hello ##😀 (never half a pair).
    assert.deepEqual(words(uncased, 'hello😀'), { tokens: ['hello', '##😀'], offsets: [[0, 5], [5, 7]] });
    // "a😀b": a, ##😀, then "##b" is missing, so the whole word is [UNK].
    assert.deepEqual(words(uncased, 'a😀b'), { tokens: ['[UNK]'], offsets: [[0, 4]] });
  });

  test('control characters, U+0000 and U+FFFD are removed and map to nothing; a token never ends on one', () => {
    // h0 e1 l2 NUL3 l4 o5 FFFD6 ␠7 w8 o9 r10 ZWSP11 l12 d13 BEL14 !15
    // "hello" spans 0..6 (NUL inside, the FFFD after 'o' left out), "world" 8..14 (ZWSP inside, BEL after 'd' left out).
    assert.deepEqual(words(uncased, 'hel\u0000lo\ufffd wor\u200bld\u0007!'), {
      tokens: ['hello', 'world', '!'],
      offsets: [[0, 6], [8, 14], [15, 16]],
    });
    // Pieces on either side of a removed character: un|aff|able with ZWSPs around "aff".
    assert.deepEqual(words(uncased, 'un\u200baff\u200bable\u200b'), { tokens: ['un', '##aff', '##able'], offsets: [[0, 2], [3, 6], [7, 11]] });
    // Removed characters before a word, and an [UNK] word, which spans its kept characters.
    assert.deepEqual(words(uncased, '\u200b\u0007xyz\ufffd'), { tokens: ['[UNK]'], offsets: [[2, 5]] });
  });

  test('tab, newline, CR LF, no-break space and U+2028 separate words', () => {
    assert.deepEqual(words(uncased, 'hello\tworld\u00a0hello\r\nworld\u2028!'), {
      tokens: ['hello', 'world', 'hello', 'world', '!'],
      offsets: [[0, 5], [6, 11], [12, 17], [19, 24], [25, 26]],
    });
  });

  test('a word longer than 100 code points is [UNK]; exactly 100 is split', () => {
    const hundred = words(uncased, 'a'.repeat(100));
    assert.deepEqual(hundred.tokens, ['a', ...new Array<string>(99).fill('##a')]);
    assert.deepEqual(hundred.offsets, Array.from({ length: 100 }, (_, i) => [i, i + 1]));
    assert.deepEqual(words(uncased, 'a'.repeat(101)), { tokens: ['[UNK]'], offsets: [[0, 101]] });
    // The limit counts code points, not UTF-16 units: 100 emoji are 200 units and still allowed.
    const emoji = words(uncased, '😀'.repeat(100));
    assert.deepEqual(emoji.tokens, ['😀', ...new Array<string>(99).fill('##😀')]);
    assert.deepEqual(emoji.offsets[99], [198, 200]);
    assert.deepEqual(words(uncased, '😀'.repeat(101)), { tokens: ['[UNK]'], offsets: [[0, 202]] });
  });

  test('subwords: "unaffable" → un ##aff ##able', () => {
    assert.deepEqual(words(uncased, 'unaffable'), { tokens: ['un', '##aff', '##able'], offsets: [[0, 2], [2, 5], [5, 9]] });
  });

  test('a word with any unmatched piece is one [UNK], not a partial split', () => {
    // un ##aff ##able match, then "##q" does not: the whole word is unknown.
    assert.deepEqual(words(uncased, 'unaffableq hello'), { tokens: ['[UNK]', 'hello'], offsets: [[0, 10], [11, 16]] });
    assert.deepEqual(words(uncased, 'xyz'), { tokens: ['[UNK]'], offsets: [[0, 3]] });
  });

  test('Hangul is decomposed into jamo by accent stripping; each piece spans the whole syllable', () => {
    // NFD(한) = U+1112 U+1161 U+11AB, none of them Mn: pieces ᄒ + ##ᅡᆫ, both from original [0, 1].
    assert.deepEqual(words(uncased, '한'), { tokens: ['\u1112', '##\u1161\u11ab'], offsets: [[0, 1], [0, 1]] });
  });

  test('lower-casing that expands (İ → i + U+0307) and Greek sigma (lower-cased per character, as BertTokenizer does)', () => {
    // "İ".lower() is "i̇"; stripping drops U+0307, both units came from original [0, 1].
    assert.deepEqual(words(uncased, 'İstanbul'), { tokens: ['i', '##stanbul'], offsets: [[0, 1], [1, 8]] });
    // BertTokenizer.tokenize lower-cases one character at a time, so the final Σ becomes σ, not ς.
    assert.deepEqual(words(uncased, 'ΟΔΟΣ'), { tokens: ['οδοσ'], offsets: [[0, 4]] });
  });

  test('a CJK compatibility ideograph is isolated and canonicalised (U+F900 → U+8C48)', () => {
    assert.deepEqual(words(uncased, 'x\uf900x'), { tokens: ['x', '豈', 'x'], offsets: [[0, 1], [1, 2], [2, 3]] });
  });

  test('empty and whitespace-only text encode to [CLS] [SEP]', () => {
    for (const text of ['', '  \t\n', '\u0000\u200b']) {
      const e = uncased.encode(text);
      assert.deepEqual(e.tokens, ['[CLS]', '[SEP]']);
      assert.deepEqual(e.inputIds, [3, 4]);
    }
  });
});

describe('BertTokenizer: cased and accent-keeping configurations', () => {
  test('do_lower_case false (strip_accents unset → false): case and accents are kept', () => {
    // "résumé" is not in the vocabulary and no prefix of it is ('r' is missing): [UNK].
    assert.deepEqual(words(cased, 'Café naïve résumé'), { tokens: ['Café', 'naïve', '[UNK]'], offsets: [[0, 4], [5, 10], [11, 17]] });
    assert.deepEqual(words(cased, 'Hello, World!'), { tokens: ['Hello', ',', 'World', '!'], offsets: [[0, 5], [5, 6], [7, 12], [12, 13]] });
  });

  test('lower-case but strip_accents false: "Café naïve" → café naïve', () => {
    const t = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': JSON.stringify({ do_lower_case: true, strip_accents: false }) }));
    assert.deepEqual(words(t, 'Café naïve résumé'), { tokens: ['café', 'naïve', '[UNK]'], offsets: [[0, 4], [5, 10], [11, 17]] });
  });

  test('cased: the fast behaviour (default) keeps decomposed input as written; slow composes it (NFC) as BertTokenizer does', () => {
    assert.equal(cased.behaviour, 'fast');
    // BertTokenizerFast: "Cafe\u0301" is not in the vocabulary ("Café" is, composed) and "\uf900" stays U+F900.
    assert.deepEqual(words(cased, 'Cafe\u0301'), { tokens: ['[UNK]'], offsets: [[0, 5]] });
    assert.deepEqual(words(cased, '\uf900'), { tokens: ['[UNK]'], offsets: [[0, 1]] });
    // The Python BertTokenizer: NFC "Café", whose composed é comes from original units 3..5; U+F900 → U+8C48.
    const slow = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': JSON.stringify({ do_lower_case: false }) }), { behaviour: 'slow' });
    assert.equal(slow.behaviour, 'slow');
    assert.deepEqual(words(slow, 'Cafe\u0301'), { tokens: ['Café'], offsets: [[0, 5]] });
    assert.deepEqual(words(slow, '\uf900'), { tokens: ['豈'], offsets: [[0, 1]] });
    assert.deepEqual(words(cased.withBehaviour('slow'), 'Cafe\u0301'), { tokens: ['Café'], offsets: [[0, 5]] });
    // Uncased, NFD makes both forms equal: the behaviours agree.
    assert.deepEqual(words(uncased.withBehaviour('slow'), 'Cafe\u0301'), words(uncased, 'Cafe\u0301'));
  });

  test("tokenizer_config.json's use_fast: false selects the slow behaviour; an explicit behaviour overrides it", () => {
    const folder = modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': JSON.stringify({ do_lower_case: false, use_fast: false }) });
    const slow = loadBertTokenizer(folder);
    assert.equal(slow.behaviour, 'slow');
    assert.deepEqual(words(slow, 'Cafe\u0301').tokens, ['Café']);
    const fast = loadBertTokenizer(folder, { behaviour: 'fast' });
    assert.equal(fast.behaviour, 'fast');
    assert.deepEqual(words(fast, 'Cafe\u0301').tokens, ['[UNK]']);
    assert.equal(slow.withBehaviour('fast').withBehaviour('slow'), slow, 'the two behaviours share one pair of tokenizers');
    assert.equal(loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': JSON.stringify({ use_fast: true }) })).behaviour, 'fast');
  });

  test('tokenize_chinese_chars false: ideographs stay inside their word', () => {
    const t = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': JSON.stringify({ tokenize_chinese_chars: false }) }));
    // "我爱nlp" is one word: 我 matches, then "##爱" is missing → [UNK].
    assert.deepEqual(words(t, '我爱NLP'), { tokens: ['[UNK]'], offsets: [[0, 5]] });
  });
});

describe('BertTokenizer: special tokens in the text', () => {
  test('special tokens written in the text stay whole (they are never split) and keep their real offsets', () => {
    const e = uncased.encode('[CLS] hello[SEP]world [MASK]');
    assert.deepEqual(e.tokens, ['[CLS]', '[CLS]', 'hello', '[SEP]', 'world', '[MASK]', '[SEP]']);
    assert.deepEqual(e.inputIds, [3, 3, 14, 4, 15, 5, 4]);
    assert.deepEqual(e.offsets, [[0, 0], [0, 5], [6, 11], [11, 16], [16, 21], [22, 28], [0, 0]]);
    // Only the [CLS]/[SEP] the encoder added are marked special.
    assert.deepEqual(e.specialTokensMask, [1, 0, 0, 0, 0, 0, 1]);
  });

  test('matching is case-sensitive; vocabulary entries that are not special tokens are split like text', () => {
    // "[cls]" is not "[CLS]": [ cl ##s ]. "[unused0]" is in the vocabulary but not special:
    // [ , "unused0" (un matches, then ##used0 does not → [UNK]) , ].
    assert.deepEqual(words(uncased, '[cls] [unused0]'), {
      tokens: ['[', 'cl', '##s', ']', '[', '[UNK]', ']'],
      offsets: [[0, 1], [1, 3], [3, 4], [4, 5], [6, 7], [7, 14], [14, 15]],
    });
  });

  test('never_split from tokenizer_config.json keeps a word whole (slow); entries are compared after lower-casing', () => {
    const folder = modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': JSON.stringify({ never_split: ['[unused0]', '[FOO]'] }) });
    // BertTokenizerFast ignores never_split: "[unused0]" is split like any text.
    assert.deepEqual(loadBertTokenizer(folder).encode('[unused0]').tokens, ['[CLS]', '[', '[UNK]', ']', '[SEP]']);
    const t = loadBertTokenizer(folder, { behaviour: 'slow' });
    const e = t.encode('[unused0] [FOO]');
    // BertTokenizer.tokenize lower-cases the text before BasicTokenizer sees it, so "[FOO]" arrives as
    // "[foo]", which is not in never_split, and is split: [ foo ] with foo unknown.
    assert.deepEqual(e.tokens, ['[CLS]', '[unused0]', '[', '[UNK]', ']', '[SEP]']);
    assert.deepEqual(e.inputIds, [3, 1, 11, 2, 12, 4]);
    assert.deepEqual(e.offsets, [[0, 0], [0, 9], [10, 11], [11, 14], [14, 15], [0, 0]]);
  });

  test('split_special_tokens: true treats special tokens as ordinary text', () => {
    const t = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': JSON.stringify({ split_special_tokens: true }) }));
    assert.deepEqual(words(t, '[CLS]').tokens, ['[', 'cl', '##s', ']']);
  });
});

describe('BertTokenizer: pairs and truncation', () => {
  const A = 'Hello, world!'; // hello , world !   (4 tokens)
  const B = "don't"; // don ' t            (3 tokens)
  const encodeTokens = (e: Encoding): string => e.tokens.join(' ');

  test('a pair: [CLS] A [SEP] B [SEP] with token types 0…0 1…1 and offsets into each text', () => {
    const e = uncased.encode(A, B);
    assert.deepEqual(e.tokens, ['[CLS]', 'hello', ',', 'world', '!', '[SEP]', 'don', "'", 't', '[SEP]']);
    assert.deepEqual(e.inputIds, [3, 14, 7, 15, 6, 4, 16, 9, 17, 4]);
    assert.deepEqual(e.tokenTypeIds, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    assert.deepEqual(e.attentionMask, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(e.specialTokensMask, [1, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    assert.deepEqual(e.offsets, [[0, 0], [0, 5], [5, 6], [7, 12], [12, 13], [0, 0], [0, 3], [3, 4], [4, 5], [0, 0]]);
  });

  test('an empty second text is still a pair', () => {
    assert.deepEqual(uncased.encode('hello', '').tokens, ['[CLS]', 'hello', '[SEP]', '[SEP]']);
    assert.deepEqual(uncased.encode('hello', '').tokenTypeIds, [0, 0, 0, 1]);
  });

  test('single text truncated to several maxLengths (the tail goes, offsets go with it)', () => {
    const cases: [number, string][] = [
      [100, '[CLS] hello , world ! [SEP]'],
      [6, '[CLS] hello , world ! [SEP]'],
      [5, '[CLS] hello , world [SEP]'],
      [3, '[CLS] hello [SEP]'],
      [2, '[CLS] [SEP]'],
    ];
    for (const [maxLength, expected] of cases) assert.equal(encodeTokens(uncased.encode(A, undefined, { maxLength })), expected, `maxLength ${maxLength}`);
    const e = uncased.encode(A, undefined, { maxLength: 4, truncation: 'longest_first' });
    assert.deepEqual(e.inputIds, [3, 14, 7, 4]);
    assert.deepEqual(e.offsets, [[0, 0], [0, 5], [5, 6], [0, 0]]);
  });

  test('pair truncation, longest first: one token at a time from the longer, from the second on a tie', () => {
    // A has 4 tokens, B 3; the budget is maxLength − 3.
    const cases: [number, string][] = [
      [10, '[CLS] hello , world ! [SEP] don \' t [SEP]'], // 7 ≤ 7: nothing removed
      [9, '[CLS] hello , world [SEP] don \' t [SEP]'], // (4,3) → A longer → (3,3)
      [8, '[CLS] hello , world [SEP] don \' [SEP]'], // (3,3) tie → second → (3,2)
      [7, '[CLS] hello , [SEP] don \' [SEP]'], // (3,2) → A → (2,2)
      [6, '[CLS] hello , [SEP] don [SEP]'], // (2,2) tie → second → (2,1)
      [5, '[CLS] hello [SEP] don [SEP]'], // (2,1) → A → (1,1)
      [4, '[CLS] hello [SEP] [SEP]'], // (1,1) tie → second → (1,0)
      [3, '[CLS] [SEP] [SEP]'], // (1,0) → A → (0,0)
    ];
    for (const [maxLength, expected] of cases) {
      const e = uncased.encode(A, B, { maxLength });
      assert.equal(encodeTokens(e), expected, `maxLength ${maxLength}`);
      assert.equal(e.inputIds.length, Math.min(maxLength, 10));
    }
  });

  test('pair truncation where one side is much shorter: only the longer one is cut until they meet', () => {
    // "hello" (1) with "state-of-the-art" (7): budget 5 cuts B to 4.
    assert.equal(encodeTokens(uncased.encode('hello', 'state-of-the-art', { maxLength: 8 })), '[CLS] hello [SEP] state - of - [SEP]');
    // Budget 1 does not leave the shorter whole, so both are cut and one token is left to give: the
    // fast behaviour gives it to the longer B, the slow one (B cut to 1, then on the tie to 0) to A.
    assert.equal(encodeTokens(uncased.encode('hello', 'state-of-the-art', { maxLength: 4 })), '[CLS] [SEP] state [SEP]');
    assert.equal(encodeTokens(uncased.withBehaviour('slow').encode('hello', 'state-of-the-art', { maxLength: 4 })), '[CLS] hello [SEP] [SEP]');
    assert.equal(encodeTokens(uncased.encode('state-of-the-art', 'hello', { maxLength: 8 })), '[CLS] state - of - [SEP] hello [SEP]');
    const e = uncased.encode('state-of-the-art', 'hello', { maxLength: 8 });
    assert.deepEqual(e.tokenTypeIds, [0, 0, 0, 0, 0, 0, 1, 1]);
    assert.deepEqual(e.offsets, [[0, 0], [0, 5], [5, 6], [6, 8], [8, 9], [0, 0], [0, 5], [0, 0]]);
  });

  test('both sides cut with an odd budget, fast (default): the longer text keeps the extra token, the second on a tie', () => {
    // (7,7), budget 5: both are cut to half, the second (tie) keeps 3 → (2,3).
    assert.equal(encodeTokens(uncased.encode('state-of-the-art', 'state-of-the-art', { maxLength: 8 })), '[CLS] state - [SEP] state - of [SEP]');
    // (3,7), budget 5: 3 does not fit in half the budget, so both are cut; the longer second keeps 3 → (2,3).
    assert.equal(encodeTokens(uncased.encode("don't", 'state-of-the-art', { maxLength: 8 })), "[CLS] don ' [SEP] state - of [SEP]");
    // (7,3): the longer first keeps 3.
    assert.equal(encodeTokens(uncased.encode('state-of-the-art', "don't", { maxLength: 8 })), "[CLS] state - of [SEP] don ' [SEP]");
    // Which text is longer is decided on lengths counted as tokenizers 0.23 counts them: it stops at the
    // end of the first word that reaches maxLength. Twelve one-token words at maxLength 8 count as 8,
    // so (12,8) is a tie and the second keeps 3.
    const twelve = 'state-of-the-art-of-the!';
    const eight = 'hello, world! hello, world!';
    assert.deepEqual([uncased.tokenize(twelve).length, uncased.tokenize(eight).length], [12, 8]);
    assert.equal(encodeTokens(uncased.encode(twelve, eight, { maxLength: 8 })), '[CLS] state - [SEP] hello , world [SEP]');
    // (12,7) counts as (8,7): the first is longer and keeps 3.
    assert.equal(encodeTokens(uncased.encode(twelve, 'hello, world! hello, world', { maxLength: 8 })), '[CLS] state - of [SEP] hello , [SEP]');
    // A word of three tokens crossing maxLength counts whole: "hello, world! hello, unaffable" counts as 9
    // against the 8 of nine one-token words, so the first keeps 3.
    const nine = 'hello, world! hello, world! hello';
    assert.equal(encodeTokens(uncased.encode('hello, world! hello, unaffable', nine, { maxLength: 8 })), '[CLS] hello , world [SEP] hello , [SEP]');
    // An added token is counted but does not end the counting: [MASK] is the 8th token, the word after it the 9th.
    assert.equal(encodeTokens(uncased.encode('hello, world! hello, world [MASK] hello', nine, { maxLength: 8 })), '[CLS] hello , world [SEP] hello , [SEP]');
    assert.equal(encodeTokens(uncased.encode('hello, world! hello, world hello [MASK]', nine, { maxLength: 8 })), '[CLS] hello , [SEP] hello , world [SEP]');
  });

  test('both sides cut with an odd budget, slow: the first keeps the extra token (the Python loop)', () => {
    const slow = uncased.withBehaviour('slow');
    // (7,7), budget 5: the second loses ceil(9/2) = 5, the first 4 → (3,2).
    assert.equal(encodeTokens(slow.encode('state-of-the-art', 'state-of-the-art', { maxLength: 8 })), '[CLS] state - of [SEP] state - [SEP]');
    // (3,7), budget 5: B is cut to 3, then the tie costs B one more → (3,2).
    assert.equal(encodeTokens(slow.encode("don't", 'state-of-the-art', { maxLength: 8 })), "[CLS] don ' t [SEP] state - [SEP]");
    // The behaviours agree whenever only one side is cut or the budget is even.
    for (const [a, b, maxLength] of [['hello', 'state-of-the-art', 8], ['state-of-the-art', 'state-of-the-art', 9]] as const) {
      assert.deepEqual(slow.encode(a, b, { maxLength }), uncased.encode(a, b, { maxLength }));
    }
  });

  test('padding to maxLength', () => {
    const e = uncased.encode('hello', undefined, { maxLength: 5, padding: 'max_length' });
    assert.deepEqual(e.inputIds, [3, 14, 4, 0, 0]);
    assert.deepEqual(e.attentionMask, [1, 1, 1, 0, 0]);
    assert.deepEqual(e.tokenTypeIds, [0, 0, 0, 0, 0]);
    assert.deepEqual(e.specialTokensMask, [1, 0, 1, 1, 1]);
    assert.deepEqual(e.offsets, [[0, 0], [0, 5], [0, 0], [0, 0], [0, 0]]);
  });

  test('maxLength below the number of special tokens is an error', () => {
    assert.throws(() => uncased.encode('hello', undefined, { maxLength: 1 }), { name: 'TokenizerError', message: /at least 2/ });
    assert.throws(() => uncased.encode('hello', 'world', { maxLength: 2 }), { name: 'TokenizerError', message: /at least 3/ });
  });

  test('model_max_length from tokenizer_config.json is the default limit', () => {
    const t = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': JSON.stringify({ model_max_length: 4 }) }));
    assert.equal(t.modelMaxLength, 4);
    assert.deepEqual(t.encode(A).tokens, ['[CLS]', 'hello', ',', '[SEP]']);
    const unlimited = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': '{"model_max_length": 1000000000000000019884624838656}' }));
    assert.equal(unlimited.modelMaxLength, undefined);
    assert.equal(unlimited.encode('a'.repeat(100)).inputIds.length, 102);
  });
});

describe('BertTokenizer: vocabulary API', () => {
  test('ids, special token ids and vocabSize', () => {
    assert.equal(uncased.vocabSize, VOCAB.length);
    assert.deepEqual([uncased.padTokenId, uncased.unkTokenId, uncased.clsTokenId, uncased.sepTokenId, uncased.maskTokenId], [0, 2, 3, 4, 5]);
    assert.deepEqual(uncased.convertTokensToIds(['hello', '##aff', 'nope', '[MASK]']), [14, 23, 2, 5]);
    assert.deepEqual(uncased.convertIdsToTokens([14, 23, 999]), ['hello', '##aff', '[UNK]']);
    assert.deepEqual(ids('hello', '##aff'), [14, 23]);
    assert.equal(uncased.tokenToId('nope'), undefined);
  });

  test('fromVocab builds the same tokenizer in memory', () => {
    const t = BertTokenizer.fromVocab(VOCAB);
    for (const text of ['Hello, world!', 'Café naïve résumé', '我爱NLP', 'a😀b [MASK]']) assert.deepEqual(t.encode(text), uncased.encode(text));
  });
});
