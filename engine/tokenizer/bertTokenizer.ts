/**
 * The BERT tokenizer: special tokens split out of the raw text, BasicTokenizer, WordPiece,
 * then `[CLS] A [SEP] (B [SEP])` with token type ids, longest-first truncation and character
 * offsets into the original strings. Matches Hugging Face's tokenizers on the same vocabulary.
 * Where the two Hugging Face implementations disagree (NFC, which text keeps the odd token when
 * both texts of a pair are cut, `never_split`), `behaviour` picks one: 'fast' (default) is `BertTokenizerFast`,
 * what `AutoTokenizer` loads; 'slow' is the Python `BertTokenizer`. Offsets, which only the
 * fast tokenizer has, follow its rules either way.
 *
 * Deliberate differences from `BertTokenizerFast` (docs/engine.md, "Tokenizer"), where the
 * engine keeps the Python tokenizer's rule: unassigned code points are removed; U+2B820–U+2B91F
 * are isolated as CJK ideographs; characters assigned or re-categorised in recent Unicode
 * versions get the JavaScript runtime's (newer) properties.
 */
import { BasicTokenizer, type WordVisitor } from './basic';
import { TokenizerError } from './errors';
import { definitionFromVocab, readTokenizerFolder, type AddedTokenSpec, type TokenizerDefinition, type TokenizerSource } from './files';
import { WordPiece } from './wordpiece';

/**
 * Which Hugging Face implementation to follow where they differ: 'fast' (`BertTokenizerFast`,
 * the tokenizers library) or 'slow' (the Python `BertTokenizer`).
 * - NFC: 'slow' composes the text (NFC) before splitting; 'fast' does not. They differ only on
 *   text that is not in NFC when accents are kept (cased models, `strip_accents: false`).
 * - Pair truncation: see `truncateLongestFirst`.
 * - `never_split` (tokenizer_config.json): 'slow' keeps those words whole; 'fast' ignores it.
 */
export type TokenizerBehaviour = 'fast' | 'slow';

export const TOKENIZER_BEHAVIOURS: readonly TokenizerBehaviour[] = ['fast', 'slow'];

export interface BertTokenizerOptions {
  /**
   * 'fast' or 'slow'. Default: the definition's `useFast` (tokenizer_config.json's `use_fast`),
   * else 'fast'.
   */
  readonly behaviour?: TokenizerBehaviour;
  /** Words whose WordPiece segmentation is cached (default 50,000; 0 turns the cache off). */
  readonly cacheSize?: number;
}

export interface LoadOptions extends BertTokenizerOptions {
  /** Which file defines the vocabulary: 'auto' (default) prefers tokenizer.json, then vocab.txt. */
  readonly source?: TokenizerSource;
}

export interface EncodeOptions {
  /** Length of the whole encoding, [CLS] and [SEP]s included; at least 2 (3 for a pair). */
  readonly maxLength: number;
  /**
   * `longest_first` (the only strategy, and the default): tokens are removed from the end of the
   * longer sequence; when both must be cut, the tokenizer's behaviour decides which text keeps
   * the odd token (`truncateLongestFirst`).
   */
  readonly truncation?: 'longest_first';
  /** Pad with [PAD] up to maxLength (attention mask 0, token type 0, offsets [0, 0]). */
  readonly padding?: 'max_length';
}

export interface Encoding {
  readonly inputIds: number[];
  readonly tokenTypeIds: number[];
  readonly attentionMask: number[];
  readonly tokens: string[];
  /**
   * [start, end) of each token in the string it came from (the first text or the pair), in
   * UTF-16 units of the original, un-normalised string; [0, 0] for added [CLS]/[SEP]/[PAD].
   * A [UNK] word spans the whole word; pieces of a normalised character (accent stripped,
   * lower-case expansion, Hangul decomposition) span that whole original character; a character
   * normalisation removes (control, zero-width, U+FFFD, a combining accent of its own) belongs
   * to no token, so no token starts or ends on one.
   */
  readonly offsets: [number, number][];
  /** 1 for the [CLS], [SEP] and [PAD] the encoder added, 0 for tokens of the texts. */
  readonly specialTokensMask: number[];
}

/** Tokens of one text before special tokens are added. */
interface Sequence {
  ids: number[];
  tokens: string[];
  starts: number[];
  ends: number[];
  /** The number of tokens after each word the basic tokenizer made (not after added tokens). */
  wordEnds: number[];
}

/**
 * How many tokens tokenizers (0.23) counts a text as when a pair is truncated to `maxLength`: it
 * stops tokenizing at the end of the first word (not an added token) that brings the text to
 * `maxLength` tokens, so a text longer than that counts as the tokens up to that word.
 */
function countedLength(s: Sequence, maxLength: number): number {
  if (s.ids.length <= maxLength) return s.ids.length;
  for (const n of s.wordEnds) if (n >= maxLength) return n;
  return s.ids.length;
}

interface AddedMatch {
  start: number;
  end: number;
  token: AddedTokenSpec;
}

const RE_REGEX_SYNTAX = /[\\^$.*+?()[\]{}|]/g;
const RE_WORD_CHAR = /^[\p{Alphabetic}\p{N}_]$/u;

/**
 * Longest-first truncation of a pair to `budget` tokens (the encoding's maximum length less its
 * special tokens). Returns the kept lengths. Both behaviours keep the shorter text whole when it
 * fits in half the budget and give the longer one the rest; otherwise both are cut to half the
 * budget, and they differ only in which text keeps the odd token of an odd budget:
 * - 'slow', the Python tokenizers' `truncate_sequences` loop (remove the last token of the first
 *   text while it is strictly longer than the second, else of the second): the first text.
 * - 'fast', tokenizers' `truncate_encodings`: the longer text, the second on a tie. Which one is
 *   longer is decided on `counted` lengths: tokenizers 0.23 stops tokenizing a text soon after
 *   it reaches the maximum length (`countedLength`, which the encoder passes), so two long texts
 *   usually count as equally long and the second keeps the odd token.
 * With BERT's usual lengths every pair whose texts are both long differs by one token.
 */
export function truncateLongestFirst(
  firstLength: number,
  secondLength: number,
  budget: number,
  behaviour: TokenizerBehaviour = 'fast',
  counted: readonly [number, number] = [firstLength, secondLength],
): [number, number] {
  let a = firstLength;
  let b = secondLength;
  const keep = Math.max(0, budget);
  if (a + b <= keep) return [a, b];
  if (behaviour === 'fast') {
    a = Math.min(a, counted[0]);
    b = Math.min(b, counted[1]);
    if (a + b <= keep) return [a, b];
    const shorter = Math.min(a, b);
    const [short, long] = 2 * shorter <= keep ? [shorter, keep - shorter] : [Math.floor(keep / 2), Math.ceil(keep / 2)];
    // On a tie the first text counts as the shorter one.
    return a > b ? [long, short] : [short, long];
  }
  // Closed form of the slow loop: the longer one is cut down to the shorter one's length, then
  // the second loses ceil(r/2) and the first floor(r/2) of the r tokens still to go.
  let remove = a + b - keep;
  if (a > b) {
    const d = Math.min(a - b, remove);
    a -= d;
    remove -= d;
  } else if (b > a) {
    const d = Math.min(b - a, remove);
    b -= d;
    remove -= d;
  }
  b -= Math.ceil(remove / 2);
  a -= Math.floor(remove / 2);
  return [a, b];
}

export class BertTokenizer {
  readonly basicTokenizer: BasicTokenizer;
  readonly wordPiece: WordPiece;
  readonly unkToken: string;
  readonly clsToken: string;
  readonly sepToken: string;
  readonly padToken: string;
  readonly unkTokenId: number;
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  readonly padTokenId: number;
  /** Undefined when the vocabulary has no mask token. */
  readonly maskTokenId: number | undefined;
  /** `model_max_length` from tokenizer_config.json; undefined when not given. */
  readonly modelMaxLength: number | undefined;
  /** Which Hugging Face implementation this tokenizer follows where they differ. */
  readonly behaviour: TokenizerBehaviour;
  private readonly definition: TokenizerDefinition;
  private readonly options: BertTokenizerOptions;
  private sibling: BertTokenizer | undefined;
  private readonly vocab: ReadonlyMap<string, number>;
  private readonly idToToken: string[];
  private readonly added: ReadonlyMap<string, AddedTokenSpec>;
  private readonly addedPattern: RegExp | undefined;

  constructor(definition: TokenizerDefinition, options: BertTokenizerOptions = {}) {
    this.definition = definition;
    this.options = options;
    this.behaviour = options.behaviour ?? (definition.useFast === false ? 'slow' : 'fast');
    if (!TOKENIZER_BEHAVIOURS.includes(this.behaviour)) throw new TokenizerError(`unknown tokenizer behaviour ${JSON.stringify(this.behaviour)}: expected 'fast' or 'slow'`);
    const file = definition.vocabFile;
    const vocab = new Map(definition.vocab);
    // Added tokens (tokenizer.json) take their own ids, as the tokenizers library does.
    for (const t of definition.addedTokens) vocab.set(t.content, t.id);
    this.vocab = vocab;
    const missing = [definition.clsToken, definition.sepToken, definition.unkToken, definition.padToken].filter((t) => !vocab.has(t));
    if (missing.length > 0) throw new TokenizerError(`the vocabulary lacks ${missing.join(', ')}`, file);
    this.unkToken = definition.unkToken;
    this.clsToken = definition.clsToken;
    this.sepToken = definition.sepToken;
    this.padToken = definition.padToken;
    const id = (t: string): number => vocab.get(t) as number;
    this.unkTokenId = id(this.unkToken);
    this.clsTokenId = id(this.clsToken);
    this.sepTokenId = id(this.sepToken);
    this.padTokenId = id(this.padToken);
    this.maskTokenId = vocab.get(definition.maskToken);
    this.modelMaxLength = definition.modelMaxLength;

    let maxId = -1;
    for (const i of vocab.values()) maxId = Math.max(maxId, i);
    this.idToToken = new Array<string>(maxId + 1);
    for (const [token, i] of definition.vocab) this.idToToken[i] = token;
    for (const t of definition.addedTokens) this.idToToken[t.id] = t.content;

    const n = definition.normalizer;
    this.basicTokenizer = new BasicTokenizer({
      doLowerCase: n.lowercase,
      stripAccents: n.stripAccents,
      tokenizeChineseChars: n.handleChineseChars,
      cleanText: n.cleanText,
      normalizeNfc: this.behaviour === 'slow',
      // never_split is the Python BasicTokenizer's; BertTokenizerFast ignores it.
      neverSplit: this.behaviour === 'slow' ? definition.neverSplit : [],
      neverSplitAfterLowerCase: true,
    });
    try {
      this.wordPiece = new WordPiece(definition.vocab, {
        unkToken: definition.unkToken,
        continuingSubwordPrefix: definition.continuingSubwordPrefix,
        maxInputCharsPerWord: definition.maxInputCharsPerWord,
        cacheSize: options.cacheSize,
      });
    } catch (e) {
      throw e instanceof TokenizerError ? new TokenizerError(e.message, file) : e;
    }

    // Tokens found in the raw text before normalisation: the added tokens and the special
    // tokens the vocabulary has (the Python tokenizer never splits its special tokens).
    const added = new Map<string, AddedTokenSpec>();
    if (!definition.splitSpecialTokens) {
      for (const t of definition.addedTokens) added.set(t.content, t);
      for (const t of [definition.padToken, definition.unkToken, definition.clsToken, definition.sepToken, definition.maskToken]) {
        const tokenId = vocab.get(t);
        if (!added.has(t) && tokenId !== undefined) added.set(t, { content: t, id: tokenId, special: true, lstrip: false, rstrip: false, singleWord: false });
      }
    }
    this.added = added;
    if (added.size > 0) {
      // Longest first so that alternation order gives leftmost-longest matches.
      const alternatives = [...added.values()]
        .sort((x, y) => y.content.length - x.content.length)
        .map((t) => (t.lstrip ? '\\s*' : '') + t.content.replace(RE_REGEX_SYNTAX, '\\$&') + (t.rstrip ? '\\s*' : ''));
      this.addedPattern = new RegExp(alternatives.join('|'), 'gu');
    }
  }

  /** A tokenizer over an in-memory vocabulary (id = index) with Hugging Face's defaults, changed by `overrides`. */
  static fromVocab(tokens: readonly string[], overrides: Partial<TokenizerDefinition> = {}, options: BertTokenizerOptions = {}): BertTokenizer {
    const vocab = new Map<string, number>();
    tokens.forEach((t, i) => vocab.set(t, i));
    return new BertTokenizer({ ...definitionFromVocab(vocab), ...overrides }, options);
  }

  /** This tokenizer with the given behaviour: itself when it already has it (the other one is made once). */
  withBehaviour(behaviour: TokenizerBehaviour): BertTokenizer {
    if (behaviour === this.behaviour) return this;
    if (this.sibling === undefined) {
      this.sibling = new BertTokenizer(this.definition, { ...this.options, behaviour });
      this.sibling.sibling = this;
    }
    return this.sibling;
  }

  /** Ids run from 0 to vocabSize − 1 (for vocab.txt: its number of lines). */
  get vocabSize(): number {
    return this.idToToken.length;
  }

  /** Every token in id order (a vocab.txt's lines). */
  vocabTokens(): string[] {
    return Array.from(this.idToToken, (t, i) => t ?? `[unused${i}]`);
  }

  /** The tokens of `text` without [CLS]/[SEP]. */
  tokenize(text: string): string[] {
    return this.sequence(text).tokens;
  }

  /** Unknown tokens give the [UNK] id. */
  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.vocab.get(t) ?? this.unkTokenId);
  }

  /** Ids no token has give the [UNK] token. */
  convertIdsToTokens(ids: readonly number[]): string[] {
    return ids.map((i) => this.idToToken[i] ?? this.unkToken);
  }

  /** The id of a token, undefined when the vocabulary lacks it. */
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  /**
   * `[CLS] text [SEP]` or `[CLS] text [SEP] pair [SEP]`, truncated longest-first to
   * `options.maxLength` (default: `modelMaxLength`, else no limit).
   */
  encode(text: string, pair?: string, options?: EncodeOptions): Encoding {
    const specials = pair === undefined ? 2 : 3;
    const maxLength = options?.maxLength ?? this.modelMaxLength ?? Number.POSITIVE_INFINITY;
    if (maxLength !== Number.POSITIVE_INFINITY && (!Number.isInteger(maxLength) || maxLength < specials)) {
      throw new TokenizerError(`maxLength must be an integer of at least ${specials} (the special tokens of ${pair === undefined ? 'one sequence' : 'a pair'}), got ${maxLength}`);
    }
    const truncation = options?.truncation ?? 'longest_first';
    if (truncation !== 'longest_first') throw new TokenizerError(`unsupported truncation ${JSON.stringify(truncation)}: only 'longest_first' is supported`);
    const padding = options?.padding;
    if (padding !== undefined && padding !== 'max_length') throw new TokenizerError(`unsupported padding ${JSON.stringify(padding)}: only 'max_length' is supported`);

    const first = this.sequence(text);
    const second = pair === undefined ? undefined : this.sequence(pair);
    const [keepFirst, keepSecond] = second === undefined
      ? [Math.min(first.ids.length, maxLength - specials), 0]
      : truncateLongestFirst(first.ids.length, second.ids.length, maxLength - specials, this.behaviour, [countedLength(first, maxLength), countedLength(second, maxLength)]);

    const inputIds: number[] = [this.clsTokenId];
    const tokenTypeIds: number[] = [0];
    const tokens: string[] = [this.clsToken];
    const offsets: [number, number][] = [[0, 0]];
    const specialTokensMask: number[] = [1];
    const append = (s: Sequence, keep: number, type: number): void => {
      for (let i = 0; i < keep; i++) {
        inputIds.push(s.ids[i]);
        tokenTypeIds.push(type);
        tokens.push(s.tokens[i]);
        offsets.push([s.starts[i], s.ends[i]]);
        specialTokensMask.push(0);
      }
      inputIds.push(this.sepTokenId);
      tokenTypeIds.push(type);
      tokens.push(this.sepToken);
      offsets.push([0, 0]);
      specialTokensMask.push(1);
    };
    append(first, keepFirst, 0);
    if (second !== undefined) append(second, keepSecond, 1);
    const attentionMask = new Array<number>(inputIds.length).fill(1);
    if (padding === 'max_length' && maxLength !== Number.POSITIVE_INFINITY) {
      while (inputIds.length < maxLength) {
        inputIds.push(this.padTokenId);
        tokenTypeIds.push(0);
        attentionMask.push(0);
        tokens.push(this.padToken);
        offsets.push([0, 0]);
        specialTokensMask.push(1);
      }
    }
    return { inputIds, tokenTypeIds, attentionMask, tokens, offsets, specialTokensMask };
  }

  private sequence(text: string): Sequence {
    const out: Sequence = { ids: [], tokens: [], starts: [], ends: [], wordEnds: [] };
    const visit: WordVisitor = (word, start, end, unitStarts, unitEnds, neverSplit) => {
      if (neverSplit) {
        // The Python tokenizer keeps a never-split word as its token; its id is [UNK]'s if the vocabulary lacks it.
        push(this.vocab.get(word) ?? this.unkTokenId, word, start, end);
      } else {
        const pieces = this.wordPiece.pieces(word);
        if (pieces.unknown) {
          push(this.unkTokenId, this.unkToken, start, end);
        } else {
          let a = 0;
          for (let i = 0; i < pieces.ids.length; i++) {
            const b = pieces.ends[i];
            const pieceId = pieces.ids[i];
            if (unitStarts === null || unitEnds === null) push(pieceId, this.idToToken[pieceId], start + a, start + b);
            else push(pieceId, this.idToToken[pieceId], unitStarts[a], unitEnds[b - 1]);
            a = b;
          }
        }
      }
      out.wordEnds.push(out.ids.length);
    };
    const push = (tokenId: number, token: string, start: number, end: number): void => {
      out.ids.push(tokenId);
      out.tokens.push(token);
      out.starts.push(start);
      out.ends.push(end);
    };
    let pos = 0;
    for (const m of this.findAdded(text)) {
      this.basicTokenizer.forEachWord(text, pos, m.start, visit);
      push(m.token.id, m.token.content, m.start, m.end);
      pos = m.end;
    }
    this.basicTokenizer.forEachWord(text, pos, text.length, visit);
    return out;
  }

  /** Leftmost-longest occurrences of added/special tokens in the raw text. */
  private findAdded(text: string): AddedMatch[] {
    const pattern = this.addedPattern;
    if (pattern === undefined) return [];
    const matches: AddedMatch[] = [];
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      const s = m[0];
      const token = this.added.get(s) ?? this.added.get(s.trimStart()) ?? this.added.get(s.trimEnd()) ?? this.added.get(s.trim());
      const start = m.index;
      const end = start + s.length;
      if (token === undefined || (token.singleWord && (isWordCharBefore(text, start) || isWordCharAt(text, end)))) {
        pattern.lastIndex = start + 1;
        continue;
      }
      matches.push({ start, end, token });
    }
    return matches;
  }
}

function isWordCharAt(text: string, i: number): boolean {
  if (i >= text.length) return false;
  return RE_WORD_CHAR.test(String.fromCodePoint(text.codePointAt(i) ?? 0));
}

function isWordCharBefore(text: string, i: number): boolean {
  if (i <= 0) return false;
  const lo = text.charCodeAt(i - 1);
  const at = lo >= 0xdc00 && lo <= 0xdfff && i >= 2 ? i - 2 : i - 1;
  return RE_WORD_CHAR.test(String.fromCodePoint(text.codePointAt(at) ?? 0));
}

/** Loads the tokenizer of a Hugging Face model folder (tokenizer.json or vocab.txt, plus tokenizer_config.json). */
export function loadBertTokenizer(folder: string, options: LoadOptions = {}): BertTokenizer {
  return new BertTokenizer(readTokenizerFolder(folder, options.source ?? 'auto'), options);
}
