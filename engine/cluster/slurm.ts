/**
 * Slurm's commands as functions: `sbatch` submits, `squeue` and `sacct` say what became of
 * each array task, `scancel` cancels, `sinfo` lists partitions. Nothing here schedules:
 * Slurm does; this module runs its commands (never through a shell) and reads their output.
 * A command that is missing or refuses says so in a `SlurmError` that quotes Slurm.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Slurm said no, or could not be asked: the message quotes what it printed. */
export class SlurmError extends Error {
  constructor(
    message: string,
    /** The command, as run (without a shell). */
    readonly command: string,
    /** What it printed on standard error, trimmed. */
    readonly stderr = '',
  ) {
    super(message);
  }
}

/** The absolute path of a program on the PATH, or undefined. */
export function findOnPath(program: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Whether Slurm's client commands are here (this is a login node, or a machine that submits to a cluster). */
export function slurmAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  return findOnPath('sbatch', env) !== undefined;
}

interface Output {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** How long one Slurm command may take: a busy controller answers slowly, a dead one not at all. */
const COMMAND_TIMEOUT_MS = 60_000;

function run(program: string, args: readonly string[], cwd?: string): Promise<Output> {
  const command = [program, ...args].join(' ');
  return new Promise((resolve, reject) => {
    execFile(program, args, { cwd, timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new SlurmError(`\`${program}\` was not found on the PATH: Slurm sweeps are submitted from a machine with Slurm's commands (a cluster's login node)`, command));
      }
      if (err && (err as { killed?: boolean }).killed) return reject(new SlurmError(`\`${command}\` did not answer within ${COMMAND_TIMEOUT_MS / 1000} s`, command, String(stderr ?? '').trim()));
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout ?? ''), stderr: String(stderr ?? '') });
    });
  });
}

/** Slurm's own words: its error lines without the `sbatch: error: ` prefixes, joined. */
export function slurmMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => /error/i.test(l));
  return (errors.length ? errors : lines).map((l) => l.replace(/^\w+:\s*error:\s*/i, '')).join('; ');
}

/** The partitions this cluster has (`sinfo`), the default one marked. */
export async function partitions(): Promise<{ readonly name: string; readonly isDefault: boolean }[]> {
  const out = await run('sinfo', ['--noheader', '--format=%P']);
  if (out.code !== 0) throw new SlurmError(`sinfo failed: ${slurmMessage(out.stderr) || `exit code ${out.code}`}`, 'sinfo --noheader --format=%P', out.stderr.trim());
  const names = out.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  return [...new Set(names)].map((n) => ({ name: n.replace(/\*$/, ''), isDefault: n.endsWith('*') }));
}

/** `sbatch --parsable`: the new job's id, or a SlurmError quoting why Slurm refused it. */
export async function submit(script: string, args: readonly string[], cwd: string): Promise<string> {
  const argv = ['--parsable', ...args, script];
  const out = await run('sbatch', argv, cwd);
  // --parsable prints "<id>" or "<id>;<cluster>".
  const id = out.stdout.trim().split('\n').pop()?.split(';')[0]?.trim() ?? '';
  if (out.code !== 0 || !/^\d+$/.test(id)) {
    const said = slurmMessage(out.stderr) || out.stdout.trim() || `exit code ${out.code}`;
    throw new SlurmError(`Slurm refused the job array: ${said}`, ['sbatch', ...argv].join(' '), out.stderr.trim());
  }
  return id;
}

/** `scancel` of whole jobs (a job array's id cancels every task of it) or of single tasks (`<job>_<task>`). */
export async function cancel(ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const out = await run('scancel', [...ids]);
  // A job that ended meanwhile is not an error: it is as cancelled as it will get.
  if (out.code !== 0 && !/Invalid job id|already completing or completed/i.test(out.stderr)) {
    throw new SlurmError(`scancel failed: ${slurmMessage(out.stderr) || `exit code ${out.code}`}`, `scancel ${ids.join(' ')}`, out.stderr.trim());
  }
}

/** Job states Slurm reports (squeue's %T, sacct's State). */
export type SlurmState = string;

/** States in which a task still runs or will run: it may yet write to its folder. */
const ACTIVE = new Set(['PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESIZING', 'SIGNALING', 'STAGE_OUT', 'STOPPED', 'RESV_DEL_HOLD', 'POWER_UP_NODE']);

export function isActive(state: SlurmState): boolean {
  return ACTIVE.has(state);
}

/** One task of a job array as Slurm sees it. */
export interface TaskInfo {
  /** `<array job>_<task>`. */
  readonly id: string;
  readonly arrayJob: string;
  readonly task: number;
  readonly state: SlurmState;
  /** Why it is pending (squeue's reason), when it is. */
  readonly reason?: string;
  readonly node?: string;
  /** sacct's exit code `code:signal`, where known. */
  readonly exitCode?: string;
}

/**
 * The tasks of job arrays: squeue (pending, running, and tasks that ended within the
 * controller's MinJobAge), then sacct for the others where accounting is kept. Keyed by
 * `<array job>_<task>`. A job Slurm no longer knows is simply absent; a controller that
 * cannot be reached is a SlurmError, so that absence is never mistaken for an answer.
 */
export async function arrayTasks(jobs: readonly string[]): Promise<Map<string, TaskInfo>> {
  const tasks = new Map<string, TaskInfo>();
  if (jobs.length === 0) return tasks;
  const args = ['--noheader', '--array', '--states=all', `--jobs=${jobs.join(',')}`, '--format=%F|%K|%T|%r|%N'];
  const out = await run('squeue', args);
  if (out.code !== 0 && !/Invalid job id/i.test(out.stderr)) throw new SlurmError(`squeue failed: ${slurmMessage(out.stderr) || `exit code ${out.code}`}`, `squeue ${args.join(' ')}`, out.stderr.trim());
  for (const t of parseSqueue(out.stdout)) tasks.set(t.id, t);
  // Whole arrays squeue no longer lists: ask the accounting database, where there is one.
  const known = new Set([...tasks.values()].map((t) => t.arrayJob));
  const forgotten = jobs.filter((j) => !known.has(j));
  if (forgotten.length) for (const t of await accountedTasks(forgotten)) if (!tasks.has(t.id)) tasks.set(t.id, t);
  return tasks;
}

/** squeue's `%F|%K|%T|%r|%N` lines (one per task with `--array`). */
export function parseSqueue(stdout: string): TaskInfo[] {
  const out: TaskInfo[] = [];
  for (const line of stdout.split('\n')) {
    const [arrayJob, task, state, reason, node] = line.trim().split('|');
    if (!arrayJob || !task || !/^\d+$/.test(task) || !state) continue;
    out.push({ id: `${arrayJob}_${task}`, arrayJob, task: Number(task), state: state.trim(), ...(reason && reason !== 'None' ? { reason } : {}), ...(node ? { node } : {}) });
  }
  return out;
}

/** sacct's view of finished arrays; empty where the cluster keeps no accounting (sacct then refuses). */
async function accountedTasks(jobs: readonly string[]): Promise<TaskInfo[]> {
  let out: Output;
  try {
    out = await run('sacct', ['--noheader', '--parsable2', '--allocations', `--jobs=${jobs.join(',')}`, '--format=JobID,State,ExitCode,NodeList']);
  } catch {
    return [];
  }
  return out.code === 0 ? parseSacct(out.stdout) : [];
}

/** sacct's `JobID|State|ExitCode|NodeList` lines: array tasks only (`<job>_<task>`); `CANCELLED by 0` is CANCELLED. */
export function parseSacct(stdout: string): TaskInfo[] {
  const out: TaskInfo[] = [];
  for (const line of stdout.split('\n')) {
    const [id, state, exitCode, node] = line.trim().split('|');
    const m = /^(\d+)_(\d+)$/.exec(id ?? '');
    if (!m || !state) continue;
    out.push({ id: id!, arrayJob: m[1]!, task: Number(m[2]), state: state.split(' ')[0]!, ...(exitCode ? { exitCode } : {}), ...(node && node !== 'None assigned' ? { node } : {}) });
  }
  return out;
}
