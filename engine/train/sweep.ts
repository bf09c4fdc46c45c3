/**
 * Sweeps: the grid × seeds of an experiment, run trial after trial, each a training run in
 * the sweep's folder. A failed trial is recorded and the sweep goes on; an interrupted
 * sweep resumes and skips the trials it finished; the best trial per group is selected on
 * validation, as Houlsby et al. do, and the summary holds the trade-off points
 * (trainable parameters vs metric) for each group.
 */
import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { validateExperiment } from '../config/validate';
import { expandSweep, type Experiment, type Trial } from '../config/experiment';
import { stamp, type EventPayload, type EventSink, type JobEvent } from '../events';
import { HIGHER_IS_BETTER } from '../metrics';
import { loadModel, type LoadedModel } from '../model/load';
import { appendJsonLine, createRunDir, readJsonLines, writeJson, writeAtomic } from '../runs/store';
import { runTrainJob } from './job';
import { PrefixCachePool } from './prefixCache';

export const SWEEP_FILES = { definition: 'sweep.json', trials: 'trials.jsonl', summary: 'summary.json', experiment: 'experiment.adapter.yaml', runs: 'runs' } as const;

/** Axes that define a group: the best trial is chosen among the others (learning rate, epochs, seeds, …). */
export const GROUP_AXES = ['method', 'adapter.size', 'top_k'] as const;

export interface TrialRecord {
  readonly index: number;
  readonly status: 'completed' | 'failed' | 'cancelled';
  readonly assignments: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly run: string | undefined;
  readonly metrics: Readonly<Record<string, number>>;
  readonly trainable: number | undefined;
  readonly message?: string;
}

export interface GroupSummary {
  readonly group: Readonly<Record<string, unknown>>;
  readonly best: TrialRecord;
  readonly trials: number;
  /** Mean and standard deviation over seeds of the best configuration. */
  readonly seeds: { readonly mean: number; readonly std: number; readonly n: number };
}

export interface SweepSummary {
  readonly metric: string;
  readonly trials: readonly TrialRecord[];
  readonly groups: readonly GroupSummary[];
  /** Points for the parameter/performance plot: one per group. */
  readonly tradeoff: readonly { readonly group: string; readonly trainable: number; readonly value: number; readonly mean: number; readonly std: number }[];
}

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
  readonly device?: 'auto' | 'cpu' | 'webgpu' | 'cuda';
  /**
   * Run this many trials at once, each in a worker process started with `workerCommand`
   * (the CLI: node and its script) and `sweep-trial`; the cores are split between them.
   */
  readonly workers?: { readonly count: number; readonly command: readonly string[] };
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
}

export async function runSweep(opts: SweepOptions): Promise<{ sweepDir: string; summary: SweepSummary; status: 'completed' | 'cancelled' }> {
  const started = Date.now();
  const e = opts.experiment;
  const emit = (p: EventPayload): void => opts.emit(stamp(p));
  const trials = expandSweep(opts.plain, opts.baseDir);
  const sweepDir = opts.resume ? path.resolve(opts.resume) : createRunDir(opts.runsDir, `${e.name}-sweep`);
  const trialsFile = path.join(sweepDir, SWEEP_FILES.trials);
  if (opts.resume) checkResumable(sweepDir, opts.source, trials.length);
  else {
    writeAtomic(path.join(sweepDir, SWEEP_FILES.experiment), opts.source);
    writeJson(path.join(sweepDir, SWEEP_FILES.definition), { name: e.name, baseDir: opts.baseDir, metric: e.task.metric, grid: e.sweep?.grid ?? [], seeds: e.sweep?.seeds ?? [], trials: trials.map((t) => ({ index: t.index, assignments: t.assignments, seed: t.seed })) });
  }
  // Finished trials of an earlier attempt are kept; a cancelled one runs again.
  const finished = new Map(readJsonLines<TrialRecord>(trialsFile).filter((r) => r.status !== 'cancelled').map((r) => [r.index, r]));
  emit({ type: 'start', job: 'sweep', sweep: path.basename(sweepDir), sweepDir, trials: trials.length, skipped: finished.size, metric: e.task.metric });
  const models = new Map<string, LoadedModel>();
  // Trials with the same model, data, max length and frozen prefix reuse one prefix cache.
  const prefixCaches = new PrefixCachePool();
  let status: 'completed' | 'cancelled' = 'completed';
  const pending = trials.filter((t) => !finished.has(t.index));
  const record = (r: TrialRecord): void => {
    appendJsonLine(trialsFile, r);
    emit({ type: 'trial-end', index: r.index, total: trials.length, status: r.status, run: r.run, metrics: r.metrics, trainable: r.trainable, ...(r.message ? { message: r.message } : {}) });
    if (r.status === 'cancelled') status = 'cancelled';
  };
  if (opts.workers && opts.workers.count > 1) {
    // A pool: each worker takes the next pending trial until none is left or the sweep is cancelled.
    // The threads the sweep may use (flag, file, or every core) are split; never more workers than threads.
    const budget = opts.threads ?? e.runtime.threads ?? os.cpus().length;
    const count = Math.max(1, Math.min(opts.workers.count, budget));
    const threads = Math.max(1, Math.floor(budget / count));
    const next = async (): Promise<void> => {
      for (let trial = pending.shift(); trial; trial = pending.shift()) {
        if (opts.signal?.aborted) {
          status = 'cancelled';
          return;
        }
        // A trial's events are kept together (trial-start, its run's events, trial-end), as readers of the
        // stream expect: trials run at once, so each worker's events are held until its trial ends.
        emit({ type: 'log', level: 'info', message: `trial ${trial.index + 1} of ${trials.length} started in a worker` });
        const held: JobEvent[] = [];
        const r = await runWorkerTrial(trial, sweepDir, { ...opts, emit: (event) => held.push(event) }, threads);
        emit({ type: 'trial-start', index: trial.index, total: trials.length, assignments: trial.assignments, seed: trial.seed });
        for (const event of held) opts.emit(event);
        record(r);
      }
    };
    await Promise.all(Array.from({ length: Math.min(count, pending.length) }, next));
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
  const summary = summarise(e.task.metric, readJsonLines<TrialRecord>(trialsFile));
  const summaryFile = path.join(sweepDir, SWEEP_FILES.summary);
  writeJson(summaryFile, summary);
  emit({ type: 'artifact', kind: 'sweep-summary', path: summaryFile });
  const best = summary.groups.length ? Math.max(...summary.groups.map((g) => g.best.metrics[e.task.metric] ?? -Infinity)) : NaN;
  emit({ type: 'end', status, run: path.basename(sweepDir), seconds: (Date.now() - started) / 1000, steps: summary.trials.length, metrics: Number.isFinite(best) ? { [e.task.metric]: best } : {} });
  return { sweepDir, summary, status };
}

async function runTrial(trial: Trial, opts: SweepOptions, sweepDir: string, models: Map<string, LoadedModel>, prefixCaches: PrefixCachePool | undefined): Promise<TrialRecord> {
  const base = { index: trial.index, assignments: trial.assignments, seed: trial.seed };
  try {
    // Trials that share a base model load it once.
    let model = models.get(trial.experiment.model);
    if (!model) {
      model = loadModel(trial.experiment.model);
      models.set(trial.experiment.model, model);
    }
    const named = { ...trial.experiment, name: `trial-${String(trial.index).padStart(4, '0')}` };
    const result = await runTrainJob({ experiment: named, source: opts.source, runsDir: path.join(sweepDir, SWEEP_FILES.runs), maxSteps: opts.maxSteps, threads: opts.threads, device: opts.device, emit: opts.emit, signal: opts.signal, model, prefixCaches });
    return { ...base, status: result.status, run: path.basename(result.runDir), metrics: result.metrics, trainable: result.parameters.trainable, ...(result.message ? { message: result.message } : {}) };
  } catch (err) {
    return { ...base, status: 'failed', run: undefined, metrics: {}, trainable: undefined, message: (err as Error).message };
  }
}

/**
 * One trial in a worker process (`adapter-lab sweep-trial`): its events are forwarded as
 * they come; its record is read from them (start: run and parameters; end: status, metrics).
 */
function runWorkerTrial(trial: Trial, sweepDir: string, opts: SweepOptions, threads: number): Promise<TrialRecord> {
  const base = { index: trial.index, assignments: trial.assignments, seed: trial.seed };
  const [exe, ...script] = opts.workers!.command;
  const args = [...script, 'sweep-trial', sweepDir, String(trial.index), '--threads', String(threads), ...(opts.maxSteps ? ['--max-steps', String(opts.maxSteps)] : []), ...(opts.device ? ['--device', opts.device] : [])];
  return new Promise((resolve) => {
    const child = spawn(exe!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
  const validation = validateExperiment(source, { filePath: path.join(baseDir, SWEEP_FILES.experiment) });
  if (!validation.ok || !validation.experiment) throw new Error(`${sweepDir}: the sweep's experiment file no longer validates`);
  const trial = expandSweep(validation.plain, baseDir).find((t) => t.index === index);
  if (!trial) throw new Error(`${sweepDir} has no trial ${index}`);
  // No pool: a worker runs one trial, whose cache (and spill file) lives and ends in its own run folder.
  return runTrial(trial, { ...opts, experiment: validation.experiment, plain: validation.plain, source, baseDir, runsDir: '' }, sweepDir, new Map(), undefined);
}

function checkResumable(sweepDir: string, source: string, trials: number): void {
  let definition: { trials: unknown[] };
  try {
    definition = JSON.parse(fs.readFileSync(path.join(sweepDir, SWEEP_FILES.definition), 'utf8')) as { trials: unknown[] };
  } catch {
    throw new Error(`${sweepDir} is not a sweep folder (no ${SWEEP_FILES.definition})`);
  }
  const saved = fs.readFileSync(path.join(sweepDir, SWEEP_FILES.experiment), 'utf8');
  if (saved !== source || definition.trials.length !== trials) throw new Error(`${sweepDir} was started from a different experiment file: resume needs the same file`);
}

function groupKey(assignments: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const axis of GROUP_AXES) if (axis in assignments) out[axis] = assignments[axis];
  // top_k means nothing for the other methods; adapter.size nothing for the baselines.
  if ('method' in out && out.method !== 'top_k') delete out.top_k;
  if ('method' in out && out.method !== 'adapter') delete out['adapter.size'];
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
