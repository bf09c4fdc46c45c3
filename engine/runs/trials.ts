/**
 * A sweep's records on disk: one per finished trial, and `summary.json` (best per group,
 * mean ± std over seeds, the trade-off points). A sweep that runs its trials itself appends
 * them to `trials.jsonl`; a Slurm sweep's trials run as array tasks on many nodes at once,
 * so each writes its own file `records/trial-<index>.json` (atomically: appends from several
 * hosts to one file on a network file system can interleave). Readers see both as one list.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJsonLines, writeAtomic } from './store';

export interface TrialRecord {
  readonly index: number;
  readonly status: 'completed' | 'failed' | 'cancelled';
  readonly assignments: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly run: string | undefined;
  readonly metrics: Readonly<Record<string, number>>;
  readonly trainable: number | undefined;
  readonly message?: string;
  /** A Slurm sweep's trial: the array task that ran it (`<job>_<task>`) and its node. */
  readonly slurm?: { readonly job: string; readonly node?: string };
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

/** `trials.jsonl` (a sweep that records its trials itself) and `records/` (one file per trial, written by the trial). */
export const TRIAL_FILES = { lines: 'trials.jsonl', records: 'records' } as const;

export function trialRecordFile(sweepDir: string, index: number): string {
  return path.join(sweepDir, TRIAL_FILES.records, `trial-${String(index).padStart(4, '0')}.json`);
}

/**
 * Every record of a sweep, in the order they were written: the lines of `trials.jsonl`,
 * then the record files oldest first. A later record of a trial replaces an earlier one
 * where callers keep the latest per index. Torn or foreign content is skipped.
 */
export function readTrialRecords(sweepDir: string): TrialRecord[] {
  const out = readJsonLines<TrialRecord>(path.join(sweepDir, TRIAL_FILES.lines)).filter(isRecord);
  const dir = path.join(sweepDir, TRIAL_FILES.records);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => /^trial-\d+\.json$/.test(n));
  } catch {
    return out;
  }
  const files: { record: TrialRecord; mtime: number }[] = [];
  for (const n of names) {
    try {
      const file = path.join(dir, n);
      const record = JSON.parse(fs.readFileSync(file, 'utf8')) as TrialRecord;
      if (isRecord(record)) files.push({ record, mtime: fs.statSync(file).mtimeMs });
    } catch {
      // removed meanwhile (a resubmission), or not a record
    }
  }
  files.sort((a, b) => a.mtime - b.mtime || a.record.index - b.record.index);
  return [...out, ...files.map((f) => f.record)];
}

/** The latest record of each trial, by index. */
export function latestTrialRecords(sweepDir: string): Map<number, TrialRecord> {
  return new Map(readTrialRecords(sweepDir).map((r) => [r.index, r]));
}

/**
 * Writes a trial's record file atomically. `ifAbsent`: only when the trial has none yet (an
 * observer recording a task that ended without a record must not replace the task's own).
 * Returns whether it wrote.
 */
export function writeTrialRecord(sweepDir: string, record: TrialRecord, opts: { readonly ifAbsent?: boolean } = {}): boolean {
  const file = trialRecordFile(sweepDir, record.index);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const text = JSON.stringify(record, null, 2) + '\n';
  if (!opts.ifAbsent) {
    writeAtomic(file, text);
    return true;
  }
  // Written aside, then linked into place: link fails when the file exists, and a reader never sees it half-written.
  const tmp = `${file}.${process.pid}.${Date.now()}.new`;
  writeAtomic(tmp, text);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Removes a trial's record file (the trial is submitted again). */
export function removeTrialRecord(sweepDir: string, index: number): void {
  fs.rmSync(trialRecordFile(sweepDir, index), { force: true });
}

function isRecord(r: unknown): r is TrialRecord {
  return typeof r === 'object' && r !== null && typeof (r as TrialRecord).index === 'number' && typeof (r as TrialRecord).status === 'string';
}
