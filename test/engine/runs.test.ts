/** `adapter-lab runs`: list, show and delete over a runs folder, never deleting a live run or sweep. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { acquireRunLock } from '../../engine/runs/lock';
import { Workspace } from '../support/fixtures';
import { REPO_ROOT } from '../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const run = (args: string[], cwd: string) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });

describe('adapter-lab runs', () => {
  let ws: Workspace;
  const DEAD_PID = 2 ** 22 + 12345;
  const runFolder = (name: string, status: string, pid: number, values: number[] = []) => {
    ws.write(`.adapter-lab/runs/${name}/status.json`, JSON.stringify({ status, started: '2026-11-22T10:00:00.000Z', step: 12, pid }));
    ws.write(`.adapter-lab/runs/${name}/config.json`, JSON.stringify({ experiment: { name: 'exp', method: 'adapter', task: { metric: 'accuracy' } } }));
    const records = values.flatMap((value, i) => [{ type: 'step', step: 4 * (i + 1) }, { type: 'evaluation', step: 4 * (i + 1), value }]);
    ws.write(`.adapter-lab/runs/${name}/metrics.jsonl`, records.map((r) => JSON.stringify(r) + '\n').join('') + (values.length ? '{"type":"step","ste' : ''));
  };
  const sweepFolder = (name: string, status: string, pid: number, accuracies: number[]) => {
    ws.write(`.adapter-lab/runs/${name}/sweep.json`, JSON.stringify({ name: 'exp', metric: 'accuracy', trials: [{}, {}, {}] }));
    ws.write(`.adapter-lab/runs/${name}/status.json`, JSON.stringify({ status, started: '2026-11-22T11:00:00.000Z', pid, host: 'h', trials: { total: 3, done: accuracies.length, failed: 0 } }));
    ws.write(`.adapter-lab/runs/${name}/trials.jsonl`, accuracies.map((accuracy, index) => JSON.stringify({ index, status: 'completed', metrics: { accuracy } }) + '\n').join(''));
  };
  before(() => {
    ws = new Workspace();
    // The best evaluation (0.8125 after epoch 2) is what the run is worth, not the last (0.75).
    runFolder('a-done', 'completed', 1, [0.5, 0.8125, 0.75]);
    // A run killed without a chance to say so: "running", but its process is gone.
    runFolder('b-killed', 'running', DEAD_PID);
    runFolder('c-live', 'running', process.pid);
    ws.write('.adapter-lab/runs/d-junk/notes.txt', 'not a run');
    // Every trial recorded, yet the sweep's own status decides: it was killed before it could finish.
    sweepFolder('e-sweep', 'running', DEAD_PID, [0.7, 0.9, 0.6]);
    sweepFolder('f-sweep-live', 'running', process.pid, [0.7]);
    sweepFolder('g-sweep-done', 'completed', DEAD_PID, [0.6, 0.65, 0.55]);
  });
  after(() => ws.dispose());

  test('list: runs with status and best validation value, killed runs and sweeps as interrupted, sweeps by their status, unreadable folders', () => {
    const r = run(['runs', 'list'], ws.root);
    assert.equal(r.status, 0);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'a-done  run  completed  adapter  accuracy 0.8125',
      'b-killed  run  interrupted  adapter',
      'c-live  run  running  adapter',
      'd-junk  unreadable  unknown',
      'e-sweep  sweep  interrupted  3 trials  accuracy 0.9000',
      'f-sweep-live  sweep  running  3 trials  accuracy 0.7000',
      'g-sweep-done  sweep  completed  3 trials  accuracy 0.6500',
    ]);
  });

  test('show: a sweep carries its pid, start and progress from status.json', () => {
    const r = run(['runs', 'show', 'f-sweep-live'], ws.root);
    assert.equal(r.status, 0);
    const entry = JSON.parse(r.stdout) as { kind: string; status: string; pid: number; started: string; progress: { done: number; failed: number } };
    assert.deepEqual([entry.kind, entry.status, entry.pid, entry.started, entry.progress], ['sweep', 'running', process.pid, '2026-11-22T11:00:00.000Z', { done: 1, failed: 0 }]);
  });

  test('delete refuses a live sweep, and a finished run that another job holds the lock of', () => {
    const live = run(['runs', 'delete', 'f-sweep-live', '--yes'], ws.root);
    assert.equal(live.status, 1);
    assert.match(live.stderr, new RegExp(`f-sweep-live is running \\(pid ${process.pid}\\)`));
    assert.ok(fs.existsSync(ws.path('.adapter-lab/runs/f-sweep-live/sweep.json')));
    // An ablation (say) writing into a completed run: this process holds its lock.
    const lock = acquireRunLock(ws.path('.adapter-lab/runs/g-sweep-done'), 'ablate');
    try {
      const held = run(['runs', 'delete', 'g-sweep-done', '--yes'], ws.root);
      assert.equal(held.status, 1);
      assert.match(held.stderr, new RegExp(`in use by ablate \\(pid ${process.pid}\\)`));
    } finally {
      lock.release();
    }
    assert.equal(run(['runs', 'delete', 'e-sweep', '--yes'], ws.root).status, 0, 'a killed sweep can be deleted');
    assert.ok(!fs.existsSync(ws.path('.adapter-lab/runs/e-sweep')));
  });

  test('show prints one entry as JSON; a missing one is a clear error', () => {
    const r = run(['runs', 'show', 'a-done'], ws.root);
    assert.equal(r.status, 0);
    const entry = JSON.parse(r.stdout) as { steps: number; metric: { value: number } };
    assert.deepEqual([entry.steps, entry.metric.value], [12, 0.8125]);
    assert.equal(run(['runs', 'show', 'nope'], ws.root).status, 2);
  });

  test('delete needs --yes, refuses a live run and folders that are not runs', () => {
    const dir = ws.path('.adapter-lab/runs/b-killed');
    const dry = run(['runs', 'delete', 'b-killed'], ws.root);
    assert.equal(dry.status, 1);
    assert.match(dry.stderr, /add --yes/);
    assert.ok(fs.existsSync(dir));
    const live = run(['runs', 'delete', 'c-live', '--yes'], ws.root);
    assert.equal(live.status, 1);
    assert.match(live.stderr, /is running \(pid \d+\); stop it first/);
    assert.ok(fs.existsSync(ws.path('.adapter-lab/runs/c-live')));
    assert.equal(run(['runs', 'delete', 'd-junk', '--yes'], ws.root).status, 2);
    assert.ok(fs.existsSync(ws.path('.adapter-lab/runs/d-junk')));
    assert.equal(run(['runs', 'delete', 'b-killed', '--yes'], ws.root).status, 0);
    assert.ok(!fs.existsSync(dir));
  });
});
