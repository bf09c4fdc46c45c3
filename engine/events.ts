/**
 * Job events: the engine's JSON-lines stream (`--events`), read by the extension and by
 * scripts. Versioned; every event has `v`, `type` and `time` (ISO 8601). docs/events.md is
 * the contract (every type, field, job stream, artifact kind and error code); a test checks
 * real streams against it.
 */
export const EVENTS_VERSION = 1;

interface Base {
  readonly v: typeof EVENTS_VERSION;
  readonly time: string;
}

/** Trainable parameters, the base model's, and the first as a percentage of the second. */
export interface ParameterSummary {
  readonly trainable: number;
  readonly base: number;
  readonly percentOfBase: number;
}

/** The start of a training run (`train`, `resume`, `demo`, and each run inside a sweep or drop-regimes). */
export interface StartEvent extends Base {
  readonly type: 'start';
  readonly job: 'train';
  readonly run: string;
  readonly runDir: string;
  readonly experiment: string;
  readonly method: string;
  readonly model: string;
  readonly parameters: ParameterSummary;
  readonly steps: number;
  readonly epochs: number;
  readonly examples: number;
  readonly provider: string;
  readonly threads: number;
}

/** The start of a job that evaluates a finished run cell by cell (ablation, AdapterDrop curve). */
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
  readonly parameters: ParameterSummary;
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
  /** Where the trials run (absent: here). */
  readonly executor?: 'local' | 'slurm';
}

/**
 * `evaluate`: a run (or a saved adapter folder) scored on a labelled data file. Like the other
 * one-shot jobs on finished runs (predict, export, multitask), it starts as soon as the
 * command's arguments are valid; what the job finds comes in later events.
 */
export interface EvaluateStartEvent extends Base {
  readonly type: 'start';
  readonly job: 'evaluate';
  /** The folder's name. */
  readonly run: string;
  /** The folder given: a run folder, or a saved adapter folder. */
  readonly runDir: string;
  readonly data: string;
}

/** `predict`: a run's predictions for a data file. */
export interface PredictStartEvent extends Base {
  readonly type: 'start';
  readonly job: 'predict';
  readonly run: string;
  readonly runDir: string;
  readonly data: string;
}

/** `export`: a run's adapted model as ONNX and/or its adapter in AdapterHub's layout. */
export interface ExportStartEvent extends Base {
  readonly type: 'start';
  readonly job: 'export';
  readonly run: string;
  readonly runDir: string;
  /** The ONNX file to write (`--onnx`). */
  readonly onnx?: string;
  /** The adapter folder to write (`--adapter`). */
  readonly adapter?: string;
}

/** `multitask`: several runs over one base model, the lower layers none of them adapts computed once. */
export interface MultitaskStartEvent extends Base {
  readonly type: 'start';
  readonly job: 'multitask';
  /** One key per run: its folder's name (the path as given when two names are the same). */
  readonly tasks: readonly string[];
  readonly runDirs: readonly string[];
  readonly data: string;
}

/** `drop-regimes`: AdapterDrop's standard, robust and specialized runs and their curves. */
export interface DropRegimesStartEvent extends Base {
  readonly type: 'start';
  readonly job: 'drop-regimes';
  /** The job's folder name and path (its runs are in `runs/`). */
  readonly run: string;
  readonly runDir: string;
  readonly metric: string;
  readonly layers: number;
  /** The n of the specialized runs. */
  readonly specialized: readonly number[];
  /** Training runs planned: standard, robust and one per specialized n. */
  readonly runs: number;
}

export interface TrialStartEvent extends Base {
  readonly type: 'trial-start';
  readonly index: number;
  readonly total: number;
  readonly assignments: Readonly<Record<string, unknown>>;
  readonly seed: number;
}

/** What became of a trial of a Slurm sweep (`sweep --status` reports the same). */
export const TRIAL_STATES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'timed-out', 'node-failure', 'out-of-memory', 'preempted', 'lost', 'not-submitted'] as const;
export type TrialState = (typeof TRIAL_STATES)[number];

/**
 * A trial of a Slurm sweep as the cluster sees it: waiting in the queue, running on a node,
 * or how its array task ended when that says more than the trial's record (timed out, node
 * failure). Its run's events and `trial-end` come in one block when it ends.
 */
export interface TrialStateEvent extends Base {
  readonly type: 'trial-state';
  readonly index: number;
  readonly total: number;
  readonly assignments: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly state: TrialState;
  /** The array task, `<job>_<index>`. */
  readonly job?: string;
  readonly node?: string;
  /** Why it waits: Slurm's reason (Priority, Resources, JobArrayTaskLimit, …). */
  readonly reason?: string;
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

/** One optimizer step. The fields named by the CLI contract are top-level. */
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

/**
 * Metrics on a data set: a training run's validation after each epoch, or the result of
 * `evaluate` and `multitask` on the file they were given (`split: 'data'`).
 */
export interface EvaluationEvent extends Base {
  readonly type: 'evaluation';
  /** The optimizer step the weights come from. */
  readonly step: number;
  readonly epoch: number;
  readonly split: 'validation' | 'train' | 'data';
  readonly metric: string;
  readonly value: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly examples: number;
  readonly seconds: number;
  /** The data file (evaluate, multitask). */
  readonly data?: string;
  /** The task's key (multitask). */
  readonly task?: string;
}

/** `multitask --compare`: the shared pass against one full pass per task, on the same examples. */
export interface ComparisonEvent extends Base {
  readonly type: 'comparison';
  readonly tasks: number;
  readonly examples: number;
  readonly sharedLayers: number;
  /** Seconds of the multi-task pass, and of one pass per task one after another. */
  readonly sharedSeconds: number;
  readonly separateSeconds: number;
  /** separateSeconds / sharedSeconds. */
  readonly speedup: number;
}

/**
 * A fusion's average weights (AdapterFusion, Fig. 4 of Pfeiffer et al.): each fused adapter's
 * mean softmax weight at each fusion layer over the real tokens of a data set. A fusion run
 * writes one after each evaluation (live, with `step`: measured in that evaluation's pass over
 * the validation data) and one when it has finished (the saved weights, without `step`).
 */
export interface FusionWeightsEvent extends Base {
  readonly type: 'fusion-weights';
  /** The fused adapters, in the fusion's order. */
  readonly adapters: readonly string[];
  /** By site, `<layer>.<site>` (`3.ffn`): one weight per adapter, null where it is absent. */
  readonly weights: Readonly<Record<string, readonly (number | null)[]>>;
  readonly tokens: number;
  readonly data: string;
  /** The optimizer step the weights come from, for those measured while training (absent: a finished run's saved weights). */
  readonly step?: number;
}

/** What an `artifact` event's file or folder is (docs/events.md lists what writes each). */
export const ARTIFACT_KINDS = ['adapter', 'model', 'adapter-folder', 'onnx', 'predictions', 'ablation', 'drop-curve', 'regimes', 'sweep-summary', 'config', 'metrics'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

/** The check an exported ONNX model passed before it was written. */
export interface OnnxCheck {
  readonly maxDifference: number;
  readonly examples: number;
  readonly tolerance: number;
}

export interface ArtifactEvent extends Base {
  readonly type: 'artifact';
  readonly kind: ArtifactKind;
  readonly path: string;
  /** Size in bytes (a file; for a folder, its files together). */
  readonly bytes?: number;
  /** `onnx`: the comparison with the engine's logits. */
  readonly check?: OnnxCheck;
}

export interface LogEvent extends Base {
  readonly type: 'log';
  readonly level: 'info' | 'warning';
  readonly message: string;
}

/** Why a job failed; docs/events.md says when each is used. */
export const ERROR_CODES = ['setup-failed', 'engine-error', 'non-finite-loss', 'save-failed', 'export-mismatch', 'import-failed'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorEvent extends Base {
  readonly type: 'error';
  readonly message: string;
  readonly code: ErrorCode;
}

export interface EndEvent extends Base {
  readonly type: 'end';
  readonly status: 'completed' | 'failed' | 'cancelled';
  /** What ended: a run's folder name (`""` for a job that failed or was stopped before it had one). */
  readonly run: string;
  readonly seconds: number;
  /** The job's units of work done: optimizer steps, cells, trials, runs or examples (docs/events.md). */
  readonly steps: number;
  readonly metrics: Readonly<Record<string, number>>;
  /** Training with `training.prefix_cache`: what the cache held and the time it saved. */
  readonly prefixCache?: PrefixCacheReport;
  /** Why the job failed or was cancelled, when it did. */
  readonly message?: string;
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

/**
 * The streams of the jobs the extension runs and follows: train, resume, demo, sweep,
 * ablate. Other commands' streams are below; EngineEvent is every event of every command.
 */
export type JobEvent = StartEvent | EvaluationJobStartEvent | SweepStartEvent | TrialStartEvent | TrialStateEvent | TrialEndEvent | AblationCellEvent | StepEvent | EvaluationEvent | FusionWeightsEvent | ArtifactEvent | LogEvent | ErrorEvent | EndEvent;

/** A job that ends without a start: it failed (or was stopped) before it began. */
type Closing = LogEvent | ErrorEvent | EndEvent;
export type EvaluateJobEvent = EvaluateStartEvent | EvaluationEvent | Closing;
export type PredictJobEvent = PredictStartEvent | ArtifactEvent | Closing;
export type ExportJobEvent = ExportStartEvent | ArtifactEvent | Closing;
export type MultitaskJobEvent = MultitaskStartEvent | EvaluationEvent | ComparisonEvent | ArtifactEvent | Closing;
/** drop-regimes nests training runs and AdapterDrop curves (JobEvent streams) in its own start … end. */
export type DropRegimesJobEvent = DropRegimesStartEvent | JobEvent;

/**
 * The stream of `adapter-lab import --events`: start, artifact, end (error and a failed end
 * when writing the run fails). Kept out of JobEvent: imports are not jobs the extension
 * runs and follows, so its job handling need not know them.
 */
export type ImportJobEvent = ImportStartEvent | ArtifactEvent | ErrorEvent | EndEvent;

/** Every event any command writes. */
export type EngineEvent = JobEvent | ImportJobEvent | EvaluateJobEvent | PredictJobEvent | ExportJobEvent | MultitaskJobEvent | DropRegimesJobEvent;

/** An event without `v` and `time`, which stamping adds. */
export type PayloadOf<E> = E extends EngineEvent ? Omit<E, 'v' | 'time'> : never;
export type EventPayload = PayloadOf<JobEvent>;
export type ImportEventPayload = PayloadOf<ImportJobEvent>;

export type EventSink<E extends EngineEvent = JobEvent> = (event: E) => void;

/** Adds `v` and `time` to a payload of the stream `E`. */
export function stampAs<E extends EngineEvent>(payload: PayloadOf<E>): E {
  return { v: EVENTS_VERSION, time: new Date().toISOString(), ...payload } as unknown as E;
}

export function stamp(payload: EventPayload): JobEvent {
  return stampAs<JobEvent>(payload);
}

export function stampImport(payload: ImportEventPayload): ImportJobEvent {
  return stampAs<ImportJobEvent>(payload);
}
