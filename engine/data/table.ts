/**
 * Tabular data files (.tsv, .csv, .jsonl) as rows of named columns.
 *
 * - CSV follows RFC 4180: fields may be quoted, a quoted field may hold commas, doubled
 *   quotes (`""` for `"`) and line breaks. A record that spans lines is reported at the
 *   line it starts on; line breaks inside a quoted field are read as `\n`.
 * - TSV is the IANA `text/tab-separated-values` format: fields are split at tabs and quotes
 *   are ordinary characters. GLUE's .tsv files (MNLI, QQP, SST-2, ...) contain unbalanced
 *   `"` characters, which quote-aware reading would silently merge across lines; Hugging
 *   Face's GLUE readers use no quote character for the same reason, and the validator
 *   reads .tsv headers this way too.
 * - JSONL: one JSON object per line; blank lines are skipped. The columns are the keys
 *   asked for, or else the first object's keys; every line must have each of them.
 * - A UTF-8 byte-order mark is dropped; CRLF and LF line ends are both accepted. Lines that
 *   hold only white space (outside a quoted field) are skipped, except that a .tsv line with
 *   a tab in it is a row (of empty fields).
 * - Header names are trimmed (as the validator trims them); cell values are kept as they are.
 *
 * Files are read in 1 MiB chunks and parsed line by line, so the text of a large file is
 * never held as one string; the rows themselves are kept in memory.
 */
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { dataFormatOf, splitCsvLine } from '../config/projectFiles';
import { DataError } from './errors';

export { DataError } from './errors';

export type TableFormat = 'tsv' | 'csv' | 'jsonl';

/** A cell: text for .tsv/.csv; any JSON scalar for .jsonl. */
export type Cell = string | number | boolean | null;

export interface TableRow {
  /** 1-based line the row starts on. */
  readonly line: number;
  /** One cell per entry of `Table.columns`, in that order. */
  readonly cells: readonly Cell[];
}

export interface Table {
  readonly file: string;
  readonly format: TableFormat;
  /** The columns each row holds: the ones asked for, else every column of the file. */
  readonly columns: readonly string[];
  readonly rows: readonly TableRow[];
}

export interface ReadTableOptions {
  /** Keep only these columns, in this order; each must exist (else a DataError). Default: all. */
  readonly columns?: readonly string[];
  /** The format; by default taken from the file's extension. */
  readonly format?: TableFormat;
}

const CHUNK_BYTES = 1 << 20;

/** Reads a .tsv, .csv or .jsonl file. Every problem is a DataError naming the file and line. */
export function readTable(file: string, options: ReadTableOptions = {}): Table {
  const format = options.format ?? tableFormatOf(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new DataError(file, undefined, 'data file not found');
  }
  if (stat.isDirectory()) throw new DataError(file, undefined, 'expected a data file, found a folder');
  return tableFromLines(fileLines(file), file, format, options);
}

/** Parses the text of a data file (the same rules as readTable; `file` is used in messages). */
export function parseTable(text: string, file: string, format: TableFormat, options: Omit<ReadTableOptions, 'format'> = {}): Table {
  return tableFromLines(stringLines(text), file, format, options);
}

/** The table format of a path, from its extension; a DataError for anything else. */
export function tableFormatOf(file: string): TableFormat {
  const format = dataFormatOf(file);
  if (format === 'tsv' || format === 'csv' || format === 'jsonl') return format;
  const hint = format === 'squad' ? ' (.json is SQuAD data, for span tasks)' : '';
  throw new DataError(file, undefined, `unsupported data format${hint}: use .tsv, .csv or .jsonl`);
}

/** The position of a column in `table.columns`, or a DataError naming the columns there are. */
export function columnIndex(table: Table, column: string): number {
  const i = table.columns.indexOf(column);
  if (i < 0) throw new DataError(table.file, undefined, `missing column "${column}" (columns: ${table.columns.join(', ')})`);
  return i;
}

function tableFromLines(lines: Iterable<string>, file: string, format: TableFormat, options: Omit<ReadTableOptions, 'format'>): Table {
  return format === 'jsonl' ? jsonlTable(lines, file, options.columns) : delimitedTable(lines, file, format, options.columns);
}

interface RawRecord {
  readonly line: number;
  readonly text: string;
}

function delimitedTable(lines: Iterable<string>, file: string, format: 'tsv' | 'csv', wanted: readonly string[] | undefined): Table {
  const split = format === 'csv' ? splitCsvLine : (s: string): string[] => s.split('\t');
  let header: string[] | undefined;
  let picks: number[] = [];
  let columns: readonly string[] = [];
  const rows: TableRow[] = [];
  // A TSV line of tabs is a row of empty fields (reported if it is wrong), not a blank line.
  const blank = format === 'csv' ? (s: string): boolean => s.trim() === '' : (s: string): boolean => !s.includes('\t') && s.trim() === '';
  for (const record of records(lines, file, format === 'csv', blank)) {
    const fields = split(record.text);
    if (header === undefined) {
      header = fields.map((f) => f.trim());
      const seen = new Set<string>();
      for (const name of header) {
        if (seen.has(name)) throw new DataError(file, record.line, `the header names column "${name}" twice`);
        seen.add(name);
      }
      columns = wanted ?? header;
      picks = columns.map((c) => {
        const i = header!.indexOf(c);
        if (i < 0) throw new DataError(file, record.line, `missing column "${c}" (the header has: ${header!.join(', ')})`);
        return i;
      });
      continue;
    }
    if (fields.length !== header.length) {
      throw new DataError(file, record.line, `expected ${header.length} fields (as in the header), found ${fields.length}${format === 'tsv' ? ' (fields are separated by tabs)' : ''}`);
    }
    rows.push({ line: record.line, cells: picks.map((i) => fields[i]!) });
  }
  if (header === undefined) throw new DataError(file, 1, 'the file is empty');
  if (rows.length === 0) throw new DataError(file, 1, 'the file has a header line but no rows');
  return { file, format, columns, rows };
}

/**
 * Groups physical lines into records. With quotes on, a line that leaves a quoted field open
 * continues on the next one: an odd number of `"` opens or closes a field, because a doubled
 * quote inside a field contributes two (the same state splitCsvLine ends in).
 */
function* records(lines: Iterable<string>, file: string, quotes: boolean, blank: (line: string) => boolean): Generator<RawRecord> {
  let lineNo = 0;
  let pending: string | undefined;
  let pendingLine = 0;
  for (const raw of lines) {
    lineNo++;
    const text = lineNo === 1 ? stripBom(raw) : raw;
    if (pending !== undefined) {
      pending += '\n' + text;
      if (quoteCount(text) % 2 === 1) {
        yield { line: pendingLine, text: pending };
        pending = undefined;
      }
    } else if (blank(text)) {
      continue;
    } else if (quotes && quoteCount(text) % 2 === 1) {
      pending = text;
      pendingLine = lineNo;
    } else {
      yield { line: lineNo, text };
    }
  }
  if (pending !== undefined) throw new DataError(file, pendingLine, 'a quoted field opened on this line is never closed');
}

function quoteCount(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++;
  return n;
}

function jsonlTable(lines: Iterable<string>, file: string, wanted: readonly string[] | undefined): Table {
  let columns: readonly string[] | undefined = wanted;
  const rows: TableRow[] = [];
  let lineNo = 0;
  for (const raw of lines) {
    lineNo++;
    const text = lineNo === 1 ? stripBom(raw) : raw;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new DataError(file, lineNo, `invalid JSON: ${(e as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DataError(file, lineNo, `expected a JSON object, found ${describeJson(value)}`);
    }
    const object = value as Record<string, unknown>;
    columns ??= Object.keys(object);
    const cells = columns.map((c): Cell => {
      if (!Object.prototype.hasOwnProperty.call(object, c)) throw new DataError(file, lineNo, `missing column "${c}" (this line has: ${Object.keys(object).join(', ')})`);
      const v = object[c];
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
      throw new DataError(file, lineNo, `column "${c}" holds ${describeJson(v)}; expected a string or a number`);
    });
    rows.push({ line: lineNo, cells });
  }
  if (columns === undefined || rows.length === 0) throw new DataError(file, 1, 'the file is empty');
  return { file, format: 'jsonl', columns, rows };
}

function describeJson(v: unknown): string {
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

/** Lines of a string, without their LF or CRLF ends (a final line end adds no empty line). */
function* stringLines(text: string): Generator<string> {
  let from = 0;
  for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
    yield stripCr(text.slice(from, nl));
    from = nl + 1;
  }
  if (from < text.length) yield stripCr(text.slice(from));
}

/** Lines of a UTF-8 file, read in chunks (multi-byte characters split across chunks are joined by the decoder). */
function* fileLines(file: string): Generator<string> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new DataError(file, undefined, `cannot open the data file: ${(e as Error).message}`);
  }
  try {
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let rest = '';
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      rest += decoder.write(buffer.subarray(0, n));
      let from = 0;
      for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n', from)) {
        yield stripCr(rest.slice(from, nl));
        from = nl + 1;
      }
      rest = rest.slice(from);
    }
    rest += decoder.end();
    if (rest.length > 0) yield stripCr(rest);
  } finally {
    fs.closeSync(fd);
  }
}
