/**
 * Training a WordPiece vocabulary as Hugging Face's `WordPieceTrainer` does: a BPE trainer
 * whose non-initial symbols carry the continuing-subword prefix ("##").
 *
 * 1. Text is cut into words by the BasicTokenizer the vocabulary will be used with
 *    (lower-casing and accent stripping when uncased, punctuation and CJK split, control
 *    characters removed), and the words are counted.
 * 2. The alphabet: the `limitAlphabet` most frequent characters (ties: the lower code point),
 *    in code point order, then `##c` for each of them that occurs after the first character
 *    of a word. Rarer characters are left out; a word holding one is [UNK] at use.
 * 3. Every word starts as its characters (`w ##o ##r ##d`). The most frequent adjacent pair,
 *    counted over the words with their frequencies, is merged into one symbol (`w` + `##o` →
 *    `wo`, `##o` + `##r` → `##or`), over and over until the vocabulary has `vocabSize`
 *    tokens or no pair occurs `minFrequency` times. Ties go to the pair of lower ids (first
 *    symbol, then second), as in Hugging Face's trainer.
 *
 * Output: the special tokens, the alphabet, then merged tokens in merge order. The result
 * depends only on the word counts, never on their order, so the same text gives the same
 * vocabulary byte for byte.
 *
 * Cost: pair counts are kept up to date incrementally; an index from each pair to the words
 * holding it means a merge visits only those words; the most frequent pair comes from a
 * max-heap whose stale entries are re-pushed with their current count when popped. A merge
 * costs the words it changes, not the corpus.
 *
 * Words the tokenizer would turn into [UNK] whatever the vocabulary (a character outside the
 * alphabet, longer than `maxInputCharsPerWord` code points) take no part in the merges.
 */
import { BasicTokenizer } from './basic';
import { TokenizerError } from './errors';

export const DEFAULT_SPECIAL_TOKENS: readonly string[] = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

export interface WordPieceTrainerOptions {
  /** Tokens in the finished vocabulary, special tokens and alphabet included. */
  readonly vocabSize: number;
  /** A pair is merged only if it occurs at least this often (default 2). */
  readonly minFrequency?: number;
  /** At most this many characters in the alphabet, the most frequent (default 1000). */
  readonly limitAlphabet?: number;
  /** First in the vocabulary, in this order (default [PAD], [UNK], [CLS], [SEP], [MASK]). */
  readonly specialTokens?: readonly string[];
  /** Default "##". */
  readonly continuingSubwordPrefix?: string;
  /** Longer words are [UNK] at use and are not learnt from (default 100 code points, as the tokenizer). */
  readonly maxInputCharsPerWord?: number;
  /** Called after each merge with the vocabulary size so far. */
  readonly onMerge?: (vocabSize: number) => void;
}

export interface TrainedVocabulary {
  /** Id = index: special tokens, alphabet, merged tokens. */
  readonly tokens: string[];
  readonly specialTokens: number;
  /** Alphabet characters (as word-initial tokens) and their `##` continuation forms. */
  readonly alphabet: number;
  readonly continuations: number;
  /** Merges made; fewer tokens than merges are added when a merge forms a token already there. */
  readonly merges: number;
  /** Characters seen in the words and left out of the alphabet. */
  readonly droppedCharacters: number;
  /** Distinct words (and their occurrences) that took part in the merges. */
  readonly trainingWords: number;
  /** True when no pair left occurred `minFrequency` times before the vocabulary reached its size. */
  readonly stoppedEarly: boolean;
}

/**
 * Counts the words of text as a given BasicTokenizer splits it. Options as the tokenizer
 * that will use the vocabulary: uncased (`doLowerCase`, accents stripped) or cased.
 */
export class WordCounter {
  readonly basicTokenizer: BasicTokenizer;
  /** Word → occurrences, in order of first occurrence. */
  readonly counts = new Map<string, number>();
  /** Occurrences of all words. */
  words = 0;
  private readonly visit = (word: string): void => {
    this.counts.set(word, (this.counts.get(word) ?? 0) + 1);
    this.words++;
  };

  constructor(options: { readonly doLowerCase: boolean; readonly stripAccents?: boolean }) {
    this.basicTokenizer = new BasicTokenizer({
      doLowerCase: options.doLowerCase,
      stripAccents: options.stripAccents ?? options.doLowerCase,
      tokenizeChineseChars: true,
      cleanText: true,
      normalizeNfc: true,
    });
  }

  /** Counts the words of `text.slice(from, to)`. */
  add(text: string, from = 0, to = text.length): void {
    this.basicTokenizer.forEachWord(text, from, to, this.visit);
  }
}

/** Pairs of ids packed into one number: first * 2^22 + second (ids stay below 2^22, about 4M). */
const PAIR_SHIFT = 4_194_304;
/** The largest vocabulary the trainer makes. */
export const MAX_VOCAB_SIZE = PAIR_SHIFT - 1;

/** A max-heap of (count, pair): higher count first, then the lower pair. */
class PairHeap {
  private counts: number[] = [];
  private pairs: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, pair: number): void {
    const c = this.counts;
    const p = this.pairs;
    let i = c.length;
    c.push(count);
    p.push(pair);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!above(count, pair, c[parent], p[parent])) break;
      c[i] = c[parent];
      p[i] = p[parent];
      i = parent;
    }
    c[i] = count;
    p[i] = pair;
  }

  /** Removes the top; its count and pair are left in `topCount` / `topPair`. */
  pop(): boolean {
    const c = this.counts;
    const p = this.pairs;
    if (c.length === 0) return false;
    this.topCount = c[0];
    this.topPair = p[0];
    const lastCount = c.pop() as number;
    const lastPair = p.pop() as number;
    const n = c.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && above(c[child + 1], p[child + 1], c[child], p[child])) child++;
        if (!above(c[child], p[child], lastCount, lastPair)) break;
        c[i] = c[child];
        p[i] = p[child];
        i = child;
      }
      c[i] = lastCount;
      p[i] = lastPair;
    }
    return true;
  }

  topCount = 0;
  topPair = 0;
}

function above(countA: number, pairA: number, countB: number, pairB: number): boolean {
  return countA > countB || (countA === countB && pairA < pairB);
}

/** The code points of a word as strings (astral characters whole). */
function characters(word: string): string[] {
  return Array.from(word);
}

/**
 * Trains a WordPiece vocabulary from word counts (see the module comment). Throws a
 * TokenizerError when the vocabulary size cannot hold the special tokens and the alphabet.
 */
export function trainWordPiece(counts: ReadonlyMap<string, number>, options: WordPieceTrainerOptions): TrainedVocabulary {
  const vocabSize = options.vocabSize;
  const minFrequency = options.minFrequency ?? 2;
  const limitAlphabet = options.limitAlphabet ?? 1000;
  const specials = options.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
  const prefix = options.continuingSubwordPrefix ?? '##';
  const maxChars = options.maxInputCharsPerWord ?? 100;
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new TokenizerError(`the vocabulary size must be a positive integer, got ${vocabSize}`);
  if (vocabSize > MAX_VOCAB_SIZE) throw new TokenizerError(`the vocabulary size must be at most ${MAX_VOCAB_SIZE}, got ${vocabSize}`);
  if (!Number.isInteger(limitAlphabet) || limitAlphabet < 1) throw new TokenizerError(`the alphabet limit must be a positive integer, got ${limitAlphabet}`);
  if (!(minFrequency >= 1)) throw new TokenizerError(`the minimum frequency must be at least 1, got ${minFrequency}`);

  const tokens: string[] = [];
  const ids = new Map<string, number>();
  const addToken = (t: string): number => {
    let id = ids.get(t);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(t);
      ids.set(t, id);
    }
    return id;
  };
  for (const t of specials) addToken(t);
  const specialCount = tokens.length;

  // The alphabet: the most frequent characters, kept in code point order.
  const charCounts = new Map<string, number>();
  for (const [word, n] of counts) {
    for (const ch of word) charCounts.set(ch, (charCounts.get(ch) ?? 0) + n);
  }
  const byFrequency = [...charCounts].sort((x, y) => y[1] - x[1] || codePoint(x[0]) - codePoint(y[0]));
  const kept = new Set(byFrequency.slice(0, limitAlphabet).map(([ch]) => ch));
  const droppedCharacters = charCounts.size - kept.size;

  // The words that can learn: every character kept, not too long for the tokenizer.
  const learning: string[][] = [];
  const learningCounts: number[] = [];
  const continuing = new Set<string>();
  for (const [word, n] of counts) {
    const chars = characters(word);
    if (chars.length > maxChars || !chars.every((ch) => kept.has(ch))) continue;
    for (let i = 1; i < chars.length; i++) continuing.add(chars[i]);
    learning.push(chars);
    learningCounts.push(n);
  }
  const byCodePoint = (a: string, b: string): number => codePoint(a) - codePoint(b);
  const alphabetStart = tokens.length;
  for (const ch of [...kept].sort(byCodePoint)) addToken(ch);
  const alphabet = tokens.length - alphabetStart;
  const continuationStart = tokens.length;
  for (const ch of [...continuing].sort(byCodePoint)) addToken(prefix + ch);
  const continuations = tokens.length - continuationStart;
  if (tokens.length > vocabSize) {
    throw new TokenizerError(
      `a vocabulary of ${vocabSize} tokens cannot hold the ${specialCount} special tokens and the alphabet ` +
        `(${alphabet} characters and ${continuations} "${prefix}" continuations): ask for at least ${tokens.length} tokens, or a smaller alphabet`,
    );
  }

  // Words as symbol ids, packed one after another; each keeps its start, shrinking in place.
  let total = 0;
  for (const chars of learning) total += chars.length;
  const symbols = new Int32Array(total);
  const starts = new Int32Array(learning.length);
  const lengths = new Int32Array(learning.length);
  const wordCounts = Float64Array.from(learningCounts);
  {
    let at = 0;
    learning.forEach((chars, w) => {
      starts[w] = at;
      lengths[w] = chars.length;
      chars.forEach((ch, i) => (symbols[at + i] = ids.get(i === 0 ? ch : prefix + ch) as number));
      at += chars.length;
    });
  }
  learning.length = 0;

  // Pair counts and, for each pair, the words it was seen in (possibly repeated or stale:
  // a visit that finds no occurrence changes nothing).
  const pairCounts = new Map<number, number>();
  const where = new Map<number, number[]>();
  for (let w = 0; w < starts.length; w++) {
    const s = starts[w];
    const e = s + lengths[w];
    const n = wordCounts[w];
    for (let i = s; i + 1 < e; i++) {
      const pair = symbols[i] * PAIR_SHIFT + symbols[i + 1];
      pairCounts.set(pair, (pairCounts.get(pair) ?? 0) + n);
      const list = where.get(pair);
      if (list === undefined) where.set(pair, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  }
  const heap = new PairHeap();
  for (const [pair, count] of pairCounts) if (count >= minFrequency) heap.push(count, pair);

  const touched = new Set<number>();
  let currentWord = 0;
  const change = (pair: number, delta: number): void => {
    const count = (pairCounts.get(pair) ?? 0) + delta;
    if (count <= 0) {
      pairCounts.delete(pair);
      where.delete(pair);
      return;
    }
    pairCounts.set(pair, count);
    if (delta > 0) {
      const list = where.get(pair);
      if (list === undefined) where.set(pair, [currentWord]);
      else if (list[list.length - 1] !== currentWord) list.push(currentWord);
      touched.add(pair);
    }
  };

  const visited = new Int32Array(starts.length).fill(-1);
  let merges = 0;
  let stoppedEarly = false;
  while (tokens.length < vocabSize) {
    // The most frequent pair: stale entries go back with their current count.
    let best = -1;
    let bestCount = 0;
    while (heap.pop()) {
      const current = pairCounts.get(heap.topPair) ?? 0;
      if (current === heap.topCount) {
        best = heap.topPair;
        bestCount = current;
        break;
      }
      if (current >= minFrequency && current < heap.topCount) heap.push(current, heap.topPair);
    }
    if (best < 0 || bestCount < minFrequency) {
      stoppedEarly = true;
      break;
    }
    const a = Math.floor(best / PAIR_SHIFT);
    const b = best - a * PAIR_SHIFT;
    const second = tokens[b];
    const merged = addToken(tokens[a] + (second.startsWith(prefix) ? second.slice(prefix.length) : second));
    merges++;

    const list = where.get(best) ?? [];
    where.delete(best);
    for (const w of list) {
      if (visited[w] === merges) continue;
      visited[w] = merges;
      currentWord = w;
      const n = wordCounts[w];
      const s = starts[w];
      const e = s + lengths[w];
      let out = s;
      let i = s;
      while (i < e) {
        if (symbols[i] === a && i + 1 < e && symbols[i + 1] === b) {
          if (out > s) {
            const before = symbols[out - 1];
            change(before * PAIR_SHIFT + a, -n);
            change(before * PAIR_SHIFT + merged, n);
          }
          change(best, -n);
          if (i + 2 < e) {
            const after = symbols[i + 2];
            change(b * PAIR_SHIFT + after, -n);
            change(merged * PAIR_SHIFT + after, n);
          }
          symbols[out++] = merged;
          i += 2;
        } else {
          symbols[out++] = symbols[i++];
        }
      }
      lengths[w] = out - s;
    }
    for (const pair of touched) {
      const count = pairCounts.get(pair) ?? 0;
      if (count >= minFrequency) heap.push(count, pair);
    }
    touched.clear();
    options.onMerge?.(tokens.length);
  }

  return { tokens, specialTokens: specialCount, alphabet, continuations, merges, droppedCharacters, trainingWords: starts.length, stoppedEarly };
}

function codePoint(ch: string): number {
  return ch.codePointAt(0) as number;
}
