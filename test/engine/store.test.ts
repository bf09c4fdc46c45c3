/** The run store's file writes: atomic replacement that leaves nothing behind when it fails. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { writeAtomic, writeJson } from '../../engine/runs/store';

function scratch(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-store-'));
}

test('writeAtomic replaces a file whole, and a large one byte for byte', () => {
  const dir = scratch();
  try {
    const file = path.join(dir, 'status.json');
    writeJson(file, { status: 'running' });
    writeJson(file, { status: 'completed' });
    assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { status: 'completed' });
    const big = Uint8Array.from({ length: 3 * 2 ** 20 + 7 }, (_, i) => (i * 31) & 0xff);
    writeAtomic(path.join(dir, 'weights.bin'), big);
    assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(dir, 'weights.bin'))), big);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['status.json', 'weights.bin']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a write that cannot be put in place throws and leaves no temporary file, and the old content stands', () => {
  const dir = scratch();
  try {
    // A folder where the file should go: the rename fails after the data is written.
    fs.mkdirSync(path.join(dir, 'ablation.json'));
    assert.throws(() => writeJson(path.join(dir, 'ablation.json'), { cells: [] }));
    assert.deepEqual(fs.readdirSync(dir), ['ablation.json']);
    assert.ok(fs.statSync(path.join(dir, 'ablation.json')).isDirectory());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
