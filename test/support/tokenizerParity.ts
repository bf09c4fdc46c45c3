/**
 * What the tokenizer's parity suite and benchmark share: a seeded generator of texts that
 * exercise every rule of BERT's tokenization, the vocabularies (the real bert-base-uncased
 * vocab.txt when the shared folder beside the repository has it, else a generated one, and a
 * cased vocabulary derived from it), and Hugging Face's own tokenizer (`tokenizers`, the
 * library behind BertTokenizerFast) built from the same definition as the engine's.
 *
 * The generator draws only characters whose Unicode properties `tokenizers` and the engine
 * agree on: no unassigned code points, nothing from U+2B820–U+2B91F and no character assigned
 * or re-categorised in recent Unicode versions (the documented exceptions, docs/engine.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from 'tokenizers';
import type { NormalizerSpec } from '../../engine/tokenizer';
import { Random } from '../../engine/util/random';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/** The real bert-base-uncased vocabulary, beside the repository (never copied into it). */
export const SHARED_UNCASED_VOCAB = path.join(REPO_ROOT, '..', 'shared', 'tokparity', 'bert-base-uncased', 'vocab.txt');

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

const COMMON_WORDS = (
  'the of and to in a is that for it as was with be by on not he i this are or his from at which but have an had they you were ' +
  'their one all we can her has there been if more when will would who so no out up into do about than them she some could time ' +
  'these two may then first any my now such like other how its our over only new also after us most year very made people between ' +
  'through world state house school government development university international national question answer model language ' +
  'training learning network neural adapter bottleneck layer transformer attention embedding vocabulary tokenizer sentence'
).split(' ');

/** Words WordPiece has to split (or, in a small vocabulary, turn into [UNK]). */
const RARE_WORDS = (
  'unaffable tokenization photosynthesis electroencephalography misunderstanding reconstructionist neighbourhoods ' +
  'characteristically incomprehensibilities antidisestablishmentarianism hyperparameters finetuning backpropagation ' +
  'pseudopseudohypoparathyroidism counterrevolutionaries uncopyrightable thermodynamically overgeneralisations'
).split(' ');

const CONTRACTIONS = ["don't", "it's", "we'll", "they're", "I'm", "can't", "o'clock", "rock'n'roll", "students'"];
const NUMBERS = ['3.14', '1,000,000', '2021-09-14', '42%', '$5', '€12', '10:30', '1st', '2nd', '1e-5', '0x1F', '555-0199', '½', '²', '٣', '१२'];
const PUNCTUATION = [...'!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~', ...'“”‘’«»‹›—–…¡¿§¶•·†‡※‰′″〈〉「」『』、。！？（）【】《》〔〕・～'];
const ACCENTED = [
  ...'éèêëàâäáãåçñöüóòôõøúùûýÿíìîïßæœłşğıőűąęśźżčřžěůđ',
  ...'ÉÈÊËÀÂÄÁÃÅÇÑÖÜÓÒÔÕØÚÙÛÝÍÌÎÏÆŒŁŞĞİŐŰĄĘŚŹŻČŘŽĚŮĐẞ',
  ...'ệốửẫậằẳỹỵơưĂÂƠƯ',
  ...'άέήίόύώΆΈΉΊΌΎΏϊϋΐΰ',
  ...'\u212a\u2126\u212b', // Kelvin, Ohm and Angstrom signs: lower-casing and NFD map them to letters
];
const COMBINING = ['\u0300', '\u0301', '\u0302', '\u0303', '\u0308', '\u030a', '\u030c', '\u0323', '\u0327', '\u0328', '\u0331', '\u0345', '\u20d7'];
const ACCENTED_WORDS = ['café', 'naïve', 'résumé', 'Zürich', 'São Paulo', 'Straße', 'façade', 'Ångström', 'Dvořák', 'İstanbul', 'ΟΔΟΣ', 'λόγος', 'Σίσυφος', 'Ελληνικά', 'ﬁnance', 'Ǆemal', 'ǅ', 'ǈ'];
const SCRIPTS = [
  'Привет мир', 'Съешь же ещё этих мягких французских булок', 'Καλημέρα κόσμε', 'مرحبا بالعالم', 'مَرْحَبًا', 'שלום עולם', 'שָׁלוֹם',
  'नमस्ते दुनिया', 'हिन्दी', 'வணக்கம்', 'สวัสดีครับ', 'ภาษาไทย', 'გამარჯობა', 'Բարեւ', 'ሰላም', 'こんにちは世界', 'カタカナとひらがな', 'でございます',
  '안녕하세요 세계', '한국어', 'Tiếng Việt', 'ŽÝŘ', 'helloПривет', 'abcαβγ', 'ｆｕｌｌｗｉｄｔｈ ＡＢＣ１２３',
];
const EMOJI = ['😀', '😂', '🤖', '👍', '👍🏽', '❤️', '👨‍👩‍👧‍👦', '🇫🇷', '1️⃣', '☕', '✨', '🎉', '🙂', '💯', '🔥', '©', '™', '°C', '∑', '√2', '≠', '→'];
/** Removed by cleaning: controls, format characters, private use, U+FFFD (and U+0000). */
const REMOVED = ['\u0000', '\u0001', '\u0007', '\u001b', '\u007f', '\u0085', '\u00ad', '\u200b', '\u200c', '\u200d', '\u200e', '\u200f', '\u2060', '\ufeff', '\ufffd', '\ue000', '\uf8ff', '\u000b', '\u000c'];
const WHITESPACE = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u2003', '\u3000', '\u2028', '\u2029', '\u1680', ' \t \n '];
const URLS = ['https://www.example.com/path/to/page?query=value&x=1#section', 'http://localhost:8080/', 'user.name+tag@example.co.uk', 'www.hugging-face.co/models?search=bert', 'ftp://files.example.org/pub/README.md', 'C:\\Users\\me\\file.txt', '/usr/local/bin/node'];
const SPECIAL_IN_TEXT = ['[MASK]', '[SEP]', '[CLS]', '[UNK]', '[PAD]', '[mask]', '[MASK]s', 'x[SEP]y', '[unused0]'];

/** CJK ideographs and compatibility ideographs from ranges both implementations isolate. */
const CJK_RANGES: readonly [number, number][] = [
  [0x4e00, 0x9fa5],
  [0x3400, 0x4db5],
  [0x20000, 0x2a6d6],
  [0x2a700, 0x2b734],
  [0xf900, 0xfa2d],
];
const KANA_HANGUL: readonly [number, number][] = [
  [0x3041, 0x3096],
  [0x30a1, 0x30fa],
  [0xac00, 0xd7a3],
];

class TextGenerator {
  constructor(private readonly r: Random) {}

  pick<T>(items: readonly T[]): T {
    return items[this.r.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.r.next() < p;
  }

  fromRanges(ranges: readonly (readonly [number, number])[]): string {
    const [lo, hi] = this.pick(ranges);
    return String.fromCodePoint(lo + this.r.int(hi - lo + 1));
  }

  word(): string {
    const roll = this.r.next();
    let w = roll < 0.7 ? this.pick(COMMON_WORDS) : roll < 0.8 ? this.pick(RARE_WORDS) : roll < 0.88 ? this.pick(CONTRACTIONS) : roll < 0.94 ? this.pick(NUMBERS) : this.pick(ACCENTED_WORDS);
    const caps = this.r.next();
    if (caps < 0.15) w = w.charAt(0).toUpperCase() + w.slice(1);
    else if (caps < 0.18) w = w.toUpperCase();
    return w;
  }

  english(): string {
    const n = 1 + this.r.int(this.chance(0.2) ? 90 : 25);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      let w = this.word();
      if (this.chance(0.1)) w += this.pick([',', '.', ';', ':', '!', '?', '...', ')', '"', "'s"]);
      if (this.chance(0.03)) w = this.pick(['(', '"', '“', '«']) + w;
      if (this.chance(0.03)) w += '-' + this.word();
      out.push(w);
    }
    return out.join(' ');
  }

  punctuationRun(): string {
    let s = '';
    const n = 1 + this.r.int(8);
    for (let i = 0; i < n; i++) s += this.pick(PUNCTUATION);
    return this.chance(0.5) ? s : `${this.word()}${s}${this.word()}`;
  }

  accents(): string {
    const n = 1 + this.r.int(6);
    const words: string[] = [];
    for (let i = 0; i < n; i++) {
      const kind = this.r.int(4);
      if (kind === 0) words.push(this.pick(ACCENTED_WORDS));
      else if (kind === 1) {
        // A word with precomposed accented letters.
        let w = '';
        for (let k = 1 + this.r.int(8); k > 0; k--) w += this.chance(0.4) ? this.pick(ACCENTED) : String.fromCharCode(97 + this.r.int(26));
        words.push(w);
      } else if (kind === 2) {
        // Decomposed: letters followed by one or two combining marks, also at the start and end of words.
        let w = this.chance(0.1) ? this.pick(COMBINING) : '';
        for (let k = 1 + this.r.int(8); k > 0; k--) {
          w += String.fromCharCode((this.chance(0.3) ? 65 : 97) + this.r.int(26));
          if (this.chance(0.5)) w += this.pick(COMBINING);
          if (this.chance(0.15)) w += this.pick(COMBINING);
        }
        words.push(w);
      } else words.push(this.word().normalize(this.chance(0.5) ? 'NFD' : 'NFC'));
    }
    return words.join(this.chance(0.8) ? ' ' : '');
  }

  cjk(): string {
    let s = '';
    const n = 1 + this.r.int(12);
    for (let i = 0; i < n; i++) {
      const roll = this.r.next();
      if (roll < 0.6) s += this.fromRanges(CJK_RANGES.slice(0, 1));
      else if (roll < 0.75) s += this.fromRanges(CJK_RANGES);
      else if (roll < 0.9) s += this.fromRanges(KANA_HANGUL);
      else s += this.pick(['、', '。', '「', '」', 'NLP', 'BERT', this.word(), ' ', '１２３']);
    }
    return s;
  }

  emoji(): string {
    const n = 1 + this.r.int(4);
    let s = '';
    for (let i = 0; i < n; i++) s += this.pick(['', ' ', this.word()]) + this.pick(EMOJI);
    return s;
  }

  /** Removed characters inside, before and after words (and pieces). */
  controls(): string {
    const base = this.english().slice(0, 60 + this.r.int(60));
    let s = '';
    for (const ch of base) {
      if (this.chance(0.12)) s += this.pick(REMOVED);
      s += ch;
    }
    return this.chance(0.3) ? s + this.pick(REMOVED) : s;
  }

  longWord(): string {
    const n = 95 + this.r.int(40);
    const kind = this.r.int(4);
    if (kind === 0) return 'a'.repeat(n);
    if (kind === 1) return this.pick(RARE_WORDS).repeat(Math.ceil(n / 10)).slice(0, n);
    if (kind === 2) return '😀'.repeat(n - 60);
    return `${this.word()} ${'ab'.repeat(n / 2)} ${this.word()}`;
  }

  url(): string {
    return `${this.pick(['see', 'Visit', 'mail', ''])} ${this.pick(URLS)} ${this.word()}`;
  }

  scripts(): string {
    const n = 1 + this.r.int(4);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(this.chance(0.7) ? this.pick(SCRIPTS) : this.word());
    return parts.join(this.pick([' ', '', ', ']));
  }

  whitespace(): string {
    const n = 1 + this.r.int(8);
    let s = this.chance(0.3) ? this.pick(WHITESPACE) : '';
    for (let i = 0; i < n; i++) s += this.word() + this.pick(WHITESPACE);
    return s;
  }

  empty(): string {
    return this.pick(['', ' ', '\t\n', '\u200b', '\u0000\ufeff', '\u3000', ' \u00ad ']);
  }

  special(): string {
    return `${this.word()} ${this.pick(SPECIAL_IN_TEXT)}${this.pick([' ', ''])}${this.word()}`;
  }

  fragment(): string {
    const kinds = [
      [30, () => this.english()],
      [8, () => this.punctuationRun()],
      [10, () => this.accents()],
      [8, () => this.cjk()],
      [6, () => this.emoji()],
      [8, () => this.controls()],
      [3, () => this.longWord()],
      [4, () => this.url()],
      [8, () => this.scripts()],
      [6, () => this.whitespace()],
      [2, () => this.empty()],
      [4, () => this.special()],
    ] as const;
    const total = kinds.reduce((s, [w]) => s + w, 0);
    let roll = this.r.int(total);
    for (const [w, make] of kinds) {
      if (roll < w) return make();
      roll -= w;
    }
    throw new Error('unreachable');
  }

  text(): string {
    const n = this.chance(0.6) ? 1 : 2 + this.r.int(5);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(this.fragment());
    return parts.join(this.pick([' ', ' ', '\n', '', '. ']));
  }
}

/** `count` texts from `seed`: the same seed gives the same texts on every machine. */
export function generateTexts(seed: number, count: number): string[] {
  const g = new TextGenerator(new Random(seed));
  return Array.from({ length: count }, () => g.text());
}

/** `count` texts of ordinary English (words, punctuation, numbers, contractions) from `seed`. */
export function generateEnglish(seed: number, count: number): string[] {
  const g = new TextGenerator(new Random(seed));
  return Array.from({ length: count }, () => g.english());
}

/** `count` pairs of texts from `seed`. */
export function generatePairs(seed: number, count: number): [string, string][] {
  const g = new TextGenerator(new Random(seed));
  return Array.from({ length: count }, () => [g.text(), g.text()]);
}

/** Every code point the generator can produce, for checks on the pools. */
export function generatorCodePoints(): Set<number> {
  const out = new Set<number>();
  const add = (s: string): void => {
    for (const ch of s) out.add(ch.codePointAt(0)!);
  };
  for (const list of [COMMON_WORDS, RARE_WORDS, CONTRACTIONS, NUMBERS, PUNCTUATION, ACCENTED, COMBINING, ACCENTED_WORDS, SCRIPTS, EMOJI, REMOVED, WHITESPACE, URLS, SPECIAL_IN_TEXT]) {
    for (const s of list) {
      add(s);
      add(s.toUpperCase());
      add(s.normalize('NFD'));
    }
  }
  for (const [lo, hi] of [...CJK_RANGES, ...KANA_HANGUL]) for (let cp = lo; cp <= hi; cp++) out.add(cp);
  add('、。「」１２３ab😀');
  return out;
}

function readVocab(file: string): string[] {
  const lines = fs.readFileSync(file, 'utf8').split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * A WordPiece vocabulary in BERT's layout when the real one is absent: special and unused
 * tokens, every character the generator produces (lower-cased and as it is, alone and as a
 * continuation), its words and some frequent pieces.
 */
function generatedUncasedVocab(): string[] {
  const tokens = new Set<string>([SPECIAL_TOKENS[0], ...Array.from({ length: 99 }, (_, i) => `[unused${i}]`), ...SPECIAL_TOKENS.slice(1)]);
  const chars = [...generatorCodePoints()].sort((a, b) => a - b).map((cp) => String.fromCodePoint(cp));
  for (const ch of chars) {
    if (/\p{C}|\s/u.test(ch)) continue;
    tokens.add(ch.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '') || ch);
  }
  for (const ch of [...tokens].filter((t) => !t.startsWith('['))) tokens.add(`##${ch}`);
  for (const w of [...COMMON_WORDS, ...NUMBERS, 'tion', 'ing', 'un', 'the', 'photo', 'syn', 'electro', 'mis', 'under', 'hyper', 'counter']) tokens.add(w.toLowerCase());
  for (const piece of ['ing', 'ed', 's', 'ly', 'tion', 'ization', 'able', 'ness', 'ment', 'er', 'est', 'al', 'ic', 'ous', 'ist', 'ism', 'ary', 'aff', 'thesis', 'stand']) tokens.add(`##${piece}`);
  return [...tokens];
}

export interface Vocabulary {
  readonly tokens: readonly string[];
  /** Where it came from, for the test's output. */
  readonly source: string;
}

/** The real bert-base-uncased vocabulary when present, else a generated one. */
export function uncasedVocabulary(): Vocabulary {
  if (fs.existsSync(SHARED_UNCASED_VOCAB)) return { tokens: readVocab(SHARED_UNCASED_VOCAB), source: 'bert-base-uncased vocab.txt' };
  return { tokens: generatedUncasedVocab(), source: 'generated (bert-base-uncased vocab.txt not found)' };
}

/**
 * A cased vocabulary: the uncased one plus, at new ids, capitalised and upper-case forms of
 * words and pieces, upper-case and accented letters alone and as continuations.
 */
export function casedVocabulary(uncased: Vocabulary): Vocabulary {
  const tokens = [...uncased.tokens];
  const seen = new Set(tokens);
  const add = (t: string): void => {
    if (t.length > 0 && !seen.has(t)) {
      seen.add(t);
      tokens.push(t);
    }
  };
  const words = uncased.tokens.filter((t) => /^[a-z]{2,}$/.test(t)).slice(0, 8000);
  for (const w of words) add(w.charAt(0).toUpperCase() + w.slice(1));
  for (const w of words.slice(0, 1500)) add(w.toUpperCase());
  for (const t of uncased.tokens.filter((x) => /^##[a-z]{1,4}$/.test(x)).slice(0, 400)) add(t.toUpperCase());
  const letters = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ', ...ACCENTED, ...ACCENTED.map((c) => c.toLowerCase())];
  for (const c of letters) {
    add(c);
    add(`##${c}`);
    add(c.normalize('NFD'));
  }
  for (const w of ACCENTED_WORDS) add(w.split(' ')[0]!);
  return { tokens, source: `${uncased.source} + ${tokens.length - uncased.tokens.length} cased tokens` };
}

/** tokenizer.json as `BertTokenizerFast.save_pretrained` writes it. */
export function tokenizerJson(tokens: readonly string[], normalizer: NormalizerSpec): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  const special = (content: string) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map(special),
    normalizer: { type: 'BertNormalizer', clean_text: normalizer.cleanText, handle_chinese_chars: normalizer.handleChineseChars, strip_accents: normalizer.stripAccents, lowercase: normalizer.lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [vocab['[CLS]']], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [vocab['[SEP]']], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

/** Hugging Face's tokenizer from a tokenizer.json, as `AutoTokenizer` would load it. */
export function referenceTokenizer(json: Record<string, unknown>): Tokenizer {
  return Tokenizer.fromString(JSON.stringify(json));
}

/** The reference's offsets count code points; the engine's count UTF-16 units. Maps code-point index → UTF-16 index. */
export function codePointToUtf16(text: string): number[] {
  const out: number[] = [0];
  let u = 0;
  for (const ch of text) {
    u += ch.length;
    out.push(u);
  }
  return out;
}

/** One encoding in the form both sides are compared in. */
export interface Compared {
  readonly ids: readonly number[];
  readonly typeIds: readonly number[];
  readonly offsets: readonly (readonly [number, number])[];
}

/** The reference's encoding with offsets in UTF-16 units of the text they point into. */
export function fromReference(e: { getIds(): number[]; getTypeIds(): number[]; getOffsets(): number[][] }, text: string, pair?: string): Compared {
  const maps = [codePointToUtf16(text), pair === undefined ? [] : codePointToUtf16(pair)];
  const typeIds = e.getTypeIds();
  const offsets = e.getOffsets().map(([s, t], i): [number, number] => {
    const map = maps[typeIds[i]!]!;
    return [map[s!]!, map[t!]!];
  });
  return { ids: e.getIds(), typeIds, offsets };
}
