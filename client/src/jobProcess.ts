/**
 * One engine job as a child process of the bundled CLI. Jobs never run inside the
 * extension host: training saturates every core for minutes and loads a native library, and
 * a crash or a hung step must not take the editor's extensions with it.
 *
 * No `vscode` here, so the tests drive the real CLI through this module.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { JobEvent } from '../../engine/events';
import { classifyLine, LineSplitter, type StdoutLine } from './jobStream';

/** The engine's exit code for a job stopped by SIGINT/SIGTERM (the run is kept, status cancelled). */
export const EXIT_CANCELLED = 130;

export type JobOutcome = 'completed' | 'failed' | 'cancelled';

export interface JobExit {
  readonly outcome: JobOutcome;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why it failed, when the process could not start or the engine said so. */
  readonly message?: string;
}

export interface JobProcessOptions {
  /** The bundled CLI (`dist/cli.js`). */
  readonly cli: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /** The program that runs the CLI: the extension host's own executable (Electron in desktop VS Code), or node in tests. */
  readonly execPath?: string;
  readonly env?: NodeJS.ProcessEnv;
  /**
   * How long a job may take to stop after SIGTERM before it is killed (default
   * DEFAULT_KILL_AFTER_MS). The engine stops at once on SIGTERM; the grace period is for a
   * step that is inside a native call and a worker that has to write its run's end.
   */
  readonly killAfterMs?: number;
  /**
   * The job runs several top-level jobs one after another (drop-regimes): its exit code says
   * how the whole ended, not the last job's end event (a specialized run may fail while the
   * whole completes).
   */
  readonly composite?: boolean;
}

export interface JobProcessListener {
  onEvent?(event: JobEvent): void;
  /** JSON lines that are not events (a command's result). */
  onData?(value: unknown): void;
  /** Standard error and non-JSON standard output, line by line. */
  onLog?(line: string, stream: 'stdout' | 'stderr'): void;
}

/** A BERT-base step on a slow CPU can take tens of seconds; a kill before the engine has written `cancelled` leaves the run looking interrupted. */
export const DEFAULT_KILL_AFTER_MS = 30_000;
const POSIX = process.platform !== 'win32';

export class JobProcess {
  readonly pid: number | undefined;
  /** Settles when the process has exited and its output is read; never rejects. */
  readonly exited: Promise<JobExit>;
  private readonly child: ChildProcess;
  private cancelRequested = false;
  private killTimer: NodeJS.Timeout | undefined;
  /** The grace period ran out and the group was sent SIGKILL. */
  private killed = false;
  private lastEnd: Extract<JobEvent, { type: 'end' }> | undefined;
  private lastError: string | undefined;
  private done = false;
  private readonly killAfterMs: number;
  private readonly composite: boolean;
  /** Open start events: a sweep's trials start and end inside it, so its own end is the one that closes depth 0. */
  private depth = 0;

  private constructor(opts: JobProcessOptions, listener: JobProcessListener) {
    this.killAfterMs = opts.killAfterMs ?? DEFAULT_KILL_AFTER_MS;
    this.composite = opts.composite ?? false;
    // ELECTRON_RUN_AS_NODE makes Electron run the script as plain Node. A process group of its
    // own (detached, POSIX) lets the last-resort SIGKILL reach everything the job started,
    // tells when all of it has exited, and keeps a Ctrl+C meant for the editor's own
    // terminal from reaching the job.
    this.child = spawn(opts.execPath ?? process.execPath, [opts.cli, ...opts.args], {
      cwd: opts.cwd,
      env: { ...(opts.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
      detached: POSIX,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.pid = this.child.pid;
    const out = new LineSplitter();
    const err = new LineSplitter();
    const onStdout = (line: string): void => this.dispatch(classifyLine(line), listener);
    const onStderr = (line: string): void => {
      if (line.trim()) listener.onLog?.(line.replace(/\r$/, ''), 'stderr');
    };
    this.child.stdout?.setEncoding('utf8');
    this.child.stderr?.setEncoding('utf8');
    this.child.stdout?.on('data', (chunk: string) => out.push(chunk).forEach(onStdout));
    this.child.stderr?.on('data', (chunk: string) => err.push(chunk).forEach(onStderr));

    this.exited = new Promise<JobExit>((resolve) => {
      this.child.once('error', (e) => {
        // The executable could not start; 'close' may never come.
        if (this.child.pid === undefined) this.finish(resolve, { outcome: 'failed', code: null, signal: null, message: `could not start the engine: ${e.message}` });
      });
      this.child.once('close', (code, signal) => {
        out.end().forEach(onStdout);
        err.end().forEach(onStderr);
        const exit = this.exitOf(code, signal);
        if (POSIX && this.cancelRequested) void this.groupGone().then(() => this.finish(resolve, exit));
        else this.finish(resolve, exit);
      });
    });
  }

  static start(opts: JobProcessOptions, listener: JobProcessListener = {}): JobProcess {
    return new JobProcess(opts, listener);
  }

  get cancelled(): boolean {
    return this.cancelRequested;
  }

  /**
   * Asks the job to stop: SIGTERM to the engine (it stops what it started, a sweep's workers
   * included, ends its runs `cancelled` and exits with 130), then SIGKILL to the whole
   * process group if anything of it is still there after the grace period. Every way to stop a job (Stop Job, the
   * notification's Cancel, the status-bar menu, closing the window) comes here.
   */
  cancel(): void {
    if (this.done || this.cancelRequested) return;
    this.cancelRequested = true;
    this.signal('SIGTERM');
    this.killTimer = setTimeout(() => {
      this.killed = true;
      this.signal('SIGKILL');
    }, this.killAfterMs);
    this.killTimer.unref();
  }

  /**
   * After a cancel the engine may exit before the processes it started: a sweep's workers
   * write their runs' `cancelled` after their parent has gone. The job is over when its
   * whole group is; the grace period's SIGKILL still ends whatever is left.
   */
  private async groupGone(): Promise<void> {
    const pid = this.pid;
    if (pid === undefined) return;
    let killedAt: number | undefined;
    while (groupAlive(pid)) {
      if (this.killed) killedAt ??= Date.now();
      // SIGKILL cannot be ignored; a member left a moment after it is not ours to wait for.
      if (killedAt !== undefined && Date.now() - killedAt > 2000) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.pid === undefined || this.done) return;
    try {
      // Windows has no process groups or SIGTERM: taskkill ends the whole tree (a sweep's
      // workers included) at once, so the run is not marked cancelled there.
      // SIGTERM goes to the engine alone: it stops what it started (a sweep's workers, each
      // once). A process signalled twice would find its handler used up and die without
      // ending its run. SIGKILL, the backstop, goes to the whole group.
      if (POSIX) process.kill(sig === 'SIGKILL' ? -this.pid : this.pid, sig);
      else spawn('taskkill', ['/PID', String(this.pid), '/T', '/F'], { stdio: 'ignore', windowsHide: true }).on('error', () => this.child.kill(sig));
    } catch {
      // Already gone.
    }
  }

  private dispatch(line: StdoutLine | undefined, listener: JobProcessListener): void {
    if (!line) return;
    switch (line.kind) {
      case 'event':
        if (line.event.type === 'start') this.depth++;
        if (line.event.type === 'end') {
          this.depth = Math.max(0, this.depth - 1);
          if (this.depth === 0) this.lastEnd = line.event;
        }
        if (line.event.type === 'error') this.lastError = line.event.message;
        listener.onEvent?.(line.event);
        break;
      case 'data':
        listener.onData?.(line.value);
        break;
      case 'text':
        listener.onLog?.(line.text, 'stdout');
        break;
    }
  }

  /** The outcome: the engine's own `end` status when it said one, else what the exit code means. */
  private exitOf(code: number | null, signal: NodeJS.Signals | null): JobExit {
    const said = this.composite ? undefined : this.lastEnd?.status;
    const outcome: JobOutcome = said ?? (code === 0 ? 'completed' : code === EXIT_CANCELLED || (this.cancelRequested && signal !== null) ? 'cancelled' : 'failed');
    const message = outcome === 'failed' ? (this.lastError ?? (signal ? `the engine was stopped by ${signal}` : `the engine exited with code ${code}`)) : undefined;
    return { outcome, code, signal, ...(message ? { message } : {}) };
  }

  private finish(resolve: (exit: JobExit) => void, exit: JobExit): void {
    if (this.done) return;
    this.done = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    // Anything the job started that outlived it is stopped with it.
    if (POSIX && this.cancelRequested && this.pid !== undefined) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        // The group is empty: the usual case.
      }
    }
    resolve(exit);
  }
}

/** Whether any process of a job's group is still alive (POSIX; false elsewhere). */
export function groupAlive(pid: number): boolean {
  if (!POSIX) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
