/** WordPiece vocabulary training: the trainer against a plain re-implementation, and the vocabularies it makes in use. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BertTokenizer } from '../../../engine/tokenizer/bertTokenizer';
import { TokenizerError } from '../../../engine/tokenizer/errors';
import { DEFAULT_SPECIAL_TOKENS, trainWordPiece, WordCounter, type WordPieceTrainerOptions } from '../../../engine/tokenizer/wordpieceTrainer';
import { generatedCorpus } from './vocabCorpus';

const SPECIALS = DEFAULT_SPECIAL_TOKENS;
const CASED_NORMALIZER = { cleanText: true, handleChineseChars: true, stripAccents: false, lowercase: false };

function countWords(text: string, cased = false): Map<string, number> {
  const counter = new WordCounter({ doLowerCase: !cased });
  counter.add(text);
  return counter.counts;
}

/**
 * The same algorithm written the slow, obvious way: every round recounts every pair in every
 * word and rewrites every word. Ties go to the lower ids (first token, then second).
 */
function naiveTrain(counts: ReadonlyMap<string, number>, vocabSize: number, minFrequency = 2, limitAlphabet = 1000): string[] {
  const tokens = [...SPECIALS];
  const charCounts = new Map<string, number>();
  for (const [w, n] of counts) for (const ch of w) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
  const cp = (s: string): number => s.codePointAt(0)!;
  const kept = [...charCounts].sort((x, y) => y[1] - x[1] || cp(x[0]) - cp(y[0])).slice(0, limitAlphabet).map(([ch]) => ch);
  const words: { symbols: string[]; n: number }[] = [];
  for (const [w, n] of counts) {
    const chars = Array.from(w);
    if (chars.length <= 100 && chars.every((ch) => kept.includes(ch))) words.push({ symbols: chars.map((ch, i) => (i === 0 ? ch : '##' + ch)), n });
  }
  tokens.push(...[...kept].sort((a, b) => cp(a) - cp(b)));
  const continuing = new Set(words.flatMap((w) => w.symbols.slice(1)));
  tokens.push(...[...continuing].sort((a, b) => cp(a.slice(2)) - cp(b.slice(2))));
  while (tokens.length < vocabSize) {
    const pairs = new Map<string, { a: string; b: string; count: number }>();
    for (const { symbols, n } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = symbols[i] + '\u0000' + symbols[i + 1];
        const p = pairs.get(key) ?? { a: symbols[i], b: symbols[i + 1], count: 0 };
        p.count += n;
        pairs.set(key, p);
      }
    }
    let best: { a: string; b: string; count: number } | undefined;
    for (const p of pairs.values()) {
      const better =
        best === undefined ||
        p.count > best.count ||
        (p.count === best.count && (tokens.indexOf(p.a) < tokens.indexOf(best.a) || (p.a === best.a && tokens.indexOf(p.b) < tokens.indexOf(best.b))));
      if (better) best = p;
    }
    if (best === undefined || best.count < minFrequency) break;
    const merged = best.a + best.b.slice(2);
    if (!tokens.includes(merged)) tokens.push(merged);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (w.symbols[i] === best.a && w.symbols[i + 1] === best.b) {
          out.push(merged);
          i++;
        } else out.push(w.symbols[i]);
      }
      w.symbols = out;
    }
  }
  return tokens;
}

/** Undoes WordPiece: pieces back into words. */
function joinPieces(tokens: readonly string[]): string[] {
  const words: string[] = [];
  for (const t of tokens) {
    if (t.startsWith('##')) words[words.length - 1] += t.slice(2);
    else words.push(t);
  }
  return words;
}

describe('WordPiece vocabulary training', () => {
  const corpus = generatedCorpus(7, 3000);
  const counts = countWords(corpus.text);

  test('the same merges as the plain re-implementation, on a corpus with many ties', () => {
    const small = countWords(generatedCorpus(3, 300, 8, 60).text);
    for (const options of [{ vocabSize: 160 }, { vocabSize: 400, minFrequency: 1 }, { vocabSize: 120, limitAlphabet: 12 }] as WordPieceTrainerOptions[]) {
      const trained = trainWordPiece(small, options);
      assert.deepEqual(trained.tokens, naiveTrain(small, options.vocabSize, options.minFrequency, options.limitAlphabet), JSON.stringify(options));
    }
    // Repeated and overlapping pairs inside one word ("aaaa": a ##a ##a ##a), and a pair formed again after its merge.
    const tricky = new Map([['aaaa', 5], ['abab', 3], ['aab', 4], ['baa', 2], ['abba', 2]]);
    assert.deepEqual(trainWordPiece(tricky, { vocabSize: 40, minFrequency: 1 }).tokens, naiveTrain(tricky, 40, 1));
  });

  test('deterministic: the same counts in any order give the same vocabulary', () => {
    const a = trainWordPiece(counts, { vocabSize: 600 });
    const b = trainWordPiece(counts, { vocabSize: 600 });
    const reversed = new Map([...counts].reverse());
    assert.deepEqual(a.tokens, b.tokens);
    assert.deepEqual(trainWordPiece(reversed, { vocabSize: 600 }).tokens, a.tokens);
  });

  test('special tokens first, then the alphabet, every entry once, the requested size reached', () => {
    const v = trainWordPiece(counts, { vocabSize: 600 });
    assert.equal(v.tokens.length, 600);
    assert.equal(v.stoppedEarly, false);
    assert.deepEqual(v.tokens.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    assert.equal(new Set(v.tokens).size, v.tokens.length);
    const alphabet = v.tokens.slice(5, 5 + v.alphabet);
    assert.ok(alphabet.every((t) => Array.from(t).length === 1), alphabet.join(' '));
    assert.deepEqual(alphabet, [...alphabet].sort());
    const continuations = v.tokens.slice(5 + v.alphabet, 5 + v.alphabet + v.continuations);
    assert.ok(continuations.every((t) => t.startsWith('##') && Array.from(t).length === 3), continuations.join(' '));
    assert.equal(v.tokens.length, 5 + v.alphabet + v.continuations + v.merges);
  });

  test('"##" only at the start of a token, and only for pieces after the first of a word', () => {
    const v = trainWordPiece(counts, { vocabSize: 600 });
    for (const t of v.tokens) assert.ok(t.indexOf('##', 1) < 0, t);
    const tokenizer = BertTokenizer.fromVocab(v.tokens);
    for (const line of corpus.text.split('\n').slice(0, 200)) {
      for (const [word, pieces] of wordsWithPieces(tokenizer, line)) {
        assert.ok(!pieces[0].startsWith('##'), `${word}: ${pieces.join(' ')}`);
        assert.ok(pieces.slice(1).every((p) => p.startsWith('##')), `${word}: ${pieces.join(' ')}`);
      }
    }
  });

  test('every word of the training text tokenizes without [UNK], and frequent words are whole tokens', () => {
    const v = trainWordPiece(counts, { vocabSize: 600 });
    const tokenizer = BertTokenizer.fromVocab(v.tokens);
    const tokens = tokenizer.tokenize(corpus.text);
    assert.ok(!tokens.includes('[UNK]'));
    assert.deepEqual(joinPieces(tokens), tokenizer.basicTokenizer.tokenize(corpus.text));
    for (const word of corpus.lexicon.slice(0, 30)) assert.deepEqual(tokenizer.tokenize(word), [word]);
    // Capitals are folded away: the lexicon's words are lower-case, and so is the vocabulary.
    assert.ok(v.tokens.slice(5).every((t) => t === t.toLowerCase()));
  });

  test('uncased folds case and accents; cased keeps them', () => {
    const text = 'Café CAFÉ café Über über The the THE naïve Naïve\n'.repeat(20);
    const uncased = trainWordPiece(countWords(text), { vocabSize: 200 });
    const cased = trainWordPiece(countWords(text, true), { vocabSize: 200 });
    assert.ok(uncased.tokens.includes('cafe') && uncased.tokens.includes('uber') && uncased.tokens.includes('naive'));
    assert.ok(!uncased.tokens.some((t) => /[A-ZÀ-ÿ]/u.test(t) && !SPECIALS.includes(t)), uncased.tokens.join(' '));
    for (const t of ['Café', 'CAFÉ', 'café', 'Über', 'The', 'THE', 'Naïve']) assert.ok(cased.tokens.includes(t), t);
    const tokenizer = BertTokenizer.fromVocab(cased.tokens, { normalizer: CASED_NORMALIZER });
    assert.deepEqual(tokenizer.tokenize('Café THE über'), ['Café', 'THE', 'über']);
    assert.deepEqual(BertTokenizer.fromVocab(uncased.tokens).tokenize('Café THE über'), ['cafe', 'the', 'uber']);
  });

  test('the alphabet keeps the most frequent characters; words with a left-out one become [UNK]', () => {
    const text = 'aab abab bba ab ba ab\n'.repeat(10) + 'zab\n';
    const v = trainWordPiece(countWords(text), { vocabSize: 30, limitAlphabet: 2, minFrequency: 1 });
    assert.deepEqual(v.tokens.slice(5, 9), ['a', 'b', '##a', '##b']);
    assert.equal(v.droppedCharacters, 1);
    assert.ok(!v.tokens.some((t) => t.includes('z')));
    assert.deepEqual(BertTokenizer.fromVocab(v.tokens).tokenize('zab ab'), ['[UNK]', 'ab']);
  });

  test('no merge below the minimum frequency: the vocabulary stops short', () => {
    const text = 'abc abc abc xyz\n';
    const v = trainWordPiece(countWords(text), { vocabSize: 100, minFrequency: 3 });
    assert.equal(v.stoppedEarly, true);
    assert.deepEqual(v.tokens.slice(5 + v.alphabet + v.continuations), ['ab', 'abc']);
  });

  test('a size that cannot hold the special tokens and the alphabet is refused, naming the smallest one that can', () => {
    assert.throws(() => trainWordPiece(countWords('abc abd\n'), { vocabSize: 9 }), (e: unknown) => e instanceof TokenizerError && /ask for at least 12 tokens/.test(e.message));
    assert.equal(trainWordPiece(countWords('abc abd\n'), { vocabSize: 13 }).tokens.length, 13);
  });

  test('astral characters and CJK stay whole', () => {
    const text = '😀😀 a😀b 我爱你 我爱 😀😀\n'.repeat(3);
    const v = trainWordPiece(countWords(text), { vocabSize: 40 });
    assert.ok(v.tokens.includes('😀') && v.tokens.includes('##😀') && v.tokens.includes('😀😀'));
    for (const t of v.tokens) assert.ok(!/[\ud800-\udbff]$|^(##)?[\udc00-\udfff]/u.test(t), JSON.stringify(t));
    // Each ideograph is a word of its own, so none is merged with another.
    assert.ok(!v.tokens.some((t) => /^[我爱你]{2}/u.test(t)));
  });
});

/** Each basic word of `text` with its WordPiece pieces. */
function wordsWithPieces(tokenizer: BertTokenizer, text: string): [string, string[]][] {
  return tokenizer.basicTokenizer.tokenize(text).map((w) => [w, tokenizer.tokenize(w)]);
}
