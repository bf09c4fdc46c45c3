/**
 * What is in a runs folder: runs and sweeps with their status and headline numbers, read
 * from their files (a half-written or foreign folder is listed as unreadable, never fatal).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJsonLines, RUN_FILES, type RunStatusRecord } from './store';

export interface RunEntry {
  readonly kind: 'run' | 'sweep' | 'unreadable';
  readonly name: string;
  readonly dir: string;
  readonly status: RunStatusRecord['status'] | 'unknown';
  readonly method?: string;
  readonly experiment?: string;
  readonly started?: string;
  readonly steps?: number;
  /** The last validation value of the run's metric (runs), or the best trial's (sweeps). */
  readonly metric?: { readonly name: string; readonly value: number };
  readonly trials?: number;
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
    const trials = readJsonLines<{ status: string; metrics: Record<string, number> }>(path.join(dir, 'trials.jsonl'));
    const values = trials.filter((t) => t.status === 'completed').map((t) => t.metrics[sweep.metric]).filter((v): v is number => v !== undefined);
    const status = trials.length >= sweep.trials.length ? 'completed' : 'cancelled';
    return { kind: 'sweep', name, dir, status, experiment: sweep.name, trials: sweep.trials.length, ...(values.length ? { metric: { name: sweep.metric, value: Math.max(...values) } } : {}) };
  }
  const status = json<RunStatusRecord>(RUN_FILES.status);
  const config = json<{ experiment: { name: string; method: string; task: { metric: string } } }>(RUN_FILES.config);
  if (!status || !config) return { kind: 'unreadable', name, dir, status: 'unknown' };
  const evaluations = readJsonLines<{ type: string; value: number }>(path.join(dir, RUN_FILES.metrics)).filter((m) => m.type === 'evaluation');
  const last = evaluations[evaluations.length - 1];
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
    ...(last ? { metric: { name: config.experiment.task.metric, value: last.value } } : {}),
  };
}

/** Whether a run marked running is still being written by a live process. */
export function isLive(entry: RunEntry): boolean {
  if (entry.status !== 'running' || entry.pid === undefined) return false;
  try {
    process.kill(entry.pid, 0);
    return true;
  } catch {
    return false;
  }
}
