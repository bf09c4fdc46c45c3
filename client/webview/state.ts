/**
 * Folds job events into the model the panels draw. Pure: no DOM, no Node, no clock; the
 * same events always give the same model, so a live panel and one restored from the run
 * store draw the same thing. The root tsconfig compiles this file too (the unit tests
 * import it), which keeps it free of DOM types.
 *
 * Folding mutates a model the caller owns instead of copying it: a live run sends
 * thousands of step events, and each batch must cost time proportional to its own size.
 */
import type { JobEvent, StartEvent } from '../../engine/events';
import type { JobHistory } from '../src/panelProtocol';

export type Status = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

export interface StepPoint {
  readonly step: number;
  readonly epoch: number;
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  readonly tokens: number;
  readonly seconds: number;
}

export interface EvalPoint {
  readonly step: number;
  readonly epoch: number;
  readonly split: string;
  readonly metric: string;
  readonly value: number;
}

export interface LogLine {
  readonly level: string;
  readonly message: string;
}

export interface JobError {
  readonly code: string;
  readonly message: string;
}

/** One training run: a `start{job:'train'}` and what follows it up to its `end`. */
export interface RunModel {
  readonly run: string;
  readonly runDir: string;
  readonly experiment: string;
  readonly method: string;
  readonly model: string;
  readonly trainable: number | undefined;
  readonly base: number | undefined;
  readonly percentOfBase: number | undefined;
  readonly plannedSteps: number;
  readonly epochs: number;
  readonly steps: StepPoint[];
  readonly evaluations: EvalPoint[];
  /** The experiment's metric, known from the first evaluation. */
  metric: string | undefined;
  status: Status;
  error: JobError | undefined;
  finalMetrics: Readonly<Record<string, number>>;
  /** Event times (ms since the epoch): elapsed time and ETA come from the events, not the clock. */
  readonly startMs: number;
  lastMs: number;
  /** The engine's own duration, from the end event. */
  endSeconds: number | undefined;
  readonly logs: LogLine[];
  /** A fusion run's average fusion weights: the latest `fusion-weights` event (live after each evaluation, then the finished run's). */
  fusion: FusionWeightsModel | undefined;
}

/** Average fusion weights: `cells[site][n]` is adapter n's at that site (`<layer>.<site>`), null where absent. */
export interface FusionWeightsModel {
  readonly adapters: readonly string[];
  readonly sites: readonly string[];
  readonly cells: readonly (readonly (number | null)[])[];
  readonly data: string;
  /** The real tokens averaged over. */
  readonly tokens: number;
  /** The optimizer step of live weights (measured while training); undefined for a finished run's. */
  readonly step: number | undefined;
}

export interface TrialModel {
  readonly index: number;
  total: number;
  readonly assignments: Readonly<Record<string, unknown>>;
  readonly seed: number;
  status: Status;
  runName: string | undefined;
  metrics: Readonly<Record<string, number>>;
  trainable: number | undefined;
  message: string | undefined;
  /** The trial's own training run (its interleaved start … end events). */
  run: RunModel | undefined;
  /** A Slurm sweep's trial: what the cluster says of it (pending, running; timed-out, node-failure after its end). */
  clusterState: string | undefined;
}

export interface SweepModel {
  readonly name: string;
  readonly dir: string;
  readonly metric: string;
  readonly total: number;
  readonly skipped: number;
  /** By trial index, in the order they started. */
  readonly trials: Map<number, TrialModel>;
  /** Grid keys in first-seen order: the table's and the parallel plot's columns. */
  readonly keys: string[];
  status: Status;
  error: JobError | undefined;
  finalMetrics: Readonly<Record<string, number>>;
  activeIndex: number | undefined;
  /** Where the trials run: `slurm` for a sweep on a cluster. */
  executor: string | undefined;
}

export interface AblationCellModel {
  readonly from: number;
  readonly to: number;
  readonly site: 'both' | 'attention' | 'ffn';
  readonly value: number;
}

/** An ablation (`job: 'ablate'`, the heatmap) or an AdapterDrop curve (`job: 'drop-curve'`). */
export interface AblationModel {
  readonly mode: 'ablate' | 'drop-curve';
  readonly run: string;
  readonly runDir: string;
  readonly metric: string;
  readonly expectedCells: number;
  readonly cells: AblationCellModel[];
  status: Status;
  error: JobError | undefined;
  /** The metric with every adapter in place (the end event's metrics). */
  baseline: number | undefined;
}

type Cursor = { readonly kind: 'run'; readonly run: RunModel } | { readonly kind: 'sweep' } | { readonly kind: 'ablation'; readonly ablation: AblationModel } | { readonly kind: 'none' };

/** Everything one JobHistory's events say, oldest first. */
export interface JobModel {
  readonly id: string;
  readonly label: string;
  /** Every training run, in order (a sweep's trial runs included). */
  readonly runs: RunModel[];
  sweep: SweepModel | undefined;
  readonly ablations: AblationModel[];
  readonly logs: LogLine[];
  eventCount: number;
  /** Where the next step/evaluation/end event belongs: the job opened last. */
  cursor: Cursor;
}

export function createJob(id: string, label: string): JobModel {
  return { id, label, runs: [], sweep: undefined, ablations: [], logs: [], eventCount: 0, cursor: { kind: 'none' } };
}

export function foldJob(history: JobHistory): JobModel {
  const job = createJob(history.id, history.label);
  applyEvents(job, history.events);
  return job;
}

export function applyEvents(job: JobModel, events: readonly JobEvent[]): void {
  for (const e of events) applyEvent(job, e);
}

const num = (v: unknown, fallback = NaN): number => (typeof v === 'number' ? v : fallback);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const metricsOf = (v: unknown): Record<string, number> => {
  const out: Record<string, number> = {};
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x === 'number') out[k] = x;
  return out;
};
const statusOf = (v: unknown): Status => (v === 'completed' || v === 'failed' || v === 'cancelled' ? v : 'completed');

/**
 * Fusion weights as the panels draw them, from a `fusion-weights` event or the engine's
 * weights for one example, read defensively; sites in layer order, attention before ffn.
 */
export function fusionWeightsOf(e: { adapters?: unknown; weights?: unknown; data?: unknown; tokens?: unknown; step?: unknown }): FusionWeightsModel | undefined {
  const adapters = Array.isArray(e.adapters) ? e.adapters.map((a) => str(a)) : [];
  if (!adapters.length || !e.weights || typeof e.weights !== 'object') return undefined;
  const order = (key: string): number => Number.parseInt(key, 10) * 2 + (key.endsWith('.ffn') ? 1 : 0);
  const sites = Object.keys(e.weights).sort((a, b) => order(a) - order(b));
  const cells = sites.map((site) => {
    const row = (e.weights as Record<string, unknown>)[site];
    return adapters.map((_, i) => (Array.isArray(row) && typeof row[i] === 'number' ? (row[i] as number) : null));
  });
  return { adapters, sites, cells, data: str(e.data), tokens: num(e.tokens, 0), step: typeof e.step === 'number' ? e.step : undefined };
}

/**
 * One event. Unknown types are ignored (newer engines may add some), and fields are read
 * defensively: the events come from a file or a child process, not from this bundle.
 */
export function applyEvent(job: JobModel, e: JobEvent): void {
  if (!e || typeof e !== 'object') return;
  job.eventCount++;
  const ms = Date.parse(str(e.time));
  const c = job.cursor;
  if (c.kind === 'run' && Number.isFinite(ms)) c.run.lastMs = Math.max(c.run.lastMs, ms);
  switch (e.type) {
    case 'start': {
      if (e.job === 'sweep') {
        job.sweep = { name: str(e.sweep), dir: str(e.sweepDir), metric: str(e.metric), total: num(e.trials, 0), skipped: num(e.skipped, 0), trials: new Map(), keys: [], status: 'running', error: undefined, finalMetrics: {}, activeIndex: undefined, executor: typeof e.executor === 'string' ? e.executor : undefined };
        job.cursor = { kind: 'sweep' };
      } else if (e.job === 'ablate' || e.job === 'drop-curve') {
        const ablation: AblationModel = { mode: e.job, run: str(e.run), runDir: str(e.runDir), metric: str(e.metric), expectedCells: num(e.cells, 0), cells: [], status: 'running', error: undefined, baseline: undefined };
        job.ablations.push(ablation);
        job.cursor = { kind: 'ablation', ablation };
      } else {
        // A training run (`job: 'train'`, or a job type this panel does not know yet).
        const t = e as StartEvent;
        const p = t.parameters as Partial<{ trainable: number; base: number; percentOfBase: number }> | undefined;
        const run: RunModel = {
          run: str(t.run), runDir: str(t.runDir), experiment: str(t.experiment), method: str(t.method), model: str(t.model),
          trainable: p?.trainable, base: p?.base, percentOfBase: p?.percentOfBase,
          plannedSteps: num(t.steps, 0), epochs: num(t.epochs, 0), steps: [], evaluations: [], metric: undefined,
          status: 'running', error: undefined, finalMetrics: {}, startMs: ms, lastMs: ms, endSeconds: undefined, logs: [], fusion: undefined,
        };
        job.runs.push(run);
        const trial = activeTrial(job);
        if (trial) trial.run = run;
        job.cursor = { kind: 'run', run };
      }
      return;
    }
    case 'trial-start': {
      const sweep = job.sweep;
      if (!sweep) return;
      const assignments = e.assignments && typeof e.assignments === 'object' ? e.assignments : {};
      for (const k of Object.keys(assignments)) if (!sweep.keys.includes(k)) sweep.keys.push(k);
      sweep.trials.set(e.index, { index: e.index, total: num(e.total, sweep.total), assignments, seed: num(e.seed), status: 'running', runName: undefined, metrics: {}, trainable: undefined, message: undefined, run: undefined, clusterState: undefined });
      sweep.activeIndex = e.index;
      return;
    }
    case 'trial-state': {
      // A Slurm sweep's trial as the cluster sees it: a row before its run starts, or how its task ended.
      const sweep = job.sweep;
      if (!sweep) return;
      const trial = sweep.trials.get(e.index);
      if (trial) trial.clusterState = str(e.state) || undefined;
      else {
        const assignments = e.assignments && typeof e.assignments === 'object' ? e.assignments : {};
        for (const k of Object.keys(assignments)) if (!sweep.keys.includes(k)) sweep.keys.push(k);
        sweep.trials.set(e.index, { index: e.index, total: num(e.total, sweep.total), assignments, seed: num(e.seed), status: 'running', runName: undefined, metrics: {}, trainable: undefined, message: undefined, run: undefined, clusterState: str(e.state) || undefined });
      }
      return;
    }
    case 'trial-end': {
      const sweep = job.sweep;
      if (!sweep) return;
      const trial = sweep.trials.get(e.index);
      if (trial) {
        trial.status = statusOf(e.status);
        trial.runName = typeof e.run === 'string' ? e.run : undefined;
        trial.metrics = metricsOf(e.metrics);
        trial.trainable = typeof e.trainable === 'number' ? e.trainable : trial.run?.trainable;
        trial.message = typeof e.message === 'string' ? e.message : undefined;
        trial.clusterState = undefined;
      }
      sweep.activeIndex = undefined;
      job.cursor = { kind: 'sweep' };
      return;
    }
    case 'step':
      if (c.kind === 'run') c.run.steps.push({ step: num(e.step), epoch: num(e.epoch), loss: num(e.loss), lr: num(e.lr), gradNorm: num(e.gradNorm), tokens: num(e.tokens, 0), seconds: num(e.seconds, 0) });
      return;
    case 'evaluation':
      if (c.kind === 'run') {
        c.run.evaluations.push({ step: num(e.step), epoch: num(e.epoch), split: str(e.split, 'validation'), metric: str(e.metric), value: num(e.value) });
        c.run.metric ??= str(e.metric) || undefined;
      }
      return;
    case 'fusion-weights':
      // The latest wins: each evaluation's live weights replace the last, the finished run's replace them all.
      if (c.kind === 'run') c.run.fusion = fusionWeightsOf(e) ?? c.run.fusion;
      return;
    case 'ablation':
      if (c.kind === 'ablation') c.ablation.cells.push({ from: num(e.from, 0), to: num(e.to, 0), site: e.site === 'attention' || e.site === 'ffn' ? e.site : 'both', value: num(e.value) });
      return;
    case 'log': {
      const line = { level: str(e.level, 'info'), message: str(e.message) };
      if (c.kind === 'run') c.run.logs.push(line);
      else job.logs.push(line);
      return;
    }
    case 'error': {
      const error = { code: str(e.code), message: str(e.message) };
      if (c.kind === 'run') {
        c.run.error = error;
        c.run.status = 'failed';
      } else if (c.kind === 'ablation') {
        c.ablation.error = error;
        c.ablation.status = 'failed';
      } else if (job.sweep) {
        job.sweep.error = error;
        job.sweep.status = 'failed';
      } else job.logs.push({ level: 'error', message: error.message });
      return;
    }
    case 'end': {
      const metrics = metricsOf(e.metrics);
      if (c.kind === 'run') {
        c.run.status = statusOf(e.status);
        c.run.finalMetrics = metrics;
        c.run.endSeconds = typeof e.seconds === 'number' ? e.seconds : undefined;
        // Inside a sweep the trial's trial-end follows; outside, nothing is open any more.
        job.cursor = job.sweep && job.sweep.activeIndex !== undefined ? { kind: 'sweep' } : { kind: 'none' };
      } else if (c.kind === 'ablation') {
        c.ablation.status = statusOf(e.status);
        c.ablation.baseline = metrics[c.ablation.metric];
        job.cursor = { kind: 'none' };
      } else if (job.sweep) {
        job.sweep.status = statusOf(e.status);
        job.sweep.finalMetrics = metrics;
        job.cursor = { kind: 'none' };
      }
      return;
    }
    default:
      return;
  }
}

function activeTrial(job: JobModel): TrialModel | undefined {
  const s = job.sweep;
  return s && s.activeIndex !== undefined ? s.trials.get(s.activeIndex) : undefined;
}

// ── Derived values: what the panels show, computed from the model ─────────────────────────

/** The run a run panel shows: the last one of the job. */
export function mainRun(job: JobModel): RunModel | undefined {
  return job.runs[job.runs.length - 1];
}

/**
 * Throughput per step, tokens per second over a trailing window: a single step's time is
 * noisy (a few ms, scheduler jitter), a window of steps is what a user reads as "speed".
 */
export function throughput(run: RunModel, window = 20): { step: number; value: number }[] {
  const out: { step: number; value: number }[] = [];
  let tokens = 0;
  let seconds = 0;
  const s = run.steps;
  for (let i = 0; i < s.length; i++) {
    tokens += s[i]!.tokens;
    seconds += s[i]!.seconds;
    if (i >= window) {
      tokens -= s[i - window]!.tokens;
      seconds -= s[i - window]!.seconds;
    }
    if (seconds > 0) out.push({ step: s[i]!.step, value: tokens / seconds });
  }
  return out;
}

/** Seconds since the run started: the engine's figure once it ended, else the event times. */
export function elapsedSeconds(run: RunModel): number {
  if (run.endSeconds !== undefined) return run.endSeconds;
  return Number.isFinite(run.startMs) && Number.isFinite(run.lastMs) ? Math.max(0, (run.lastMs - run.startMs) / 1000) : 0;
}

/** Seconds left at the pace so far; undefined before the first step or after the end. */
export function etaSeconds(run: RunModel): number | undefined {
  if (run.status !== 'running') return run.status === 'completed' ? 0 : undefined;
  const done = run.steps.length ? run.steps[run.steps.length - 1]!.step : 0;
  if (done <= 0 || run.plannedSteps <= 0) return undefined;
  return (elapsedSeconds(run) / done) * Math.max(0, run.plannedSteps - done);
}

/** The trial's value of the sweep's metric: its final validation metrics, or (live) its best evaluation so far. */
export function trialValue(trial: TrialModel, metric: string, higherIsBetter: boolean): number | undefined {
  const final = trial.metrics[metric];
  if (final !== undefined) return final;
  const values = (trial.run?.evaluations ?? []).filter((v) => v.metric === metric && Number.isFinite(v.value)).map((v) => v.value);
  if (!values.length) return undefined;
  return higherIsBetter ? Math.max(...values) : Math.min(...values);
}

export function trialsOf(sweep: SweepModel): TrialModel[] {
  return [...sweep.trials.values()].sort((a, b) => a.index - b.index);
}

/** The span-removal cells of the heatmap (site `both`). */
export function spanCells(a: AblationModel): AblationCellModel[] {
  return a.cells.filter((c) => c.site === 'both');
}

/** Layers of the model as far as the cells tell: the highest layer any cell removes, plus one. */
export function layerCount(a: AblationModel): number {
  return a.cells.reduce((n, c) => Math.max(n, c.to + 1), 0);
}

/**
 * The AdapterDrop curve of a drop-curve job: n layers dropped (cell n removes layers
 * 0..n−1, so n = to + 1) against the metric; n = 0 is the baseline, from the job's end
 * event or, before it arrives, from a training run's final metrics or last evaluation in
 * the same history.
 */
export function dropCurvePoints(job: JobModel, a: AblationModel): { n: number; value: number }[] {
  const points = spanCells(a).filter((c) => c.from === 0).map((c) => ({ n: c.to + 1, value: c.value }));
  let baseline = a.baseline;
  if (baseline === undefined) {
    const run = mainRun(job);
    baseline = run?.finalMetrics[a.metric] ?? run?.evaluations.filter((v) => v.metric === a.metric).pop()?.value;
  }
  if (baseline !== undefined && Number.isFinite(baseline)) points.push({ n: 0, value: baseline });
  return points.filter((p) => Number.isFinite(p.value)).sort((x, y) => x.n - y.n);
}

/** A trial's status as the sweep table shows it: what the cluster says of it where it says more (pending, timed out). */
export function trialStatusText(trial: TrialModel): string {
  return trial.clusterState && trial.clusterState !== trial.status ? trial.clusterState.replace(/-/g, ' ') : trial.status;
}
