/**
 * What is in a runs folder: runs and sweeps with their status and headline numbers, read
 * from their files (a half-written or foreign folder is listed as unreadable, never fatal).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HIGHER_IS_BETTER } from '../metrics';
import { readJsonLines, RUN_FILES, type RunStatusRecord, type SweepStatusRecord } from './store';

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
    const trials = readJsonLines<{ status: string; metrics: Record<string, number> }>(path.join(dir, 'trials.jsonl'));
    const best = bestValue(sweep.metric, trials.filter((t) => t.status === 'completed').map((t) => t.metrics?.[sweep.metric]));
    return {
      kind: 'sweep',
      name,
      dir,
      status: status?.status ?? 'unknown',
      experiment: sweep.name,
      trials: sweep.trials.length,
      ...(status ? { started: status.started, pid: status.pid, progress: { done: status.trials.done, failed: status.trials.failed } } : {}),
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

/** Whether a run or sweep marked running is still being written by a live process. */
export function isLive(entry: RunEntry): boolean {
  if (entry.status !== 'running' || entry.pid === undefined) return false;
  try {
    process.kill(entry.pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
