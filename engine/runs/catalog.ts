/**
 * What is in a runs folder: runs and sweeps with their status and headline numbers, read
 * from their files (a half-written or foreign folder is listed as unreadable, never fatal).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TRIAL_STATES, type TrialState } from '../events';
import { HIGHER_IS_BETTER } from '../metrics';
import { readJsonLines, RUN_FILES, type RunStatusRecord, type SlurmObservation, type SweepStatusRecord } from './store';
import { latestTrialRecords, type TrialRecord } from './trials';

export interface RunEntry {
  readonly kind: 'run' | 'sweep' | 'unreadable';
  readonly name: string;
  readonly dir: string;
  readonly status: RunStatusRecord['status'] | 'unknown';
  readonly method?: string;
  readonly experiment?: string;
  readonly started?: string;
  readonly steps?: number;
  /** The best validation value of the metric, in its direction: over a run's evaluations, or over a sweep's completed trials. */
  readonly metric?: { readonly name: string; readonly value: number };
  /** Sweeps: how many trials the sweep has. */
  readonly trials?: number;
  /** Sweeps: trials with a record (completed or failed), and how many of them failed. */
  readonly progress?: { readonly done: number; readonly failed: number };
  /** The process writing the run or sweep while its status is `running`. */
  readonly pid?: number;
  /** Sweeps whose trials run on a Slurm cluster: its job arrays (the last is the latest submission). */
  readonly slurm?: { readonly jobs: readonly string[] };
}

export function listRuns(runsDir: string): RunEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    return [];
  }
  return names.map((name) => describe(path.join(runsDir, name)));
}

export function describe(dir: string): RunEntry {
  const name = path.basename(dir);
  const json = <T>(file: string): T | undefined => {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as T;
    } catch {
      return undefined;
    }
  };
  const sweep = json<{ name: string; metric: string; trials: unknown[] }>('sweep.json');
  if (sweep) {
    // The sweep says what it is doing in status.json; trials.jsonl only gives the values.
    const status = json<SweepStatusRecord>(RUN_FILES.status);
    const latest = [...latestTrialRecords(dir).values()];
    const best = bestValue(sweep.metric, latest.filter((t) => t.status === 'completed').map((t) => t.metrics?.[sweep.metric]));
    const slurm = status?.executor === 'slurm' ? { jobs: (status.slurm?.submissions ?? []).map((s) => s.job) } : undefined;
    // A Slurm sweep's trials record themselves: its progress is in their records, not in a status the sweep rewrites.
    const recorded = latest.filter((t) => t.status !== 'cancelled');
    const progress = slurm ? { done: recorded.length, failed: recorded.filter((t) => t.status === 'failed').length } : status ? { done: status.trials.done, failed: status.trials.failed } : undefined;
    return {
      kind: 'sweep',
      name,
      dir,
      status: status?.status ?? 'unknown',
      experiment: sweep.name,
      trials: sweep.trials.length,
      ...(status ? { started: status.started, pid: status.pid } : {}),
      ...(progress ? { progress } : {}),
      ...(slurm ? { slurm } : {}),
      ...(best !== undefined ? { metric: { name: sweep.metric, value: best } } : {}),
    };
  }
  const status = json<RunStatusRecord>(RUN_FILES.status);
  const config = json<{ experiment: { name: string; method: string; task: { metric: string } } }>(RUN_FILES.config);
  if (!status || !config) return { kind: 'unreadable', name, dir, status: 'unknown' };
  const metric = config.experiment.task.metric;
  const evaluations = readJsonLines<{ type: string; value: number }>(path.join(dir, RUN_FILES.metrics)).filter((m) => m.type === 'evaluation');
  const best = bestValue(metric, evaluations.map((m) => m.value));
  return {
    kind: 'run',
    name,
    dir,
    status: status.status,
    method: config.experiment.method,
    experiment: config.experiment.name,
    started: status.started,
    steps: status.step,
    pid: status.pid,
    ...(best !== undefined ? { metric: { name: metric, value: best } } : {}),
  };
}

/** The best of some values of a metric, in the metric's direction (higher unless the metric says otherwise). */
export function bestValue(metric: string, values: readonly (number | undefined)[]): number | undefined {
  const higher = HIGHER_IS_BETTER[metric as keyof typeof HIGHER_IS_BETTER] ?? true;
  let best: number | undefined;
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v) && (best === undefined || (higher ? v > best : v < best))) best = v;
  return best;
}

/**
 * Whether a run or sweep marked running is still being written by a live process. A Slurm
 * sweep marked running is live: its trials run on the cluster, and whoever next asks Slurm
 * (`sweep --status`, `--follow`, the editor) settles its status when they have all ended.
 */
export function isLive(entry: RunEntry): boolean {
  if (entry.status === 'running' && entry.slurm) return true;
  if (entry.status !== 'running' || entry.pid === undefined) return false;
  try {
    process.kill(entry.pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A Slurm sweep's files besides those of every sweep: the observed task states, the generated script, the tasks' logs. */
export const SLURM_FILES = { observation: 'slurm.json', folder: 'slurm', script: 'sweep.sbatch', logs: 'logs' } as const;

export { TRIAL_STATES, type TrialState };

/** A trial of a Slurm sweep: its record where it has one, and what Slurm said of its task. */
export interface TrialView {
  readonly index: number;
  readonly assignments: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly state: TrialState;
  /** The array task that runs (or ran) it, `<job>_<index>`. */
  readonly job?: string;
  readonly node?: string;
  /** Why it waits (Slurm's reason: Priority, Resources, JobArrayTaskLimit, …). */
  readonly reason?: string;
  readonly record?: TrialRecord;
}

export function readSlurmObservation(sweepDir: string): SlurmObservation | undefined {
  try {
    const o = JSON.parse(fs.readFileSync(path.join(sweepDir, SLURM_FILES.observation), 'utf8')) as SlurmObservation;
    return o && typeof o.tasks === 'object' ? o : undefined;
  } catch {
    return undefined;
  }
}

/** The state of an array task that has ended, from Slurm's state; undefined for one that has not. */
export function endedTaskState(slurmState: string): TrialState | undefined {
  switch (slurmState) {
    case 'COMPLETED':
      return 'completed';
    case 'FAILED':
    case 'SPECIAL_EXIT':
      return 'failed';
    case 'CANCELLED':
    case 'REVOKED':
      return 'cancelled';
    case 'TIMEOUT':
    case 'DEADLINE':
      return 'timed-out';
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
      return 'node-failure';
    case 'OUT_OF_MEMORY':
      return 'out-of-memory';
    case 'PREEMPTED':
      return 'preempted';
    case 'LOST':
      return 'lost';
    default:
      return undefined;
  }
}

/** Slurm states of a task that will still run: waiting (pending) rather than running. */
const WAITING = new Set(['PENDING', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESV_DEL_HOLD', 'POWER_UP_NODE']);

/**
 * Every trial of a Slurm sweep with its state, from the folder alone (sweep.json, the
 * records, status.json's submissions and slurm.json): no Slurm command runs here. A trial's
 * record says how it ended, sharpened by how Slurm ended its task (a trial stopped at its
 * time limit records `cancelled` and is `timed-out`); one without a record is as Slurm last
 * said (pending, running), or `pending` if it was submitted after Slurm was last asked.
 */
export function slurmTrialViews(sweepDir: string): TrialView[] {
  let definition: { trials?: { index: number; assignments: Record<string, unknown>; seed: number }[] };
  let status: SweepStatusRecord | undefined;
  try {
    definition = JSON.parse(fs.readFileSync(path.join(sweepDir, 'sweep.json'), 'utf8')) as typeof definition;
  } catch {
    return [];
  }
  try {
    status = JSON.parse(fs.readFileSync(path.join(sweepDir, RUN_FILES.status), 'utf8')) as SweepStatusRecord;
  } catch {
    status = undefined;
  }
  const records = latestTrialRecords(sweepDir);
  const observed = readSlurmObservation(sweepDir)?.tasks ?? {};
  const submissions = status?.slurm?.submissions ?? [];
  return (definition.trials ?? []).map((t) => {
    const submission = [...submissions].reverse().find((s) => s.trials.includes(t.index));
    const record = records.get(t.index);
    const job = record?.slurm?.job ?? (submission ? `${submission.job}_${t.index}` : undefined);
    const seen = observed[String(t.index)];
    const task = seen && seen.job === job ? seen : undefined;
    const base = { index: t.index, assignments: t.assignments, seed: t.seed, ...(job ? { job } : {}), ...(task?.node ?? record?.slurm?.node ? { node: task?.node ?? record?.slurm?.node } : {}) };
    if (record) {
      const ended = task ? endedTaskState(task.state) : undefined;
      // The record says what the trial did; Slurm says why a task that did not complete stopped.
      const state: TrialState = record.status !== 'completed' && ended && ended !== 'completed' && ended !== 'failed' && ended !== 'cancelled' ? ended : record.status;
      return { ...base, state, record };
    }
    if (!submission) return { ...base, state: 'not-submitted' };
    if (!task) return { ...base, state: 'pending' };
    const ended = endedTaskState(task.state);
    if (ended) return { ...base, state: ended };
    return { ...base, state: WAITING.has(task.state) ? 'pending' : 'running', ...(task.reason ? { reason: task.reason } : {}) };
  });
}
