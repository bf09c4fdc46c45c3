/** export --onnx checks the file against the engine before writing it: a file that fails the check is never written. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { resolveExperiment } from '../../../engine/config/experiment';
import { EXPORT_TOLERANCE, ExportMismatchError, exportOnnx } from '../../../engine/jobs/export';
import { runTrainJob } from '../../../engine/jobs/train';
import { Workspace } from '../../support/fixtures';

describe('ONNX export', () => {
  let ws: Workspace;
  let run: string;
  before(async () => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 16, 1);
    ws.sentiment('dev.tsv', 8, 2);
    const e = resolveExperiment({ name: 'export-me', model: 'builtin:tiny-bert', task: { kind: 'classification', train: './train.tsv', validation: './dev.tsv', text: 'sentence', label: 'label', max_length: 24 }, adapter: { size: 4 }, training: { epochs: 1, batch_size: 8 } }, ws.root);
    const r = await runTrainJob({ experiment: e, source: '', runsDir: ws.path('runs'), threads: 1, emit: () => undefined });
    assert.equal(r.status, 'completed', r.message);
    run = r.runDir;
  });
  after(() => ws.dispose());

  const leftovers = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')) : []);

  test('a file that fails the check against the engine is refused: nothing written, an existing file untouched', async () => {
    // A negative tolerance: no difference passes, as if the exported graph had drifted from the engine's.
    await assert.rejects(exportOnnx(run, ws.path('out', 'model.onnx'), { threads: 1, tolerance: -1 }), (e: unknown) => e instanceof ExportMismatchError && e.tolerance === -1 && e.maxDifference >= 0);
    assert.equal(fs.existsSync(ws.path('out', 'model.onnx')), false);
    assert.deepEqual(leftovers(ws.path('out')), []);

    ws.write('kept.onnx', 'an earlier export');
    await assert.rejects(exportOnnx(run, ws.path('kept.onnx'), { threads: 1, tolerance: -1 }), ExportMismatchError);
    assert.equal(fs.readFileSync(ws.path('kept.onnx'), 'utf8'), 'an earlier export');
    assert.deepEqual(leftovers(ws.root), [], 'no partial file beside it');

    // The same export within the tolerance is written, and says how close it came.
    const r = await exportOnnx(run, ws.path('kept.onnx'), { threads: 1 });
    assert.equal(r.tolerance, EXPORT_TOLERANCE);
    assert.ok(r.maxDifference <= EXPORT_TOLERANCE && r.checked === 8);
    assert.equal(fs.statSync(ws.path('kept.onnx')).size, r.bytes);
  });
});
