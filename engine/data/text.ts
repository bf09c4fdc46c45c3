/**
 * Plain-text corpora: `.txt` files of UTF-8 text, one document or paragraph per line.
 * Bytes that are not UTF-8 are refused with the line (and the byte in it) where they are,
 * rather than decoded into U+FFFD, which would quietly become part of the text.
 */
import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from './errors';

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
