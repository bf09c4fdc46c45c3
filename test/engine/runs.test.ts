/** `adapter-lab runs`: list, show and delete over a runs folder, never deleting a live run. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Workspace } from '../support/fixtures';
import { REPO_ROOT } from '../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const run = (args: string[], cwd: string) => spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });

describe('adapter-lab runs', () => {
  let ws: Workspace;
  const runFolder = (name: string, status: string, pid: number, value?: number) => {
    ws.write(`.adapter-lab/runs/${name}/status.json`, JSON.stringify({ status, started: '2026-11-22T10:00:00.000Z', step: 12, pid }));
    ws.write(`.adapter-lab/runs/${name}/config.json`, JSON.stringify({ experiment: { name: 'exp', method: 'adapter', task: { metric: 'accuracy' } } }));
    ws.write(`.adapter-lab/runs/${name}/metrics.jsonl`, value === undefined ? '' : `${JSON.stringify({ type: 'step', step: 12 })}\n${JSON.stringify({ type: 'evaluation', value })}\n{"type":"step","ste`);
  };
  before(() => {
    ws = new Workspace();
    runFolder('a-done', 'completed', 1, 0.8125);
    // A run killed without a chance to say so: "running", but its process is gone.
    runFolder('b-killed', 'running', 2 ** 22 + 12345);
    runFolder('c-live', 'running', process.pid);
    ws.write('.adapter-lab/runs/d-junk/notes.txt', 'not a run');
    ws.write('.adapter-lab/runs/e-sweep/sweep.json', JSON.stringify({ name: 'exp', metric: 'accuracy', trials: [{}, {}] }));
    ws.write('.adapter-lab/runs/e-sweep/trials.jsonl', `${JSON.stringify({ index: 0, status: 'completed', metrics: { accuracy: 0.7 } })}\n`);
  });
  after(() => ws.dispose());

  test('list: runs with status and last validation value, killed runs as interrupted, sweeps, unreadable folders', () => {
    const r = run(['runs', 'list'], ws.root);
    assert.equal(r.status, 0);
    assert.deepEqual(r.stdout.trim().split('\n'), [
      'a-done  run  completed  adapter  accuracy 0.8125',
      'b-killed  run  interrupted  adapter',
      'c-live  run  running  adapter',
      'd-junk  unreadable  unknown',
      'e-sweep  sweep  cancelled  2 trials  accuracy 0.7000',
    ]);
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
