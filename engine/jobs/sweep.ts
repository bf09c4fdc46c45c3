/**
 * Sweeps: the grid × seeds of an experiment, run trial after trial, each a training run in
 * the sweep's folder. A failed trial is recorded and the sweep goes on; an interrupted
 * sweep resumes and skips the trials it finished; the best trial per group is selected on
 * validation, as Houlsby et al. do, and the summary holds the trade-off points
 * (trainable parameters vs metric) for each group.
 */
import * as fs from 'node:fs';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { Readable } from 'node:stream';
import * as ort from 'onnxruntime-node';
import { validateExperiment } from '../config/validate';
import { expandSweep, type Experiment, type Trial } from '../config/experiment';
import { stamp, type EventPayload, type EventSink, type JobEvent } from '../events';
import { HIGHER_IS_BETTER } from '../metrics';
import { loadModel, type LoadedModel } from '../checkpoint/baseModel';
import { resolveProvider } from '../runtime/provider';
import { bestValue, describe as describeRun, isLive, listRuns } from '../runs/catalog';
import { acquireRunLock, FolderLockedError, lockHolder } from '../runs/lock';
import { appendJsonLine, createRunDir, readJsonLines, repairTornLine, RUN_FILES, writeJson, writeAtomic, type SweepStatusRecord } from '../runs/store';
import { ENGINE_VERSION, resumeTrainJob, runTrainJob } from './train';
import { PrefixCachePool } from '../train/prefixCache';
import type { Device } from '../config/schema';

export const SWEEP_FILES = { definition: 'sweep.json', trials: 'trials.jsonl', records: 'records', summary: 'summary.json', experiment: 'experiment.adapter.yaml', runs: 'runs', status: 'status.json', environment: 'environment.json' } as const;

/** How a sweep ends: `failed` when every trial failed. */
export type SweepOutcome = 'completed' | 'failed' | 'cancelled';

/** Axes that define a group: the best trial is chosen among the others (learning rate, epochs, seeds, …). */
export const GROUP_AXES = ['method', 'adapter.size', 'adapter.preset', 'adapter.placement', 'adapter.input', 'adapter.scaling', 'adapter.inner_norm', 'adapter.depth', 'adapter.share', 'top_k'] as const;

import type { GroupSummary, SweepSummary, TrialRecord } from '../runs/trials';
export type { GroupSummary, SweepSummary, TrialRecord };
import type { SweepStatusRecord as StoredSweepStatus } from '../runs/store';

export interface SweepOptions {
  readonly experiment: Experiment;
  /** The experiment file's plain value (for grid expansion) and text. */
  readonly plain: unknown;
  readonly source: string;
  readonly baseDir: string;
  readonly runsDir: string;
  /** An interrupted sweep's folder to continue. */
  readonly resume?: string;
  readonly maxSteps?: number;
  readonly threads?: number;
  /** Overrides the experiment's `runtime.device` in every trial. */
  readonly device?: Device;
  /**
   * Run this many trials at once, each in a worker process started with `workerCommand`
   * (the CLI: node and its script) and `sweep-trial`; the cores are split between them.
   */
  readonly workers?: { readonly count: number; readonly command: readonly string[] };
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
}

export async function runSweep(opts: SweepOptions): Promise<{ sweepDir: string; summary: SweepSummary; status: SweepOutcome }> {
  const e = opts.experiment;
  const trials = expandSweep(opts.plain, opts.baseDir);
  // Refused before a folder exists, as train does: an unusable device is a setup problem.
  const { provider } = await resolveProvider(opts.device ?? e.runtime.device);
  let sweepDir: string;
  if (opts.resume) {
    sweepDir = path.resolve(opts.resume);
    checkResumable(sweepDir, opts.source, trials);
  } else sweepDir = createRunDir(opts.runsDir, `${e.name}-sweep`);
  // One writer per sweep folder: a second sweep (or --resume) on it is refused before it writes
  // anything (checked before a stale lock is taken over, so a refusal leaves the folder as it was).
  const holder = lockHolder(sweepDir);
  if (holder) throw new FolderLockedError(sweepDir, holder);
  refuseLiveTrials(sweepDir);
  const lock = acquireRunLock(sweepDir, 'sweep');
  try {
    return await sweepLocked(opts, trials, sweepDir, provider);
  } finally {
    lock.release();
  }
}

async function sweepLocked(opts: SweepOptions, trials: readonly Trial[], sweepDir: string, provider: string): Promise<{ sweepDir: string; summary: SweepSummary; status: SweepOutcome }> {
  const started = new Date();
  const e = opts.experiment;
  const emit = (p: EventPayload): void => opts.emit(stamp(p));
  const trialsFile = path.join(sweepDir, SWEEP_FILES.trials);
  // A crash mid-append leaves a fragment; the next record must not be glued to it.
  repairTornLine(trialsFile);
  const latest = new Map(readJsonLines<TrialRecord>(trialsFile).map((r) => [r.index, r]));
  const writeStatus = (status: SweepStatusRecord['status'], message?: string): void => {
    const records = [...latest.values()].filter((r) => r.status !== 'cancelled');
    writeJson(path.join(sweepDir, SWEEP_FILES.status), {
      status,
      started: started.toISOString(),
      ...(status === 'running' ? {} : { ended: new Date().toISOString() }),
      pid: process.pid,
      host: os.hostname(),
      trials: { total: trials.length, done: records.length, failed: records.filter((r) => r.status === 'failed').length },
      ...(message ? { message } : {}),
    } satisfies SweepStatusRecord);
  };
  // The threads the sweep may use (flag, file, or every core) are split between workers; never more workers than threads.
  const budget = opts.threads ?? e.runtime.threads ?? os.cpus().length;
  const workerCount = opts.workers && opts.workers.count > 1 ? Math.max(1, Math.min(opts.workers.count, budget)) : 1;
  const workerThreads = Math.max(1, Math.floor(budget / workerCount));
  // The sweep's stream is its own to close once its start is out: a failure after it is an error and a failed end.
  let announced = false;
  // Trials with the same model, data, max length and frozen prefix reuse one prefix cache.
  const prefixCaches = new PrefixCachePool();
  try {
    writeStatus('running');
    writeJson(path.join(sweepDir, SWEEP_FILES.environment), { engine: ENGINE_VERSION, onnxruntime: ort.env.versions.common, node: process.version, platform: `${process.platform}-${process.arch}`, os: `${os.type()} ${os.release()}`, provider, threads: budget, workers: workerCount, threadsPerTrial: workerCount > 1 ? workerThreads : budget });
    if (!opts.resume) {
      writeAtomic(path.join(sweepDir, SWEEP_FILES.experiment), opts.source);
      writeJson(path.join(sweepDir, SWEEP_FILES.definition), { name: e.name, baseDir: opts.baseDir, metric: e.task.metric, grid: e.sweep?.grid ?? [], seeds: e.sweep?.seeds ?? [], trials: trials.map(definitionOf) });
    }
    // Finished trials of an earlier attempt are kept; a cancelled one runs again.
    const finished = new Set([...latest.values()].filter((r) => r.status !== 'cancelled').map((r) => r.index));
    emit({ type: 'start', job: 'sweep', sweep: path.basename(sweepDir), sweepDir, trials: trials.length, skipped: finished.size, metric: e.task.metric });
    announced = true;
    const models = new Map<string, LoadedModel>();
    let status: SweepOutcome = 'completed';
    const pending = trials.filter((t) => !finished.has(t.index));
    const record = (r: TrialRecord): void => {
      appendJsonLine(trialsFile, r);
      latest.set(r.index, r);
      writeStatus('running');
      emit({ type: 'trial-end', index: r.index, total: trials.length, status: r.status, run: r.run, metrics: r.metrics, trainable: r.trainable, ...(r.message ? { message: r.message } : {}) });
      if (r.status === 'cancelled') status = 'cancelled';
    };
    if (workerCount > 1) {
      // A worker's failure (a record that cannot be written) stops the pool: no trial starts after it, and the
      // trials in flight are stopped and waited for, so nothing writes to the folder once the sweep has failed.
      const halt = new AbortController();
      const signal = opts.signal ? AbortSignal.any([opts.signal, halt.signal]) : halt.signal;
      // A pool: each worker takes the next pending trial until none is left or the sweep is cancelled.
      const next = async (): Promise<void> => {
        for (let trial = pending.shift(); trial; trial = pending.shift()) {
          if (halt.signal.aborted) return;
          if (opts.signal?.aborted) {
            status = 'cancelled';
            return;
          }
          // A trial's events are kept together (trial-start, its run's events, trial-end), as readers of the
          // stream expect: trials run at once, so each worker's events are held until its trial ends.
          emit({ type: 'log', level: 'info', message: `trial ${trial.index + 1} of ${trials.length} started in a worker` });
          const held: JobEvent[] = [];
          const r = await runWorkerTrial(trial, sweepDir, { ...opts, signal, emit: (event) => held.push(event) }, workerThreads);
          if (halt.signal.aborted) return; // stopped by another worker's failure: not the trial's result
          emit({ type: 'trial-start', index: trial.index, total: trials.length, assignments: trial.assignments, seed: trial.seed });
          for (const event of held) opts.emit(event);
          record(r);
        }
      };
      const workers = Array.from({ length: Math.min(workerCount, pending.length) }, () =>
        next().catch((err: unknown) => {
          halt.abort();
          throw err;
        }),
      );
      const failure = (await Promise.allSettled(workers)).find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failure) throw failure.reason;
      if (opts.signal?.aborted) status = 'cancelled';
    } else {
      for (const trial of pending) {
        if (opts.signal?.aborted) {
          status = 'cancelled';
          break;
        }
        emit({ type: 'trial-start', index: trial.index, total: trials.length, assignments: trial.assignments, seed: trial.seed });
        const r = await runTrial(trial, opts, sweepDir, models, prefixCaches);
        record(r);
        if (r.status === 'cancelled') break;
      }
    }
    await prefixCaches.release();
    const summary = summarise(e.task.metric, [...latest.values()]);
    if (status === 'completed' && trials.length > 0 && trials.every((t) => latest.get(t.index)?.status === 'failed')) status = 'failed';
    const summaryFile = path.join(sweepDir, SWEEP_FILES.summary);
    writeJson(summaryFile, summary);
    writeStatus(status, status === 'failed' ? 'every trial failed' : undefined);
    emit({ type: 'artifact', kind: 'sweep-summary', path: summaryFile });
    const best = bestValue(e.task.metric, summary.groups.map((g) => g.best.metrics[e.task.metric]));
    emit({ type: 'end', status, run: path.basename(sweepDir), seconds: (Date.now() - started.getTime()) / 1000, steps: summary.trials.length, metrics: best !== undefined ? { [e.task.metric]: best } : {} });
    return { sweepDir, summary, status };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    await prefixCaches.release().catch(() => undefined);
    // status.json first, so that a reader who sees the end finds the folder's final state.
    try {
      writeStatus('failed', message);
    } catch {
      // The folder cannot take it either (the same failure, as likely as not): the events still say why.
    }
    if (announced) {
      emit({ type: 'error', code: 'engine-error', message });
      emit({ type: 'end', status: 'failed', run: path.basename(sweepDir), seconds: (Date.now() - started.getTime()) / 1000, steps: latest.size, metrics: {}, message });
    }
    throw err;
  }
}

/** A trial as sweep.json lists it. */
export function definitionOf(t: Trial): { index: number; assignments: Readonly<Record<string, unknown>>; seed: number } {
  return { index: t.index, assignments: t.assignments, seed: t.seed };
}

/**
 * A trial run still written by a live process (a worker of an earlier attempt that outlived
 * its sweep, an ablation of it) could be resumed or removed under it: refuse, naming it.
 */
function refuseLiveTrials(sweepDir: string): void {
  for (const entry of listRuns(path.join(sweepDir, SWEEP_FILES.runs))) {
    const holder = lockHolder(entry.dir);
    if (holder) throw new Error(`${sweepDir}: trial run ${entry.name} is in use by ${holder.job} (pid ${holder.pid}); stop it first`);
    if (isLive(entry)) throw new Error(`${sweepDir}: trial run ${entry.name} is still being written by pid ${entry.pid}; stop it first`);
  }
}

async function runTrial(trial: Trial, opts: SweepOptions, sweepDir: string, models: Map<string, LoadedModel>, prefixCaches: PrefixCachePool | undefined): Promise<TrialRecord> {
  const base = { index: trial.index, assignments: trial.assignments, seed: trial.seed };
  const runsDir = path.join(sweepDir, SWEEP_FILES.runs);
  try {
    const earlier = previousAttempt(runsDir, trial.index);
    if (earlier.kind === 'completed') {
      // Finished before the sweep could record it: its run is the trial's result.
      opts.emit(stamp({ type: 'log', level: 'info', message: `trial ${trial.index + 1}: ${earlier.record.run} had completed before the sweep was interrupted; it is kept` }));
      return { ...base, ...earlier.record };
    }
    // Trials that share a base model load it once.
    let model = models.get(trial.experiment.model);
    if (!model) {
      model = loadModel(trial.experiment.model);
      models.set(trial.experiment.model, model);
    }
    const common = { threads: opts.threads, device: opts.device, emit: opts.emit, signal: opts.signal, model, prefixCaches };
    // An interrupted attempt continues in its own folder from its last checkpoint, so no second folder is left for the trial.
    const result = earlier.kind === 'resume'
      ? await resumeTrainJob(earlier.runDir, common)
      : await runTrainJob({ ...common, experiment: { ...trial.experiment, name: trialRunName(trial.index) }, source: opts.source, runsDir, maxSteps: opts.maxSteps, fusionRunsDir: path.dirname(sweepDir) });
    return { ...base, status: result.status, run: path.basename(result.runDir), metrics: result.metrics, trainable: result.parameters.trainable, ...(result.message ? { message: result.message } : {}) };
  } catch (err) {
    return { ...base, status: 'failed', run: undefined, metrics: {}, trainable: undefined, message: (err as Error).message };
  }
}

export function trialRunName(index: number): string {
  return `trial-${String(index).padStart(4, '0')}`;
}

type PreviousAttempt =
  | { readonly kind: 'none' }
  | { readonly kind: 'resume'; readonly runDir: string }
  | { readonly kind: 'completed'; readonly record: Pick<TrialRecord, 'status' | 'run' | 'metrics' | 'trainable'> };

/**
 * What an interrupted attempt left of a trial without a record (the sweep was killed while
 * it ran, or between its end and its record). A completed run is the result; an unfinished
 * one that can resume (config, experiment file, a status that is not `failed`) continues;
 * anything else (a folder cut short at creation, a failed run) is removed and the trial runs
 * again. Of several attempts only the one kept stays, so each trial has one run folder.
 */
function previousAttempt(runsDir: string, index: number): PreviousAttempt {
  const pattern = new RegExp(`^${trialRunName(index)}-\\d{8}-\\d{6}(?:-\\d+)?$`);
  let names: string[];
  try {
    names = fs.readdirSync(runsDir).filter((n) => pattern.test(n)).sort();
  } catch {
    return { kind: 'none' };
  }
  const entries = names.map((n) => describeRun(path.join(runsDir, n)));
  const completed = entries.filter((en) => en.kind === 'run' && en.status === 'completed').pop();
  const resumable = entries.filter((en) => en.kind === 'run' && (en.status === 'running' || en.status === 'cancelled') && fs.existsSync(path.join(en.dir, RUN_FILES.experiment))).pop();
  const kept = completed ?? resumable;
  for (const en of entries) if (en !== kept) fs.rmSync(en.dir, { recursive: true, force: true });
  if (!kept) return { kind: 'none' };
  if (kept === resumable) return { kind: 'resume', runDir: kept.dir };
  return { kind: 'completed', record: completedRecordOf(kept.dir) };
}

/** The record of a trial whose run completed: its last validation metrics and trainable parameters. */
function completedRecordOf(runDir: string): Pick<TrialRecord, 'status' | 'run' | 'metrics' | 'trainable'> {
  const evaluations = readJsonLines<{ type: string; metrics?: Record<string, number> }>(path.join(runDir, RUN_FILES.metrics)).filter((m) => m.type === 'evaluation');
  let trainable: number | undefined;
  try {
    trainable = (JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as { parameters?: { trainable?: number } }).parameters?.trainable;
  } catch {
    trainable = undefined;
  }
  return { status: 'completed', run: path.basename(runDir), metrics: evaluations[evaluations.length - 1]?.metrics ?? {}, trainable };
}

/**
 * A trial's run folders as they are, nothing removed (an observer's view): the completed
 * run's record if one completed, and the newest folder's name.
 */
export function trialRunsOf(sweepDir: string, index: number): { readonly completed?: Pick<TrialRecord, 'status' | 'run' | 'metrics' | 'trainable'>; readonly latest?: string } {
  const runsDir = path.join(sweepDir, SWEEP_FILES.runs);
  const pattern = new RegExp(`^${trialRunName(index)}-\\d{8}-\\d{6}(?:-\\d+)?$`);
  let names: string[];
  try {
    names = fs.readdirSync(runsDir).filter((n) => pattern.test(n)).sort();
  } catch {
    return {};
  }
  const completed = names.map((n) => describeRun(path.join(runsDir, n))).filter((en) => en.kind === 'run' && en.status === 'completed').pop();
  return { ...(completed ? { completed: completedRecordOf(completed.dir) } : {}), ...(names.length ? { latest: names[names.length - 1] } : {}) };
}

/**
 * One trial in a worker process (`adapter-lab sweep-trial`): its events are forwarded as
 * they come; its record is read from them (start: run and parameters; end: status, metrics).
 */
function runWorkerTrial(trial: Trial, sweepDir: string, opts: SweepOptions, threads: number): Promise<TrialRecord> {
  const base = { index: trial.index, assignments: trial.assignments, seed: trial.seed };
  // Recovery is the parent's when the earlier attempt completed: a worker would have nothing to run, and no events to report it with.
  let earlier: PreviousAttempt;
  try {
    earlier = previousAttempt(path.join(sweepDir, SWEEP_FILES.runs), trial.index);
  } catch (err) {
    return Promise.resolve({ ...base, status: 'failed', run: undefined, metrics: {}, trainable: undefined, message: (err as Error).message });
  }
  if (earlier.kind === 'completed') {
    opts.emit(stamp({ type: 'log', level: 'info', message: `trial ${trial.index + 1}: ${earlier.record.run} had completed before the sweep was interrupted; it is kept` }));
    return Promise.resolve({ ...base, ...earlier.record });
  }
  const [exe, ...script] = opts.workers!.command;
  const args = [...script, 'sweep-trial', sweepDir, String(trial.index), '--threads', String(threads), ...(opts.maxSteps ? ['--max-steps', String(opts.maxSteps)] : []), ...(opts.device ? ['--device', opts.device] : [])];
  return new Promise((resolve) => {
    // The IPC channel closes when this process dies, however it dies: the worker then stops (see sweep-trial).
    const child = spawn(exe!, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }) as ChildProcessByStdio<null, Readable, Readable>;
    const stop = (): void => void child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', stop, { once: true });
    let run: string | undefined;
    let trainable: number | undefined;
    let end: { status: TrialRecord['status']; metrics: Record<string, number> } | undefined;
    let message: string | undefined;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    readline.createInterface({ input: child.stdout }).on('line', (text) => {
      let event: JobEvent;
      try {
        event = JSON.parse(text) as JobEvent;
      } catch {
        return;
      }
      if (event.type === 'start' && event.job === 'train') {
        run = event.run;
        trainable = event.parameters.trainable;
      } else if (event.type === 'end') end = { status: event.status, metrics: { ...event.metrics } };
      else if (event.type === 'error') message = event.message;
      opts.emit(event);
    });
    child.on('close', (code) => {
      opts.signal?.removeEventListener('abort', stop);
      if (end) resolve({ ...base, status: end.status, run, metrics: end.metrics, trainable, ...(message ? { message } : {}) });
      else resolve({ ...base, status: code === 130 || opts.signal?.aborted ? 'cancelled' : 'failed', run, metrics: {}, trainable, message: message ?? (stderr.trim().split('\n').pop() || `the worker exited with code ${code}`) });
    });
  });
}

/** `adapter-lab sweep-trial`: runs one trial of a sweep folder in this process (a worker). */
export async function runSweepTrial(sweepDir: string, index: number, opts: Pick<SweepOptions, 'maxSteps' | 'threads' | 'device' | 'emit' | 'signal'>): Promise<TrialRecord> {
  const definition = JSON.parse(fs.readFileSync(path.join(sweepDir, SWEEP_FILES.definition), 'utf8')) as { baseDir?: string };
  const source = fs.readFileSync(path.join(sweepDir, SWEEP_FILES.experiment), 'utf8');
  const baseDir = definition.baseDir ?? path.dirname(sweepDir);
  // A fusion's adapters named by experiment are in the runs folder the sweep is in.
  const validation = validateExperiment(source, { filePath: path.join(baseDir, SWEEP_FILES.experiment), runsDir: path.dirname(sweepDir) });
  if (!validation.ok || !validation.experiment) throw new Error(`${sweepDir}: the sweep's experiment file no longer validates`);
  const trial = expandSweep(validation.plain, baseDir).find((t) => t.index === index);
  if (!trial) throw new Error(`${sweepDir} has no trial ${index}`);
  // No pool: a worker runs one trial, whose cache (and spill file) lives and ends in its own run folder.
  return runTrial(trial, { ...opts, experiment: validation.experiment, plain: validation.plain, source, baseDir, runsDir: '' }, sweepDir, new Map(), undefined);
}

export function checkResumable(sweepDir: string, source: string, trials: readonly Trial[], opts: { readonly slurm?: boolean } = {}): void {
  let definition: { trials: unknown[] };
  let saved: string;
  try {
    definition = JSON.parse(fs.readFileSync(path.join(sweepDir, SWEEP_FILES.definition), 'utf8')) as { trials: unknown[] };
    saved = fs.readFileSync(path.join(sweepDir, SWEEP_FILES.experiment), 'utf8');
  } catch {
    throw new Error(`${sweepDir} is not a sweep folder (no ${SWEEP_FILES.definition})`);
  }
  if (executorOf(sweepDir) === 'slurm' && !opts.slurm) throw new Error(`${sweepDir} is a Slurm sweep: --resume submits its unfinished trials to Slurm again (give --slurm, or leave --local out)`);
  if (saved !== source) throw new Error(`${sweepDir} was started from a different experiment file: resume needs the same file`);
  // Trial indices must mean the same grid points as when the sweep started.
  if (JSON.stringify(definition.trials) !== JSON.stringify(trials.map(definitionOf))) throw new Error(`${sweepDir} lists other trials than this file expands to now (it was started by another engine version); start a new sweep`);
}

/** Where a sweep folder's trials run: `slurm` for a Slurm sweep, else `local` (also for a folder that is not a sweep). */
export function executorOf(sweepDir: string): 'local' | 'slurm' {
  try {
    return (JSON.parse(fs.readFileSync(path.join(sweepDir, SWEEP_FILES.status), 'utf8')) as StoredSweepStatus).executor === 'slurm' ? 'slurm' : 'local';
  } catch {
    return 'local';
  }
}

function groupKey(assignments: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const axis of GROUP_AXES) if (axis in assignments) out[axis] = assignments[axis];
  // top_k means nothing for the other methods; adapter.size nothing for the baselines.
  if ('method' in out && out.method !== 'top_k') delete out.top_k;
  // The adapters' architecture (size, preset, variants) defines groups of adapter trials only.
  if ('method' in out && out.method !== 'adapter') for (const axis of GROUP_AXES) if (axis.startsWith('adapter.')) delete out[axis];
  return out;
}

export function summarise(metric: string, records: readonly TrialRecord[]): SweepSummary {
  const higher = HIGHER_IS_BETTER[metric as keyof typeof HIGHER_IS_BETTER] ?? true;
  const better = (a: number, b: number) => (higher ? a > b : a < b);
  const latest = new Map<number, TrialRecord>();
  for (const r of records) latest.set(r.index, r);
  const trials = [...latest.values()].sort((a, b) => a.index - b.index);
  const groups = new Map<string, TrialRecord[]>();
  for (const t of trials) {
    if (t.status !== 'completed' || t.metrics[metric] === undefined) continue;
    const key = JSON.stringify(groupKey(t.assignments));
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  const summaries: GroupSummary[] = [];
  for (const [key, members] of groups) {
    const best = members.reduce((a, b) => (better(b.metrics[metric]!, a.metrics[metric]!) ? b : a));
    // The best configuration's other seeds: same assignments.
    const same = members.filter((m) => JSON.stringify(m.assignments) === JSON.stringify(best.assignments)).map((m) => m.metrics[metric]!);
    const mean = same.reduce((a, b) => a + b, 0) / same.length;
    const std = Math.sqrt(same.reduce((a, b) => a + (b - mean) ** 2, 0) / same.length);
    summaries.push({ group: JSON.parse(key) as Record<string, unknown>, best, trials: members.length, seeds: { mean, std, n: same.length } });
  }
  const tradeoff = summaries.filter((g) => g.best.trainable !== undefined).map((g) => ({ group: JSON.stringify(g.group), trainable: g.best.trainable!, value: g.best.metrics[metric]!, mean: g.seeds.mean, std: g.seeds.std }));
  return { metric, trials, groups: summaries, tradeoff };
}
