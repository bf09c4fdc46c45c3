/**
 * Plain-text corpora: `.txt` files of UTF-8 text, one document or paragraph per line (or one
 * text column of a table), for masked-language modelling and vocabulary training. Bytes that
 * are not UTF-8 are refused with the line (and the byte in it) where they are, rather than
 * decoded into U+FFFD, which would quietly become part of the text; a line too long to
 * tokenize at once is split at whitespace, not refused.
 */
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from './errors';
import { readTable } from './table';

/** Checks that a corpus file exists, is a file and is named `.txt`, without reading it. */
export function checkTextFile(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new DataError(file, undefined, 'file not found');
  }
  if (!stat.isFile()) throw new DataError(file, undefined, 'not a file');
  if (path.extname(file).toLowerCase() !== '.txt') throw new DataError(file, undefined, 'expected a .txt file of plain text, one document or paragraph per line');
}

/** The text of a UTF-8 file, without a byte-order mark. */
export function readTextFile(file: string): string {
  checkTextFile(file);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new DataError(file, undefined, `cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (!isUtf8(bytes)) {
    const at = firstInvalidUtf8(bytes);
    const lineStart = bytes.lastIndexOf(0x0a, at - 1) + 1;
    let line = 1;
    for (let i = bytes.indexOf(0x0a); i >= 0 && i < at; i = bytes.indexOf(0x0a, i + 1)) line++;
    const hex = bytes[at].toString(16).toUpperCase().padStart(2, '0');
    throw new DataError(file, line, `not UTF-8: byte 0x${hex} at byte ${at - lineStart + 1} of the line (save the file as UTF-8)`);
  }
  const text = bytes.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Offset of the first byte that does not belong to a well-formed UTF-8 sequence (overlong
 * forms, surrogates and code points past U+10FFFF are ill-formed); bytes.length if none.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return i;
    if (i + need >= n) return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      const [min, max] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (c < min || c > max) return i;
    }
    i += need + 1;
  }
  return n;
}

/** Lines longer than this (in UTF-16 units) are cut at a space near it. */
export const MAX_DOCUMENT_CHARS = 20_000;

export interface TextDocument {
  /** 1-based line the document comes from. */
  readonly line: number;
  readonly text: string;
}

/** The documents of a text file (`.txt`) or of `column` in a table (`.tsv`, `.csv`, `.jsonl`); blank lines skipped. */
export function readDocuments(file: string, column?: string): TextDocument[] {
  const ext = path.extname(file).toLowerCase();
  let docs: TextDocument[];
  if (ext === '.txt') docs = readTextFile(file).split(/\r?\n/).map((text, i) => ({ line: i + 1, text }));
  else {
    if (!column) throw new DataError(file, undefined, 'a table needs `task.text`: the column that holds the text');
    const table = readTable(file, { columns: [column] });
    docs = table.rows.map((r) => ({ line: r.line, text: String(r.cells[0] ?? '') }));
  }
  const out = docs.flatMap((d) => splitLong(d)).filter((d) => d.text.trim() !== '');
  if (out.length === 0) throw new DataError(file, undefined, 'the corpus is empty: no line holds any text');
  return out;
}

function splitLong(d: TextDocument): TextDocument[] {
  if (d.text.length <= MAX_DOCUMENT_CHARS) return [d];
  const parts: TextDocument[] = [];
  let rest = d.text;
  while (rest.length > MAX_DOCUMENT_CHARS) {
    const space = rest.lastIndexOf(' ', MAX_DOCUMENT_CHARS);
    const cut = space > MAX_DOCUMENT_CHARS / 2 ? space : MAX_DOCUMENT_CHARS;
    parts.push({ line: d.line, text: rest.slice(0, cut) });
    rest = rest.slice(cut);
  }
  parts.push({ line: d.line, text: rest });
  return parts;
}
