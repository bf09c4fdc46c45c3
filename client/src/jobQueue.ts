/**
 * Jobs waiting for a slot: at most `limit` run at once (the `adapterLab.parallelJobs`
 * setting), in the order they were asked for. A job cancelled while queued never starts.
 * Jobs whose work runs elsewhere (a sweep on a cluster: the process only submits and
 * follows) take no slot and start at once. No `vscode` here; what a job is (a process) is
 * given by the caller.
 */
import type { JobExit, JobOutcome } from './jobProcess';

/** What the queue needs of a started job. */
export interface StartedJob {
  readonly pid: number | undefined;
  readonly exited: Promise<JobExit>;
  cancel(): void;
}

export type JobState =
  | { readonly phase: 'queued'; readonly since: number }
  | { readonly phase: 'running'; readonly since: number; readonly pid: number | undefined; readonly stopping: boolean }
  | { readonly phase: 'finished'; readonly since: number; readonly outcome: JobOutcome; readonly exit: JobExit | undefined };

export class QueuedJob<T = unknown> {
  private _state: JobState = { phase: 'queued', since: Date.now() };
  private started: StartedJob | undefined;
  private settle!: (exit: JobExit) => void;
  /** Settles when the job has finished, including when it was cancelled before it started. */
  readonly finished: Promise<JobExit>;

  constructor(
    readonly id: number,
    /** Whatever the caller wants to keep with the job (its title, its command line). */
    readonly data: T,
    readonly start: () => StartedJob,
    private readonly queue: JobQueue<T>,
    /** Takes no slot: its work runs elsewhere. */
    readonly unlimited = false,
  ) {
    this.finished = new Promise((resolve) => (this.settle = resolve));
  }

  get state(): JobState {
    return this._state;
  }

  /** Cancels a queued job (it never starts) or stops a running one. */
  cancel(): void {
    this.queue.cancel(this);
  }

  /** @internal The queue's bookkeeping; callers observe changes through `onDidChange`. */
  transition(next: JobState, started?: StartedJob): void {
    this._state = next;
    if (started) this.started = started;
    if (next.phase === 'finished') this.settle(next.exit ?? { outcome: next.outcome, code: null, signal: null });
  }

  /** @internal */
  get process(): StartedJob | undefined {
    return this.started;
  }
}

export type JobListener<T> = (job: QueuedJob<T>) => void;

export class JobQueue<T = unknown> {
  private nextId = 1;
  private readonly waiting: QueuedJob<T>[] = [];
  private readonly running = new Set<QueuedJob<T>>();
  private readonly listeners = new Set<JobListener<T>>();

  constructor(private limit: number) {
    this.limit = JobQueue.clamp(limit);
  }

  private static clamp(n: number): number {
    return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
  }

  /** A raised limit starts waiting jobs now; a lowered one lets running jobs finish. */
  setLimit(limit: number): void {
    this.limit = JobQueue.clamp(limit);
    this.pump();
  }

  /** Queues a job; it starts as soon as a slot is free (possibly before this returns); `unlimited`: at once, taking no slot. */
  submit(data: T, start: () => StartedJob, opts: { readonly unlimited?: boolean } = {}): QueuedJob<T> {
    const job = new QueuedJob(this.nextId++, data, start, this, opts.unlimited ?? false);
    this.waiting.push(job);
    this.emit(job);
    this.pump();
    return job;
  }

  /** Jobs not finished yet: running first, then queued in order. */
  jobs(): QueuedJob<T>[] {
    return [...this.running, ...this.waiting];
  }

  /** Running jobs that take a slot. */
  get runningCount(): number {
    return [...this.running].filter((j) => !j.unlimited).length;
  }

  get queuedCount(): number {
    return this.waiting.length;
  }

  onDidChange(listener: JobListener<T>): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  cancel(job: QueuedJob<T>): void {
    const state = job.state;
    if (state.phase === 'queued') {
      this.waiting.splice(this.waiting.indexOf(job), 1);
      job.transition({ phase: 'finished', since: Date.now(), outcome: 'cancelled', exit: undefined });
      this.emit(job);
    } else if (state.phase === 'running' && !state.stopping) {
      job.transition({ ...state, stopping: true });
      job.process?.cancel();
      this.emit(job);
    }
  }

  /** Cancels everything (the extension is shutting down). */
  cancelAll(): void {
    for (const job of [...this.waiting].reverse()) this.cancel(job);
    for (const job of this.running) this.cancel(job);
  }

  private pump(): void {
    for (;;) {
      // The first waiting job that may start: in order, skipping those that need a slot while none is free.
      const i = this.waiting.findIndex((j) => j.unlimited || this.runningCount < this.limit);
      if (i < 0) return;
      const job = this.waiting.splice(i, 1)[0]!;
      let started: StartedJob;
      try {
        started = job.start();
      } catch (e) {
        job.transition({ phase: 'finished', since: Date.now(), outcome: 'failed', exit: { outcome: 'failed', code: null, signal: null, message: (e as Error).message } });
        this.emit(job);
        continue;
      }
      this.running.add(job);
      job.transition({ phase: 'running', since: Date.now(), pid: started.pid, stopping: false }, started);
      this.emit(job);
      void started.exited.then((exit) => {
        this.running.delete(job);
        job.transition({ phase: 'finished', since: Date.now(), outcome: exit.outcome, exit });
        this.emit(job);
        this.pump();
      });
    }
  }

  private emit(job: QueuedJob<T>): void {
    for (const l of this.listeners) {
      try {
        l(job);
      } catch {
        // A listener's failure must not stall the queue.
      }
    }
  }
}
