/**
 * Jobs in the editor: the queue and processes (jobQueue.ts, jobProcess.ts) shown as a
 * cancellable progress notification, lines in the "Adapter Lab Jobs" log, a status-bar
 * item, and events for the result panels and the runs view.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EndEvent, JobEvent } from '../../engine/events';
import { cliArgs, isComposite, jobCwd, jobTitle, onCluster, streamsEvents, type EngineSettings, type JobRequest } from './cliArgs';
import { JobProcess, type JobExit } from './jobProcess';
import { jobIdOf, logLine, ProgressTracker, type ProgressSnapshot } from './jobProgress';
import { JobQueue, type QueuedJob } from './jobQueue';
import type { PanelKind } from './panelProtocol';
import { RegimeSplitter, regimeIds, regimesFileFromStart } from './regimeHistories';

/** A job's store folder (or ablation file) became known: its panel can open. */
export interface JobStarted {
  /** The job's own store id (a run or sweep folder, an ablation file, drop-regimes' regimes.json). */
  readonly id: string;
  /** The histories its panel shows: the job itself, or drop-regimes' three regimes. */
  readonly ids: readonly string[];
  readonly kind: PanelKind;
  readonly title: string;
  /** Started by the extension itself (following a Slurm sweep found running), not asked for: no panel opens. */
  readonly background: boolean;
}

/** Live events for one store id (a job's own, or a sweep trial's run). */
export interface JobEvents {
  readonly id: string;
  readonly events: readonly JobEvent[];
}

export interface JobResult {
  readonly exit: JobExit;
  /** The job's run, sweep or ablation file, when it got that far. */
  readonly id: string | undefined;
  /** JSON lines the command printed that are not events (evaluate's result). */
  readonly data: readonly unknown[];
  /** The last lines of standard error, for messages about failures. */
  readonly stderrTail: readonly string[];
  /** The job's own last event (a sweep's, not its trials'). */
  readonly end: EndEvent | undefined;
}

interface JobMeta {
  readonly title: string;
  readonly request: JobRequest;
  readonly settings: EngineSettings;
  readonly background: boolean;
  /** A Slurm sweep whose cancellation (scancel) has been asked for; `cancelOnStart`: asked before its folder was known. */
  cancelling: boolean;
  cancelOnStart: boolean;
  readonly tracker: ProgressTracker;
  /** drop-regimes: its stream split into one history per training regime. */
  regimes: RegimeSplitter | undefined;
  /** The store id of the job itself and of the sweep trial running now. */
  id: string | undefined;
  trialId: string | undefined;
  depth: number;
  readonly data: unknown[];
  readonly stderrTail: string[];
  totalSteps: number | undefined;
  end: EndEvent | undefined;
}

const KIND_OF: Record<JobRequest['command'], PanelKind | undefined> = {
  train: 'run',
  sweep: 'sweep',
  'sweep-slurm': 'sweep',
  'sweep-follow': 'sweep',
  'sweep-cancel': undefined,
  ablate: 'ablation',
  'drop-regimes': 'ablation',
  evaluate: undefined,
  'export-onnx': undefined,
  'export-adapter': undefined,
};

const STDERR_TAIL = 20;
/** Live histories are kept while a job runs, so a panel opened mid-job starts complete and without duplicates. */
const MAX_HISTORY = 200_000;

export class JobService implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private readonly queue: JobQueue<JobMeta>;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly histories = new Map<string, JobEvent[]>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly startedEmitter = new vscode.EventEmitter<JobStarted>();
  private readonly eventsEmitter = new vscode.EventEmitter<JobEvents>();
  private readonly changedEmitter = new vscode.EventEmitter<void>();
  /** A job's store id is known (panels open on it). */
  readonly onDidStartJob = this.startedEmitter.event;
  /** Live events, in order, per store id. */
  readonly onDidEmit = this.eventsEmitter.event;
  /** A job was queued, started, stopped or finished. */
  readonly onDidChangeJobs = this.changedEmitter.event;

  constructor(
    private readonly cli: string,
    parallelJobs: number,
  ) {
    this.log = vscode.window.createOutputChannel('Adapter Lab Jobs', { log: true });
    this.queue = new JobQueue<JobMeta>(parallelJobs);
    this.statusItem = vscode.window.createStatusBarItem('adapterLab.jobs', vscode.StatusBarAlignment.Left, 10);
    this.statusItem.name = 'Adapter Lab Jobs';
    this.statusItem.command = 'adapterLab.jobMenu';
    this.disposables.push(
      this.log,
      this.statusItem,
      this.startedEmitter,
      this.eventsEmitter,
      this.changedEmitter,
      this.queue.onDidChange(() => {
        this.updateStatus();
        void vscode.commands.executeCommand('setContext', 'adapterLab.jobsRunning', this.queue.jobs().length > 0);
        this.changedEmitter.fire();
      }),
    );
  }

  setParallelJobs(n: number): void {
    this.queue.setLimit(n);
  }

  /** Jobs queued or running. */
  active(): readonly QueuedJob<JobMeta>[] {
    return this.queue.jobs();
  }

  titleOf(job: QueuedJob<JobMeta>): string {
    return job.data.title;
  }

  progressOf(job: QueuedJob<JobMeta>): ProgressSnapshot {
    return job.data.tracker.current;
  }

  /** The events so far of a job running in this window, by store id; undefined when none runs there. */
  history(id: string): readonly JobEvent[] | undefined {
    return this.histories.get(id);
  }

  /** Whether a job of this window is writing to this store folder or file (or inside it). */
  isBusy(dir: string): boolean {
    for (const job of this.queue.jobs()) {
      const ids = [job.data.id, job.data.trialId, 'runDir' in job.data.request ? job.data.request.runDir : undefined];
      if (ids.some((id) => id !== undefined && (id === dir || id.startsWith(dir + path.sep)))) return true;
    }
    return false;
  }

  /**
   * Queues a job and shows it until it ends. Resolves with how it ended; never rejects.
   */
  run(request: JobRequest, settings: EngineSettings, opts: { readonly background?: boolean } = {}): Promise<JobResult> {
    const meta: JobMeta = { title: jobTitle(request), request, settings, background: opts.background ?? false, cancelling: false, cancelOnStart: false, tracker: new ProgressTracker(), regimes: undefined, id: undefined, trialId: undefined, depth: 0, data: [], stderrTail: [], totalSteps: undefined, end: undefined };
    const args = cliArgs(request, settings);
    const job = this.queue.submit(meta, () => {
      this.log.info(`[${meta.title}] started: ${this.cli} ${args.join(' ')}`);
      return JobProcess.start(
        { cli: this.cli, args, cwd: jobCwd(request), composite: isComposite(request.command) },
        {
          onEvent: (e) => this.onEvent(meta, e),
          onData: (value) => meta.data.push(value),
          onLog: (line, stream) => this.onOutput(meta, line, stream),
        },
      );
    }, { unlimited: onCluster(request.command) });
    if (job.state.phase === 'queued') this.log.info(`[${meta.title}] queued (${this.queue.runningCount} running)`);
    this.showProgress(job);
    return job.finished.then((exit) => {
      this.log.info(`[${meta.title}] ${exit.outcome}${exit.code !== null ? ` (exit code ${exit.code})` : ''}${exit.message ? `: ${exit.message}` : ''}`);
      if (meta.regimes) {
        for (const routed of meta.regimes.finish(exit.outcome)) this.eventsEmitter.fire(routed);
        for (const id of regimeIds(meta.regimes.regimesFile)) this.histories.delete(id);
      }
      for (const id of [meta.id, meta.trialId]) if (id) this.histories.delete(id);
      return { exit, id: meta.id, data: meta.data, stderrTail: meta.stderrTail, end: meta.end };
    });
  }

  /** "Stop Job": one running or queued job, picked when there are several. */
  async stopJob(): Promise<void> {
    const jobs = this.queue.jobs().filter((j) => !(j.state.phase === 'running' && j.state.stopping) && !j.data.cancelling && j.data.request.command !== 'sweep-cancel');
    if (jobs.length === 0) return void vscode.window.showInformationMessage('No Adapter Lab job is running.');
    const describe = (j: QueuedJob<JobMeta>): string => (j.state.phase === 'queued' ? 'queued' : `${onCluster(j.data.request.command) ? 'cancels its trials on Slurm · ' : ''}${j.data.tracker.current.message}`);
    const job = jobs.length === 1 ? jobs[0] : (await vscode.window.showQuickPick(jobs.map((j) => ({ label: j.data.title, description: describe(j), job: j })), { placeHolder: 'Stop which job?' }))?.job;
    if (job) this.cancel(job, 'Stop Job');
  }

  /**
   * The one way a job is stopped, whoever asks (Stop Job, the notification's Cancel button,
   * the status-bar menu): a queued job never starts; a running one gets SIGTERM to its
   * process group, then SIGKILL after the grace period (jobProcess.ts). A sweep on Slurm is
   * cancelled on the cluster (`sweep --cancel`: scancel of its job arrays); its job then
   * ends with the sweep, cancelled.
   */
  cancel(job: QueuedJob<JobMeta>, by: string): void {
    if (job.state.phase === 'finished' || (job.state.phase === 'running' && job.state.stopping) || job.data.cancelling) return;
    const { request, id } = job.data;
    if ((request.command === 'sweep-slurm' || request.command === 'sweep-follow') && job.state.phase === 'running') {
      job.data.cancelling = true;
      this.log.info(`[${job.data.title}] cancelling its trials on Slurm (${by})`);
      // Still submitting: cancelled as soon as its sweep folder is known.
      if (!id) job.data.cancelOnStart = true;
      else this.cancelOnCluster(job.data, id);
      return;
    }
    this.log.info(`[${job.data.title}] ${job.state.phase === 'queued' ? 'removed from the queue' : 'stopping'} (${by})`);
    job.cancel();
  }

  /** `scancel` of a Slurm sweep's arrays (`sweep --cancel`); the sweep's own job then ends with it, cancelled. */
  private cancelOnCluster(meta: JobMeta, sweepDir: string): void {
    void this.run({ command: 'sweep-cancel', sweepDir }, meta.settings).then((r) => {
      if (r.exit.outcome !== 'failed') return;
      meta.cancelling = false;
      void vscode.window.showErrorMessage(`Adapter Lab: could not cancel ${path.basename(sweepDir)} on Slurm: ${r.exit.message ?? r.stderrTail.at(-1) ?? 'see the log'}`, 'Show Log').then((c) => c && this.log.show(true));
    });
  }

  /**
   * Whether a job of this window follows this Slurm sweep (it submitted it, or follows it);
   * also while a submission of this window has not yet said which folder it made.
   */
  follows(sweepDir: string): boolean {
    return this.queue.jobs().some((j) => (j.data.request.command === 'sweep-follow' && j.data.request.sweepDir === sweepDir) || (j.data.request.command === 'sweep-slurm' && (j.data.id === sweepDir || j.data.id === undefined)));
  }

  /** The status-bar item's menu: stop a job or show the log. */
  async jobMenu(): Promise<void> {
    type Item = vscode.QuickPickItem & { run: () => void };
    const items: Item[] = this.queue.jobs().map((j) => ({
      label: `$(debug-stop) Stop ${j.data.title}`,
      description: j.state.phase === 'queued' ? 'queued' : j.state.phase === 'running' && j.state.stopping ? 'stopping…' : j.data.tracker.current.message,
      run: () => this.cancel(j, 'status bar'),
    }));
    items.push({ label: '$(output) Show Job Log', run: () => this.log.show(true) });
    (await vscode.window.showQuickPick(items, { placeHolder: 'Adapter Lab jobs' }))?.run();
  }

  private onEvent(meta: JobMeta, e: JobEvent): void {
    if (meta.request.command === 'drop-regimes') return this.onRegimesEvent(meta, e);
    if (e.type === 'start') {
      meta.depth++;
      const id = jobIdOf(e);
      if (meta.depth === 1 && id && !meta.id) {
        meta.id = id;
        this.histories.set(id, []);
        const kind = KIND_OF[meta.request.command];
        if (kind) this.startedEmitter.fire({ id, ids: [id], kind, title: meta.title, background: meta.background });
        if (meta.cancelOnStart) {
          meta.cancelOnStart = false;
          this.cancelOnCluster(meta, id);
        }
      } else if (meta.depth === 2 && id) {
        meta.trialId = id;
        this.histories.set(id, []);
      }
    }
    this.logEvent(meta, e);
    for (const id of [meta.id, meta.trialId]) {
      if (!id) continue;
      const h = this.histories.get(id);
      if (h && h.length < MAX_HISTORY) h.push(e);
      this.eventsEmitter.fire({ id, events: [e] });
    }
    if (e.type === 'end') {
      meta.depth = Math.max(0, meta.depth - 1);
      if (meta.depth === 0) meta.end = e;
      if (meta.depth === 1 && meta.trialId) {
        this.histories.delete(meta.trialId);
        meta.trialId = undefined;
      }
    }
    if (meta.tracker.update(e)) this.scheduleStatus();
  }

  /** drop-regimes: one stream of training runs and curves, shown as one history per training regime. */
  private onRegimesEvent(meta: JobMeta, e: JobEvent): void {
    const file = meta.regimes ? undefined : regimesFileFromStart(e);
    if (file) {
      meta.regimes = new RegimeSplitter(file);
      meta.id = file;
      const ids = regimeIds(file);
      for (const id of ids) this.histories.set(id, []);
      this.startedEmitter.fire({ id: file, ids, kind: 'ablation', title: meta.title, background: meta.background });
    }
    this.logEvent(meta, e);
    if (meta.regimes) {
      for (const routed of meta.regimes.push(e)) {
        const h = this.histories.get(routed.id);
        if (h && h.length < MAX_HISTORY) h.push(...routed.events);
        this.eventsEmitter.fire(routed);
      }
    }
    if (meta.tracker.update(e)) this.scheduleStatus();
  }

  private logEvent(meta: JobMeta, e: JobEvent): void {
    if (e.type === 'start' && e.job === 'train') meta.totalSteps = e.steps;
    const line = logLine(e, 10, meta.totalSteps);
    if (line === undefined) return;
    if (e.type === 'error' || (e.type === 'end' && e.status === 'failed')) this.log.error(`[${meta.title}] ${line}`);
    else if (e.type === 'log' && e.level === 'warning') this.log.warn(`[${meta.title}] ${line}`);
    else this.log.info(`[${meta.title}] ${line}`);
  }

  private onOutput(meta: JobMeta, line: string, stream: 'stdout' | 'stderr'): void {
    if (stream === 'stderr') {
      meta.stderrTail.push(line);
      if (meta.stderrTail.length > STDERR_TAIL) meta.stderrTail.shift();
    }
    // With --events the engine's human progress on stderr repeats the events: kept at debug
    // level (Developer: Set Log Level… shows it), except what reads like a problem.
    const quiet = streamsEvents(meta.request.command) && !/error|warning|fail|cannot|refus/i.test(line);
    if (quiet) this.log.debug(`[${meta.title}] ${line}`);
    else if (/error|fail/i.test(line)) this.log.error(`[${meta.title}] ${line}`);
    else this.log.info(`[${meta.title}] ${line}`);
  }

  private showProgress(job: QueuedJob<JobMeta>): void {
    // A sweep on a cluster can take days: the status bar shows it, not a notification that stays open.
    const cluster = onCluster(job.data.request.command);
    void vscode.window.withProgress({ location: cluster ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification, title: job.data.title, cancellable: !cluster }, (progress, token) => {
      token.onCancellationRequested(() => this.cancel(job, 'Cancel'));
      let reported = 0;
      const report = (): void => {
        const s = job.state;
        if (s.phase === 'queued') return progress.report({ message: `queued: waiting for ${this.queue.runningCount} running job${this.queue.runningCount === 1 ? '' : 's'}` });
        if (s.phase === 'running' && s.stopping) return progress.report({ message: 'stopping…' });
        const snap = job.data.tracker.current;
        // Evaluate and export report no progress, only their result.
        if (snap.fraction === undefined && !streamsEvents(job.data.request.command)) return progress.report({ message: 'running…' });
        const percent = snap.fraction !== undefined ? Math.round(snap.fraction * 100) : undefined;
        const increment = percent !== undefined && percent > reported ? percent - reported : undefined;
        if (increment !== undefined) reported = percent!;
        progress.report({ message: snap.message, ...(increment !== undefined ? { increment } : {}) });
      };
      report();
      // A notification that redraws on every step would flicker; four times a second is plenty.
      const timer = setInterval(report, 250);
      const listener = this.queue.onDidChange((j) => j === job && report());
      return job.finished.then(() => {
        clearInterval(timer);
        listener.dispose();
      });
    });
  }

  private statusTimer: NodeJS.Timeout | undefined;

  /** Steps can come dozens a second; the status bar redraws at most four times a second. */
  private scheduleStatus(): void {
    this.statusTimer ??= setTimeout(() => {
      this.statusTimer = undefined;
      this.updateStatus();
    }, 250);
  }

  private updateStatus(): void {
    const jobs = this.queue.jobs();
    if (jobs.length === 0) return void this.statusItem.hide();
    const running = jobs.filter((j) => j.state.phase === 'running');
    const queued = jobs.length - running.length;
    const first = running[0];
    const progress = first ? first.data.tracker.current.short : '';
    const head = first ? `${first.data.title}${progress ? ` ${progress}` : ''}` : 'queued';
    const more = running.length > 1 ? ` +${running.length - 1}` : '';
    this.statusItem.text = `$(sync~spin) ${head}${more}${queued ? ` (${queued} queued)` : ''}`;
    // Plain text: titles carry file names, which are not markdown.
    this.statusItem.tooltip = ['Adapter Lab jobs', ...jobs.map((j) => `• ${j.data.title}: ${j.state.phase === 'queued' ? 'queued' : j.state.phase === 'running' && j.state.stopping ? 'stopping' : j.data.tracker.current.message}`), '', 'Click to stop a job or show the log.'].join('\n');
    this.statusItem.show();
  }

  /**
   * Stops every job: a job outliving the window would have nobody to show it to. The engine
   * keeps each run resumable. A sweep on Slurm is only no longer followed: its trials go on
   * on the cluster, and the next window follows it again.
   */
  dispose(): void {
    if (this.statusTimer) clearTimeout(this.statusTimer);
    this.queue.cancelAll();
    for (const d of this.disposables) d.dispose();
  }
}
