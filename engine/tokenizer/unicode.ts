/**
 * Character classes of Hugging Face's BERT text pre-processing, looked up by code point.
 *
 * The definitions follow `transformers` (`_is_control`, `_is_whitespace`, `_is_punctuation`,
 * `BasicTokenizer._is_chinese_char`) and `tokenizers` (`BertNormalizer`, `BertPreTokenizer`):
 * - REMOVE: U+0000, U+FFFD and every general category C* (Cc, Cf, Cs, Co, Cn) except \t \n \r.
 *   (Hugging Face removes all of C, not only Cc/Cf: private-use and unassigned code points go too.)
 * - WHITESPACE: \t \n \r and every other White_Space character that is not removed first
 *   (Zs, U+2028, U+2029): `clean_text` maps Zs to a space and Python's `str.split()` /
 *   Rust's `char::is_whitespace` split on the line/paragraph separators.
 * - SPACE: the White_Space property on its own, the separator when text cleaning is off.
 * - PUNCTUATION: ASCII 33–47, 58–64, 91–96, 123–126 and every general category P*.
 * - CJK: the ideograph blocks BERT isolates (not Hangul, Hiragana or Katakana).
 * - MARK: general category M* plus Hangul medial/final jamo, i.e. code points that NFC may
 *   compose with the character before them (used to cut text into NFC-safe clusters).
 * Classes come from the JavaScript engine's Unicode tables (ICU), which may be a newer Unicode
 * version than a given Python's `unicodedata`; only code points assigned in between differ.
 *
 * Where `tokenizers` (`BertTokenizerFast`) departs from these definitions the engine keeps
 * them, because the Python tokenizer's rule is the intended one (docs/engine.md, "Tokenizer"):
 * - unassigned code points (Cn) are REMOVE here, as in Python; `tokenizers` keeps them (its
 *   "other" test does not cover unassigned code points), so there they join or form words;
 * - U+2B820–U+2B91F (the start of CJK Extension E) are CJK here, as in Python; `tokenizers`
 *   starts that range at U+2B920, so there they stay inside their word;
 * - characters assigned or re-categorised after the Unicode version of `tokenizers`' tables
 *   (combining marks, punctuation and format characters, case and decomposition mappings of
 *   recent scripts) get the JavaScript runtime's properties here.
 */

export const REMOVE = 1;
export const WHITESPACE = 2;
export const SPACE = 4;
export const PUNCTUATION = 8;
export const CJK = 16;
export const MARK = 32;
const KNOWN = 128;

const RE_OTHER = /^\p{C}$/u;
const RE_WHITE_SPACE = /^\p{White_Space}$/u;
const RE_PUNCTUATION = /^\p{P}$/u;
const RE_MARK = /^\p{M}$/u;
const RE_NONSPACING_MARKS = /\p{Mn}/gu;

export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function isAsciiPunctuation(cp: number): boolean {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
}

function classify(cp: number): number {
  const s = String.fromCodePoint(cp);
  let c = 0;
  if (cp === 0 || cp === 0xfffd) c |= REMOVE;
  else if (cp === 9 || cp === 10 || cp === 13) c |= WHITESPACE;
  else if (RE_OTHER.test(s)) c |= REMOVE;
  else if (RE_WHITE_SPACE.test(s)) c |= WHITESPACE;
  if (cp === 9 || cp === 10 || cp === 13 || RE_WHITE_SPACE.test(s)) c |= SPACE;
  if (isAsciiPunctuation(cp) || RE_PUNCTUATION.test(s)) c |= PUNCTUATION;
  if (isChineseChar(cp)) c |= CJK;
  if (RE_MARK.test(s) || (cp >= 0x1160 && cp <= 0x11ff) || (cp >= 0xd7b0 && cp <= 0xd7ff)) c |= MARK;
  return c | KNOWN;
}

const ASCII_CLASSES = new Uint8Array(128);
for (let cp = 0; cp < 128; cp++) ASCII_CLASSES[cp] = classify(cp);

/** Filled on demand: one byte per code point (1.1 MB), so each class is computed once per process. */
let classes: Uint8Array | undefined;

/** The class bits of a code point (REMOVE | WHITESPACE | SPACE | PUNCTUATION | CJK | MARK). */
export function charClass(cp: number): number {
  if (cp < 128) return ASCII_CLASSES[cp];
  const table = (classes ??= new Uint8Array(0x110000));
  let c = table[cp];
  if (c === 0) table[cp] = c = classify(cp);
  return c;
}

/** `_run_strip_accents`: canonical decomposition, then every non-spacing mark (Mn) dropped. */
export function stripAccents(s: string): string {
  return s.normalize('NFD').replace(RE_NONSPACING_MARKS, '');
}

/** The code point at UTF-16 index i (a lone surrogate is returned as itself). */
export function codePointAt(s: string, i: number, end: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return (c - 0xd800) * 0x400 + (d - 0xdc00) + 0x10000;
  }
  return c;
}
