/**
 * A finished (or running) job rebuilt as the event stream it wrote, from the run store.
 * Result panels draw only from job events; after a window reload, or for a job run from a
 * terminal, this is where their events come from. Reading never throws: torn or missing
 * files give what can be read plus a `log` warning saying what was missing.
 *
 * What the store does not keep is approximated and said so here: per-event times are the
 * start time plus the seconds of the records before them, and a run's example count is
 * its steps per epoch × batch size (an upper bound; the last batch may be short).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVENTS_VERSION, type AblationCellEvent, type EventPayload, type JobEvent, type StepEvent, type EvaluationEvent, type FusionWeightsEvent } from '../events';
import { readTrialRecords, type TrialRecord } from './trials';
import { bestValue, slurmTrialViews } from './catalog';
import { readJsonLines, RUN_FILES, type RunStatusRecord, type SweepStatusRecord } from './store';

/**
 * File names of sweep folders and ablation results, as engine/train/sweep.ts and ablate.ts
 * write them (a test keeps them equal). Repeated here because those modules load the
 * training runtime, and readers of the store (the extension host) must not.
 */
export const SWEEP_FILES = { definition: 'sweep.json', trials: 'trials.jsonl', records: 'records', summary: 'summary.json', experiment: 'experiment.adapter.yaml', runs: 'runs', status: 'status.json', environment: 'environment.json' } as const;
export const ABLATION_FILE = 'ablation.json';
export const DROP_CURVE_FILE = 'drop-curve.json';
/** The summary `adapter-lab drop-regimes` writes in its folder (engine/train/dropRegimes.ts). */
export const REGIMES_FILE = 'regimes.json';
/** drop-regimes' folder: its training runs in `runs/`, the specialized runs' curve in `specialized/`. */
export const REGIME_FILES = { runs: 'runs', specialized: 'specialized' } as const;
const SPECIALIZED_FOLDER = REGIME_FILES.specialized;

/** The events of one job, oldest first (the same shape the result panels take). */
export interface JobHistory {
  /** The run or sweep folder, or the ablation / AdapterDrop curve file inside a run folder. */
  readonly id: string;
  readonly label: string;
  readonly events: readonly JobEvent[];
}

export type ReplayKind = 'run' | 'sweep' | 'ablation' | 'drop-curve';

/** Which kind of job a store path holds: an ablation file, a sweep folder, or a run folder. */
export function replayKind(target: string): ReplayKind {
  const base = path.basename(target);
  if (base === ABLATION_FILE) return 'ablation';
  if (base === DROP_CURVE_FILE) return 'drop-curve';
  return fs.existsSync(path.join(target, SWEEP_FILES.definition)) ? 'sweep' : 'run';
}

/** Rebuilds the job stored at `target` (a run folder, a sweep folder, or a run's ablation.json / drop-curve.json). */
export function replayJob(target: string): JobHistory {
  const id = path.resolve(target);
  const out = new EventList(fileTime(id));
  try {
    switch (replayKind(id)) {
      case 'ablation':
      case 'drop-curve':
        replayAblation(id, out);
        break;
      case 'sweep':
        replaySweep(id, out);
        break;
      case 'run':
        replayRun(id, out);
        break;
    }
  } catch (e) {
    // Every reader below guards its own files; this is the last line for the unforeseen.
    out.warn(`could not read ${id}: ${(e as Error).message}`);
  }
  return { id, label: jobLabel(id), events: out.events };
}

/**
 * What a panel calls a job: the run or sweep folder's name; for an ablation, the run's name
 * and which ablation; for an AdapterDrop curve, the run's training regime and its name (a
 * curve's line in the panel is read by regime).
 */
export function jobLabel(id: string): string {
  const base = path.basename(id);
  const runDir = path.dirname(id);
  const run = path.basename(runDir);
  if (base === ABLATION_FILE) return `${run} · ablation`;
  if (base === DROP_CURVE_FILE) {
    const regime = trainingRegime(runDir);
    if (regime === 'specialized') return regime;
    return regime ? `${regime} · ${run}` : `${run} · AdapterDrop curve`;
  }
  return base;
}

/**
 * How a run was trained with respect to AdapterDrop (Rücklé et al.), from its config.json:
 * `standard` (every adapter, none dropped), `robust` (a random number of the lowest layers
 * dropped at each step), `static` (a fixed set of layers dropped). drop-regimes' folder of
 * specialized runs (one static run per n) is `specialized`. Undefined when unreadable.
 */
export type TrainingRegime = 'standard' | 'robust' | 'static' | 'specialized';

interface StoredDrop {
  readonly experiment?: { readonly drop?: { readonly layers?: { readonly kind?: string }; readonly mode?: string } };
}

export function trainingRegime(runDir: string): TrainingRegime | undefined {
  const config = readJson<StoredDrop>(path.join(runDir, RUN_FILES.config));
  if (!config.ok) return isSpecializedFolder(runDir) ? 'specialized' : undefined;
  const drop = config.value.experiment?.drop;
  // Configs written before drop settings existed trained every adapter.
  if (!drop?.layers || drop.layers.kind === 'none') return 'standard';
  return drop.mode === 'robust' ? 'robust' : 'static';
}

/** drop-regimes' `specialized/` folder (it holds a curve, not a run): beside the job's `runs/`. */
export function isSpecializedFolder(dir: string): boolean {
  return path.basename(dir) === SPECIALIZED_FOLDER && fs.existsSync(path.join(path.dirname(dir), REGIME_FILES.runs));
}

/** Events with their times: a running clock advanced by the seconds each record took. */
class EventList {
  readonly events: JobEvent[] = [];
  private clock: number;

  constructor(start: number) {
    this.clock = start;
  }

  setClock(time: number): void {
    if (Number.isFinite(time)) this.clock = time;
  }

  advance(seconds: unknown): void {
    if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0) this.clock += seconds * 1000;
  }

  push(payload: EventPayload): void {
    this.events.push({ v: EVENTS_VERSION, time: new Date(this.clock).toISOString(), ...payload } as JobEvent);
  }

  warn(message: string): void {
    this.push({ type: 'log', level: 'warning', message });
  }
}

type ReadResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

function readJson<T>(file: string): ReadResult<T> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, reason: (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${path.basename(file)} is missing` : `${path.basename(file)} cannot be read` };
  }
  try {
    return { ok: true, value: JSON.parse(text) as T };
  } catch {
    return { ok: false, reason: `${path.basename(file)} is not valid JSON (torn or edited)` };
  }
}

function fileTime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}

/** The parts of a run's files the replay reads; everything optional, since any may be torn. */
interface StoredConfig {
  readonly experiment?: {
    readonly name?: string;
    readonly method?: string;
    readonly model?: string;
    readonly training?: { readonly epochs?: number; readonly batchSize?: number };
  };
  readonly parameters?: { readonly trainable?: number; readonly base?: number; readonly percentOfBase?: number };
  readonly totalSteps?: number;
  readonly stepsPerEpoch?: number;
}

interface StoredEnvironment {
  readonly provider?: string;
  readonly threads?: number;
  readonly model?: string;
}

type MetricsRecord = Omit<StepEvent, 'v' | 'time'> | Omit<EvaluationEvent, 'v' | 'time'> | Omit<FusionWeightsEvent, 'v' | 'time'>;

function replayRun(runDir: string, out: EventList): void {
  const run = path.basename(runDir);
  const config = readJson<StoredConfig>(path.join(runDir, RUN_FILES.config));
  const environment = readJson<StoredEnvironment>(path.join(runDir, RUN_FILES.environment));
  const status = readJson<RunStatusRecord>(path.join(runDir, RUN_FILES.status));
  const c: StoredConfig = config.ok ? config.value : {};
  const env: StoredEnvironment = environment.ok ? environment.value : {};
  if (status.ok) out.setClock(Date.parse(status.value.started));

  const e = c.experiment ?? {};
  const p = c.parameters ?? {};
  out.push({
    type: 'start',
    job: 'train',
    run,
    runDir,
    experiment: e.name ?? run,
    method: e.method ?? 'unknown',
    model: env.model ?? e.model ?? 'unknown',
    parameters: { trainable: p.trainable ?? 0, base: p.base ?? 0, percentOfBase: p.percentOfBase ?? 0 },
    steps: c.totalSteps ?? 0,
    epochs: e.training?.epochs ?? 0,
    examples: (c.stepsPerEpoch ?? 0) * (e.training?.batchSize ?? 0),
    provider: env.provider ?? 'unknown',
    threads: env.threads ?? 0,
  });
  for (const missing of [config, environment, status]) if (!missing.ok) out.warn(`${run}: ${missing.reason}`);

  const metricsFile = path.join(runDir, RUN_FILES.metrics);
  if (!fs.existsSync(metricsFile)) out.warn(`${run}: ${RUN_FILES.metrics} is missing`);
  // readJsonLines skips a torn last line; records that are not steps, evaluations or a fusion's
  // live weights are foreign and skipped.
  const records = readJsonLines<MetricsRecord>(metricsFile).filter((r) => r && (r.type === 'step' || r.type === 'evaluation' || (r.type === 'fusion-weights' && isFusionWeights(r))));
  let steps = 0;
  let finalMetrics: Readonly<Record<string, number>> = {};
  for (const r of records) {
    if (r.type === 'fusion-weights') {
      out.push(r);
      continue;
    }
    out.advance(r.seconds);
    out.push(r);
    if (r.type === 'step') steps = Math.max(steps, r.step);
    else finalMetrics = { ...finalMetrics, ...r.metrics };
  }

  if (!status.ok) return;
  const s = status.value;
  if (s.status === 'running') return; // still running, or killed: no end to show
  if (s.status !== 'failed' && fs.existsSync(path.join(runDir, RUN_FILES.adapterDir))) out.push({ type: 'artifact', kind: 'adapter', path: path.join(runDir, RUN_FILES.adapterDir) });
  if (s.status !== 'failed' && fs.existsSync(path.join(runDir, RUN_FILES.fusionDir))) out.push({ type: 'artifact', kind: 'adapter', path: path.join(runDir, RUN_FILES.fusionDir) });
  const weights = readJson<Partial<FusionWeightsEvent>>(path.join(runDir, RUN_FILES.fusionWeights));
  if (weights.ok && isFusionWeights(weights.value)) out.push({ type: 'fusion-weights', adapters: weights.value.adapters, weights: weights.value.weights, tokens: weights.value.tokens, data: weights.value.data });
  if (s.status === 'failed' && s.message) out.push({ type: 'error', code: 'engine-error', message: s.message });
  const ended = s.ended ? Date.parse(s.ended) : NaN;
  out.setClock(ended);
  const started = Date.parse(s.started);
  out.push({ type: 'end', status: s.status, run, seconds: Number.isFinite(ended) && Number.isFinite(started) ? (ended - started) / 1000 : 0, steps: typeof s.step === 'number' ? s.step : steps, metrics: finalMetrics });
}

/** fusion-weights.json as `fusion weights` and a finished fusion run write it (or a live record of metrics.jsonl); anything else is not replayed. */
function isFusionWeights(v: Partial<FusionWeightsEvent>): v is Omit<FusionWeightsEvent, 'v' | 'time' | 'type'> {
  const adapters = v.adapters;
  return (
    Array.isArray(adapters) &&
    adapters.every((a) => typeof a === 'string') &&
    typeof v.tokens === 'number' &&
    typeof v.data === 'string' &&
    typeof v.weights === 'object' &&
    v.weights !== null &&
    Object.values(v.weights).every((w) => Array.isArray(w) && w.length === adapters.length && w.every((x) => x === null || typeof x === 'number'))
  );
}

interface StoredSweep {
  readonly name?: string;
  readonly metric?: string;
  readonly trials?: readonly { readonly index: number; readonly assignments: Readonly<Record<string, unknown>>; readonly seed: number }[];
}

/** A line of trials.jsonl (a type only: replay must not load the training engine). */
type StoredTrial = TrialRecord;

interface StoredSummary {
  readonly trials?: readonly unknown[];
  readonly groups?: readonly { readonly best?: { readonly metrics?: Readonly<Record<string, number>> } }[];
}

function replaySweep(sweepDir: string, out: EventList): void {
  const sweep = path.basename(sweepDir);
  const definitionFile = path.join(sweepDir, SWEEP_FILES.definition);
  const definition = readJson<StoredSweep>(definitionFile);
  const d: StoredSweep = definition.ok ? definition.value : {};
  const planned = d.trials ?? [];
  const metric = d.metric ?? 'unknown';
  out.setClock(fileTime(definitionFile));
  const status = readJson<Partial<SweepStatusRecord>>(path.join(sweepDir, SWEEP_FILES.status));
  const slurm = status.ok && status.value.executor === 'slurm';
  out.push({ type: 'start', job: 'sweep', sweep, sweepDir, trials: planned.length, skipped: 0, metric, ...(slurm ? { executor: 'slurm' as const } : {}) });
  if (!definition.ok) out.warn(`${sweep}: ${definition.reason}`);

  const runsDir = path.join(sweepDir, SWEEP_FILES.runs);
  // trials.jsonl, and a Slurm sweep's record files (one per trial, written by its array task).
  const records: StoredTrial[] = readTrialRecords(sweepDir);
  const trialRun = (run: string): void => {
    // A record names a folder inside runs/: one plain name, never a path (a crafted ".." would
    // make the sweep replay itself, or read outside the store).
    if (!isFolderName(run)) return out.warn(`${sweep}: trial record names "${run}", which is not a run folder name; skipped`);
    const replayed = replayRunFolder(path.join(runsDir, run));
    for (const event of replayed.events) out.events.push(event);
    const last = replayed.events[replayed.events.length - 1];
    if (last) out.setClock(Date.parse(last.time));
  };
  const reported = new Set<string>();
  for (const r of records) {
    out.push({ type: 'trial-start', index: r.index, total: planned.length, assignments: r.assignments ?? {}, seed: r.seed });
    if (r.run) {
      reported.add(r.run);
      trialRun(r.run);
    }
    out.push({ type: 'trial-end', index: r.index, total: planned.length, status: r.status, run: r.run, metrics: r.metrics ?? {}, trainable: r.trainable, ...(r.message ? { message: r.message } : {}) });
  }
  // A trial still running (or killed) has a run folder but no record yet.
  for (const run of unreportedTrialRuns(runsDir, reported)) {
    const index = Number(/^trial-(\d+)/.exec(run)?.[1]);
    const trial = planned.find((t) => t.index === index);
    out.push({ type: 'trial-start', index, total: planned.length, assignments: trial?.assignments ?? {}, seed: trial?.seed ?? 0 });
    trialRun(run);
  }

  // A Slurm sweep: where each trial without a record is (pending, running) as Slurm last said, and how Slurm ended the tasks whose record says less (timed out, node failure).
  if (slurm) {
    for (const t of slurmTrialViews(sweepDir)) {
      if (t.record && t.state === t.record.status) continue;
      out.push({ type: 'trial-state', index: t.index, total: planned.length, assignments: t.assignments, seed: t.seed, state: t.state, ...(t.job ? { job: t.job } : {}), ...(t.node ? { node: t.node } : {}), ...(t.reason ? { reason: t.reason } : {}) });
    }
  }

  const summaryFile = path.join(sweepDir, SWEEP_FILES.summary);
  const summary = readJson<StoredSummary>(summaryFile);
  if (!summary.ok) return; // the sweep has not ended (or was killed)
  // The sweep's own status, where it keeps one; older sweep folders: completed when every trial has a record.
  const said = status.ok ? status.value.status : undefined;
  if (said === 'running') return; // written again by a resumed sweep
  out.push({ type: 'artifact', kind: 'sweep-summary', path: summaryFile });
  const latest = new Map(records.map((r) => [r.index, r]));
  const done = [...latest.values()].filter((r) => r.status !== 'cancelled').length;
  // As the engine reports it: the best of the groups' best values, in the metric's direction.
  const best = bestValue(metric, (summary.value.groups ?? []).map((g) => g.best?.metrics?.[metric])) ?? NaN;
  out.setClock(fileTime(summaryFile));
  const ended = said === 'completed' || said === 'failed' || said === 'cancelled' ? said : done >= planned.length && planned.length > 0 ? 'completed' : 'cancelled';
  out.push({ type: 'end', status: ended, run: sweep, seconds: 0, steps: summary.value.trials?.length ?? latest.size, metrics: Number.isFinite(best) ? { [metric]: best } : {} });
}

/** Trial run folders that trials.jsonl does not mention yet, oldest trial first. */
function unreportedTrialRuns(runsDir: string, reported: ReadonlySet<string>): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
  return names.filter((n) => /^trial-\d+/.test(n) && !reported.has(n)).sort();
}

interface StoredAblation {
  readonly metric?: string;
  readonly layers?: number;
  readonly baseline?: Readonly<Record<string, number>>;
  readonly cells?: readonly { readonly from: number; readonly to: number; readonly site: AblationCellEvent['site']; readonly value: number; readonly metrics: Readonly<Record<string, number>> }[];
  readonly status?: 'completed' | 'cancelled';
}

function replayAblation(file: string, out: EventList): void {
  const runDir = path.dirname(file);
  const run = path.basename(runDir);
  const curve = path.basename(file) === DROP_CURVE_FILE;
  const stored = readJson<StoredAblation>(file);
  const a: StoredAblation = stored.ok ? stored.value : {};
  const cells = Array.isArray(a.cells) ? a.cells : [];
  const metric = a.metric ?? 'unknown';
  // The evaluation set's size is not stored with the result.
  out.push({ type: 'start', job: curve ? 'drop-curve' : 'ablate', run, runDir, metric, cells: cells.length, examples: 0 });
  if (!stored.ok) {
    out.warn(`${run}: ${stored.reason}`);
    return;
  }
  for (const [index, cell] of cells.entries()) {
    out.push({ type: 'ablation', index, total: cells.length, from: cell.from, to: cell.to, site: cell.site, metric, value: cell.value, metrics: cell.metrics ?? {}, seconds: 0 });
  }
  out.push({ type: 'artifact', kind: curve ? 'drop-curve' : 'ablation', path: file });
  out.push({ type: 'end', status: a.status ?? 'completed', run, seconds: 0, steps: cells.length, metrics: a.baseline ?? {} });
}

/** A trial's run folder (never a sweep: a trial record cannot make the replay recurse). */
function replayRunFolder(dir: string): { readonly events: readonly JobEvent[] } {
  const out = new EventList(fileTime(dir));
  try {
    replayRun(dir, out);
  } catch (e) {
    out.warn(`could not read ${dir}: ${(e as Error).message}`);
  }
  return { events: out.events };
}

/** One plain folder name: no separators, not "." or "..". */
function isFolderName(name: string): boolean {
  return typeof name === 'string' && name !== '' && name !== '.' && name !== '..' && !/[\\/]/.test(name) && path.basename(name) === name;
}
