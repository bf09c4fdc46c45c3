/**
 * One writer per folder: a job that writes into a run or sweep folder holds its `.lock`,
 * a file created exclusively that names the holder (pid, host, start time, job). A second
 * job is refused before it writes anything. A lock whose holder died (SIGKILL, a crash) is
 * stale and taken over; a held lock is released when the job ends, when the process exits,
 * and when a signal nobody else handles ends the process.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const LOCK_FILE = '.lock';

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  /** What holds it: `sweep`, `ablate`, `train`, … */
  readonly job: string;
  /** Tells this holder from an earlier one with the same pid. */
  readonly token: string;
  /** The Slurm job (array task `<job>_<task>`) the holder ran as, when it ran under Slurm. */
  readonly slurm?: string;
}

/** The Slurm job this process runs as: `<array job>_<task>` for an array task, else the job id; undefined outside Slurm. */
export function slurmJobOfProcess(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID) return `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}`;
  return env.SLURM_JOB_ID || undefined;
}

export interface RunLock {
  readonly dir: string;
  readonly owner: LockOwner;
  /** Removes the lock if it is still this holder's; calling it again does nothing. */
  release(): void;
}

/** The folder is locked by a live job. */
export class FolderLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly owner: LockOwner,
  ) {
    super(`${dir} is in use by another job (${owner.job}, pid ${owner.pid}${owner.host === os.hostname() ? '' : ` on ${owner.host}`}, since ${owner.started}); wait for it to end or stop it`);
  }
}

/**
 * Takes the folder's lock or throws `FolderLockedError` naming the live holder. The lock's
 * content is written to a private file first and linked into place, so a reader never sees
 * a lock without its holder.
 */
export function acquireRunLock(dir: string, job: string): RunLock {
  const file = path.join(dir, LOCK_FILE);
  const slurm = slurmJobOfProcess();
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), job, token: randomBytes(8).toString('hex'), ...(slurm ? { slurm } : {}) };
  const tmp = path.join(dir, `${LOCK_FILE}.${owner.token}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(owner) + '\n');
  try {
    // A few rounds: each either takes the lock, finds a live holder, or clears a stale one.
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        fs.linkSync(tmp, file);
        return hold(dir, file, owner);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const current = readOwner(file);
      if (current === 'missing') continue;
      if (current !== 'unreadable' && isAlive(current)) throw new FolderLockedError(dir, current);
      clearStale(file, current);
    }
    throw new Error(`${dir}: could not take the folder's lock (it keeps changing hands)`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** The live job holding the folder's lock, if any (a stale lock has none). */
export function lockHolder(dir: string): LockOwner | undefined {
  const current = readOwner(path.join(dir, LOCK_FILE));
  return typeof current === 'object' && isAlive(current) ? current : undefined;
}

/**
 * Removes a folder's lock when `stale` says its holder is gone (one that cannot be checked
 * from here: a Slurm task on another node that Slurm says has ended). Returns the holder removed.
 */
export function clearLockIf(dir: string, stale: (owner: LockOwner) => boolean): LockOwner | undefined {
  const file = path.join(dir, LOCK_FILE);
  const current = readOwner(file);
  if (typeof current !== 'object' || !stale(current)) return undefined;
  clearStale(file, current);
  return current;
}

/** Runs `body` holding the folder's lock, released however it ends. */
export async function withRunLock<T>(dir: string, job: string, body: () => Promise<T>): Promise<T> {
  const lock = acquireRunLock(dir, job);
  try {
    return await body();
  } finally {
    lock.release();
  }
}

function readOwner(file: string): LockOwner | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.token === 'string') return { pid: o.pid, host: o.host, started: String(o.started), job: String(o.job), token: o.token, ...(typeof o.slurm === 'string' ? { slurm: o.slurm } : {}) };
  } catch {
    // Falls through: only a lock written by something else can be unparsable.
  }
  return 'unreadable';
}

/**
 * A holder on another host cannot be checked, so it counts as alive; except an earlier
 * attempt of the Slurm job this process is (requeued after its node failed): Slurm runs a
 * job once at a time, so that holder is gone.
 */
function isAlive(owner: LockOwner): boolean {
  if (owner.host !== os.hostname()) return !(owner.slurm !== undefined && owner.slurm === slurmJobOfProcess());
  if (owner.pid === process.pid) return held.has(owner.token);
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Moves a stale lock aside and removes it. Another process may have cleared the same stale
 * lock and taken the folder in between; then what was moved is its live lock, which is put back.
 */
function clearStale(file: string, stale: LockOwner | 'unreadable'): void {
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const moved = readOwner(aside);
  const same = stale === 'unreadable' ? moved === 'unreadable' : typeof moved === 'object' && moved.token === stale.token;
  if (!same) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // Someone took the folder meanwhile; the next round finds them.
    }
  }
  fs.rmSync(aside, { force: true });
}

const held = new Map<string, { file: string }>();
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function hold(dir: string, file: string, owner: LockOwner): RunLock {
  held.set(owner.token, { file });
  if (held.size === 1) installHandlers();
  let released = false;
  return {
    dir,
    owner,
    release: () => {
      if (released) return;
      released = true;
      releaseFile(file, owner.token);
      held.delete(owner.token);
      if (held.size === 0) removeHandlers();
    },
  };
}

/** Removes the lock file only while it is still this holder's (a stale takeover replaces it). */
function releaseFile(file: string, token: string): void {
  const current = readOwner(file);
  if (typeof current === 'object' && current.token === token) fs.rmSync(file, { force: true });
}

function releaseAll(): void {
  for (const [token, { file }] of held) releaseFile(file, token);
  held.clear();
}

/**
 * A signal that some other listener handles (the CLI's cancellation) lets the job end and
 * release its locks itself. One that nobody else handles would end the process without
 * 'exit' handlers: the locks are released and the signal raised again with its default action.
 */
function onSignal(signal: NodeJS.Signals): void {
  // Listeners are called in order and this one is first, so a once-listener still counts here.
  if (process.listenerCount(signal) > 1) return;
  releaseAll();
  removeHandlers();
  process.kill(process.pid, signal);
}

const signalHandlers = new Map<NodeJS.Signals, () => void>();

function installHandlers(): void {
  process.on('exit', releaseAll);
  for (const signal of SIGNALS) {
    const handler = (): void => onSignal(signal);
    signalHandlers.set(signal, handler);
    process.prependListener(signal, handler);
  }
}

function removeHandlers(): void {
  process.off('exit', releaseAll);
  for (const [signal, handler] of signalHandlers) process.off(signal, handler);
  signalHandlers.clear();
}
