/**
 * The run store: one folder per run. Every file is written atomically (temporary file in
 * the same folder, fsync, rename), metrics are appended one JSON line per record, and a
 * run folder is created exclusively so two jobs started at once never share one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_RUNS_FOLDER } from '../config/runsFolder';

export type RunStatus = 'running' | 'completed' | 'failed' | 'cancelled';

export interface RunStatusRecord {
  readonly status: RunStatus;
  readonly started: string;
  readonly ended?: string;
  readonly step: number;
  readonly message?: string;
  readonly pid: number;
}

/** A sweep folder's `status.json`: the sweep as a whole, beside its trials' own run folders. */
export interface SweepStatusRecord {
  readonly status: RunStatus;
  readonly started: string;
  readonly ended?: string;
  /** The sweep's process (workers have their own, in their trials' run folders). */
  readonly pid: number;
  readonly host: string;
  /** Of `total` trials, `done` have a record (completed or failed), `failed` of them failed. */
  readonly trials: { readonly total: number; readonly done: number; readonly failed: number };
  readonly message?: string;
  /** Where the trials run; absent in sweeps that ran them here (`local`). */
  readonly executor?: 'local' | 'slurm';
  /** A Slurm sweep: its job arrays, the first submission and each `--resume` after it. `pid` and `host` are then the submitting process's. */
  readonly slurm?: { readonly submissions: readonly SlurmSubmission[] };
}

/** One `sbatch` of a Slurm sweep: its job array's id and the trials it runs (array index = trial index). */
export interface SlurmSubmission {
  readonly job: string;
  readonly trials: readonly number[];
  /** The `--array` specification, with its `%K` throttle. */
  readonly array: string;
  readonly submitted: string;
}

/**
 * A Slurm sweep's `slurm.json`: what Slurm last said of each trial's array task, written by
 * whoever asked (`sweep --status`, `--follow`, the editor). Kept after Slurm forgets a job,
 * so how a task ended (timed out, node failure) stays known.
 */
export interface SlurmObservation {
  readonly observed: string;
  /** By trial index. */
  readonly tasks: Readonly<Record<string, { readonly job: string; readonly state: string; readonly reason?: string; readonly node?: string }>>;
}

/**
 * The CLI's runs folder when no `--runs` is given: beside the experiment file. The editor
 * passes its own (`resolveRunsDir` in config/runsFolder.ts: the workspace's) to every job.
 */
export function defaultRunsDir(experimentFile: string): string {
  return path.join(path.dirname(path.resolve(experimentFile)), DEFAULT_RUNS_FOLDER);
}

/** A new, empty run folder `<name>-<yyyymmdd-hhmmss>[-n]`, created exclusively. */
export function createRunDir(runsDir: string, name: string, now = new Date()): string {
  fs.mkdirSync(runsDir, { recursive: true });
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
  const ts = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  for (let n = 0; n < 1000; n++) {
    const dir = path.join(runsDir, n === 0 ? `${safe}-${ts}` : `${safe}-${ts}-${n}`);
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  throw new Error(`could not create a run folder in ${runsDir}`);
}

/** Writes a file so that readers see the old content or the new, never a part. */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = fs.openSync(tmp, 'w');
  try {
    try {
      // writeSync may write less than asked: loop until every byte is down.
      for (let off = 0; off < bytes.length; ) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // Nothing half-written is left behind, whichever step failed (a full disk, a folder where the file goes).
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export function writeJson(file: string, value: unknown): void {
  writeAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** Appends one JSON line; a crash can only lose or cut the last line, which readers skip. */
export function appendJsonLine(file: string, value: unknown): void {
  fs.appendFileSync(file, JSON.stringify(value) + '\n');
}

/**
 * Cuts a torn last line (a crash mid-append) back to the last newline, so a line appended
 * next starts on a line of its own instead of being glued to the fragment. Returns whether
 * anything was cut.
 */
export function repairTornLine(file: string): boolean {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  if (data.length === 0 || data[data.length - 1] === 0x0a) return false;
  fs.truncateSync(file, data.lastIndexOf(0x0a) + 1);
  return true;
}

/** Reads JSON lines, skipping a final line cut short by a crash. */
export function readJsonLines<T>(file: string): T[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // Only a torn last line can be unparsable; everything before it is intact.
    }
  }
  return out;
}

export const RUN_FILES = {
  config: 'config.json',
  experiment: 'experiment.adapter.yaml',
  status: 'status.json',
  metrics: 'metrics.jsonl',
  environment: 'environment.json',
  labels: 'labels.json',
  adapterDir: 'adapter',
  /** A masked-LM run's model: a Hugging Face BertForMaskedLM folder. */
  modelDir: 'model',
  /** A fusion run's fusion and head, in AdapterHub's layout (instead of `adapter/`). */
  fusionDir: 'fusion',
  /** A fusion run's fused adapters, one folder each, copied when it starts. */
  fusedAdaptersDir: 'adapters',
  /** A fusion run's average fusion weights (the `fusion-weights` event's fields). */
  fusionWeights: 'fusion-weights.json',
  /** An unfinished run's trainable parameters and Adam moments, with the step in its metadata. */
  checkpoint: 'checkpoint.safetensors',
} as const;
