/**
 * Sweeps on a real Slurm cluster (a single node: scripts/slurm-up.sh), with the real engine
 * on the node: a grid × seeds as one job array gives the summary and the weights of the same
 * sweep run here; a task cancelled with scancel mid-training is resumed from its checkpoint
 * and every trial completes once; a trial whose loss is NaN is recorded failed while the
 * others complete; `--status` reports pending, running, completed, failed, cancelled and
 * node failure as Slurm moves the tasks; bad input is refused with Slurm's words.
 *
 * Skipped with the reason where Slurm's commands are missing, unless ADAPTER_LAB_SLURM=require
 * (as in CI), which makes that a failure.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SlurmSweepReport } from '../../engine/jobs/sweepSlurm';
import type { SweepStatusRecord } from '../../engine/runs/store';
import type { SweepSummary, TrialRecord } from '../../engine/runs/trials';
import { assertContract, loadEventContract, type StreamEvent } from '../support/eventContract';
import { Workspace } from '../support/fixtures';
import { REPO_ROOT } from '../support/lspClient';
import { cliArgs } from '../../client/src/cliArgs';
import { ProgressTracker } from '../../client/src/jobProgress';
import { childrenOf, nodeOf } from '../../client/src/runNodes';
import { runningSlurmSweeps } from '../../client/src/slurm';
import { listRuns } from '../../engine/runs/catalog';
import { runJob } from '../client/support';
import { defaultPartition, missingSlurm, nodeIdle, nodeName, nodeState, sh, SLURM_REQUIRED, until } from './support';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const EXAMPLE = path.join(REPO_ROOT, 'examples', 'slurm-sweep.adapter.yaml');
const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const eventsOf = (stdout: string): StreamEvent[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as StreamEvent);

const missing = missingSlurm();
if (missing && SLURM_REQUIRED) throw new Error(`Slurm tests required (ADAPTER_LAB_SLURM=require) but ${missing}`);

/** A small adapter experiment on the built-in model, one thread per trial; `sweep` is the sweep section. */
const SLOW_STEPS = path.join(REPO_ROOT, 'out', 'test', 'support', 'slowSteps.js');

function experiment(opts: { name: string; train?: string; epochs?: number; batch?: number; sweep: string }): string {
  return `name: ${opts.name}\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./${opts.train ?? 'train.tsv'}\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\nadapter:\n  size: 8\ntraining:\n  learning_rate: 3.0e-3\n  epochs: ${opts.epochs ?? 1}\n  batch_size: ${opts.batch ?? 16}\nruntime:\n  device: cpu\n  threads: 1\nsweep:\n${opts.sweep}`;
}

describe('sweeps on Slurm', { skip: missing ? `Slurm tests skipped: ${missing}` : false, timeout: 300_000 }, () => {
  let ws: Workspace;
  let partition: string;
  let node: string;
  const contract = loadEventContract();
  const cli = (args: string[], env?: NodeJS.ProcessEnv) => spawnSync(process.execPath, [CLI, ...args], { cwd: ws.root, encoding: 'utf8', env: env ? { ...process.env, ...env } : process.env });
  // sbatch passes the submitter's environment to the tasks: every training step of their trials
  // then takes at least this long, so that a test can look at a trial while it is running.
  const slowTrials = (ms: number): NodeJS.ProcessEnv => ({ NODE_OPTIONS: `--require ${SLOW_STEPS}`, SLOW_STEP_MS: String(ms) });
  const only = (runs: string): string => {
    const dirs = fs.readdirSync(ws.path(runs));
    assert.equal(dirs.length, 1, `one sweep folder in ${runs}`);
    return ws.path(runs, dirs[0]!);
  };
  const status = (dir: string): SlurmSweepReport => {
    const r = cli(['sweep', '--status', dir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as SlurmSweepReport;
  };
  const states = (r: SlurmSweepReport): string[] => r.trials.map((t) => t.state);
  const slurmSection = (extra = ''): string => `  executor: slurm\n  slurm:\n    partition: ${partition}\n    time: "00:10:00"\n    cpus_per_task: 1\n${extra}`;

  before(async () => {
    ws = new Workspace('adapter-lab-slurm-');
    ws.sentiment('train.tsv', 64, 1);
    ws.sentiment('long.tsv', 512, 1);
    ws.sentiment('dev.tsv', 24, 2);
    partition = defaultPartition();
    node = nodeName();
    // A cluster just started (or a node just back) takes no job yet.
    await nodeIdle(node);
  });

  after(() => {
    // A node left down by a failed test would hold every later job.
    if (node && nodeState(node).startsWith('down')) sh('scontrol', ['update', `nodename=${node}`, 'state=resume']);
    ws?.dispose();
  });

  test('the example, a 2 × 2-seed sweep, runs as it is as one job array and ends with the summary and weights of the same sweep run here', () => {
    // examples/slurm-sweep.adapter.yaml says `executor: slurm`: no flag needed.
    const started = Date.now();
    const r = cli(['sweep', EXAMPLE, '--wait', '--events', '--interval', '0.5', '--runs', ws.path('runs-slurm')]);
    const slurmSeconds = (Date.now() - started) / 1000;
    assert.equal(r.status, 0, r.stderr);
    const events = eventsOf(r.stdout);
    assertContract(contract, events, 'sweep on Slurm');
    // The sweep's own stream: the submission said, the trials' states as Slurm moved them, each trial's block, the summary.
    assert.equal(events[0]!.executor, 'slurm');
    assert.ok(events.some((e) => e.type === 'log' && /submitted job array \d+ to Slurm: 4 trials/.test(String(e.message))), 'the submission is logged');
    assert.ok(events.some((e) => e.type === 'log' && e.level === 'warning' && /under \/tmp/.test(String(e.message))), 'a folder under /tmp is warned about');
    assert.ok(events.some((e) => e.type === 'trial-state' && (e.state === 'pending' || e.state === 'running')), 'trial states are reported while they run');
    assert.deepEqual(events.filter((e) => e.type === 'trial-end').map((e) => e.index).sort(), [0, 1, 2, 3]);
    assert.deepEqual(events.slice(-2).map((e) => `${e.type}:${String(e.kind ?? e.status)}`), ['artifact:sweep-summary', 'end:completed']);

    const dir = only('runs-slurm');
    const st = readJson<SweepStatusRecord>(path.join(dir, 'status.json'));
    assert.equal(st.executor, 'slurm');
    assert.equal(st.status, 'completed');
    const job = st.slurm!.submissions[0]!.job;
    assert.match(job, /^\d+$/);
    assert.equal(st.slurm!.submissions[0]!.array, '0-3%2');
    // The script is kept for reading; each task logged to the sweep folder.
    const script = fs.readFileSync(path.join(dir, 'slurm', 'sweep.sbatch'), 'utf8');
    assert.doesNotMatch(script, /--partition/, 'the cluster\'s default partition');
    assert.match(script, /#SBATCH --cpus-per-task=1/);
    assert.match(script, /#SBATCH --time=00:15:00/);
    assert.match(script, /#SBATCH --mem=1G/);
    assert.match(script, /sweep-trial .* "\$SLURM_ARRAY_TASK_ID" --slurm --threads 1\n/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'slurm', 'logs')).sort(), [0, 1, 2, 3].map((i) => `trial-000${i}-${job}.log`));
    const records = [0, 1, 2, 3].map((i) => readJson<TrialRecord>(path.join(dir, 'records', `trial-000${i}.json`)));
    assert.deepEqual(records.map((x) => [x.status, x.slurm?.job]), [0, 1, 2, 3].map((i) => ['completed', `${job}_${i}`]));

    const local = cli(['sweep', EXAMPLE, '--local', '--runs', ws.path('runs-local')]);
    assert.equal(local.status, 0, local.stderr);
    const here = only('runs-local');
    const strip = (s: SweepSummary) => JSON.parse(JSON.stringify(s, (k, v) => (k === 'run' || k === 'slurm' ? undefined : v)));
    const onSlurm = readJson<SweepSummary>(path.join(dir, 'summary.json'));
    const locally = readJson<SweepSummary>(path.join(here, 'summary.json'));
    assert.deepEqual(strip(onSlurm), strip(locally), 'the summary (trials, best per group, mean ± std over seeds) is the local one');
    for (const [a, b] of onSlurm.trials.map((t, i) => [t.run!, locally.trials[i]!.run!])) {
      const weights = (sweep: string, run: string) => fs.readFileSync(path.join(sweep, 'runs', run, 'adapter', 'adapter.safetensors'));
      assert.ok(weights(dir, a).equals(weights(here, b)), `${a}: the same weights as ${b}`);
    }
    process.stderr.write(`# the example on Slurm, 4 trials of 50 steps, submitted and followed to its end: ${slurmSeconds.toFixed(1)} s\n`);
  });

  test('a task cancelled with scancel mid-training, then --resume: only that trial is submitted again, continues from its checkpoint, and every trial completes once', async () => {
    ws.write('long.adapter.yaml', experiment({ name: 'long', train: 'long.tsv', epochs: 2, batch: 8, sweep: `  grid:\n    adapter.size: [4, 8]\n  seeds: 1\n${slurmSection()}` }));
    const submitted = cli(['sweep', 'long.adapter.yaml', '--json', '--runs', 'runs-cancel']);
    assert.equal(submitted.status, 0, submitted.stderr);
    const { sweepDir: dir, job } = JSON.parse(submitted.stdout) as { sweepDir: string; job: string };
    assert.match(submitted.stderr, /adapter-lab sweep --follow /);
    // Trial 1 in its second epoch: the checkpoint of its first is on disk.
    const runOf = (index: number) => fs.readdirSync(path.join(dir, 'runs')).find((n) => n.startsWith(`trial-000${index}-`));
    const killedRun = await until('trial 1 in its second epoch', () => {
      const run = fs.existsSync(path.join(dir, 'runs')) ? runOf(1) : undefined;
      const metrics = run ? path.join(dir, 'runs', run, 'metrics.jsonl') : undefined;
      if (!metrics || !fs.existsSync(metrics)) return undefined;
      const steps = fs.readFileSync(metrics, 'utf8').split('\n').filter((l) => l.includes('"type":"step"'));
      return steps.some((l) => l.includes('"epoch":2')) ? run : undefined;
    }, 90_000, 20);
    const scancel = sh('scancel', [`${job}_1`]);
    assert.equal(scancel.status, 0, scancel.stderr);
    // The other trial goes on; the sweep ends cancelled once both have ended, noticed by whoever is last (here: a task).
    const ended = await until('the sweep to end', () => {
      const r = status(dir);
      return r.status !== 'running' ? r : undefined;
    }, 90_000, 500);
    assert.equal(ended.status, 'cancelled');
    assert.deepEqual(states(ended), ['completed', 'cancelled']);
    assert.equal(readJson<{ status: string }>(path.join(dir, 'runs', killedRun, 'status.json')).status, 'cancelled');
    assert.ok(fs.existsSync(path.join(dir, 'runs', killedRun, 'checkpoint.safetensors')), 'the cancelled trial kept its checkpoint');

    const resumed = cli(['sweep', 'long.adapter.yaml', '--resume', dir, '--wait', '--events', '--interval', '0.5']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assertContract(contract, eventsOf(resumed.stdout), 'a resumed sweep on Slurm');
    const st = readJson<SweepStatusRecord>(path.join(dir, 'status.json'));
    assert.deepEqual(st.slurm!.submissions.map((s) => s.trials), [[0, 1], [1]], 'only the cancelled trial was submitted again');
    assert.equal(st.status, 'completed');
    const second = st.slurm!.submissions[1]!.job;
    // It went on from its checkpoint, in its own run folder, and holds every step once.
    const log = fs.readFileSync(path.join(dir, 'slurm', 'logs', `trial-0001-${second}.log`), 'utf8');
    assert.match(log, /resumed from the checkpoint at step 64 of 128/);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'runs')).sort(), [runOf(0), killedRun].sort(), 'one run folder per trial');
    const steps = fs.readFileSync(path.join(dir, 'runs', killedRun, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; step: number }).filter((m) => m.type === 'step').map((m) => m.step);
    assert.deepEqual(steps, Array.from({ length: 128 }, (_, i) => i + 1));
    const summary = readJson<SweepSummary>(path.join(dir, 'summary.json'));
    assert.deepEqual(summary.trials.map((t) => [t.index, t.status, t.run]), [[0, 'completed', runOf(0)], [1, 'completed', killedRun]]);
    assert.deepEqual(states(status(dir)), ['completed', 'completed']);
  });

  test('--status as Slurm moves the tasks: pending and running, then completed, failed (a NaN loss), cancelled and node failure', async () => {
    // One at a time: trial 0 completes, trial 1's loss is NaN, trial 2 (40 epochs) runs when its node fails, trial 3 is cancelled while it waits.
    ws.write('states.adapter.yaml', experiment({ name: 'states', sweep: `  grid:\n    training.epochs: [1, 40]\n    training.learning_rate: [3.0e-3, 1.0e+30]\n  seeds: 1\n${slurmSection('    max_parallel: 1\n    options: [--no-requeue]\n')}` }));
    const submitted = cli(['sweep', 'states.adapter.yaml', '--json', '--runs', 'runs-states'], slowTrials(500));
    assert.equal(submitted.status, 0, submitted.stderr);
    const { sweepDir: dir, job } = JSON.parse(submitted.stdout) as { sweepDir: string; job: string };
    // The report and the text are read in one look, while trial 0 is running.
    const first = await until('trial 0 running, the others pending', () => {
      const r = status(dir);
      if (states(r).join() !== 'running,pending,pending,pending') return undefined;
      const text = cli(['sweep', '--status', dir]).stdout;
      return /4 trials, 3 pending, 1 running/.test(text) ? { r, text } : undefined;
    }, 60_000, 200);
    assert.deepEqual(first.r.trials.map((t) => [t.job, t.reason]), [[`${job}_0`, undefined], ...[1, 2, 3].map((i) => [`${job}_${i}`, 'JobArrayTaskLimit'])]);
    assert.match(first.text, /pending \(JobArrayTaskLimit\)/);

    await until('trial 2 running after trial 0 completed and trial 1 failed', () => {
      const r = status(dir);
      return states(r).join() === 'completed,failed,running,pending' ? r : undefined;
    }, 90_000, 200);
    sh('scancel', [`${job}_3`]);
    // The node fails under trial 2 (an administrator's "down" is what slurmctld does to a node that stops answering).
    const down = sh('scontrol', ['update', `nodename=${node}`, 'state=down', 'reason=adapter-lab-test']);
    assert.equal(down.status, 0, down.stderr);
    const ended = await until('the sweep to end', () => {
      const r = status(dir);
      return r.status !== 'running' ? r : undefined;
    }, 60_000, 250);
    if (nodeState(node).startsWith('down')) sh('scontrol', ['update', `nodename=${node}`, 'state=resume']);
    await nodeIdle(node);

    assert.equal(ended.status, 'cancelled');
    assert.deepEqual(states(ended), ['completed', 'failed', 'node-failure', 'cancelled']);
    assert.match(ended.trials[1]!.record!.message ?? '', /not finite|NaN|non-finite/i);
    assert.equal(ended.trials[3]!.record!.message, 'cancelled on Slurm');
    assert.equal(ended.trials[3]!.record!.run, undefined, 'cancelled before it started: no run folder');
    const text2 = cli(['sweep', '--status', dir]).stdout;
    for (const s of ['completed', 'failed', 'node failure', 'cancelled']) assert.match(text2, new RegExp(`\\b${s}\\b`));
    // The summary counts what completed; the failed trial is listed as failed.
    const summary = readJson<SweepSummary>(path.join(dir, 'summary.json'));
    assert.deepEqual(summary.trials.map((t) => t.status), ['completed', 'failed', 'cancelled', 'cancelled']);
    assert.deepEqual(summary.groups.map((g) => g.best.index), [0]);
  });

  test('--cancel is scancel of the array: the trials end cancelled in the folder, the running one with its checkpoint', async () => {
    ws.write('cancel.adapter.yaml', experiment({ name: 'cancelled', train: 'long.tsv', epochs: 2, batch: 8, sweep: `  grid:\n    adapter.size: [4, 8, 16]\n  seeds: 1\n${slurmSection('    max_parallel: 1\n')}` }));
    const submitted = cli(['sweep', 'cancel.adapter.yaml', '--json', '--runs', 'runs-scancel'], slowTrials(300));
    assert.equal(submitted.status, 0, submitted.stderr);
    const { sweepDir: dir } = JSON.parse(submitted.stdout) as { sweepDir: string };
    // A follower (the editor, a terminal) sees the sweep end when it is cancelled.
    const follower = spawn(process.execPath, [CLI, 'sweep', '--follow', dir, '--events', '--interval', '0.5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let followed = '';
    follower.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    await until('trial 0 training', () => {
      const runs = path.join(dir, 'runs');
      const run = fs.existsSync(runs) ? fs.readdirSync(runs)[0] : undefined;
      return run && fs.existsSync(path.join(runs, run, 'metrics.jsonl')) && fs.statSync(path.join(runs, run, 'metrics.jsonl')).size > 0 ? true : undefined;
    }, 60_000, 50);
    const r = cli(['sweep', '--cancel', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /cancelled on Slurm .*3 trials, 3 cancelled/);
    const code = await new Promise<number | null>((resolve) => follower.on('close', resolve));
    assert.equal(code, 130, 'the follower ends with the sweep: cancelled');
    const events = eventsOf(followed);
    assertContract(contract, events, 'a followed sweep that is cancelled');
    assert.equal(events.at(-1)!.status, 'cancelled');
    const report = status(dir);
    assert.deepEqual(states(report), ['cancelled', 'cancelled', 'cancelled']);
    const run = report.trials[0]!.record!.run!;
    assert.equal(readJson<{ status: string }>(path.join(dir, 'runs', run, 'status.json')).status, 'cancelled');
  });

  test("the editor's jobs: Run Sweep on Slurm submits and follows; closing the window stops following only; the sweep found running is followed again, shown in the Runs view, and Stop Job cancels it on Slurm", async (t) => {
    ws.write('editor.adapter.yaml', experiment({ name: 'editor', train: 'long.tsv', epochs: 2, batch: 8, sweep: `  grid:\n    adapter.size: [4, 8, 16]\n  seeds: 1\n${slurmSection('    max_parallel: 1\n')}` }));
    const settings = { runsDir: ws.path('runs-editor'), threads: undefined, device: 'auto' as const };
    // The editor's jobs run with the extension host's environment: slow trials through it.
    const saved = { NODE_OPTIONS: process.env.NODE_OPTIONS, SLOW_STEP_MS: process.env.SLOW_STEP_MS };
    Object.assign(process.env, slowTrials(300));
    t.after(() => {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    });
    // "Run Sweep on Slurm"; the window closes while the first trial trains (the job gets SIGTERM, as on dispose).
    const tracker = new ProgressTracker();
    let sweepDir: string | undefined;
    const first = await runJob(cliArgs({ command: 'sweep-slurm', file: ws.path('editor.adapter.yaml') }, settings), ws.root, (e, job) => {
      tracker.update(e);
      if (e.type === 'start' && e.job === 'sweep') sweepDir = e.sweepDir;
      if (e.type === 'trial-state' && e.state === 'running' && !job.cancelled) job.cancel();
    });
    assert.equal(first.exit.outcome, 'cancelled', 'stopped following');
    assert.ok(first.events.some((e) => e.type === 'log' && /stopped following .* its trials go on on Slurm/.test(e.message)));
    assert.match(tracker.current.message, /^\d\/3 trials ended · 1 running, \d pending on Slurm$/);
    const dir = sweepDir!;
    // The sweep goes on without the editor; the store lists it running, with its trials as Slurm has them.
    assert.deepEqual(runningSlurmSweeps(settings.runsDir), [dir]);
    const del = cli(['runs', 'delete', dir, '--yes']);
    assert.equal(del.status, 1);
    assert.match(del.stderr, /is running on Slurm; cancel it first \(adapter-lab sweep --cancel /);
    const node = nodeOf(listRuns(settings.runsDir)[0]!);
    assert.equal(node.status, 'running');
    const children = childrenOf(node);
    const running = children.findIndex((c) => c.status === 'running');
    assert.ok(running >= 0 && children.every((c, i) => (i < running ? c.status === 'completed' : i > running ? c.status === 'pending' && c.kind === 'trial' : true)), children.map((c) => `${c.kind}:${c.status}`).join());
    // The window reopens: the sweep found running is followed again; Stop Job is `sweep --cancel`.
    let cancelled: Promise<unknown> | undefined;
    const again = await runJob(cliArgs({ command: 'sweep-follow', sweepDir: dir }, settings), ws.root, (e) => {
      if (e.type === 'trial-state' && e.state === 'running' && !cancelled) cancelled = runJob(cliArgs({ command: 'sweep-cancel', sweepDir: dir }, settings), ws.root);
    });
    await cancelled;
    assert.equal(again.exit.outcome, 'cancelled', 'the followed sweep ended cancelled');
    assert.equal(again.events.at(-1)!.type, 'end');
    assert.deepEqual(runningSlurmSweeps(settings.runsDir), []);
    // The trial running when Stop Job came (the first, or the second if the first had just completed) and those waiting are cancelled.
    const after = childrenOf(nodeOf(listRuns(settings.runsDir)[0]!)).map((c) => c.status);
    assert.ok(after.every((st) => st === 'cancelled' || st === 'completed') && after.slice(1).every((st) => st === 'cancelled'), after.join());
    assert.equal(readJson<SweepStatusRecord>(path.join(dir, 'status.json')).status, 'cancelled');
  });

  test('refused before anything runs: a partition that does not exist, and a job array Slurm rejects (its message quoted, the script kept)', () => {
    ws.write('nopart.adapter.yaml', experiment({ name: 'nopart', sweep: `  grid:\n    adapter.size: [4]\n  executor: slurm\n  slurm:\n    partition: no-such-partition\n` }));
    const a = cli(['sweep', 'nopart.adapter.yaml', '--runs', 'runs-nopart', '--wait', '--events']);
    assert.equal(a.status, 1);
    assert.match(a.stderr, new RegExp(`partition "no-such-partition" does not exist on this cluster; its partitions are ${partition} \\(default\\)`));
    assert.deepEqual(eventsOf(a.stdout).map((e) => `${e.type}:${String(e.code ?? e.status)}`), ['error:setup-failed', 'end:failed']);
    assert.equal(fs.existsSync(ws.path('runs-nopart')), false, 'no sweep folder');

    ws.write('huge.adapter.yaml', experiment({ name: 'huge', sweep: `  grid:\n    adapter.size: [4]\n${slurmSection('    memory: 100000000G\n')}` }));
    const b = cli(['sweep', 'huge.adapter.yaml', '--runs', 'runs-huge']);
    assert.equal(b.status, 1);
    assert.match(b.stderr, /Slurm refused the job array: .*(Memory specification can not be satisfied|Requested node configuration is not available)/);
    const dir = only('runs-huge');
    const st = readJson<SweepStatusRecord>(path.join(dir, 'status.json'));
    assert.equal(st.status, 'failed');
    assert.match(st.message ?? '', /Slurm refused the job array/);
    assert.match(fs.readFileSync(path.join(dir, 'slurm', 'sweep.sbatch'), 'utf8'), /#SBATCH --mem=100000000G/);
  });
});
