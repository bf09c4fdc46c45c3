/**
 * `adapter-lab sweep`, here or on a Slurm cluster (`--slurm`, `--status`, `--follow`,
 * `--cancel`), and `sweep-trial` (one trial: in a sweep's worker process, or as a task of a
 * Slurm sweep's job array).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatCount } from '../model/parameters';
import { defaultRunsDir } from '../runs/store';
import { executorOf, runSweep, runSweepTrial, type SweepSummary } from '../jobs/sweep';
import { cancelSlurmSweep, describeCounts, followSlurmSweep, observeSlurmSweep, resumeSlurmSweep, runSlurmTrial, SlurmError, submitSlurmSweep, type SlurmSweepReport, type Submitted } from '../jobs/sweepSlurm';
import type { JobEvent } from '../events';
import { loadExperimentFile } from './load';
import { progressPrinter } from './progress';
import { cancellation, emitFailure, eventWriter, failure, jobFlags, messageOf, parseFlags, reportUnloadable, sinkFor, watchStart } from './command';

/** `adapter-lab sweep-trial <sweep-folder> <index>`: one trial, run by a sweep's worker process. */
export async function sweepTrialCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['max-steps', 'threads', 'device'], ['slurm']);
  if (typeof parsed === 'string') return usage(parsed);
  const [sweepDir, index, ...extra] = parsed.positional;
  if (!sweepDir || index === undefined || !/^\d+$/.test(index) || extra.length) return usage('sweep-trial needs a sweep folder and a trial index');
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { maxSteps, threads, device } = flags;
  if (parsed.flags.has('slurm')) return slurmTask(path.resolve(sweepDir), Number(index), { maxSteps, threads, device });
  const { signal, dispose } = cancellation();
  // A worker ends with its sweep: the IPC channel from the parent closes when it dies (SIGKILL included),
  // and writing an event then fails (EPIPE), whichever the worker notices first.
  const orphan = new AbortController();
  const orphaned = (): void => {
    if (orphan.signal.aborted) return;
    orphan.abort();
    // The trial stops after its current step; a step that hangs must not keep the worker alive.
    setTimeout(() => process.exit(130), ORPHAN_GRACE_MS).unref();
  };
  process.stdout.on('error', orphaned);
  if (process.connected) process.once('disconnect', orphaned);
  try {
    // Events only: the parent sweep prints progress.
    const record = await runSweepTrial(path.resolve(sweepDir), Number(index), { maxSteps, threads, device, emit: (e) => process.stdout.write(JSON.stringify(e) + '\n'), signal: AbortSignal.any([signal, orphan.signal]) });
    return record.status === 'completed' ? 0 : record.status === 'cancelled' ? 130 : 1;
  } catch (e) {
    return failure(e);
  } finally {
    dispose();
    process.off('disconnect', orphaned);
    // An open channel would keep this process alive after its trial.
    if (process.connected) process.disconnect();
  }
}

const ORPHAN_GRACE_MS = 3000;

/**
 * A task of a Slurm sweep's job array: one trial, its record, and the summary if it was the
 * last. Its output is the task's log: progress for people, no events. SIGTERM (scancel, the
 * time limit) stops the trial at once with its checkpoint kept.
 */
async function slurmTask(sweepDir: string, index: number, flags: { maxSteps?: number; threads?: number; device?: 'auto' | 'cpu' | 'webgpu' | 'cuda' }): Promise<number> {
  const { signal, dispose } = cancellation();
  const job = process.env.SLURM_ARRAY_JOB_ID ? `${process.env.SLURM_ARRAY_JOB_ID}_${process.env.SLURM_ARRAY_TASK_ID}` : 'no Slurm job';
  process.stderr.write(`adapter-lab sweep-trial: trial ${index} of ${sweepDir} on ${os.hostname()} (${job}), started ${new Date().toISOString()}\n`);
  try {
    const record = await runSlurmTrial(sweepDir, index, { ...flags, emit: sinkFor(false), signal });
    process.stderr.write(`trial ${index}: ${record.status}${record.message ? ` (${record.message})` : ''}${Object.keys(record.metrics).length ? ` ${Object.entries(record.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}` : ''}\n`);
    return record.status === 'completed' ? 0 : record.status === 'cancelled' ? 130 : 1;
  } catch (e) {
    return failure(e);
  } finally {
    dispose();
  }
}

export async function sweepCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['max-steps', 'runs', 'threads', 'resume', 'device', 'workers', 'status', 'follow', 'cancel', 'interval'], ['events', 'slurm', 'local', 'wait', 'json']);
  if (typeof parsed === 'string') return usage(parsed);
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { maxSteps, threads, workers, device } = flags;
  const interval = parsed.flags.get('interval');
  const intervalMs = interval === undefined ? undefined : Number(interval) * 1000;
  if (intervalMs !== undefined && !(intervalMs >= 100)) return usage('--interval must be a number of seconds, at least 0.1');
  // A Slurm sweep's folder, without its experiment file: its state, following it, cancelling it.
  const folderActions = (['status', 'follow', 'cancel'] as const).filter((a) => parsed.flags.has(a));
  if (folderActions.length > 1) return usage(`--${folderActions.join(' and --')} cannot be combined`);
  if (folderActions.length === 1) {
    const action = folderActions[0]!;
    const dir = parsed.flags.get(action) as string;
    if (parsed.positional.length) return usage(`sweep --${action} takes a sweep folder, not an experiment file`);
    return slurmFolderCommand(action, path.resolve(dir), { json: parsed.flags.has('json'), events: parsed.flags.has('events'), intervalMs });
  }
  const [file, ...extra] = parsed.positional;
  if (!file || extra.length) return usage('sweep needs one experiment file');
  if (parsed.flags.has('slurm') && parsed.flags.has('local')) return usage('--slurm and --local cannot be combined');
  const events = parsed.flags.has('events');
  const started = Date.now();
  const resume = parsed.flags.get('resume');
  // Failures before the sweep starts (the file, the device, a folder that cannot be resumed or is locked) are events
  // too: error, then a failed end; a new sweep has no folder yet.
  const setupFailed = (message: string): void => emitFailure(eventWriter(events), 'setup-failed', message, { run: typeof resume === 'string' ? path.basename(path.resolve(resume)) : '', started });
  // Where the sweep goes, and where a fusion's adapters named by experiment are found.
  const runsDir = typeof parsed.flags.get('runs') === 'string' ? path.resolve(parsed.flags.get('runs') as string) : defaultRunsDir(file);
  const loaded = loadExperimentFile(file, runsDir);
  if (!loaded.ok) {
    setupFailed(loaded.message);
    return reportUnloadable(file, loaded);
  }
  const experiment = loaded.validation.experiment!;
  if (!experiment.sweep) return usage(`${file} has no sweep section; use train`);
  const resumed = typeof resume === 'string' && fs.existsSync(resume) ? executorOf(path.resolve(resume)) : undefined;
  const onSlurm = !parsed.flags.has('local') && (parsed.flags.has('slurm') || resumed === 'slurm' || (resumed === undefined && experiment.sweep.executor === 'slurm'));
  if (onSlurm) {
    if (workers !== undefined) return usage('--workers runs trials here; a Slurm sweep runs each trial as a task of its job array');
    if (events && !parsed.flags.has('wait')) return usage('--events with --slurm needs --wait: the events are those of the sweep, which --wait follows to its end');
    return slurmSweepCommand(file, { experiment, plain: loaded.validation.plain, source: loaded.text, baseDir: path.dirname(path.resolve(file)), runsDir, maxSteps, threads, device, engine: { node: process.execPath, cli: path.resolve(process.argv[1]!) } }, { resume: typeof resume === 'string' ? path.resolve(resume) : undefined, wait: parsed.flags.has('wait'), events, json: parsed.flags.has('json'), intervalMs, started });
  }
  if (parsed.flags.has('wait') || parsed.flags.has('json')) return usage(`--${parsed.flags.has('wait') ? 'wait' : 'json'} is for sweeps on Slurm (--slurm)`);
  // Workers are processes of this same CLI; more than the cores would only contend.
  const workerCount = Math.min(workers ?? 1, os.cpus().length);
  const sink = watchStart(sinkFor(events));
  const { signal, dispose } = cancellation();
  try {
    const result = await runSweep({ experiment, plain: loaded.validation.plain, source: loaded.text, baseDir: path.dirname(path.resolve(file)), runsDir, resume: typeof resume === 'string' ? resume : undefined, maxSteps, threads, device, workers: workerCount > 1 ? { count: workerCount, command: [process.execPath, process.argv[1]!] } : undefined, emit: sink.emit, signal });
    process.stderr.write(sweepTable(result.summary));
    if (result.status === 'cancelled') process.stderr.write(`cancelled: continue with adapter-lab sweep ${file} --resume ${result.sweepDir}\n`);
    if (result.status === 'failed') process.stderr.write(`failed: every trial of ${result.sweepDir} failed\n`);
    return result.status === 'completed' ? 0 : result.status === 'failed' ? 1 : 130;
  } catch (e) {
    // A sweep that had started closed its own stream.
    if (!sink.started()) setupFailed(messageOf(e));
    process.stderr.write(`${file}: error: ${messageOf(e)}\n`);
    return 1;
  } finally {
    dispose();
  }
}

function sweepTable(s: SweepSummary): string {
  const lines = [`\nbest trial per group on validation ${s.metric}:`];
  for (const g of s.groups) {
    const name = Object.entries(g.group).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ') || '(all trials)';
    lines.push(`  ${name}: ${g.best.metrics[s.metric]!.toFixed(4)} (trial ${g.best.index}, ${Object.entries(g.best.assignments).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}, seed ${g.best.seed}; over seeds ${g.seeds.mean.toFixed(4)} ± ${g.seeds.std.toFixed(4)}, trainable ${g.best.trainable !== undefined ? formatCount(g.best.trainable) : '?'})`);
  }
  const failed = s.trials.filter((t) => t.status === 'failed');
  if (failed.length) lines.push(`  ${failed.length} trial${failed.length === 1 ? '' : 's'} failed: ${failed.map((t) => t.index).join(', ')}`);
  return lines.join('\n') + '\n';
}

type SlurmSweepInput = Parameters<typeof submitSlurmSweep>[0];

/**
 * `sweep <file> --slurm` (or `sweep.executor: slurm`): submits the job array and returns,
 * saying how to follow it; `--wait` follows it to its end (with `--events`, as a sweep's
 * event stream). `--resume <folder>` submits the trials that did not complete.
 */
async function slurmSweepCommand(file: string, input: SlurmSweepInput, o: { resume?: string; wait: boolean; events: boolean; json: boolean; intervalMs?: number; started: number }): Promise<number> {
  const emit = eventWriter(o.events);
  // A signal during the submission must not cut it between sbatch and status.json (a job array no folder knows): it waits, and then stops the following.
  const { signal, dispose } = cancellation();
  let submitted: Submitted | undefined;
  try {
    submitted = o.resume ? await resumeSlurmSweep(o.resume, input) : await submitSlurmSweep(input);
  } catch (e) {
    dispose();
    // Nothing runs: error and a failed end, named as the folder when there is one.
    emitFailure(emit, 'setup-failed', messageOf(e), { run: o.resume ? path.basename(o.resume) : '', started: o.started });
    process.stderr.write(`${file}: error: ${messageOf(e)}\n`);
    if (e instanceof SlurmError && e.command.startsWith('sbatch --parsable')) process.stderr.write(`the job script is in the sweep folder for reading: ${e.command.split(' ').pop()}\n`);
    return 1;
  }
  const dir = submitted?.sweepDir ?? o.resume!;
  const notes = submitted ? [...submitted.warnings, `submitted job array ${submitted.job} to Slurm: ${submitted.trials.length} trial${submitted.trials.length === 1 ? '' : 's'} (${submitted.script})`] : [`every trial of ${dir} has completed: nothing to submit`];
  if (o.json) process.stdout.write(JSON.stringify({ sweepDir: dir, job: submitted?.job ?? null, trials: submitted?.trials ?? [], script: submitted?.script ?? null, warnings: submitted?.warnings ?? [] }) + '\n');
  if (!o.wait) {
    dispose();
    for (const n of notes) process.stderr.write(`${/will not find/.test(n) ? 'warning: ' : ''}${n}\n`);
    process.stderr.write(`sweep folder: ${dir}\n  follow it:  adapter-lab sweep --follow ${dir}\n  its state:  adapter-lab sweep --status ${dir}\n  cancel it:  adapter-lab sweep --cancel ${dir}\n`);
    return 0;
  }
  return followCommand(dir, { events: o.events, intervalMs: o.intervalMs, notes }, { signal, dispose });
}

/** Follows a Slurm sweep to its end; Ctrl-C stops following only (exit code 130, the trials go on). */
async function followCommand(dir: string, o: { events: boolean; intervalMs?: number; notes?: readonly string[] }, stop = cancellation()): Promise<number> {
  const { signal, dispose } = stop;
  try {
    // People read one line per trial: a finished trial's steps, read back from its folder, would scroll past to no purpose.
    const human = progressPrinter();
    let depth = 0;
    const emit = (e: JobEvent): void => {
      if (o.events) process.stdout.write(JSON.stringify(e) + '\n');
      if (e.type === 'start') depth++;
      if (depth <= 1) human(e);
      if (e.type === 'end') depth--;
    };
    const outcome = await followSlurmSweep(dir, { emit, signal, intervalMs: o.intervalMs, notes: o.notes });
    if (outcome === 'detached') return 130;
    const r = await observeSlurmSweep(dir);
    if (r.summary) process.stderr.write(sweepTable(r.summary));
    if (outcome === 'cancelled') process.stderr.write(`cancelled: ${r.trials.filter((t) => t.state !== 'completed').length} trial(s) did not complete; adapter-lab sweep <file> --resume ${dir} submits them again\n`);
    if (outcome === 'failed') process.stderr.write(`failed: every trial of ${dir} failed\n`);
    return outcome === 'completed' ? 0 : outcome === 'failed' ? 1 : 130;
  } catch (e) {
    process.stderr.write(`error: ${messageOf(e)}\n`);
    return 1;
  } finally {
    dispose();
  }
}

async function slurmFolderCommand(action: 'status' | 'follow' | 'cancel', dir: string, o: { json: boolean; events: boolean; intervalMs?: number }): Promise<number> {
  if (!fs.existsSync(path.join(dir, 'sweep.json'))) {
    process.stderr.write(`error: ${dir} is not a sweep folder (no sweep.json)\n`);
    return 2;
  }
  if (executorOf(dir) !== 'slurm') {
    process.stderr.write(`error: ${dir} is not a Slurm sweep: its trials run in the process that started it (adapter-lab runs show ${dir})\n`);
    return 2;
  }
  if (action === 'follow') return followCommand(dir, { events: o.events, intervalMs: o.intervalMs });
  try {
    const r = action === 'cancel' ? await cancelSlurmSweep(dir) : await observeSlurmSweep(dir);
    if (o.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else process.stdout.write(statusText(r));
    if (r.slurmError) process.stderr.write(`warning: Slurm did not answer (${r.slurmError}); the states are the sweep folder's last knowledge\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`error: ${messageOf(e)}\n`);
    return 1;
  }
}

/** `sweep --status`: the sweep, then one line per trial (its state on Slurm, its metric), then the best per group once it has ended. */
export function statusText(r: SlurmSweepReport): string {
  const jobs = r.submissions.map((s) => s.job);
  const lines = [`${path.basename(r.sweepDir)}: ${r.status} on Slurm (job array${jobs.length === 1 ? '' : 's'} ${jobs.join(', ') || 'none'}): ${r.trials.length} trial${r.trials.length === 1 ? '' : 's'}, ${describeCounts(r.counts)}${r.message ? ` — ${r.message}` : ''}`];
  const keys = [...new Set(r.trials.flatMap((t) => Object.keys(t.assignments)))];
  const rows = [['trial', 'state', 'slurm job', 'node', r.metric, ...keys, 'seed', 'run'], ...r.trials.map((t) => {
    const value = t.record?.metrics[r.metric];
    const state = t.state.replace(/-/g, ' ') + (t.reason && t.state === 'pending' ? ` (${t.reason})` : '');
    return [String(t.index), state, t.job ?? '', t.node ?? '', value !== undefined ? value.toFixed(4) : '', ...keys.map((k) => (k in t.assignments ? JSON.stringify(t.assignments[k]) : '')), String(t.seed), t.record?.run ?? ''];
  })];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) lines.push('  ' + row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const t of r.trials) if (t.record?.message && t.state !== 'completed') lines.push(`  trial ${t.index}: ${t.record.message}`);
  return lines.join('\n') + '\n' + (r.summary ? sweepTable(r.summary) : '');
}
