/** Reading .csv/.tsv/.jsonl data files: quoting, line ends, BOM, and located errors. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { DataError, parseTable, readTable, tableFormatOf, type TableFormat } from '../../../engine/data/table';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-table-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

/** The DataError a parse throws, for checking its location and message. */
function errorOf(text: string, format: TableFormat, columns?: readonly string[]): DataError {
  try {
    parseTable(text, 'data.' + format, format, columns ? { columns } : {});
  } catch (e) {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a DataError');
}

const texts = (text: string, format: TableFormat): unknown[][] => parseTable(text, 'f', format).rows.map((r) => [...r.cells]);
const lines = (text: string, format: TableFormat): number[] => parseTable(text, 'f', format).rows.map((r) => r.line);

describe('CSV (RFC 4180)', () => {
  test('quoted commas, doubled quotes and quoted line breaks; rows keep the line they start on', () => {
    const csv = 'id,text,label\n1,"hello, world",pos\n2,"she said ""hi""",neg\n3,"line one\nline two",pos\n4,plain,neg\n';
    assert.deepEqual(texts(csv, 'csv'), [
      ['1', 'hello, world', 'pos'],
      ['2', 'she said "hi"', 'neg'],
      ['3', 'line one\nline two', 'pos'],
      ['4', 'plain', 'neg'],
    ]);
    assert.deepEqual(lines(csv, 'csv'), [2, 3, 4, 6]);
  });

  test('empty quoted fields, a field that is one quote, and a quoted field spanning three lines', () => {
    const csv = 'a,b\n"",""""\n"x\n\ny",z\n';
    assert.deepEqual(texts(csv, 'csv'), [
      ['', '"'],
      ['x\n\ny', 'z'],
    ]);
    assert.deepEqual(lines(csv, 'csv'), [2, 3]);
  });

  test('CRLF line ends, also inside a quoted field (read as \\n), and no final line end', () => {
    const csv = 'a,b\r\n1,2\r\n"x\r\ny",3\r\nlast,4';
    assert.deepEqual(texts(csv, 'csv'), [
      ['1', '2'],
      ['x\ny', '3'],
      ['last', '4'],
    ]);
  });

  test('a byte-order mark does not become part of the first column name', () => {
    const t = parseTable('\uFEFFsentence,label\nok,1\n', 'f.csv', 'csv');
    assert.deepEqual(t.columns, ['sentence', 'label']);
  });

  test('header names are trimmed; blank lines are skipped', () => {
    const t = parseTable(' text , label\n\nhi,1\n   \nyo,0\n\n', 'f.csv', 'csv');
    assert.deepEqual(t.columns, ['text', 'label']);
    assert.deepEqual(t.rows.map((r) => [r.line, ...r.cells]), [
      [3, 'hi', '1'],
      [5, 'yo', '0'],
    ]);
  });

  test('a ragged row after a multi-line record is reported at its own first line', () => {
    const e = errorOf('a,b\n"x\ny",1\n"p\nq"\n', 'csv');
    assert.equal(e.line, 4);
    assert.equal(e.file, 'data.csv');
    assert.match(e.message, /^data\.csv:4: expected 2 fields \(as in the header\), found 1$/);
  });

  test('a quote never closed is reported where it opened', () => {
    const e = errorOf('a,b\n1,2\n"open,3\n4,5\n', 'csv');
    assert.equal(e.line, 3);
    assert.match(e.detail, /never closed/);
  });
});

describe('TSV (tab-separated, quotes are text)', () => {
  test('quotes are ordinary characters, as in GLUE files with unbalanced quotes', () => {
    const tsv = 'text\tlabel\n"hello\t1\nworld"\t0\nsay ""hi""\t1\n';
    assert.deepEqual(texts(tsv, 'tsv'), [
      ['"hello', '1'],
      ['world"', '0'],
      ['say ""hi""', '1'],
    ]);
  });

  test('a ragged row names its line and the field counts', () => {
    const e = errorOf('a\tb\n1\t2\n3\n4\t5\n', 'tsv');
    assert.equal(e.line, 3);
    assert.match(e.detail, /expected 2 fields \(as in the header\), found 1 \(fields are separated by tabs\)/);
    const extra = errorOf('a\tb\n1\t2\n3\t4\n5\t6\t7\n', 'tsv');
    assert.equal(extra.line, 4);
    assert.match(extra.detail, /found 3/);
  });

  test('a line of tabs is a row of empty fields, not a blank line', () => {
    assert.deepEqual(texts('a\tb\tc\n\t\t\nx\ty\tz\n', 'tsv'), [
      ['', '', ''],
      ['x', 'y', 'z'],
    ]);
    assert.equal(errorOf('a\tb\tc\n\t\nx\ty\tz\n', 'tsv').line, 2);
  });

  test('CRLF and BOM', () => {
    const t = parseTable('\uFEFFsentence\tlabel\r\nfine\t1\r\n', 'f.tsv', 'tsv');
    assert.deepEqual(t.columns, ['sentence', 'label']);
    assert.deepEqual(t.rows.map((r) => [...r.cells]), [['fine', '1']]);
  });
});

describe('columns and header problems', () => {
  test('the columns option picks and orders columns', () => {
    const t = parseTable('a,b,c\n1,2,3\n', 'f.csv', 'csv', { columns: ['c', 'a'] });
    assert.deepEqual(t.columns, ['c', 'a']);
    assert.deepEqual(t.rows[0]!.cells, ['3', '1']);
  });

  test('a missing column is reported on the header line with the columns there are', () => {
    const e = errorOf('sentence\tlabel\nx\t1\n', 'tsv', ['sentence', 'labels']);
    assert.equal(e.line, 1);
    assert.match(e.detail, /missing column "labels" \(the header has: sentence, label\)/);
  });

  test('a column named twice in the header', () => {
    const e = errorOf('a,b,a\n1,2,3\n', 'csv');
    assert.equal(e.line, 1);
    assert.match(e.detail, /"a" twice/);
  });

  test('empty files and files with only a header', () => {
    for (const [text, format] of [['', 'csv'], ['\n  \n', 'tsv'], ['\uFEFF', 'csv'], ['', 'jsonl'], ['\n\n', 'jsonl']] as const) {
      const e = errorOf(text, format);
      assert.equal(e.line, 1, JSON.stringify(text));
      assert.match(e.detail, /the file is empty/);
    }
    assert.match(errorOf('a,b\n', 'csv').detail, /header line but no rows/);
  });
});

describe('JSONL', () => {
  test('one object per line, blank lines skipped, values keep their JSON type', () => {
    const t = parseTable('{"text":"a","label":1}\n\n{"text":"b","label":"x","extra":[1]}\r\n', 'f.jsonl', 'jsonl');
    assert.deepEqual(t.columns, ['text', 'label']);
    assert.deepEqual(t.rows.map((r) => [r.line, ...r.cells]), [
      [1, 'a', 1],
      [3, 'b', 'x'],
    ]);
  });

  test('invalid JSON is reported with its line', () => {
    const e = errorOf('{"a":1}\n\n{"a":2}\n{"a":\n', 'jsonl');
    assert.equal(e.line, 4);
    assert.match(e.message, /^data\.jsonl:4: invalid JSON: /);
  });

  test('a line that is not an object, a missing key, a nested value', () => {
    const notObject = errorOf('{"a":1}\n[1,2]\n', 'jsonl');
    assert.equal(notObject.line, 2);
    assert.match(notObject.detail, /expected a JSON object, found an array/);
    const missing = errorOf('{"text":"x","label":1}\n{"text":"y"}\n', 'jsonl');
    assert.equal(missing.line, 2);
    assert.match(missing.detail, /missing column "label" \(this line has: text\)/);
    const nested = errorOf('{"text":{"x":1}}\n', 'jsonl', ['text']);
    assert.equal(nested.line, 1);
    assert.match(nested.detail, /column "text" holds an object/);
  });

  test('a byte-order mark before the first object', () => {
    assert.deepEqual(parseTable('\uFEFF{"a":1}\n', 'f', 'jsonl').columns, ['a']);
  });
});

describe('readTable on files', () => {
  test('the format comes from the extension; .json and others are refused', () => {
    assert.equal(tableFormatOf('/x/train.TSV'), 'tsv');
    assert.equal(tableFormatOf('d.jsonl'), 'jsonl');
    assert.throws(() => tableFormatOf('train.json'), (e: unknown) => e instanceof DataError && /SQuAD/.test(e.message));
    assert.throws(() => tableFormatOf('train.txt'), DataError);
  });

  test('a missing file and a folder are DataErrors naming the path, without a line', () => {
    const missing = path.join(dir, 'nope.tsv');
    assert.throws(
      () => readTable(missing),
      (e: unknown) => e instanceof DataError && e.file === missing && e.line === undefined && e.message.startsWith(missing) && /not found/.test(e.message),
    );
    const folder = path.join(dir, 'folder.csv');
    fs.mkdirSync(folder);
    assert.throws(() => readTable(folder), (e: unknown) => e instanceof DataError && /folder/.test(e.message));
  });

  test('a file larger than one read chunk, with multi-byte characters across chunk boundaries, reads the same as its text', () => {
    const rows: string[] = ['id,text,label'];
    // 3-byte and 4-byte characters at every offset, so some straddle the 1 MiB chunk edges.
    for (let i = 0; i < 70000; i++) rows.push(`${i},"日本語 😀 é ${'x'.repeat(i % 7)}, ""q""",${i % 3}`);
    const text = '\uFEFF' + rows.join('\r\n') + '\r\n';
    assert.ok(Buffer.byteLength(text) > 2 * (1 << 20));
    const file = write('big.csv', text);
    const fromFile = readTable(file);
    const fromText = parseTable(text, file, 'csv');
    assert.equal(fromFile.rows.length, 70000);
    assert.deepEqual(fromFile, fromText);
    assert.equal(fromFile.rows[69999]!.cells[1], `日本語 😀 é ${'x'.repeat(69999 % 7)}, "q"`);
  });

  test('errors from files carry the file path and line', () => {
    const file = write('ragged.tsv', 'a\tb\r\n1\t2\r\n3\r\n');
    assert.throws(() => readTable(file), (e: unknown) => e instanceof DataError && e.file === file && e.line === 3 && e.message.startsWith(`${file}:3: `));
  });
});
