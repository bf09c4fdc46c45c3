/** AdapterDrop's three training regimes: standard, robust and specialized runs, and their curves in one place. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveExperiment, type Experiment } from '../../../engine/config/experiment';
import type { DropRegimesJobEvent } from '../../../engine/events';
import { replayJob } from '../../../engine/runs/replay';
import { REGIMES_FILE, runDropRegimes } from '../../../engine/jobs/dropRegimes';
import { Workspace } from '../../support/fixtures';

describe('drop regimes', () => {
  let ws: Workspace;
  let e: Experiment;
  before(() => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 32, 1);
    ws.sentiment('dev.tsv', 20, 2);
    e = resolveExperiment({ name: 'regimes', model: 'builtin:tiny-bert', task: { kind: 'classification', train: './train.tsv', validation: './dev.tsv', text: 'sentence', label: 'label', max_length: 24 }, adapter: { size: 4 }, training: { epochs: 1, batch_size: 8, learning_rate: 1e-2 } }, ws.root);
  });
  after(() => ws.dispose());

  const lastValidation = (runDir: string): number => {
    const records = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; value: number });
    return records.filter((r) => r.type === 'evaluation').pop()!.value;
  };

  test('standard and robust curves over n = 0..L, specialized runs at their own n; all stored as drop curves', async () => {
    const events: DropRegimesJobEvent[] = [];
    const r = await runDropRegimes({ experiment: e, source: '', runsDir: ws.path('runs'), specialized: [2, 1], threads: 1, emit: (ev) => events.push(ev) });
    assert.equal(r.status, 'completed', r.message);
    // The job's own start and end around its runs and curves; the summary and the specialized curve reported.
    const first = events[0]!;
    const last = events[events.length - 1]!;
    assert.ok(first.type === 'start' && first.job === 'drop-regimes' && first.runDir === r.dir);
    assert.deepEqual([first.specialized, first.runs, first.layers], [[1, 2], 4, 4]);
    assert.ok(last.type === 'end' && last.status === 'completed' && last.run === path.basename(r.dir) && last.steps === 4);
    assert.deepEqual(events.filter((ev) => ev.type === 'start').map((ev) => (ev.type === 'start' ? ev.job : '')), ['drop-regimes', 'train', 'drop-curve', 'train', 'drop-curve', 'train', 'train']);
    assert.equal(events.filter((ev) => ev.type === 'end').length, 7, 'every start is ended');
    assert.deepEqual(events.filter((ev) => ev.type === 'artifact').slice(-2).map((ev) => (ev.type === 'artifact' ? [ev.kind, ev.path] : [])), [['drop-curve', path.join(r.dir, 'specialized', 'drop-curve.json')], ['regimes', path.join(r.dir, REGIMES_FILE)]]);
    assert.deepEqual(r.curves.map((c) => c.regime), ['standard', 'robust', 'specialized']);
    const [standard, robust, specialized] = r.curves;
    for (const c of [standard!, robust!]) assert.deepEqual(c.points.map((p) => p.n), [0, 1, 2, 3, 4]);
    assert.deepEqual(specialized!.points.map((p) => p.n), [0, 1, 2]);
    const runs = fs.readdirSync(path.join(r.dir, 'runs'));
    const runOf = (prefix: string) => path.join(r.dir, 'runs', runs.find((d) => d.startsWith(prefix))!);
    // Every point is a validation metric the runs themselves recorded.
    assert.equal(standard!.points[0]!.value, lastValidation(runOf('standard-')));
    assert.equal(robust!.points[0]!.value, lastValidation(runOf('robust-')));
    assert.equal(specialized!.points[0]!.value, standard!.points[0]!.value, 'n = 0 is the standard adapter');
    assert.equal(specialized!.points[1]!.value, lastValidation(runOf('static-n1-')));
    assert.equal(specialized!.points[2]!.value, lastValidation(runOf('static-n2-')));
    // The regimes are what they say: robust drops at random, specialized statically.
    const drop = (prefix: string) => (JSON.parse(fs.readFileSync(path.join(runOf(prefix), 'config.json'), 'utf8')) as { experiment: Experiment }).experiment.drop;
    assert.equal(drop('robust-').mode, 'robust');
    assert.deepEqual([drop('static-n2-').mode, drop('static-n2-').layers], ['static', { kind: 'layers', parts: [{ from: 0, to: 1, range: { start: 0, end: 0 }, text: '0..1' }] }]);
    assert.equal(drop('standard-').layers.kind, 'none');
    // All three curves read like any drop curve; the summary is on disk.
    for (const file of [path.join(runOf('standard-'), 'drop-curve.json'), path.join(runOf('robust-'), 'drop-curve.json'), path.join(r.dir, 'specialized', 'drop-curve.json')]) {
      const ablation = replayJob(file).events.filter((ev) => ev.type === 'ablation');
      assert.ok(ablation.length >= 2, file);
    }
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(r.dir, REGIMES_FILE), 'utf8')).curves, r.curves);
  });

  test('an n that leaves no adapter (or none dropped) is refused before anything runs', async () => {
    await assert.rejects(runDropRegimes({ experiment: e, source: '', runsDir: ws.path('bad'), specialized: [4], threads: 1, emit: () => undefined }), /between 1 and 3/);
    assert.equal(fs.existsSync(ws.path('bad')), false);
  });
});
