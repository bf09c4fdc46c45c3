/**
 * What every command shares: flag parsing, cancellation on SIGINT/SIGTERM, the event
 * sink (JSON lines on standard output, progress on standard error) and exit codes.
 */
import { CheckpointError } from '../checkpoint/errors';
import { DEVICES, type Device } from '../config/schema';
import { resolveProvider } from '../runtime/provider';
import { DataError } from '../data/errors';
import { stampAs, type EngineEvent, type ErrorCode } from '../events';
import type { TrainJobResult } from '../jobs/train';
import { AdapterFolderError } from '../checkpoint/adapterFolder';
import { ExportMismatchError } from '../jobs/export';
import { RunFolderError } from '../jobs/predict';
import { ExampleInputError } from '../jobs/fusion';
import { findingLines, type Loaded } from './load';
import { progressPrinter } from './progress';

export interface ParsedFlags {
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

export function parseFlags(args: readonly string[], withValue: readonly string[], boolean: readonly string[]): ParsedFlags | string {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const name = a.slice(2);
    if (boolean.includes(name)) flags.set(name, true);
    else if (withValue.includes(name)) {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) return `--${name} needs a value`;
      flags.set(name, v);
    } else return `unknown option ${a}`;
  }
  return { positional, flags };
}

/** The flags jobs share, checked: counts that must be positive integers, and `--device`. */
export interface JobFlags {
  readonly maxSteps?: number;
  /** Stop (as a cancel, checkpoint kept) after this step, leaving the schedule as planned. */
  readonly stopAfter?: number;
  readonly threads?: number;
  readonly checkpointEvery?: number;
  readonly workers?: number;
  /** Overrides the file's `runtime.device`. */
  readonly device?: Device;
}

/** A command's JobFlags (those it accepts, as parseFlags allowed them), or the usage message for the first bad one. */
export function jobFlags(parsed: ParsedFlags): JobFlags | string {
  const out: { -readonly [K in keyof JobFlags]: JobFlags[K] } = {};
  const counts = { maxSteps: 'max-steps', stopAfter: 'stop-after', threads: 'threads', checkpointEvery: 'checkpoint-every', workers: 'workers' } as const;
  for (const [key, flag] of Object.entries(counts) as [keyof typeof counts, string][]) {
    const v = positiveInt(parsed.flags.get(flag), flag);
    if (typeof v === 'string') return v;
    if (v !== undefined) out[key] = v;
  }
  const device = parsed.flags.get('device');
  if (device !== undefined) {
    const known = DEVICES.find((d) => d === device);
    if (!known) return `--device must be ${DEVICES.slice(0, -1).join(', ')} or ${DEVICES[DEVICES.length - 1]}`;
    out.device = known;
  }
  return out;
}

/** The provider for a job on a finished run: the CPU unless --device asks for another (refused with the reason when it cannot run). */
export async function providerFor(device: Device | undefined): Promise<'cpu' | 'webgpu' | 'cuda'> {
  return device ? (await resolveProvider(device)).provider : 'cpu';
}

function positiveInt(v: string | true | undefined, name: string): number | undefined | string {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : `--${name} must be a positive integer`;
}

/**
 * Cancels on SIGINT/SIGTERM: the job stops at once (a training step or evaluation in flight
 * is abandoned with the trainer's process) and the run ends `cancelled`. A repeated SIGTERM
 * changes nothing (a whole process group signalled while a sweep passes the signal on to its
 * workers must not kill a worker before it writes `cancelled`); a second SIGINT finds no
 * handler and ends the process, as terminals expect.
 */
export function cancellation(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { signal: controller.signal, dispose: () => (process.off('SIGINT', onSignal), process.off('SIGTERM', onSignal)) };
}

/** JSON lines on standard output (with --events) and progress for people on standard error. */
export function sinkFor(events: boolean): (e: EngineEvent) => void {
  const human = progressPrinter();
  return (e) => {
    if (events) process.stdout.write(JSON.stringify(e) + '\n');
    human(e);
  };
}

/** JSON lines on standard output (with --events) only: for commands that print their own lines for people. */
export function eventWriter(events: boolean): (e: EngineEvent) => void {
  return (e) => {
    if (events) process.stdout.write(JSON.stringify(e) + '\n');
  };
}

/**
 * The error code of a one-shot job's failure: what it was given was unusable, the export
 * check failed, a file could not be written (inputs are read through checks that say
 * which file is unusable, so a bare file-system error is a write), or the engine failed.
 */
export function errorCodeOf(e: unknown): ErrorCode {
  if (e instanceof ExportMismatchError) return 'export-mismatch';
  if (e instanceof RunFolderError || e instanceof DataError || e instanceof AdapterFolderError || e instanceof CheckpointError) return 'setup-failed';
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).syscall === 'string' ? 'save-failed' : 'engine-error';
}

/**
 * A sink that notes whether a job's `start` went through it. A job that has started closes
 * its own stream when it fails (error, failed end); one that failed before it did leaves the
 * command to write them.
 */
export function watchStart(emit: (e: EngineEvent) => void): { readonly emit: (e: EngineEvent) => void; readonly started: () => boolean } {
  let started = false;
  return {
    emit: (e) => {
      if (e.type === 'start') started = true;
      emit(e);
    },
    started: () => started,
  };
}

/** A job's failure as events: `error`, then a failed `end` (which closes the job's `start`, when it wrote one). */
export function emitFailure(emit: (e: EngineEvent) => void, code: ErrorCode, message: string, end: { readonly run: string; readonly started: number; readonly steps?: number }): void {
  emit(stampAs<EngineEvent>({ type: 'error', code, message }));
  emit(stampAs<EngineEvent>({ type: 'end', status: 'failed', run: end.run, seconds: (Date.now() - end.started) / 1000, steps: end.steps ?? 0, metrics: {}, message }));
}

export function exitCodeOf(r: TrainJobResult): number {
  return r.status === 'completed' ? 0 : r.status === 'cancelled' ? 130 : 1;
}

/** Prints why an experiment file cannot run (its findings, or why it cannot be read) and gives the exit code. */
export function reportUnloadable(file: string, loaded: Loaded & { ok: false }): number {
  if (loaded.validation && loaded.text !== undefined) for (const line of findingLines(file, loaded.text, loaded.validation)) process.stderr.write(line + '\n');
  process.stderr.write(loaded.message + '\n');
  return loaded.validation ? 1 : 2;
}

/** Reports a command's failure: exit 2 for a missing or unusable run folder, adapter folder, data file or example text, else 1. */
export function failure(e: unknown): number {
  process.stderr.write(`error: ${messageOf(e)}\n`);
  return e instanceof RunFolderError || e instanceof DataError || e instanceof AdapterFolderError || e instanceof ExampleInputError ? 2 : 1;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
