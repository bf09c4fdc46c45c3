/**
 * Job events: the engine's JSON-lines stream (`--events`), read by the extension and by
 * scripts. Versioned; every event has `v`, `type` and `time` (ISO 8601). Documented in
 * docs/events.md.
 */
export const EVENTS_VERSION = 1;

interface Base {
  readonly v: typeof EVENTS_VERSION;
  readonly time: string;
}

export interface StartEvent extends Base {
  readonly type: 'start';
  readonly job: 'train';
  readonly run: string;
  readonly runDir: string;
  readonly experiment: string;
  readonly method: string;
  readonly model: string;
  readonly parameters: { readonly trainable: number; readonly base: number; readonly percentOfBase: number };
  readonly steps: number;
  readonly epochs: number;
  readonly examples: number;
  readonly provider: string;
  readonly threads: number;
}

/** One optimizer step. The fields named by the CLI contract are top-level. */
/** The start of a job that evaluates a finished run (ablation). */
export interface EvaluationJobStartEvent extends Base {
  readonly type: 'start';
  readonly job: 'ablate' | 'drop-curve';
  readonly run: string;
  readonly runDir: string;
  readonly metric: string;
  readonly cells: number;
  readonly examples: number;
}

/** One cell of an ablation: the metric with the adapters of layers from..to (at one site, or both) removed. */
export interface AblationCellEvent extends Base {
  readonly type: 'ablation';
  readonly index: number;
  readonly total: number;
  readonly from: number;
  readonly to: number;
  readonly site: 'both' | 'attention' | 'ffn';
  readonly metric: string;
  readonly value: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly seconds: number;
}

/** The start of an import: a saved adapter folder becomes a new, completed run (no training). See ImportJobEvent. */
export interface ImportStartEvent extends Base {
  readonly type: 'start';
  readonly job: 'import';
  readonly run: string;
  readonly runDir: string;
  /** The adapter folder imported. */
  readonly from: string;
  readonly method: string;
  readonly model: string;
  readonly parameters: { readonly trainable: number; readonly base: number; readonly percentOfBase: number };
}

/** The start of a sweep: its trials run one after another, each a training run of its own. */
export interface SweepStartEvent extends Base {
  readonly type: 'start';
  readonly job: 'sweep';
  readonly sweep: string;
  readonly sweepDir: string;
  readonly trials: number;
  /** Trials already finished in an earlier, interrupted attempt (resumed sweeps). */
  readonly skipped: number;
  readonly metric: string;
}

export interface TrialStartEvent extends Base {
  readonly type: 'trial-start';
  readonly index: number;
  readonly total: number;
  readonly assignments: Readonly<Record<string, unknown>>;
  readonly seed: number;
}

export interface TrialEndEvent extends Base {
  readonly type: 'trial-end';
  readonly index: number;
  readonly total: number;
  readonly status: 'completed' | 'failed' | 'cancelled';
  readonly run: string | undefined;
  readonly metrics: Readonly<Record<string, number>>;
  readonly trainable: number | undefined;
  readonly message?: string;
}

export interface StepEvent extends Base {
  readonly type: 'step';
  readonly step: number;
  readonly epoch: number;
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  /** Examples and (unpadded) tokens in this step's batch. */
  readonly examples: number;
  readonly tokens: number;
  /** Seconds this step took. */
  readonly seconds: number;
}

export interface EvaluationEvent extends Base {
  readonly type: 'evaluation';
  readonly step: number;
  readonly epoch: number;
  readonly split: 'validation' | 'train';
  readonly metric: string;
  readonly value: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly examples: number;
  readonly seconds: number;
}

export interface ArtifactEvent extends Base {
  readonly type: 'artifact';
  readonly kind: 'adapter' | 'config' | 'metrics' | 'predictions' | 'ablation' | 'sweep-summary';
  readonly path: string;
}

export interface LogEvent extends Base {
  readonly type: 'log';
  readonly level: 'info' | 'warning';
  readonly message: string;
}

export interface ErrorEvent extends Base {
  readonly type: 'error';
  readonly message: string;
  readonly code: string;
}

export interface EndEvent extends Base {
  readonly type: 'end';
  readonly status: 'completed' | 'failed' | 'cancelled';
  readonly run: string;
  readonly seconds: number;
  readonly steps: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** Training with `training.prefix_cache`: what the cache held and the time it saved. */
  readonly prefixCache?: PrefixCacheReport;
}

export interface PrefixCacheReport {
  /** The prefix: embeddings and layers 0..layers−1. */
  readonly layers: number;
  readonly examples: number;
  readonly storage: 'float32' | 'float16' | 'disk';
  readonly bytes: number;
  /** Seconds spent running the prefix to fill the cache. */
  readonly computeSeconds: number;
  /** Batches read entirely from the cache, and the seconds the reads took. */
  readonly hits: number;
  readonly readSeconds: number;
  /** The prefix runs the reads replaced (at the measured cost per filled batch) minus the reads. */
  readonly savedSeconds: number;
}

export type JobEvent = StartEvent | EvaluationJobStartEvent | SweepStartEvent | TrialStartEvent | TrialEndEvent | AblationCellEvent | StepEvent | EvaluationEvent | ArtifactEvent | LogEvent | ErrorEvent | EndEvent;

type Payload<E> = E extends JobEvent ? Omit<E, 'v' | 'time'> : never;
export type EventPayload = Payload<JobEvent>;

export type EventSink = (event: JobEvent) => void;

export function stamp(payload: EventPayload): JobEvent {
  return { v: EVENTS_VERSION, time: new Date().toISOString(), ...payload } as JobEvent;
}

/**
 * The stream of `adapter-lab import --events`: start, artifact, end (error and a failed end
 * when writing the run fails). Kept out of JobEvent: imports are not jobs the extension
 * runs and follows, so its job handling need not know them.
 */
export type ImportJobEvent = ImportStartEvent | ArtifactEvent | ErrorEvent | EndEvent;
type ImportPayload<E> = E extends ImportJobEvent ? Omit<E, 'v' | 'time'> : never;
export type ImportEventPayload = ImportPayload<ImportJobEvent>;

export function stampImport(payload: ImportEventPayload): ImportJobEvent {
  return { v: EVENTS_VERSION, time: new Date().toISOString(), ...payload } as ImportJobEvent;
}
