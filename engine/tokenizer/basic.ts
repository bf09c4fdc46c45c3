/**
 * BERT's BasicTokenizer: text cleaning, CJK isolation, lower-casing, accent stripping and
 * punctuation splitting, as Hugging Face's `BasicTokenizer` (transformers) and the
 * `BertNormalizer` + `BertPreTokenizer` pair (tokenizers) do it, with every word carrying
 * its span in the original string.
 *
 * Offsets follow `tokenizers`' alignment rules so that they mean the same as
 * `BertTokenizerFast`'s `offset_mapping`:
 * - a character that normalisation expands (lower-casing "İ" → "i̇", NFD "한" → three jamo)
 *   maps every resulting unit back to the whole original character;
 * - a character that is removed (a control or zero-width character, U+FFFD, a stripped
 *   combining accent) maps to nothing: each kept character spans only itself, so "e\u0301"
 *   → "e" spans [0, 1], and a token ends where its last kept character ends. A word still
 *   covers a removed character between two of its kept characters ("a\u200bb" spans [0, 3]).
 * Offsets and lengths are UTF-16 units of the original string (JavaScript's string unit);
 * iteration is by code point, so astral characters are never split.
 */
import { CJK, MARK, PUNCTUATION, REMOVE, SPACE, WHITESPACE, charClass, codePointAt, stripAccents } from './unicode';

export interface BasicTokenizerOptions {
  /**
   * Lower-case the text (`do_lower_case`, default true), one code point at a time as
   * `BertTokenizer.tokenize` and `BertTokenizerFast` do. (Hugging Face's BasicTokenizer used on its
   * own lower-cases whole words, so it alone would turn a word-final Σ into ς rather than σ.)
   */
  readonly doLowerCase?: boolean;
  /** Strip accents (NFD, then drop Mn). Unset or null: strip exactly when lower-casing, as Hugging Face does. */
  readonly stripAccents?: boolean | null;
  /** Put spaces around CJK ideographs (`tokenize_chinese_chars`, default true). */
  readonly tokenizeChineseChars?: boolean;
  /** Remove control characters, U+0000 and U+FFFD; map whitespace to spaces (`clean_text`, default true). */
  readonly cleanText?: boolean;
  /** Split punctuation into single-character words (`do_split_on_punc`, default true). */
  readonly splitOnPunctuation?: boolean;
  /**
   * Apply NFC before splitting (default true), as the Python `BasicTokenizer` has done since
   * transformers 4.32; `BertTokenizerFast` does not (`BertTokenizer` turns it off for its fast
   * behaviour). Only matters for text that is not already NFC when accents are kept (when they
   * are stripped, NFD makes both forms equal).
   */
  readonly normalizeNfc?: boolean;
  /** Words kept whole: not lower-cased, accent-stripped or split on punctuation (`never_split`). */
  readonly neverSplit?: Iterable<string>;
  /**
   * Compare words with `neverSplit` after lower-casing them. `BertTokenizer.tokenize` lower-cases
   * the text (special tokens excepted) before its BasicTokenizer runs, so a never-split entry with
   * capitals never matches there; a BasicTokenizer on its own compares the text as written.
   */
  readonly neverSplitAfterLowerCase?: boolean;
}

/** One word of the basic tokenizer's output with its place in the original text. */
export interface BasicWord {
  /** The normalised word: one punctuation character, one CJK ideograph or a run of other characters. */
  readonly text: string;
  /** Span in the original string, UTF-16 units, end exclusive. */
  readonly start: number;
  readonly end: number;
  /**
   * For each UTF-16 unit of `text`, the original span it came from; null when `text` maps one
   * unit to one unit onto `original.slice(start, end)` (and for never-split words).
   */
  readonly unitStarts: readonly number[] | null;
  readonly unitEnds: readonly number[] | null;
  /** True when the word matched `neverSplit` and was kept as written. */
  readonly neverSplit: boolean;
}

/** Receives each word without allocating a BasicWord (the encoder's hot path). */
export type WordVisitor = (
  text: string,
  start: number,
  end: number,
  unitStarts: readonly number[] | null,
  unitEnds: readonly number[] | null,
  neverSplit: boolean,
) => void;

interface Transformed {
  text: string;
  starts: number[] | null;
  ends: number[] | null;
}

export class BasicTokenizer {
  readonly doLowerCase: boolean;
  /** Resolved: the option, or doLowerCase when the option was unset. */
  readonly stripAccents: boolean;
  readonly tokenizeChineseChars: boolean;
  readonly cleanText: boolean;
  readonly splitOnPunctuation: boolean;
  readonly normalizeNfc: boolean;
  readonly neverSplit: ReadonlySet<string>;
  private readonly neverSplitAfterLowerCase: boolean;
  /** Non-ASCII code point → its lower-cased and/or accent-stripped form (bounded by the code points seen). */
  private readonly charMap = new Map<number, string>();

  constructor(options: BasicTokenizerOptions = {}) {
    this.doLowerCase = options.doLowerCase ?? true;
    this.stripAccents = options.stripAccents ?? this.doLowerCase;
    this.tokenizeChineseChars = options.tokenizeChineseChars ?? true;
    this.cleanText = options.cleanText ?? true;
    this.splitOnPunctuation = options.splitOnPunctuation ?? true;
    this.normalizeNfc = options.normalizeNfc ?? true;
    this.neverSplit = new Set(options.neverSplit ?? []);
    this.neverSplitAfterLowerCase = options.neverSplitAfterLowerCase ?? false;
  }

  /** Hugging Face's `BasicTokenizer.tokenize`: the normalised words. */
  tokenize(text: string, neverSplit?: Iterable<string>): string[] {
    const out: string[] = [];
    this.forEachWord(text, 0, text.length, (word) => out.push(word), this.withExtra(neverSplit));
    return out;
  }

  /** The words of `text.slice(from, to)` with spans into `text`. */
  split(text: string, from = 0, to = text.length, neverSplit?: Iterable<string>): BasicWord[] {
    const out: BasicWord[] = [];
    this.forEachWord(
      text,
      from,
      to,
      (word, start, end, unitStarts, unitEnds, kept) => out.push({ text: word, start, end, unitStarts, unitEnds, neverSplit: kept }),
      this.withExtra(neverSplit),
    );
    return out;
  }

  /** Visits each word of `text.slice(from, to)`; spans are indices into `text`. */
  forEachWord(text: string, from: number, to: number, visit: WordVisitor, neverSplit: ReadonlySet<string> = this.neverSplit): void {
    // Without cleaning nothing is removed and the separators are the White_Space characters
    // (BertPreTokenizer's `char::is_whitespace`).
    const removeMask = this.cleanText ? REMOVE : 0;
    const separatorMask = this.cleanText ? WHITESPACE : SPACE;
    const cjkMask = this.tokenizeChineseChars ? CJK : 0;
    let wordStart = -1;
    let wordEnd = -1;
    // Set once a removed character sits inside the word, which is then no longer one slice of text.
    // The removed character maps to nothing: no unit's span grows over it.
    let buffer = '';
    let starts: number[] | null = null;
    let ends: number[] | null = null;
    let ideograph = false;

    const flush = (): void => {
      if (wordStart < 0) return;
      if (starts === null || ends === null) this.word(text.slice(wordStart, wordEnd), wordStart, null, null, visit, neverSplit);
      else this.word(buffer, wordStart, starts, ends, visit, neverSplit);
      wordStart = -1;
      starts = ends = null;
      buffer = '';
      ideograph = false;
    };

    let i = from;
    while (i < to) {
      const cp = codePointAt(text, i, to);
      const n = cp > 0xffff ? 2 : 1;
      const cls = charClass(cp);
      if (cls & removeMask) {
        if (wordStart >= 0 && (starts === null || ends === null)) {
          buffer = text.slice(wordStart, i);
          starts = [];
          ends = [];
          for (let k = wordStart; k < i; k++) {
            starts.push(k);
            ends.push(k + 1);
          }
        }
      } else if (cls & separatorMask) {
        flush();
      } else {
        // An ideograph is a word of its own: it ends the word before it and the next character ends it.
        if (ideograph || cls & cjkMask) flush();
        if (wordStart < 0) wordStart = i;
        if (starts !== null && ends !== null) {
          buffer += text.slice(i, i + n);
          for (let k = i; k < i + n; k++) {
            starts.push(k);
            ends.push(k + 1);
          }
        }
        wordEnd = i + n;
        if (cls & cjkMask) ideograph = true;
      }
      i += n;
    }
    flush();
  }

  private withExtra(neverSplit: Iterable<string> | undefined): ReadonlySet<string> {
    if (neverSplit === undefined) return this.neverSplit;
    const extra = new Set(neverSplit);
    if (extra.size === 0) return this.neverSplit;
    for (const w of this.neverSplit) extra.add(w);
    return extra;
  }

  /** One whitespace-delimited word: never-split check, lower-case/strip/NFC, punctuation split. */
  private word(
    raw: string,
    base: number,
    rawStarts: number[] | null,
    rawEnds: number[] | null,
    visit: WordVisitor,
    neverSplit: ReadonlySet<string>,
  ): void {
    const rawStart = rawStarts ? rawStarts[0] : base;
    const rawEnd = rawEnds ? rawEnds[rawEnds.length - 1] : base + raw.length;
    if (neverSplit.size > 0) {
      let key = this.neverSplitAfterLowerCase && this.doLowerCase ? this.lowerEachCodePoint(raw) : raw;
      if (this.normalizeNfc) key = key.normalize('NFC');
      if (neverSplit.has(key)) {
        visit(key, rawStart, rawEnd, null, null, true);
        return;
      }
    }

    let ascii = true;
    for (let k = 0; k < raw.length; k++) {
      if (raw.charCodeAt(k) > 127) {
        ascii = false;
        break;
      }
    }
    let t: Transformed;
    if (ascii) {
      // ASCII lower-cases one to one and has nothing to strip or compose.
      t = { text: this.doLowerCase ? raw.toLowerCase() : raw, starts: rawStarts, ends: rawEnds };
    } else {
      t = this.transform(raw, base, rawStarts, rawEnds);
      if (!this.stripAccents && this.normalizeNfc) t = nfc(t, base);
    }
    if (t.text.length === 0) return;
    this.splitPunctuation(t, base, visit);
  }

  private splitPunctuation(t: Transformed, base: number, visit: WordVisitor): void {
    const { text, starts, ends } = t;
    const emit = (a: number, b: number): void => {
      const piece = a === 0 && b === text.length ? text : text.slice(a, b);
      if (starts === null || ends === null) visit(piece, base + a, base + b, null, null, false);
      else visit(piece, starts[a], ends[b - 1], starts.slice(a, b), ends.slice(a, b), false);
    };
    if (!this.splitOnPunctuation) {
      emit(0, text.length);
      return;
    }
    let pieceStart = -1;
    let k = 0;
    while (k < text.length) {
      const cp = codePointAt(text, k, text.length);
      const n = cp > 0xffff ? 2 : 1;
      if (charClass(cp) & PUNCTUATION) {
        if (pieceStart >= 0) emit(pieceStart, k);
        pieceStart = -1;
        emit(k, k + n);
      } else if (pieceStart < 0) {
        pieceStart = k;
      }
      k += n;
    }
    if (pieceStart >= 0) emit(pieceStart, text.length);
  }

  /** Lower-cases and/or strips accents code point by code point, keeping each unit's origin. */
  private transform(raw: string, base: number, rawStarts: number[] | null, rawEnds: number[] | null): Transformed {
    if (!this.doLowerCase && !this.stripAccents) return { text: raw, starts: rawStarts, ends: rawEnds };
    // First pass: most non-ASCII words (CJK, already lower-case, unaccented) come out unchanged.
    let changed = false;
    for (let k = 0; k < raw.length; ) {
      const cp = codePointAt(raw, k, raw.length);
      const n = cp > 0xffff ? 2 : 1;
      const mapped = this.mapChar(cp);
      if (mapped.length !== n || (cp <= 0xffff ? mapped.charCodeAt(0) !== cp : mapped !== raw.slice(k, k + 2))) {
        changed = true;
        break;
      }
      k += n;
    }
    if (!changed) return { text: raw, starts: rawStarts, ends: rawEnds };

    let text = '';
    const starts: number[] = [];
    const ends: number[] = [];
    for (let k = 0; k < raw.length; ) {
      const cp = codePointAt(raw, k, raw.length);
      const n = cp > 0xffff ? 2 : 1;
      const s = rawStarts ? rawStarts[k] : base + k;
      const e = rawEnds ? rawEnds[k + n - 1] : base + k + n;
      const mapped = this.mapChar(cp);
      // A stripped mark maps to nothing (tokenizers' `filter` alignment): the letter before it keeps its own span.
      text += mapped;
      for (let u = 0; u < mapped.length; u++) {
        starts.push(s);
        ends.push(e);
      }
      k += n;
    }
    return { text, starts, ends };
  }

  private mapChar(cp: number): string {
    let mapped = this.charMap.get(cp);
    if (mapped === undefined) {
      mapped = String.fromCodePoint(cp);
      if (this.doLowerCase) mapped = mapped.toLowerCase();
      if (this.stripAccents) mapped = stripAccents(mapped);
      this.charMap.set(cp, mapped);
    }
    return mapped;
  }

  /** Python's per-character `str.lower()` as `BertTokenizer.tokenize` applies it (no final-sigma context). */
  private lowerEachCodePoint(s: string): string {
    let out = '';
    for (const ch of s) out += ch.toLowerCase();
    return out;
  }
}

/**
 * NFC with origins: the word is cut into clusters (a character and the marks after it, which
 * is where composition happens); a cluster that NFC changes maps all its output units to the
 * cluster's whole original span.
 */
function nfc(t: Transformed, base: number): Transformed {
  const { text, starts, ends } = t;
  const composed = text.normalize('NFC');
  if (composed === text) return t;
  const spanStart = (u: number): number => (starts ? starts[u] : base + u);
  const spanEnd = (u: number): number => (ends ? ends[u] : base + u + 1);
  let out = '';
  const outStarts: number[] = [];
  const outEnds: number[] = [];
  let k = 0;
  while (k < text.length) {
    let m = k + (codePointAt(text, k, text.length) > 0xffff ? 2 : 1);
    while (m < text.length) {
      const cp = codePointAt(text, m, text.length);
      if (!(charClass(cp) & MARK)) break;
      m += cp > 0xffff ? 2 : 1;
    }
    const cluster = text.slice(k, m);
    const normalized = cluster.normalize('NFC');
    if (normalized === cluster) {
      for (let u = k; u < m; u++) {
        outStarts.push(spanStart(u));
        outEnds.push(spanEnd(u));
      }
    } else {
      const s = spanStart(k);
      let e = spanEnd(k);
      for (let u = k + 1; u < m; u++) e = Math.max(e, spanEnd(u));
      for (let u = 0; u < normalized.length; u++) {
        outStarts.push(s);
        outEnds.push(e);
      }
    }
    out += normalized;
    k = m;
  }
  if (out !== composed) {
    // Composition crossed a cluster boundary (not expected for real text): map the word as a whole.
    const s = spanStart(0);
    const e = spanEnd(text.length - 1);
    return { text: composed, starts: new Array<number>(composed.length).fill(s), ends: new Array<number>(composed.length).fill(e) };
  }
  return { text: out, starts: outStarts, ends: outEnds };
}
