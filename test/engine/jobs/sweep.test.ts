/** `adapter-lab sweep`: trials, failures, selection per group, and resuming an interrupted sweep. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SweepSummary, TrialRecord } from '../../../engine/jobs/sweep';
import { Workspace } from '../../support/fixtures';
import { REPO_ROOT } from '../../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
interface Event { type: string; [k: string]: unknown }
const events = (stdout: string): Event[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);

function experiment(grid: string, seeds = 2): string {
  return `name: sw\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\nadapter:\n  size: 8\ntraining:\n  learning_rate: 3.0e-3\n  epochs: 1\n  batch_size: 16\nsweep:\n  grid:\n${grid}  seeds: ${seeds}\n`;
}

describe('adapter-lab sweep', () => {
  let ws: Workspace;
  before(() => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 64, 1);
    ws.sentiment('dev.tsv', 24, 2);
  });
  after(() => ws.dispose());

  const sweepDirs = (runs: string) => fs.readdirSync(ws.path(runs)).map((d) => ws.path(runs, d));
  const summaryOf = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'summary.json'), 'utf8')) as SweepSummary;

  test('--workers 2: trials run in two worker processes at once, each recorded once, with the same results as one after another', () => {
    ws.write('workers.adapter.yaml', experiment('    adapter.size: [4, 8]\n'));
    const parallel = spawnSync(process.execPath, [CLI, 'sweep', 'workers.adapter.yaml', '--events', '--max-steps', '3', '--workers', '2', '--threads', '2', '--runs', 'runs-workers'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(parallel.status, 0, parallel.stderr);
    const list = events(parallel.stdout);
    assert.equal(list.filter((e) => e.type === 'trial-end' && e.status === 'completed').length, 4);
    // Two trials were in flight at once: both were started in a worker before the first ended.
    const order = list.filter((e) => e.type === 'trial-end' || (e.type === 'log' && /started in a worker/.test(String(e.message)))).map((e) => e.type);
    assert.deepEqual(order.slice(0, 2), ['log', 'log']);
    // Yet each trial's events stay together: trial-start, its run's start … end, trial-end.
    const shape = list.filter((e) => ['trial-start', 'trial-end'].includes(e.type) || (e.type === 'start' && e.job === 'train') || (e.type === 'end' && e.run !== undefined && String(e.run).startsWith('trial-'))).map((e) => e.type);
    assert.deepEqual(shape, Array.from({ length: 4 }, () => ['trial-start', 'start', 'end', 'trial-end']).flat());
    // The workers' own events reach the sweep's stream: 4 trials × 3 steps.
    assert.equal(list.filter((e) => e.type === 'step').length, 12);
    const serial = spawnSync(process.execPath, [CLI, 'sweep', 'workers.adapter.yaml', '--max-steps', '3', '--runs', 'runs-serial'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(serial.status, 0, serial.stderr);
    const [p] = sweepDirs('runs-workers');
    const [q] = sweepDirs('runs-serial');
    const a = summaryOf(p!);
    const b = summaryOf(q!);
    assert.deepEqual(a.trials.map((t) => t.index), [0, 1, 2, 3]);
    assert.deepEqual(a.trials.map((t) => t.metrics), b.trials.map((t) => t.metrics), 'a trial\'s result does not depend on where it ran');
  });

  test('--workers 2 with the prefix cache spilled to disk: each trial uses its own spill file, results equal a serial sweep, nothing is left behind', () => {
    ws.write('spill.adapter.yaml', experiment('    training.epochs: [1, 2]\n', 1).replace('adapter:\n  size: 8\n', 'adapter:\n  size: 8\ndrop:\n  layers: 0..1\n').replace('  batch_size: 16\n', '  batch_size: 16\n  prefix_cache:\n    enabled: true\n    memory_mb: 0\n'));
    const parallel = spawnSync(process.execPath, [CLI, 'sweep', 'spill.adapter.yaml', '--events', '--workers', '2', '--threads', '2', '--runs', 'runs-spill-parallel'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(parallel.status, 0, parallel.stderr);
    assert.ok(events(parallel.stdout).some((e) => e.type === 'log' && /disk/.test(String(e.message))), 'the cache went to disk');
    const serial = spawnSync(process.execPath, [CLI, 'sweep', 'spill.adapter.yaml', '--runs', 'runs-spill-serial'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(serial.status, 0, serial.stderr);
    const [p] = sweepDirs('runs-spill-parallel');
    const [q] = sweepDirs('runs-spill-serial');
    assert.deepEqual(summaryOf(p!).trials.map((t) => t.metrics), summaryOf(q!).trials.map((t) => t.metrics));
    for (const dir of [p!, q!]) {
      const left = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.includes('prefix-cache'));
      assert.deepEqual(left, [], `spill files left in ${dir}`);
    }
  });

  test('every distinct configuration × seed runs once; the best per group is chosen on validation', () => {
    ws.write('a.adapter.yaml', experiment('    method: [adapter, layernorm]\n    adapter.size: [4, 8]\n'));
    const r = spawnSync(process.execPath, [CLI, 'sweep', 'a.adapter.yaml', '--events', '--max-steps', '2', '--runs', 'runs-a'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const list = events(r.stdout);
    // adapter × {4, 8} and layernorm once (adapter.size means nothing to it), × 2 seeds.
    assert.equal(list.filter((e) => e.type === 'trial-end').length, 6);
    const [dir] = sweepDirs('runs-a');
    const summary = summaryOf(dir!);
    assert.deepEqual(summary.trials.map((t) => t.index), [0, 1, 2, 3, 4, 5]);
    const a4 = { method: 'adapter', 'adapter.size': 4 };
    const a8 = { method: 'adapter', 'adapter.size': 8 };
    assert.deepEqual(summary.trials.map((t) => t.assignments), [a4, a4, a8, a8, { method: 'layernorm' }, { method: 'layernorm' }]);
    assert.ok(summary.trials.every((t) => t.status === 'completed' && fs.existsSync(path.join(dir!, 'runs', t.run!, 'status.json'))));
    // adapter.size groups the adapter trials; it means nothing for layer-norm tuning.
    assert.deepEqual(summary.groups.map((g) => g.group), [{ method: 'adapter', 'adapter.size': 4 }, { method: 'adapter', 'adapter.size': 8 }, { method: 'layernorm' }]);
    for (const g of summary.groups) {
      const members = summary.trials.filter((t) => JSON.stringify(t.assignments).includes(`"method":"${g.group.method}"`) && (g.group['adapter.size'] === undefined || t.assignments['adapter.size'] === g.group['adapter.size']));
      assert.equal(g.best.metrics.accuracy, Math.max(...members.map((m) => m.metrics.accuracy!)));
    }
    assert.equal(summary.tradeoff.length, 3);
    assert.ok(summary.tradeoff.find((p) => p.group.includes('layernorm'))!.trainable < summary.tradeoff.find((p) => p.group.includes('"adapter.size":8'))!.trainable);
  });

  test('method × top_k: each k runs once, full fine-tuning once, and the best is chosen per k', () => {
    ws.write('k.adapter.yaml', experiment('    method: [full, top_k]\n    top_k: [1, 2]\n    training.learning_rate: [3.0e-3, 1.0e-3]\n', 1).replace('adapter:\n  size: 8\n', ''));
    const r = spawnSync(process.execPath, [CLI, 'sweep', 'k.adapter.yaml', '--events', '--max-steps', '2', '--runs', 'runs-k'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const summary = summaryOf(sweepDirs('runs-k')[0]!);
    // Not 2 × 2 × 2 = 8: full does not read top_k, so its two grid points per learning rate are one.
    assert.deepEqual(summary.trials.map((t) => [t.index, t.assignments]), [
      [0, { method: 'full', 'training.learning_rate': 3e-3 }],
      [1, { method: 'full', 'training.learning_rate': 1e-3 }],
      [2, { method: 'top_k', top_k: 1, 'training.learning_rate': 3e-3 }],
      [3, { method: 'top_k', top_k: 1, 'training.learning_rate': 1e-3 }],
      [4, { method: 'top_k', top_k: 2, 'training.learning_rate': 3e-3 }],
      [5, { method: 'top_k', top_k: 2, 'training.learning_rate': 1e-3 }],
    ]);
    assert.deepEqual(events(r.stdout).filter((e) => e.type === 'trial-start').map((e) => e.index), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(summary.groups.map((g) => g.group), [{ method: 'full' }, { method: 'top_k', top_k: 1 }, { method: 'top_k', top_k: 2 }]);
    const byK: [number, number[]][] = [[1, [2, 3]], [2, [4, 5]]];
    for (const [k, members] of byK) {
      const group = summary.groups.find((x) => x.group.top_k === k)!;
      assert.equal(group.trials, 2);
      assert.equal(group.best.metrics.accuracy, Math.max(...members.map((i) => summary.trials[i]!.metrics.accuracy!)));
      assert.ok(members.includes(group.best.index));
    }
    // Training the top 2 layers trains more than the top 1.
    const trainable = (k: number) => summary.trials.find((t) => t.assignments.top_k === k)!.trainable!;
    assert.ok(trainable(2) > trainable(1));
  });

  test('a failing trial is recorded and the sweep goes on', () => {
    ws.write('b.adapter.yaml', experiment('    training.learning_rate: [1.0e+30, 3.0e-3]\n', 1));
    const r = spawnSync(process.execPath, [CLI, 'sweep', 'b.adapter.yaml', '--max-steps', '2', '--runs', 'runs-b'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const summary = summaryOf(sweepDirs('runs-b')[0]!);
    assert.deepEqual(summary.trials.map((t) => t.status), ['failed', 'completed']);
    assert.match(summary.trials[0]!.message ?? '', /loss became/);
    assert.match(r.stderr, /1 trial failed: 0/);
  });

  test('an interrupted sweep resumes, skipping finished trials, with none duplicated or lost', async () => {
    ws.write('c.adapter.yaml', experiment('    adapter.size: [2, 4, 8]\n', 2));
    const child = spawn(process.execPath, [CLI, 'sweep', 'c.adapter.yaml', '--events', '--runs', 'runs-c'], { cwd: ws.root });
    let out = '';
    let sent = false;
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (!sent && events(out.slice(0, out.lastIndexOf('\n') + 1)).some((e) => e.type === 'trial-start' && e.index === 2)) {
          sent = true;
          child.kill('SIGINT');
          resolve();
        }
      });
    });
    assert.equal(await new Promise((resolve) => child.on('close', resolve)), 130);
    const [dir] = sweepDirs('runs-c');
    const before = fs.readFileSync(path.join(dir!, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TrialRecord);
    assert.deepEqual(before.filter((t) => t.status === 'completed').map((t) => t.index), [0, 1]);
    const r = spawnSync(process.execPath, [CLI, 'sweep', 'c.adapter.yaml', '--events', '--resume', dir!, '--max-steps', '2'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const started = events(r.stdout).filter((e) => e.type === 'trial-start').map((e) => e.index);
    assert.deepEqual(started, [2, 3, 4, 5], 'finished trials are skipped');
    const summary = summaryOf(dir!);
    assert.deepEqual(summary.trials.map((t) => [t.index, t.status]), [0, 1, 2, 3, 4, 5].map((i) => [i, 'completed']));
    // The cancelled trial went on in its own folder: one folder per trial.
    assert.equal(fs.readdirSync(path.join(dir!, 'runs')).length, 6);
    assert.equal(new Set(summary.trials.map((t) => t.run)).size, 6);
  });

  test('resuming with a different experiment file is refused', () => {
    ws.write('d.adapter.yaml', experiment('    adapter.size: [2, 4]\n', 1));
    const [dir] = sweepDirs('runs-c');
    const r = spawnSync(process.execPath, [CLI, 'sweep', 'd.adapter.yaml', '--resume', dir!], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /was started from a different experiment file/);
  });

  test('a file without a sweep is pointed to train', () => {
    ws.write('e.adapter.yaml', experiment('    adapter.size: [2]\n', 1).replace(/sweep:[\s\S]*$/, ''));
    const r = spawnSync(process.execPath, [CLI, 'sweep', 'e.adapter.yaml'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /has no sweep section; use train/);
  });
});
