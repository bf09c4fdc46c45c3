/**
 * A sweep folder in the run store: one writer at a time (the folder's lock), the sweep's own
 * status and environment, and what is left after a crash (SIGKILL of the sweep or of the
 * parent of its workers, a torn last line) continuing without a lost, duplicated or stray trial.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { acquireRunLock, FolderLockedError, LOCK_FILE, lockHolder } from '../../../engine/runs/lock';
import type { SweepStatusRecord } from '../../../engine/runs/store';
import type { SweepSummary, TrialRecord } from '../../../engine/jobs/sweep';
import { Workspace } from '../../support/fixtures';
import { REPO_ROOT } from '../../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const LOCK_MODULE = path.join(REPO_ROOT, 'out', 'engine', 'runs', 'lock.js');
const DEAD_PID = 2 ** 22 + 12345;
interface Event { type: string; [k: string]: unknown }
const events = (stdout: string): Event[] => stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Event);
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

/** Two trials (adapter sizes 4 and 8); `long` makes each 2 epochs of 64 steps, long enough to be killed in. */
function experiment(train: string, opts: { lr?: string; epochs?: number; batch?: number } = {}): string {
  return `name: st\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./${train}\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\ntraining:\n  learning_rate: ${opts.lr ?? '3.0e-3'}\n  epochs: ${opts.epochs ?? 1}\n  batch_size: ${opts.batch ?? 16}\nsweep:\n  grid:\n    adapter.size: [4, 8]\n  seeds: 1\n`;
}

/** Every file under a folder with a hash of its content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of (fs.readdirSync(dir, { recursive: true }) as string[]).sort()) {
    const p = path.join(dir, f);
    out[f] = fs.statSync(p).isDirectory() ? 'dir' : createHash('sha1').update(fs.readFileSync(p)).digest('hex');
  }
  return out;
}

/** A gone process, or a zombie nobody has reaped yet (it runs no more code either). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').startsWith('Z');
  } catch {
    return process.platform !== 'linux';
  }
}

async function until<T>(what: string, f: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const closed = (child: ChildProcess): Promise<number | null> => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.on('close', (code) => resolve(code))));

/** A process of its own that holds the locks of `dirs` until it is killed. */
async function holdLocks(dirs: readonly string[]): Promise<ChildProcess> {
  const script = `const l = require(${JSON.stringify(LOCK_MODULE)}); for (const d of ${JSON.stringify(dirs)}) l.acquireRunLock(d, 'sweep'); process.stdout.write('held\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    child.on('close', (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  return child;
}

describe('sweep folders in the run store', () => {
  let ws: Workspace;
  const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ws.root, encoding: 'utf8' });
  const only = (runs: string): string => {
    const dirs = fs.readdirSync(ws.path(runs));
    assert.equal(dirs.length, 1, `one sweep folder in ${runs}`);
    return ws.path(runs, dirs[0]!);
  };
  const trialRecords = (dir: string): TrialRecord[] => fs.readFileSync(path.join(dir, 'trials.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TrialRecord);
  const trialFolders = (dir: string): string[] => fs.readdirSync(path.join(dir, 'runs')).filter((n) => fs.statSync(path.join(dir, 'runs', n)).isDirectory()).sort();

  before(() => {
    ws = new Workspace();
    ws.sentiment('small.tsv', 32, 1);
    ws.sentiment('long.tsv', 512, 1);
    ws.sentiment('dev.tsv', 24, 2);
    ws.write('small.adapter.yaml', experiment('small.tsv'));
    ws.write('long.adapter.yaml', experiment('long.tsv', { epochs: 2, batch: 8 }));
  });
  after(() => ws.dispose());

  test('the lock: one holder at a time, named when refused; a dead holder\'s lock is taken over; released on release', () => {
    const dir = ws.path('locks');
    fs.mkdirSync(dir);
    const lock = acquireRunLock(dir, 'sweep');
    assert.throws(() => acquireRunLock(dir, 'ablate'), (e: unknown) => e instanceof FolderLockedError && e.owner.pid === process.pid && new RegExp(`in use by another job \\(sweep, pid ${process.pid}`).test(e.message));
    assert.equal(lockHolder(dir)?.job, 'sweep');
    lock.release();
    lock.release();
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing is left behind');
    assert.equal(lockHolder(dir), undefined);
    // SIGKILLed holder: its lock names a pid that no longer runs.
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: DEAD_PID, host: os.hostname(), started: '2026-01-01T00:00:00.000Z', job: 'sweep', token: 'dead' }));
    assert.equal(lockHolder(dir), undefined);
    const taken = acquireRunLock(dir, 'sweep');
    assert.equal(lockHolder(dir)?.token, taken.owner.token);
    taken.release();
    // A holder on another machine (a shared folder) cannot be checked: it is respected.
    fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: DEAD_PID, host: 'elsewhere', started: '2026-01-01T00:00:00.000Z', job: 'sweep', token: 'far' }));
    assert.throws(() => acquireRunLock(dir, 'sweep'), /on elsewhere/);
  });

  test('a held lock is released when its process exits without releasing it, and when a signal nobody handles ends it', async () => {
    const dir = ws.path('locks-exit');
    fs.mkdirSync(dir);
    const exited = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(LOCK_MODULE)}).acquireRunLock(${JSON.stringify(dir)}, 'sweep'); process.exit(3);`]);
    assert.equal(exited.status, 3);
    assert.deepEqual(fs.readdirSync(dir), []);
    const holder = await holdLocks([dir]);
    assert.equal(lockHolder(dir)?.pid, holder.pid);
    holder.kill('SIGTERM');
    await closed(holder);
    assert.equal(holder.signalCode, 'SIGTERM', 'the signal still ends the process');
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  test('status.json and environment.json of a finished sweep; --resume and ablate on a folder another job holds (or on one of its trial runs) are refused before writing anything', async () => {
    const r = cli(['sweep', 'small.adapter.yaml', '--max-steps', '1', '--threads', '1', '--runs', 'runs-small']);
    assert.equal(r.status, 0, r.stderr);
    const dir = only('runs-small');
    const status = readJson<SweepStatusRecord>(path.join(dir, 'status.json'));
    assert.equal(status.status, 'completed');
    assert.equal(status.pid, r.pid);
    assert.deepEqual(status.trials, { total: 2, done: 2, failed: 0 });
    assert.ok(Date.parse(status.ended!) >= Date.parse(status.started));
    const env = readJson<Record<string, unknown>>(path.join(dir, 'environment.json'));
    assert.deepEqual([env.engine, env.provider, env.threads, env.workers, env.node], ['0.1.0', 'cpu', 1, 1, process.version]);
    assert.equal(typeof env.os, 'string');
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)), 'the lock is released at the end');

    const run = path.join(dir, 'runs', trialFolders(dir)[0]!);
    const holder = await holdLocks([dir, run]);
    try {
      const before = snapshot(dir);
      const resumed = cli(['sweep', 'small.adapter.yaml', '--resume', dir, '--max-steps', '1']);
      assert.notEqual(resumed.status, 0);
      assert.match(resumed.stderr, new RegExp(`in use by another job \\(sweep, pid ${holder.pid}`));
      const ablated = cli(['ablate', run]);
      assert.notEqual(ablated.status, 0);
      assert.match(ablated.stderr, new RegExp(`pid ${holder.pid}`));
      assert.deepEqual(snapshot(dir), before, 'the folder is unchanged');
    } finally {
      holder.kill('SIGKILL');
      await closed(holder);
    }
    // A job holding one of the trial runs (an ablation, say): resuming could remove or rewrite it under that job.
    const ablating = await holdLocks([run]);
    try {
      const before = snapshot(dir);
      const resumed = cli(['sweep', 'small.adapter.yaml', '--resume', dir, '--max-steps', '1']);
      assert.notEqual(resumed.status, 0);
      assert.match(resumed.stderr, new RegExp(`trial run ${path.basename(run)} is in use by sweep \\(pid ${ablating.pid}\\)`));
      assert.deepEqual(snapshot(dir), before);
    } finally {
      ablating.kill('SIGKILL');
      await closed(ablating);
    }
    // The holders are dead: their locks are stale and the resume takes the folder over.
    const again = cli(['sweep', 'small.adapter.yaml', '--resume', dir, '--max-steps', '1']);
    assert.equal(again.status, 0, again.stderr);
    assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
  });

  test('a sweep whose every trial failed ends failed (exit 1), and the catalog says so', () => {
    ws.write('nan.adapter.yaml', experiment('small.tsv', { lr: '1.0e+30' }));
    const r = cli(['sweep', 'nan.adapter.yaml', '--max-steps', '2', '--runs', 'runs-nan']);
    assert.equal(r.status, 1, r.stderr);
    const dir = only('runs-nan');
    const status = readJson<SweepStatusRecord>(path.join(dir, 'status.json'));
    assert.deepEqual([status.status, status.trials], ['failed', { total: 2, done: 2, failed: 2 }]);
    assert.match(cli(['runs', 'list', '--runs', 'runs-nan']).stdout, /sweep {2}failed {2}2 trials/);
  });

  test('SIGKILL mid-trial, then --resume: the killed trial continues from its checkpoint in its own folder; no trial lost, duplicated or left as a stray folder', async () => {
    const child = spawn(process.execPath, [CLI, 'sweep', 'long.adapter.yaml', '--events', '--threads', '1', '--runs', 'runs-kill'], { cwd: ws.root, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        // The second trial's first step of epoch 2: its epoch-1 checkpoint is on disk.
        const list = events(out.slice(0, out.lastIndexOf('\n') + 1));
        const second = list.findIndex((e) => e.type === 'trial-start' && e.index === 1);
        if (second >= 0 && list.slice(second).some((e) => e.type === 'step' && e.epoch === 2)) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await closed(child);
    const dir = only('runs-kill');
    const killedRun = trialFolders(dir)[1]!;
    assert.equal(readJson<{ status: string }>(path.join(dir, 'runs', killedRun, 'status.json')).status, 'running', 'killed mid-trial');
    assert.ok(fs.existsSync(path.join(dir, 'runs', killedRun, 'checkpoint.safetensors')));
    assert.deepEqual(trialRecords(dir).map((t) => [t.index, t.status]), [[0, 'completed']]);
    assert.match(cli(['runs', 'list', '--runs', 'runs-kill']).stdout, /sweep {2}interrupted {2}2 trials/, 'a killed sweep is interrupted, not running');

    const r = cli(['sweep', 'long.adapter.yaml', '--events', '--resume', dir, '--threads', '1']);
    assert.equal(r.status, 0, r.stderr);
    const list = events(r.stdout);
    assert.deepEqual(list.filter((e) => e.type === 'trial-start').map((e) => e.index), [1]);
    assert.ok(list.some((e) => e.type === 'log' && /resumed from the checkpoint at step 64 of 128/.test(String(e.message))));
    assert.equal(trialFolders(dir).length, 2, 'one folder per trial');
    assert.equal(trialFolders(dir)[1], killedRun, 'the killed trial finished in its own folder');
    assert.deepEqual(trialRecords(dir).map((t) => [t.index, t.status]), [[0, 'completed'], [1, 'completed']]);
    const summary = readJson<SweepSummary>(path.join(dir, 'summary.json'));
    assert.deepEqual(summary.trials.map((t) => [t.index, t.run]), [[0, trialFolders(dir)[0]], [1, killedRun]]);
    // The resumed run holds every step once.
    const steps = fs.readFileSync(path.join(dir, 'runs', killedRun, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step: number }).filter((m) => m.type === 'step').map((m) => m.step);
    assert.deepEqual(steps, Array.from({ length: 128 }, (_, i) => i + 1));
    assert.equal(readJson<SweepStatusRecord>(path.join(dir, 'status.json')).status, 'completed');
  });

  test('--workers 2: SIGKILL of the sweep ends its workers within seconds; the resumed sweep continues their trials', async () => {
    const child = spawn(process.execPath, [CLI, 'sweep', 'long.adapter.yaml', '--workers', '2', '--threads', '2', '--runs', 'runs-orphans'], { cwd: ws.root, stdio: 'ignore' });
    const runsOf = () => {
      const dirs = fs.existsSync(ws.path('runs-orphans')) ? fs.readdirSync(ws.path('runs-orphans')) : [];
      return dirs.length ? ws.path('runs-orphans', dirs[0]!, 'runs') : undefined;
    };
    // Both trials running, each in a worker (their status names the worker's pid).
    const workers = await until('two running workers', () => {
      const runs = runsOf();
      if (!runs || !fs.existsSync(runs)) return undefined;
      const pids = fs.readdirSync(runs).flatMap((n) => {
        try {
          const s = readJson<{ status: string; pid: number }>(path.join(runs, n, 'status.json'));
          return s.status === 'running' ? [s.pid] : [];
        } catch {
          return [];
        }
      });
      return pids.length === 2 ? pids : undefined;
    });
    assert.ok(!workers.includes(child.pid!));
    child.kill('SIGKILL');
    await closed(child);
    await until('the workers to exit', () => (workers.every(gone) ? true : undefined), 5000);
    const dir = only('runs-orphans');
    // They stopped cleanly, as cancelled.
    for (const n of trialFolders(dir)) assert.equal(readJson<{ status: string }>(path.join(dir, 'runs', n, 'status.json')).status, 'cancelled');
    const folders = trialFolders(dir);
    const r = cli(['sweep', 'long.adapter.yaml', '--events', '--workers', '2', '--threads', '2', '--resume', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(trialFolders(dir), folders, 'each trial finished in the folder it started in');
    assert.deepEqual(trialRecords(dir).map((t) => [t.index, t.status]).sort(), [[0, 'completed'], [1, 'completed']]);
    // Each went on in its own run folder (from its checkpoint, or from step 0 when cancelled before one).
    const resumed = events(r.stdout).filter((e) => e.type === 'start' && e.job === 'train').map((e) => e.run);
    assert.deepEqual(resumed.sort(), folders);
  });

  test('a torn last line of trials.jsonl is cut before the next record, so that record stays readable; a trial that finished unrecorded is kept, not run again', () => {
    const r = cli(['sweep', 'small.adapter.yaml', '--max-steps', '1', '--threads', '1', '--runs', 'runs-torn']);
    assert.equal(r.status, 0, r.stderr);
    const dir = only('runs-torn');
    const file = path.join(dir, 'trials.jsonl');
    const [first, second] = fs.readFileSync(file, 'utf8').split('\n');
    // Killed while appending the second trial's record.
    fs.writeFileSync(file, `${first}\n${second!.slice(0, 25)}`);
    const folders = trialFolders(dir);
    const resumed = cli(['sweep', 'small.adapter.yaml', '--events', '--resume', dir, '--max-steps', '1']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.ok(events(resumed.stdout).some((e) => e.type === 'log' && /had completed before the sweep was interrupted/.test(String(e.message))));
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as TrialRecord).index), [0, 1], 'every line is a whole record');
    assert.deepEqual(JSON.parse(lines[1]!), JSON.parse(second!), 'the same record as before the crash');
    assert.deepEqual(trialFolders(dir), folders);
    assert.deepEqual(readJson<SweepSummary>(path.join(dir, 'summary.json')).trials.map((t) => t.status), ['completed', 'completed']);
  });
});
