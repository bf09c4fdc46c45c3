/**
 * WordPiece: greedy longest-match-first segmentation of one word into vocabulary pieces,
 * continuation pieces carrying a prefix ("##"), as Hugging Face's `WordpieceTokenizer`
 * (transformers) and `models.WordPiece` (tokenizers) do it. A word longer than
 * `maxInputCharsPerWord` code points, or with any stretch no piece matches, becomes the
 * unknown token as a whole.
 */
import { TokenizerError } from './errors';

export interface WordPieceOptions {
  /** Default "[UNK]"; must be in the vocabulary. */
  readonly unkToken?: string;
  /** Default "##". */
  readonly continuingSubwordPrefix?: string;
  /** Default 100 (code points); longer words become the unknown token. */
  readonly maxInputCharsPerWord?: number;
  /** At most this many words' segmentations are remembered (least recently used forgotten first); 0 turns the cache off. Default 50,000. */
  readonly cacheSize?: number;
}

/** The segmentation of one word. */
export interface WordPieces {
  /** Vocabulary ids of the pieces, in order. */
  readonly ids: readonly number[];
  /** Where each piece ends in the word, in UTF-16 units; piece i starts where piece i − 1 ends (the first at 0). */
  readonly ends: readonly number[];
  /** True when the whole word became the unknown token. */
  readonly unknown: boolean;
}

export class WordPiece {
  readonly unkToken: string;
  readonly unkId: number;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly initial: ReadonlyMap<string, number>;
  /** Continuation pieces keyed without their prefix, so a lookup needs no string concatenation. */
  private readonly continuation: ReadonlyMap<string, number>;
  /** No piece is longer than these (UTF-16 units), so longer candidates are never tried. */
  private readonly maxInitialLength: number;
  private readonly maxContinuationLength: number;
  /**
   * Two generations of remembered words: hits in the older one move to the newer; when the newer
   * holds half the budget it becomes the older and the old one is dropped. Deleting single oldest
   * entries from one Map instead degrades badly in V8 (iteration skips the deleted slots).
   */
  private recent = new Map<string, WordPieces>();
  private older = new Map<string, WordPieces>();
  private readonly generationSize: number;

  constructor(vocab: ReadonlyMap<string, number>, options: WordPieceOptions = {}) {
    this.unkToken = options.unkToken ?? '[UNK]';
    this.continuingSubwordPrefix = options.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    this.generationSize = Math.ceil(Math.max(0, Math.floor(options.cacheSize ?? 50_000)) / 2);
    const unkId = vocab.get(this.unkToken);
    if (unkId === undefined) throw new TokenizerError(`the unknown token ${JSON.stringify(this.unkToken)} is not in the vocabulary`);
    this.unkId = unkId;
    this.initial = vocab;
    const prefix = this.continuingSubwordPrefix;
    const continuation = new Map<string, number>();
    let maxInitial = 0;
    let maxContinuation = 0;
    for (const [token, id] of vocab) {
      maxInitial = Math.max(maxInitial, token.length);
      if (token.startsWith(prefix)) {
        const rest = token.slice(prefix.length);
        continuation.set(rest, id);
        maxContinuation = Math.max(maxContinuation, rest.length);
      }
    }
    this.continuation = continuation;
    this.maxInitialLength = maxInitial;
    this.maxContinuationLength = maxContinuation;
  }

  /** The pieces of one word (no whitespace inside; that is the basic tokenizer's job). */
  pieces(word: string): WordPieces {
    if (this.generationSize === 0) return this.segment(word);
    let result = this.recent.get(word);
    if (result !== undefined) return result;
    result = this.older.get(word) ?? this.segment(word);
    if (this.recent.size >= this.generationSize) {
      this.older = this.recent;
      this.recent = new Map();
    }
    this.recent.set(word, result);
    return result;
  }

  /** Hugging Face's `WordpieceTokenizer.tokenize`: whitespace-separated words to piece strings. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const word of text.split(/\s+/u)) {
      if (word.length === 0) continue;
      const { ids, ends, unknown } = this.pieces(word);
      if (unknown) {
        out.push(this.unkToken);
        continue;
      }
      let start = 0;
      for (let i = 0; i < ids.length; i++) {
        const piece = word.slice(start, ends[i]);
        out.push(start === 0 ? piece : this.continuingSubwordPrefix + piece);
        start = ends[i];
      }
    }
    return out;
  }

  private segment(word: string): WordPieces {
    const n = word.length;
    if (n > this.maxInputCharsPerWord && countCodePoints(word) > this.maxInputCharsPerWord) return this.unknown(n);
    const ids: number[] = [];
    const ends: number[] = [];
    let start = 0;
    while (start < n) {
      const vocab = start === 0 ? this.initial : this.continuation;
      let end = Math.min(n, start + (start === 0 ? this.maxInitialLength : this.maxContinuationLength));
      if (end < n && splitsPair(word, end)) end--;
      let id: number | undefined;
      while (end > start) {
        id = vocab.get(word.slice(start, end));
        if (id !== undefined) break;
        end--;
        if (end > start && splitsPair(word, end)) end--;
      }
      if (id === undefined) return this.unknown(n);
      ids.push(id);
      ends.push(end);
      start = end;
    }
    return { ids, ends, unknown: false };
  }

  private unknown(length: number): WordPieces {
    return { ids: [this.unkId], ends: [length], unknown: true };
  }
}

/** True when index i falls between the two halves of a surrogate pair. */
function splitsPair(s: string, i: number): boolean {
  const lo = s.charCodeAt(i);
  if (lo < 0xdc00 || lo > 0xdfff) return false;
  const hi = s.charCodeAt(i - 1);
  return hi >= 0xd800 && hi <= 0xdbff;
}

function countCodePoints(s: string): number {
  let count = 0;
  for (let i = 0; i < s.length; i++) {
    if (!splitsPair(s, i)) count++;
  }
  return count;
}
