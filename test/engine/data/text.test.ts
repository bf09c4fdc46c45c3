/** Plain-text corpus files: UTF-8 only, with the line of the first bad byte. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { DataError } from '../../../engine/data/errors';
import { checkTextFile, firstInvalidUtf8, readTextFile } from '../../../engine/data/text';
import { Random } from '../../../engine/util/random';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-text-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string | Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

function refusal(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof DataError && pattern.test(e.message));
}

describe('plain-text corpus files', () => {
  test('UTF-8 text comes back without its byte-order mark', () => {
    assert.equal(readTextFile(write('bom.txt', '\ufeffCafé\r\nnaïve\n')), 'Café\r\nnaïve\n');
  });

  test('a byte that is not UTF-8 is refused with its line and place in the line', () => {
    const file = write('latin1.txt', Buffer.concat([Buffer.from('first line\nsecond\nthe caf'), Buffer.from([0xe9]), Buffer.from(' here\n')]));
    refusal(() => readTextFile(file), /latin1\.txt:3: not UTF-8: byte 0xE9 at byte 8 of the line/);
    const err = (() => {
      try {
        readTextFile(file);
      } catch (e) {
        return e as DataError;
      }
    })();
    assert.equal(err?.line, 3);
  });

  test('a missing file, a folder and another extension are refused before reading', () => {
    refusal(() => checkTextFile(path.join(dir, 'missing.txt')), /missing\.txt: file not found/);
    refusal(() => checkTextFile(dir), /not a file/);
    refusal(() => checkTextFile(write('rows.tsv', 'a\tb\n')), /rows\.tsv: expected a \.txt file/);
  });

  test('the first ill-formed byte is where a strict decoder first fails', () => {
    const random = new Random(11);
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const pieces = [[0x61], [0xc3, 0xa9], [0xe2, 0x82, 0xac], [0xf0, 0x9f, 0x98, 0x80], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xff], [0xe2, 0x82]];
    for (let trial = 0; trial < 2000; trial++) {
      const bytes: number[] = [];
      const n = 1 + random.int(6);
      for (let i = 0; i < n; i++) bytes.push(...pieces[random.int(pieces.length)]);
      const buf = Uint8Array.from(bytes);
      const at = firstInvalidUtf8(buf);
      // Everything before it decodes; from it on, it does not.
      assert.doesNotThrow(() => decoder.decode(buf.subarray(0, at)), JSON.stringify(bytes));
      if (at < buf.length) assert.throws(() => decoder.decode(buf.subarray(0, Math.min(buf.length, at + 4))), JSON.stringify(bytes));
      else assert.doesNotThrow(() => decoder.decode(buf));
    }
  });
});
