/**
 * Running text for masked-language modelling: a `.txt` file (one document or paragraph per
 * line) or one text column of a table. Bytes that are not UTF-8 are refused with their
 * line; a line too long to tokenize at once is split at whitespace, not refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from './errors';
import { readTable } from './table';

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
  if (ext === '.txt' || ext === '') docs = readTextLines(file);
  else {
    if (!column) throw new DataError(file, undefined, 'a table needs `task.text`: the column that holds the text');
    const table = readTable(file, { columns: [column] });
    docs = table.rows.map((r) => ({ line: r.line, text: String(r.cells[0] ?? '') }));
  }
  const out = docs.flatMap((d) => splitLong(d)).filter((d) => d.text.trim() !== '');
  if (out.length === 0) throw new DataError(file, undefined, 'the corpus is empty: no line holds any text');
  return out;
}

function readTextLines(file: string): TextDocument[] {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(file, undefined, code === 'ENOENT' ? 'data file not found' : code === 'EISDIR' ? 'is a folder, not a text file' : `cannot be read (${(e as Error).message})`);
  }
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new DataError(file, firstBadLine(bytes), 'is not UTF-8 text (an invalid byte sequence on this line)');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.split(/\r?\n/).map((t, i) => ({ line: i + 1, text: t }));
}

/** The 1-based line of the first byte sequence that is not UTF-8. */
function firstBadLine(bytes: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line - 1;
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
