/**
 * `adapter-lab drop-regimes` in the ablation panel: one history per training regime
 * (standard, robust, specialized), each read by the panel as an AdapterDrop curve, so it
 * draws one line per regime labelled with it.
 *
 * Live, the job writes one stream: the standard run and its curve, the robust run and its
 * curve, then one static run per n. RegimeSplitter routes it into the three histories and
 * makes the specialized curve from the static runs' final metrics, as the engine does.
 * Reopened, the histories come from regimes.json; before that file exists (the job is
 * still running, or was killed), from the runs in the job's folder through the same
 * splitter. Training steps are left out: the curves need only evaluations and ends.
 * No `vscode` here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVENTS_VERSION, type EventPayload, type JobEvent } from '../../engine/events';
import { DROP_CURVE_FILE, REGIME_FILES, REGIMES_FILE, replayJob, type JobHistory } from '../../engine/runs/replay';

export type Regime = 'standard' | 'robust' | 'specialized';
export const REGIMES: readonly Regime[] = ['standard', 'robust', 'specialized'];

export type RegimesStatus = 'completed' | 'failed' | 'cancelled';

/** Events for one regime's history, in order. */
export interface RoutedEvents {
  readonly id: string;
  readonly events: readonly JobEvent[];
}

const SEPARATOR = '#';

/** A regime's history id: the job's regimes.json and the regime (`…/regimes.json#robust`). Stable across reloads. */
export function regimeId(regimesFile: string, regime: Regime): string {
  return `${regimesFile}${SEPARATOR}${regime}`;
}

export function regimeIds(regimesFile: string): string[] {
  return REGIMES.map((r) => regimeId(regimesFile, r));
}

export function parseRegimeId(id: string): { readonly file: string; readonly regime: Regime } | undefined {
  const at = id.lastIndexOf(SEPARATOR);
  if (at < 0) return undefined;
  const file = id.slice(0, at);
  const regime = id.slice(at + 1) as Regime;
  return path.basename(file) === REGIMES_FILE && REGIMES.includes(regime) ? { file, regime } : undefined;
}

/** The job's regimes.json, from the folder of one of its training runs (`<job>/runs/<run>`). */
export function regimesFileOf(trainingRunDir: string): string {
  return path.join(path.dirname(path.dirname(path.resolve(trainingRunDir))), REGIMES_FILE);
}

/**
 * drop-regimes' own start, which newer engines write around its runs (`runDir`: the job's
 * folder). Read structurally: it is not one of the job events the extension's types name.
 */
export interface RegimesStart {
  readonly type: 'start';
  readonly job: 'drop-regimes';
  readonly runDir: string;
  readonly metric: string;
}

export function regimesStartOf(e: unknown): RegimesStart | undefined {
  const x = e as Partial<RegimesStart> | null;
  return x && x.type === 'start' && x.job === 'drop-regimes' && typeof x.runDir === 'string' && typeof x.metric === 'string' ? (x as RegimesStart) : undefined;
}

/** The job's regimes.json from its first start event: its own, or (older engines) its first training run's. */
export function regimesFileFromStart(e: JobEvent): string | undefined {
  const own = regimesStartOf(e);
  if (own) return path.join(path.resolve(own.runDir), REGIMES_FILE);
  return e.type === 'start' && e.job === 'train' ? regimesFileOf(e.runDir) : undefined;
}

const STATIC_RUN = /^static-n(\d+)$/;

type Stage = { readonly kind: 'regime'; readonly regime: 'standard' | 'robust' } | { readonly kind: 'static'; readonly n: number } | { readonly kind: 'none' };

export class RegimeSplitter {
  private readonly histories = new Map<Regime, JobEvent[]>(REGIMES.map((r) => [r, []]));
  private stage: Stage = { kind: 'none' };
  private metric: string | undefined;
  /** The standard adapter's metric with every adapter in place (n = 0 of every curve). */
  private baseline: number | undefined;
  private lastEvaluation: number | undefined;
  private specializedOpen = false;
  private specializedCells = 0;
  private finished = false;
  /** Open starts; with `outer`, the job's own start … end holds its runs and curves. */
  private depth = 0;
  private outer = false;

  constructor(readonly regimesFile: string) {}

  /** Routes one event of the drop-regimes job; returns what each regime's history gained. */
  push(e: JobEvent): RoutedEvents[] {
    const own = regimesStartOf(e);
    if (own) {
      this.outer = true;
      this.depth++;
      this.metric ??= own.metric;
      return [];
    }
    // The job's own end closes the specialized curve; its other events (the summary's artifact) are its, not a regime's.
    if (this.outer && this.depth === 1) {
      if (e.type === 'end') {
        this.depth = 0;
        return this.finish(e.status, e.time);
      }
      if (e.type !== 'start') return [];
    }
    if (e.type === 'start') this.depth++;
    else if (e.type === 'end') this.depth = Math.max(0, this.depth - 1);
    const out = new Routed(this.regimesFile);
    switch (e.type) {
      case 'start':
        if (e.job === 'train') {
          const name = e.experiment;
          const n = STATIC_RUN.exec(name);
          if (name === 'standard' || name === 'robust') this.stage = { kind: 'regime', regime: name };
          else if (n) {
            this.stage = { kind: 'static', n: Number(n[1]) };
            this.lastEvaluation = undefined;
            if (!this.specializedOpen) this.openSpecialized(e.time, out);
          } else this.stage = { kind: 'none' };
        } else if (e.job === 'drop-curve' && this.metric === undefined) this.metric = e.metric;
        this.route(e, out);
        break;
      case 'step':
        break; // the curves need no steps, and a long run has tens of thousands
      case 'evaluation':
        if (this.stage.kind === 'static' && (this.metric === undefined || e.metric === this.metric)) this.lastEvaluation = e.value;
        this.route(e, out);
        break;
      case 'end':
        if (this.stage.kind === 'static') this.closeStaticRun(e, out);
        else {
          // The standard curve's end carries the metric with every adapter: n = 0 for every curve.
          if (this.stage.kind === 'regime' && this.stage.regime === 'standard' && this.inCurve('standard') && this.metric !== undefined) this.baseline = e.metrics[this.metric] ?? this.baseline;
          this.route(e, out);
        }
        break;
      case 'trial-start':
      case 'trial-end':
        break;
      default:
        this.route(e, out);
    }
    return out.list();
  }

  /** The job has ended: the specialized curve ends with it (its n = 0 is the standard adapter's). */
  finish(status: RegimesStatus, time = new Date().toISOString()): RoutedEvents[] {
    const out = new Routed(this.regimesFile);
    if (this.finished || !this.specializedOpen) return out.list();
    this.finished = true;
    const metrics = this.metric !== undefined && this.baseline !== undefined ? { [this.metric]: this.baseline } : {};
    this.add('specialized', stamp(time, { type: 'end', status, run: REGIME_FILES.specialized, seconds: 0, steps: this.specializedCells, metrics }), out);
    return out.list();
  }

  /** Every regime's history so far (empty ones included: the panel shows the regimes it is waiting for). */
  historyList(): JobHistory[] {
    return REGIMES.map((regime) => ({ id: regimeId(this.regimesFile, regime), label: regime, events: [...this.histories.get(regime)!] }));
  }

  history(regime: Regime): readonly JobEvent[] {
    return this.histories.get(regime)!;
  }

  private route(e: JobEvent, out: Routed): void {
    if (this.stage.kind !== 'regime') return;
    const regime = this.stage.regime;
    this.add(regime, e, out);
    // The specialized curve's n = 0 is the standard adapter: its training run stands for it until the curve ends.
    if (regime === 'standard' && !this.inCurve('standard')) this.add('specialized', e, out);
  }

  /** Whether the regime's history has opened its AdapterDrop curve (its training run is over). */
  private inCurve(regime: Regime): boolean {
    return this.histories.get(regime)!.some((e) => e.type === 'start' && e.job === 'drop-curve');
  }

  private openSpecialized(time: string, out: Routed): void {
    this.specializedOpen = true;
    const runDir = path.join(path.dirname(this.regimesFile), REGIME_FILES.specialized);
    this.add('specialized', stamp(time, { type: 'start', job: 'drop-curve', run: REGIME_FILES.specialized, runDir, metric: this.metric ?? 'unknown', cells: 0, examples: 0 }), out);
  }

  /** A static run at n: a point of the specialized curve when it completed with a metric (a failed one is left out, as the engine does). */
  private closeStaticRun(e: Extract<JobEvent, { type: 'end' }>, out: Routed): void {
    if (this.stage.kind !== 'static') return;
    const n = this.stage.n;
    this.stage = { kind: 'none' };
    const metric = this.metric;
    const value = metric !== undefined ? (e.metrics[metric] ?? this.lastEvaluation) : undefined;
    if (e.status !== 'completed' || metric === undefined || value === undefined || !Number.isFinite(value)) return;
    const index = this.specializedCells++;
    this.add('specialized', stamp(e.time, { type: 'ablation', index, total: index + 1, from: 0, to: n - 1, site: 'both', metric, value, metrics: { [metric]: value }, seconds: 0 }), out);
  }

  private add(regime: Regime, e: JobEvent, out: Routed): void {
    this.histories.get(regime)!.push(e);
    out.add(regime, e);
  }
}

function stamp(time: string, payload: EventPayload): JobEvent {
  return { v: EVENTS_VERSION, time, ...payload } as JobEvent;
}

class Routed {
  private readonly byRegime = new Map<Regime, JobEvent[]>();
  constructor(private readonly file: string) {}
  add(regime: Regime, e: JobEvent): void {
    const list = this.byRegime.get(regime);
    if (list) list.push(e);
    else this.byRegime.set(regime, [e]);
  }
  list(): RoutedEvents[] {
    return [...this.byRegime].map(([regime, events]) => ({ id: regimeId(this.file, regime), events }));
  }
}

/** regimes.json as engine/train/dropRegimes.ts writes it (only what is read; any field may be missing). */
interface StoredRegimes {
  readonly metric?: string;
  readonly curves?: readonly { readonly regime?: string; readonly points?: readonly { readonly n?: number; readonly value?: number; readonly run?: string }[] }[];
  readonly status?: string;
}

function readRegimes(file: string): StoredRegimes | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    return value && typeof value === 'object' ? (value as StoredRegimes) : undefined;
  } catch {
    return undefined;
  }
}

const statusOf = (s: unknown): RegimesStatus | undefined => (s === 'completed' || s === 'failed' || s === 'cancelled' ? s : undefined);

/** The three regimes' histories of a drop-regimes job in the store (`file`: its regimes.json). Never throws. */
export function replayRegimes(file: string): JobHistory[] {
  const stored = readRegimes(file);
  const status = statusOf(stored?.status);
  if (stored && status === 'completed' && typeof stored.metric === 'string' && REGIMES.every((r) => stored.curves?.some((c) => c.regime === r))) return fromSummary(file, stored, stored.metric);
  return fromRuns(file, status);
}

/** A finished job: each regime's curve straight from regimes.json. */
function fromSummary(file: string, stored: StoredRegimes, metric: string): JobHistory[] {
  const time = new Date(fileTime(file)).toISOString();
  const dir = path.dirname(file);
  const runs = regimeRuns(path.join(dir, REGIME_FILES.runs));
  return REGIMES.map((regime) => {
    const points = (stored.curves?.find((c) => c.regime === regime)?.points ?? []).filter((p): p is { n: number; value: number; run?: string } => typeof p.n === 'number' && typeof p.value === 'number');
    const baseline = points.find((p) => p.n === 0)?.value;
    const cells = points.filter((p) => p.n > 0).sort((a, b) => a.n - b.n);
    // The curve's run: the regime's training run (standard, robust), or the specialized folder.
    const runDir = regime === 'specialized' ? path.join(dir, REGIME_FILES.specialized) : (runs.find((r) => path.basename(r).startsWith(`${regime}-`)) ?? path.join(dir, REGIME_FILES.runs, regime));
    const run = path.basename(runDir);
    const events: JobEvent[] = [stamp(time, { type: 'start', job: 'drop-curve', run, runDir, metric, cells: cells.length, examples: 0 })];
    cells.forEach((p, index) => events.push(stamp(time, { type: 'ablation', index, total: cells.length, from: 0, to: p.n - 1, site: 'both', metric, value: p.value, metrics: { [metric]: p.value }, seconds: 0 })));
    events.push(stamp(time, { type: 'end', status: 'completed', run, seconds: 0, steps: cells.length, metrics: baseline !== undefined ? { [metric]: baseline } : {} }));
    return { id: regimeId(file, regime), label: regime, events };
  });
}

/** An unfinished (or unreadable) job: its runs and their curves replayed in the order they ran, through the splitter. */
function fromRuns(file: string, status: RegimesStatus | undefined): JobHistory[] {
  const splitter = new RegimeSplitter(file);
  for (const runDir of regimeRuns(path.join(path.dirname(file), REGIME_FILES.runs))) {
    for (const e of replayJob(runDir).events) splitter.push(e);
    const curve = path.join(runDir, DROP_CURVE_FILE);
    if (fs.existsSync(curve)) for (const e of replayJob(curve).events) splitter.push(e);
  }
  if (status) splitter.finish(status, new Date(fileTime(file)).toISOString());
  return splitter.historyList();
}

/** The job's training runs in the order drop-regimes runs them: standard, robust, then the static runs by n. */
function regimeRuns(runsDir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
  const rank = (name: string): number => {
    if (name.startsWith('standard-')) return 0;
    if (name.startsWith('robust-')) return 1;
    const n = /^static-n(\d+)-/.exec(name);
    return n ? 2 + Number(n[1]) : Number.POSITIVE_INFINITY;
  };
  return names.filter((n) => Number.isFinite(rank(n))).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((n) => path.join(runsDir, n));
}

function fileTime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}
