// Text cleaning shared by the corpus sources: entity decoding, whitespace and punctuation
// normalisation, sentence splitting, splitting long paragraphs, and the filter that keeps
// prose lines and drops headings, fragments, code and tables.
import { createHash } from 'node:crypto';

/** Longest line, in words, before a paragraph is split at sentence boundaries. */
export const MAX_WORDS = 150;
/** Shortest line kept, in words. */
export const MIN_WORDS = 5;

const NAMED = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ensp: ' ', emsp: ' ', thinsp: ' ',
  mdash: '—', ndash: '–', hellip: '…', lsquo: '‘', rsquo: '’', sbquo: '‚', ldquo: '“', rdquo: '”',
  bdquo: '„', laquo: '«', raquo: '»', lsaquo: '‹', rsaquo: '›', copy: '©', reg: '®', trade: '™',
  deg: '°', plusmn: '±', times: '×', divide: '÷', middot: '·', bull: '•', para: '¶', sect: '§',
  shy: '', zwj: '', zwnj: '', lrm: '', rlm: '', iexcl: '¡', iquest: '¿', cent: '¢', pound: '£',
  euro: '€', yen: '¥', frac12: '½', frac14: '¼', frac34: '¾', sup1: '¹', sup2: '²', sup3: '³',
  prime: '′', Prime: '″', larr: '←', rarr: '→', uarr: '↑', darr: '↓', harr: '↔', rArr: '⇒',
  le: '≤', ge: '≥', ne: '≠', asymp: '≈', minus: '−', infin: '∞', hyphen: '‐', dagger: '†',
  aelig: 'æ', AElig: 'Æ', oelig: 'œ', OElig: 'Œ', szlig: 'ß', eth: 'ð', thorn: 'þ', ETH: 'Ð',
  THORN: 'Þ', oslash: 'ø', Oslash: 'Ø', aring: 'å', Aring: 'Å', ccedil: 'ç', Ccedil: 'Ç',
  ntilde: 'ñ', Ntilde: 'Ñ', alpha: 'α', beta: 'β', gamma: 'γ', delta: 'δ', epsilon: 'ε',
  lambda: 'λ', mu: 'μ', pi: 'π', sigma: 'σ', omega: 'ω',
};
const ACCENTS = { acute: '\u0301', grave: '\u0300', circ: '\u0302', uml: '\u0308', tilde: '\u0303' };

/** Decodes HTML/XML character references (unknown named ones are dropped). */
export function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z][a-z0-9]*);/gi, (_, e) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
    }
    if (Object.prototype.hasOwnProperty.call(NAMED, e)) return NAMED[e];
    const m = /^([a-z])(acute|grave|circ|uml|tilde)$/i.exec(e);
    if (m) return (m[1] + ACCENTS[m[2]]).normalize('NFC');
    return '';
  });
}

/**
 * Normalises one paragraph's characters and spacing: NFC, typographic quotes to ASCII,
 * "--" to an em dash, invisible characters removed, _underscore emphasis_ unwrapped,
 * spaces before punctuation and empty brackets removed, white space collapsed.
 */
export function normalise(s) {
  return s
    .normalize('NFC')
    .replace(/[\u00ad\u200b-\u200f\u2060\ufeff\u00b6]/g, '')
    .replace(/[\u00a0\u2000-\u200a\u202f\u205f\u3000\t\r\n\f\v\u2028\u2029]/g, ' ')
    .replace(/([\u201c\u2018])\s+/g, '$1').replace(/\s+([\u201d])/g, '$1')
    .replace(/[\u2018\u2019\u201a\u201b\u2032]/g, "'")
    .replace(/[\u201c\u201d\u201e\u201f\u2033]/g, '"')
    .replace(/\s*--+\s*/g, ' — ')
    .replace(/(^|[\s("'\u2014])_([^_]+?)_(?=$|[\s.,;:!?)"'\u2014])/g, '$1$2')
    .replace(/\s+/g, ' ')
    .replace(/\(\s*[,;]?\s*\)|\[\s*\]/g, '')
    .replace(/\s+([,.;:!?])(?=$|\s|["')\]])/g, '$1')
    .replace(/([,;:])(?=[,;:.])/g, '')
    .replace(/(\p{Ll}{3,})\.(?=[,;])/gu, '$1')
    .replace(/([^.])\.\.(?!\.)/g, '$1.')
    .replace(/([,;])(?=\p{L})/gu, '$1 ')
    .replace(/^[\s\u2014\u2013\-:;,.]+/, '')
    .replace(/^(?:\(?\d{1,2}[.)]|\(?[a-z][.)]|[IVX]{1,4}\.)\s+(?=["'(]?\p{Lu})/u, '')
    .replace(/\(\s+/g, '(').replace(/\s+\)/g, ')')
    .replace(/\s+/g, ' ')
    .trim();
}

const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'st', 'sr', 'jr', 'prof', 'rev', 'gen', 'col', 'capt', 'lt', 'sgt',
  'hon', 'messrs', 'mme', 'mlle', 'vs', 'etc', 'cf', 'viz', 'ibid', 'al', 'no', 'nos', 'vol',
  'vols', 'ch', 'chap', 'ver', 'fig', 'p', 'pp', 'ed', 'eds', 'esp', 'approx', 'dept', 'inc',
  'ltd', 'co', 'corp', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct',
  'nov', 'dec', 'mt', 'ps', 'matt', 'rom', 'cor', 'heb', 'isa', 'jer', 'ezek', 'dan', 'deut',
  'exod', 'lev', 'num', 'prov', 'eccl', 'eph', 'phil', 'col', 'thess', 'tim', 'jas', 'pet',
]);

/** Splits text into sentences at ., ! or ? followed by space and a capital (or quote/bracket). */
export function splitSentences(text) {
  const out = [];
  const re = /([.!?…]+)(["')\]]*)\s+(?=["'(\[]*[A-Z0-9])/g;
  let start = 0;
  let m;
  while ((m = re.exec(text))) {
    const end = m.index + m[1].length + m[2].length;
    if (m[1] === '.' && !m[2]) {
      const before = /(\S+)$/.exec(text.slice(start, m.index))?.[1] ?? '';
      const word = before.replace(/^["'(\[]+/, '').toLowerCase();
      // Abbreviations, initials (J. R.), and dotted forms (e.g., U.S.) do not end a sentence.
      if (ABBREVIATIONS.has(word) || /^[a-z]$/i.test(word) || /^([a-z]\.)+[a-z]$/i.test(word)) continue;
    }
    out.push(text.slice(start, end).trim());
    start = re.lastIndex;
  }
  const rest = text.slice(start).trim();
  if (rest) out.push(rest);
  return out;
}

export const wordCount = (s) => (s.match(/\S+/g) ?? []).length;

/**
 * Splits a paragraph longer than MAX_WORDS into lines of whole sentences, each at most about
 * MAX_WORDS (balanced: n lines of about equal length). A single sentence longer than that is
 * split at semicolons/colons, and failing that at a word boundary.
 */
export function splitParagraph(p, max = MAX_WORDS) {
  const total = wordCount(p);
  if (total <= max) return [p];
  let units = splitSentences(p).flatMap((s) => (wordCount(s) <= max ? [s] : splitClauses(s, max)));
  const n = Math.ceil(total / max);
  const target = total / n;
  const lines = [];
  let cur = [], curWords = 0;
  for (const u of units) {
    const w = wordCount(u);
    if (curWords > 0 && (curWords + w > max || curWords + w / 2 > target)) {
      lines.push(cur.join(' '));
      cur = []; curWords = 0;
    }
    cur.push(u); curWords += w;
  }
  if (cur.length) lines.push(cur.join(' '));
  return lines;
}

function splitClauses(s, max) {
  const parts = s.split(/(?<=[;:])\s+/);
  const out = [];
  let cur = '';
  for (const part of parts) {
    if (cur && wordCount(cur) + wordCount(part) > max) { out.push(cur); cur = part; } else cur = cur ? `${cur} ${part}` : part;
  }
  if (cur) out.push(cur);
  return out.flatMap((c) => {
    const words = c.split(' ');
    if (words.length <= max) return [c];
    const chunks = [];
    const n = Math.ceil(words.length / max), size = Math.ceil(words.length / n);
    for (let i = 0; i < words.length; i += size) chunks.push(words.slice(i, i + size).join(' '));
    return chunks;
  });
}

const CODE_CHARS = /[{}<>=_\\|#$^*~`@]/;

/** Whether a token looks like code: identifiers with dots/underscores/brackets, operators. */
export function codeLike(token) {
  const t = token.replace(/^["'(\[]+|["')\],.;:!?]+$/g, '');
  if (!t) return false;
  if (CODE_CHARS.test(t)) return true;
  if (/\(\)|\w\(|\)\w/.test(t)) return true;
  if (/[a-z0-9]\.[a-z_]/i.test(t) && !/^([a-z]\.)+[a-z]?$/i.test(t) && !/^\d+(\.\d+)+$/.test(t)) return true;
  if (/^\/\w|\w\/\w+\//.test(t)) return true;
  if (/^-{1,2}[a-z]/.test(t)) return true;
  return false;
}

/**
 * Whether a cleaned line reads as prose: enough words, ends like a sentence, mostly
 * letters, not shouting, few digits, no URLs, next to no code-looking tokens.
 * Returns null when it is prose, else the reason it is not (for the summary).
 */
export function notProse(line) {
  const tokens = line.split(' ');
  const words = tokens.filter((t) => /\p{L}/u.test(t));
  if (words.length < MIN_WORDS) return 'short';
  if (!/[.!?…]["')\]]*$/.test(line)) return 'no-end';
  if (/https?:|www\.|\w@\w+\./.test(line)) return 'url';
  const letters = (line.match(/\p{L}/gu) ?? []).length;
  const nonSpace = line.replace(/\s/g, '').length;
  if (letters / nonSpace < 0.75) return 'symbols';
  const upper = (line.match(/\p{Lu}/gu) ?? []).length;
  if (upper / letters > 0.4) return 'caps';
  const digits = (line.match(/\d/g) ?? []).length;
  if (digits / nonSpace > 0.1) return 'digits';
  const code = tokens.filter(codeLike).length;
  if (code > 0 && code / tokens.length > 0.08) return 'code';
  if (!/\p{L}/u.test(line[0]) && !/^["'(\[]/.test(line)) return 'start';
  return null;
}

/** Stable 32-bit unsigned hash of a string (first 4 bytes of SHA-1 of its UTF-8). */
export function hash32(s) {
  return createHash('sha1').update(s).digest().readUInt32BE(0);
}

/** A seeded pseudo-random generator (mulberry32) returning floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle in place with a seeded generator. */
export function shuffle(array, seed) {
  const r = rng(seed);
  for (let i = array.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [array[i], array[j]] = [array[j], array[i]];
  }
  return array;
}

/**
 * Joins a paragraph that stops mid-sentence (ends in a comma, colon, semicolon, dash or a
 * word) with the one after it: in running text (scripture set as verse, a speech announced
 * with "she said:") the sentence goes on there.
 */
export function joinOpenParagraphs(paragraphs) {
  const out = [];
  let pending = '';
  for (const raw of paragraphs) {
    const p = normalise(raw);
    if (!p) continue;
    pending = pending ? `${pending} ${p}` : p;
    const open = /[,;:\u2014\u2013-]["']?$/.test(pending) || (/\p{Ll}$/u.test(pending) && wordCount(pending) >= MIN_WORDS);
    if (!open) { out.push(pending); pending = ''; }
  }
  if (pending) out.push(pending);
  return out;
}

/**
 * Turns raw paragraphs into corpus lines: normalise, split long ones, keep prose only.
 * `stats` (optional) counts dropped lines by reason; `rejected` (optional) collects them.
 */
export function paragraphsToLines(paragraphs, stats, rejected) {
  const out = [];
  for (const raw of paragraphs) {
    const p = normalise(raw);
    if (!p) continue;
    for (const line of splitParagraph(p)) {
      const why = notProse(line);
      if (why) {
        if (stats) stats[why] = (stats[why] ?? 0) + 1;
        rejected?.push(`${why}\t${line}`);
        continue;
      }
      out.push(line);
    }
  }
  return out;
}
