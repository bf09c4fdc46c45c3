/** The extension's job runner without VS Code: the real CLI as a child process, its events, cancellation. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobEvent } from '../../engine/events';
import { cliArgs } from '../../client/src/cliArgs';
import { failureDetail } from '../../client/src/jobFailure';
import { DEFAULT_KILL_AFTER_MS, EXIT_CANCELLED, groupAlive, JobProcess } from '../../client/src/jobProcess';
import { classifyLine, LineSplitter } from '../../client/src/jobStream';
import type { Workspace } from '../support/fixtures';
import { descendants, HAS_PROC, running, runningInGroup } from './processes';
import { CLI, runJob, tinyExperiment, tinyWorkspace } from './support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` gives a value, or fails naming what it waited for. */
async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(50);
  }
}

const readJson = <T>(file: string): T | undefined => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
};

const EVENT = (payload: Record<string, unknown>): string => JSON.stringify({ v: 1, time: new Date().toISOString(), ...payload });

describe('job stream parsing', () => {
  test('lines are reassembled across chunks; a last line without a newline comes out at the end', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a":'), []);
    assert.deepEqual(s.push('1}\n{"b"'), ['{"a":1}']);
    assert.deepEqual(s.push(':2}\nnoise'), ['{"b":2}']);
    assert.deepEqual(s.end(), ['noise']);
    assert.deepEqual(s.end(), []);
  });

  test('events, other JSON and noise are told apart', () => {
    const event = classifyLine('{"v":1,"time":"2026-01-01T00:00:00.000Z","type":"log","level":"info","message":"hi"}\r');
    assert.equal(event?.kind, 'event');
    assert.equal(classifyLine('{"run":"r","metrics":{"accuracy":1}}')?.kind, 'data');
    assert.equal(classifyLine('{"v":2,"time":"t","type":"step"}')?.kind, 'data', 'another format version is not read as events');
    assert.equal(classifyLine('{"v":1,"time":"t","type":"frobnicate"}')?.kind, 'data');
    // A fusion run's live weights are events, which the panels get.
    assert.equal(classifyLine('{"v":1,"time":"t","type":"fusion-weights","adapters":["a","b"],"weights":{"0.ffn":[0.5,0.5]},"tokens":4,"data":"dev.tsv","step":2}')?.kind, 'event');
    assert.equal(classifyLine('[W:onnxruntime] some warning')?.kind, 'text');
    assert.equal(classifyLine('{"torn": ')?.kind, 'text');
    assert.equal(classifyLine('   '), undefined);
  });
});

describe('failure messages', () => {
  const failed = (message: string) => ({ outcome: 'failed' as const, code: 1, signal: null, message });
  test('the engine\'s reason: its error event, else its error line on standard error without the file prefix', () => {
    assert.equal(failureDetail(failed('out of memory'), ['x: error: ignored']), 'out of memory');
    assert.equal(failureDetail(failed('/w/a.adapter.yaml: error: cannot read the experiment file (no such file)'), []), 'cannot read the experiment file (no such file)');
    assert.equal(failureDetail(failed('the engine exited with code 2'), ['progress', '/w/a.adapter.yaml: error: Data file not found: ./t.tsv [missing-file]', 'done']), 'Data file not found: ./t.tsv [missing-file]');
    assert.equal(failureDetail(failed('the engine exited with code 2'), ['no reason given']), 'the engine exited with code 2');
  });

  test('a refused CUDA provider says that the packaged extension has none and what to do', () => {
    const line = 'a.adapter.yaml: error: the cuda provider cannot run here (Failed to load shared library); install the CUDA provider (npm rebuild …) or use runtime.device: cpu';
    const detail = failureDetail(failed('the engine exited with code 1'), [line]);
    assert.match(detail, /^the cuda provider cannot run here/);
    assert.match(detail, /CPU build only/);
    assert.match(detail, /adapterLab\.device: cpu/);
    assert.doesNotMatch(failureDetail(failed('the engine exited with code 1'), ['a: error: the webgpu provider cannot run here (no adapter)']), /CPU build only/);
  });
});

describe('cli arguments', () => {
  test('train and sweep always get --events and --runs; threads and device only when set', () => {
    assert.deepEqual(cliArgs({ command: 'train', file: '/w/a b.adapter.yaml' }, { runsDir: '/w/runs', threads: undefined, device: 'auto' }), ['train', '/w/a b.adapter.yaml', '--events', '--runs', '/w/runs']);
    assert.deepEqual(cliArgs({ command: 'sweep', file: 'f', maxSteps: 3 }, { runsDir: 'r', threads: 4, device: 'cuda' }), ['sweep', 'f', '--events', '--runs', 'r', '--max-steps', '3', '--threads', '4', '--device', 'cuda']);
    assert.deepEqual(cliArgs({ command: 'sweep', file: 'f' }, { runsDir: 'r', threads: undefined, device: 'auto', sweepWorkers: 2 }), ['sweep', 'f', '--events', '--runs', 'r', '--workers', '2']);
    assert.deepEqual(cliArgs({ command: 'ablate', runDir: 'run', mode: 'drop-curve' }, { runsDir: 'r', threads: undefined, device: 'auto' }), ['ablate', 'run', '--events', '--drop-curve']);
    assert.deepEqual(cliArgs({ command: 'evaluate', runDir: 'run', data: 'd.tsv' }, { runsDir: 'r', threads: 2, device: 'cpu' }), ['evaluate', 'run', 'd.tsv', '--threads', '2', '--device', 'cpu']);
    assert.deepEqual(cliArgs({ command: 'export-onnx', runDir: 'run', file: 'm.onnx' }, { runsDir: 'r', threads: undefined, device: 'auto' }), ['export', 'run', '--onnx', 'm.onnx']);
    assert.deepEqual(cliArgs({ command: 'export-adapter', runDir: 'run', dir: 'out' }, { runsDir: 'r', threads: undefined, device: 'auto' }), ['export', 'run', '--adapter', 'out']);
    assert.deepEqual(cliArgs({ command: 'export-adapter', runDir: 'run', dir: 'out', force: true }, { runsDir: 'r', threads: undefined, device: 'auto' }), ['export', 'run', '--adapter', 'out', '--force']);
  });
});

describe('JobProcess with the real CLI', () => {
  let ws: Workspace;
  before(() => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built');
    ws = tinyWorkspace();
    ws.write('tiny.adapter.yaml', tinyExperiment());
    ws.write('long.adapter.yaml', tinyExperiment(400));
  });
  after(() => ws.dispose());

  test('train: events arrive parsed and in order, and the job completes', async () => {
    const runs = ws.path('runs-train');
    const { exit, events, logs } = await runJob(['train', 'tiny.adapter.yaml', '--events', '--max-steps', '5', '--runs', runs], ws.root);
    assert.equal(exit.outcome, 'completed', logs.join('\n'));
    assert.equal(exit.code, 0);
    assert.equal(events[0]!.type, 'start');
    assert.equal(events[events.length - 1]!.type, 'end');
    const steps = events.filter((e) => e.type === 'step');
    assert.deepEqual(steps.map((e) => e.type === 'step' && e.step), [1, 2, 3, 4, 5]);
    const types = events.map((e) => e.type).filter((t) => t !== 'log');
    assert.deepEqual(types, ['start', 'step', 'step', 'step', 'step', 'step', 'evaluation', 'artifact', 'end']);
    const start = events[0]!;
    assert.ok(start.type === 'start' && start.job === 'train' && start.runDir.startsWith(runs));
    assert.ok(logs.some((l) => /completed after 5 steps/.test(l)), 'standard error reaches the log');
  });

  test('cancel: SIGTERM to the group ends the run cancelled (exit 130) and leaves no process behind', async () => {
    const runs = ws.path('runs-cancel');
    let cancelledAt = 0;
    const { job, exit, events } = await runJob(['train', 'long.adapter.yaml', '--events', '--runs', runs], ws.root, (e, j) => {
      if (e.type === 'step' && e.step === 3) {
        cancelledAt = e.step;
        j.cancel();
      }
    });
    assert.equal(cancelledAt, 3);
    assert.equal(exit.code, EXIT_CANCELLED);
    assert.equal(exit.outcome, 'cancelled');
    assert.equal(job.cancelled, true);
    const end = events[events.length - 1]!;
    assert.ok(end.type === 'end' && end.status === 'cancelled');
    const [dir] = fs.readdirSync(runs);
    const status = JSON.parse(fs.readFileSync(path.join(runs, dir!, 'status.json'), 'utf8')) as { status: string; step: number };
    assert.equal(status.status, 'cancelled');
    assert.ok(status.step >= 3 && status.step < 400 * 8 - 1);
    if (process.platform !== 'win32') assert.equal(groupAlive(job.pid!), false, 'the process group is gone');
  });

  test('cancel a sweep with two workers: the whole tree exits, the sweep and its running trials end cancelled', async (t) => {
    if (process.platform === 'win32') return t.skip('POSIX process groups');
    ws.write('sweep.adapter.yaml', tinyExperiment(400, 'sweep:\n  grid:\n    adapter.size: [4, 8]\n  seeds: 1\n'));
    const runs = ws.path('runs-sweep-cancel');
    const events: JobEvent[] = [];
    const args = cliArgs({ command: 'sweep', file: 'sweep.adapter.yaml' }, { runsDir: runs, threads: 2, device: 'auto', sweepWorkers: 2 });
    assert.ok(args.includes('--workers'));
    const job = JobProcess.start({ cli: CLI, args, cwd: ws.root }, { onEvent: (e) => events.push(e) });
    const start = await waitFor('the sweep to start', () => events.find((e) => e.type === 'start' && e.job === 'sweep'), 30_000);
    assert.ok(start.type === 'start' && start.job === 'sweep');
    const trialsDir = path.join(start.sweepDir, 'runs');
    const steps = (dir: string) => (fs.existsSync(path.join(dir, 'metrics.jsonl')) ? fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"step"')).length : 0);
    // Both workers are training: each trial's run folder is marked running and has recorded steps.
    const trials = await waitFor('two trials training in workers', () => {
      const dirs = fs.existsSync(trialsDir) ? fs.readdirSync(trialsDir).map((d) => path.join(trialsDir, d)) : [];
      const training = dirs.filter((d) => readJson<{ status: string }>(path.join(d, 'status.json'))?.status === 'running' && steps(d) >= 2);
      return training.length === 2 ? training : undefined;
    }, 60_000);
    const workerPids = trials.map((d) => readJson<{ pid: number }>(path.join(d, 'status.json'))!.pid);
    assert.ok(workerPids.every((pid) => pid !== job.pid && running(pid)), `workers ${workerPids} run in processes of their own`);
    const tree = HAS_PROC ? descendants(job.pid!) : [];
    if (HAS_PROC) for (const pid of workerPids) assert.ok(tree.includes(pid), `worker ${pid} is in the job's process tree ${tree}`);

    const cancelledAt = Date.now();
    job.cancel();
    const exit = await job.exited;
    t.diagnostic(`exited ${Date.now() - cancelledAt} ms after cancel`);
    assert.equal(exit.outcome, 'cancelled');
    assert.equal(exit.code, EXIT_CANCELLED, 'the engine exited by itself (not killed after the grace period)');
    assert.equal(exit.signal, null);
    // Gone, not merely signalled: nothing of the group runs (an exited worker may stay a zombie until its new parent reaps it).
    if (HAS_PROC) assert.deepEqual(runningInGroup(job.pid!), [], 'nothing of the process group runs');
    else assert.equal(groupAlive(job.pid!), false, 'the process group is gone');
    for (const pid of new Set([job.pid!, ...workerPids, ...tree])) assert.equal(running(pid), false, `process ${pid} of the job is gone`);

    const sweepEnd = events.filter((e) => e.type === 'end').pop();
    assert.ok(sweepEnd?.type === 'end' && sweepEnd.run === path.basename(start.sweepDir), 'the last end is the sweep\'s');
    assert.equal(sweepEnd.status, 'cancelled');
    for (const d of trials) assert.equal(readJson<{ status: string }>(path.join(d, 'status.json'))?.status, 'cancelled', `${path.basename(d)} ends cancelled`);
    const records = fs.readFileSync(path.join(start.sweepDir, 'trials.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { status: string });
    assert.deepEqual(records.map((r) => r.status), ['cancelled', 'cancelled']);
  });

  test('a job that ignores SIGTERM is killed, with its group, after the grace period', async (t) => {
    if (process.platform === 'win32') return t.skip('POSIX signals');
    assert.ok(DEFAULT_KILL_AFTER_MS >= 30_000, 'the default grace period allows a slow step to finish');
    const script = ws.write('ignore-term.js', `process.on('SIGTERM', () => {});\nrequire('node:child_process').spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });\nconsole.log('ready');\nsetInterval(() => {}, 1000);\n`);
    let ready!: () => void;
    const up = new Promise<void>((r) => (ready = r));
    const job = JobProcess.start({ cli: script, args: [], killAfterMs: 400 }, { onLog: (line) => line === 'ready' && ready() });
    await up;
    await sleep(100);
    const tree = HAS_PROC ? descendants(job.pid!) : [];
    const at = Date.now();
    job.cancel();
    const exit = await job.exited;
    const waited = Date.now() - at;
    assert.ok(waited >= 350, `killed after the grace period, not before (${waited} ms)`);
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(exit.outcome, 'cancelled');
    await waitFor('the group to be gone', () => (groupAlive(job.pid!) ? undefined : true), 2_000);
    for (const pid of tree) assert.equal(running(pid), false, `child ${pid} is gone too`);
  });

  test('a job that stops within the grace period is not killed', async (t) => {
    if (process.platform === 'win32') return t.skip('POSIX signals');
    const script = ws.write('slow-stop.js', `process.on('SIGTERM', () => setTimeout(() => { console.log(${JSON.stringify(EVENT({ type: 'end', status: 'cancelled', run: 'r', seconds: 0, steps: 1, metrics: {} }))}); process.exit(130); }, 600));\nconsole.log('ready');\nsetInterval(() => {}, 1000);\n`);
    let ready!: () => void;
    const up = new Promise<void>((r) => (ready = r));
    const job = JobProcess.start({ cli: script, args: [], killAfterMs: 5_000 }, { onLog: (line) => line === 'ready' && ready() });
    await up;
    job.cancel();
    const exit = await job.exited;
    assert.deepEqual([exit.outcome, exit.code, exit.signal], ['cancelled', EXIT_CANCELLED, null]);
  });

  test('a composite job (drop-regimes) ends as its exit code says, not as its last run', async () => {
    // A specialized run may fail while the whole job completes.
    const script = ws.write('composite.js', `console.log(${JSON.stringify(EVENT({ type: 'start', job: 'train', run: 'static-n2', runDir: 'x', experiment: 'static-n2', method: 'adapter', model: 'm', parameters: { trainable: 1, base: 1, percentOfBase: 100 }, steps: 1, epochs: 1, examples: 1, provider: 'cpu', threads: 1 }))});\nconsole.log(${JSON.stringify(EVENT({ type: 'end', status: 'failed', run: 'static-n2', seconds: 0, steps: 0, metrics: {} }))});\n`);
    const composite = await runJob([], ws.root, undefined, { cli: script, composite: true });
    assert.equal(composite.exit.outcome, 'completed');
    const single = await runJob([], ws.root, undefined, { cli: script });
    assert.equal(single.exit.outcome, 'failed');
  });

  test('device cuda without the CUDA provider: the job fails with the engine\'s refusal and the way out', async (t) => {
    const args = cliArgs({ command: 'train', file: 'tiny.adapter.yaml', maxSteps: 1 }, { runsDir: ws.path('runs-cuda'), threads: 1, device: 'cuda' });
    assert.deepEqual(args.slice(-2), ['--device', 'cuda']);
    const { exit, logs } = await runJob(args, ws.root);
    if (exit.outcome === 'completed') return t.skip('the CUDA provider loads on this machine');
    assert.equal(exit.outcome, 'failed');
    const detail = failureDetail(exit, logs);
    assert.match(detail, /^the cuda provider cannot run here \(/);
    assert.match(detail, /CPU build only/);
    assert.equal(fs.existsSync(ws.path('runs-cuda')), false, 'no run was started');
  });

  test('a command that does not stream events: its JSON result arrives as data', async () => {
    const runs = ws.path('runs-eval');
    const trained = await runJob(['train', 'tiny.adapter.yaml', '--events', '--max-steps', '2', '--runs', runs], ws.root);
    const start = trained.events[0]!;
    assert.ok(start.type === 'start' && start.job === 'train');
    const { exit, data, events } = await runJob(cliArgs({ command: 'evaluate', runDir: start.runDir, data: ws.path('dev.tsv') }, { runsDir: runs, threads: undefined, device: 'auto' }), ws.root);
    assert.equal(exit.outcome, 'completed');
    assert.equal(events.length, 0);
    const result = data[0] as { examples: number; metrics: Record<string, number> };
    assert.equal(result.examples, 20);
    assert.equal(typeof result.metrics.accuracy, 'number');
  });

  test('export --adapter writes the adapter folder (a job without events)', async () => {
    const runs = ws.path('runs-export');
    const trained = await runJob(['train', 'tiny.adapter.yaml', '--events', '--max-steps', '2', '--runs', runs], ws.root);
    const start = trained.events[0]!;
    assert.ok(start.type === 'start' && start.job === 'train');
    const out = ws.path('exported-adapter');
    const { exit, logs } = await runJob(cliArgs({ command: 'export-adapter', runDir: start.runDir, dir: out }, { runsDir: runs, threads: undefined, device: 'auto' }), ws.root);
    assert.equal(exit.outcome, 'completed', logs.join('\n'));
    assert.ok(fs.readdirSync(out).length > 0);
  });

  test('a file that cannot be read fails with the exit code and the engine\'s reason', async () => {
    const { exit, events, logs } = await runJob(['train', 'missing.adapter.yaml', '--events', '--runs', ws.path('runs-none')], ws.root);
    assert.equal(exit.outcome, 'failed');
    assert.equal(exit.code, 2);
    assert.ok(events.every((e) => e.type === 'error' || e.type === 'end'), 'no job started');
    assert.equal(failureDetail(exit, logs), 'cannot read the experiment file (no such file)');
    assert.equal(fs.existsSync(ws.path('runs-none')), false);
  });

  test('an executable that cannot start fails without throwing', async () => {
    const job = JobProcess.start({ cli: CLI, args: ['--version'], execPath: path.join(ws.root, 'no-such-node') });
    const exit = await job.exited;
    assert.equal(exit.outcome, 'failed');
    assert.match(exit.message ?? '', /could not start the engine/);
  });
});
