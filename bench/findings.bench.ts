/**
 * The papers' findings, reproduced on the built-in pretrained English BERT and the WordNet
 * supersense task (26 classes), through the engine's public jobs: sweeps for the
 * parameter/performance trade-off (Houlsby et al., Fig. 3–4) and the adapter variants, the
 * span ablation of the best adapter run (Fig. 6), the AdapterDrop regimes (Rücklé et al.),
 * the same adapter on the unpretrained twin, and every headline number on the test split.
 * Writes bench/results/findings.json and regenerates docs/findings.md with its figures.
 *
 *   npm run bench:findings [-- --scale smoke|quick|seeds|full] [--reuse] [--threads N] [--device cpu|cuda]
 *
 * On demand only (never in CI): the quick scale takes about half an hour on 2 cores, the seeds
 * scale (quick's data, three seeds) about 1.5 hours, the full protocol days. Each finished piece is recorded in the scale's state file; `--reuse` skips
 * finished pieces and resumes an interrupted sweep, so an interrupted run loses at most the
 * piece in flight, and a finished one only regenerates the page and figures.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadExperimentFile } from '../engine/cli/load';
import type { Device } from '../engine/config/schema';
import type { DropRegimesJobEvent } from '../engine/events';
import { loadModel } from '../engine/checkpoint/baseModel';
import { runAblation, type AblationResult } from '../engine/jobs/ablate';
import { runDropRegimes, type RegimeCurve } from '../engine/jobs/dropRegimes';
import { evaluateRun } from '../engine/jobs/evaluate';
import { runSweep, type TrialRecord } from '../engine/jobs/sweep';
import { baseParameterCounts } from '../engine/model/parameters';
import { resolveProvider } from '../engine/runtime/provider';
import { readJsonLines, RUN_FILES, writeAtomic, writeJson } from '../engine/runs/store';
import { arg } from './args';
import { figureMarkdown, writeFigures, type FigureSpec, type Series } from './figures/render';

/** Compiled to out/bench, so the repository is two folders up. */
const ROOT = path.resolve(__dirname, '..', '..');
const DATA = path.join(ROOT, 'examples', 'data', 'wordnet-supersense');
const MODEL = 'builtin:english-bert';
const TWIN = 'builtin:english-bert-random';
const METRIC = 'accuracy';

// ---------------------------------------------------------------------------------------
// Scales

type ScaleName = 'smoke' | 'quick' | 'seeds' | 'full';
type Method = 'adapter' | 'top_k' | 'layernorm' | 'full';

interface Scale {
  readonly name: ScaleName;
  /** Rows taken from the top of each split; undefined: the whole file. */
  readonly rows: { readonly train?: number; readonly dev?: number; readonly test?: number };
  readonly epochs: number;
  readonly seeds: readonly number[];
  readonly sizes: readonly number[];
  readonly topK: readonly number[];
  /** Learning rates tried per method; the best is chosen on dev (mean over seeds). */
  readonly lr: Readonly<Record<Method, readonly number[]>>;
  /** The specialised AdapterDrop runs (one per n); the standard and robust curves are measured at every n. */
  readonly dropN: readonly number[];
  /** The adapter size of the twin comparison, the variants' reference and the drop regimes. */
  readonly referenceSize: number;
}

const MAX_LENGTH = 32;
const BATCH = 32;

const SCALES: Readonly<Record<ScaleName, Scale>> = {
  // Plumbing only: every piece runs end to end, the numbers mean nothing.
  smoke: { name: 'smoke', rows: { train: 300, dev: 200, test: 200 }, epochs: 1, seeds: [1], sizes: [8, 32], topK: [1, 6], lr: { adapter: [1e-3], top_k: [1e-4], layernorm: [3e-3], full: [1e-4] }, dropN: [2], referenceSize: 32 },
  // Under 35 minutes on a shared 2-core machine (a training step there took 3× its time on an
  // idle one): one seed, the better of two learning rates for adapters and full fine-tuning
  // (with this few steps full fine-tuning at 1e-4 is under-trained), one for top-k and layer
  // norms, a train subset, 2 epochs, fewer sizes and k.
  quick: { name: 'quick', rows: { train: 3000, dev: 1000, test: 1000 }, epochs: 2, seeds: [1], sizes: [2, 8, 32], topK: [1, 3], lr: { adapter: [1e-3, 2e-3], top_k: [1e-4], layernorm: [3e-3], full: [1e-4, 3e-4] }, dropN: [2, 4], referenceSize: 32 },
  // Quick's data and steps with three seeds, every adapter size, top-k for every k and a
  // learning-rate sweep per method: the protocol on a subset, for fewer steps. About 1.5 hours
  // on a 2-core machine.
  seeds: { name: 'seeds', rows: { train: 3000, dev: 1000, test: 1000 }, epochs: 2, seeds: [1, 2, 3], sizes: [2, 8, 32, 64], topK: [1, 2, 3, 4, 5, 6], lr: { adapter: [1e-3, 2e-3], top_k: [1e-4, 3e-4], layernorm: [1e-3, 3e-3, 1e-2], full: [1e-4, 3e-4] }, dropN: [2, 4], referenceSize: 32 },
  // The issue's protocol: full splits, 3 seeds, a learning-rate sweep per method, every k.
  full: {
    name: 'full',
    rows: {},
    epochs: 3,
    seeds: [1, 2, 3],
    sizes: [2, 8, 32, 64],
    topK: [1, 2, 3, 4, 5, 6],
    lr: { adapter: [3e-4, 1e-3, 3e-3], top_k: [3e-5, 1e-4, 3e-4], layernorm: [1e-3, 3e-3, 1e-2], full: [3e-5, 1e-4, 3e-4] },
    dropN: [1, 2, 3, 4, 5],
    referenceSize: 32,
  },
};

// ---------------------------------------------------------------------------------------
// Results (findings.json)

interface Stat {
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/** One configuration of a sweep: its best learning rate (on dev) and the test numbers of its seeds. */
interface SweepPoint {
  readonly method: Method;
  /** `adapter m=32`, `top-3`, `layernorm`, `full`, `preset houlsby`, … */
  readonly label: string;
  /** The grid settings other than the learning rate. */
  readonly setting: Readonly<Record<string, string | number>>;
  readonly learningRate: number;
  readonly trainable: number;
  readonly percentOfBase: number;
  readonly dev: Stat;
  readonly test: Stat;
  /** Each seed's run folder (relative to the repository) with its dev and test metric. */
  readonly runs: readonly { readonly seed: number; readonly run: string; readonly dev: number; readonly test: number }[];
  /** Dev mean of every learning rate tried, for the record. */
  readonly lrTried: readonly { readonly learningRate: number; readonly dev: number }[];
}

/** One seed's AdapterDrop regimes: the job's curves on dev, and the same runs on test. */
interface DropSeed {
  readonly seed: number;
  readonly job: string;
  readonly dev: readonly RegimeCurve[];
  readonly test: readonly RegimeCurve[];
}

/** A regime's curve over seeds: mean and spread at each n. */
interface MeanCurve {
  readonly regime: RegimeCurve['regime'];
  readonly points: readonly { readonly n: number; readonly value: Stat }[];
}

interface DropCurves {
  readonly adapterSize: number;
  readonly learningRate: number;
  readonly layers: number;
  readonly seeds: readonly DropSeed[];
  readonly dev: readonly MeanCurve[];
  readonly test: readonly MeanCurve[];
}

interface AblationFinding {
  readonly run: string;
  readonly label: string;
  readonly baseline: number;
  readonly layers: number;
  readonly cells: readonly { readonly from: number; readonly to: number; readonly site: string; readonly value: number }[];
}

interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly met: boolean | undefined;
}

interface Findings {
  readonly scale: Scale;
  readonly model: string;
  readonly twin: string;
  readonly data: { readonly train: number; readonly dev: number; readonly test: number; readonly classes: number; readonly skipped: number;
    /** The train subset's most frequent class and its share of the test rows: what predicting it alone scores. */
    readonly majority: { readonly label: string; readonly test: number };
    readonly maxLength: number; readonly batchSize: number };
  readonly machine: { readonly cpu: string; readonly cores: number; readonly threads: number; readonly provider: string; readonly node: string; readonly platform: string };
  readonly command: string;
  readonly resultsFile: string;
  /** Seconds of every piece, over all invocations that made them. */
  readonly wallSeconds: number;
  readonly finished: string;
  readonly tradeoff: readonly SweepPoint[];
  readonly variants: readonly SweepPoint[];
  readonly twinComparison: { readonly pretrained: SweepPoint | undefined; readonly twin: SweepPoint | undefined; readonly curves: readonly { readonly model: string; readonly epochs: readonly { readonly epoch: number; readonly value: number }[] }[] };
  readonly ablation: AblationFinding | undefined;
  readonly drop: DropCurves | undefined;
  readonly goals: readonly Goal[];
}

// ---------------------------------------------------------------------------------------
// State: which pieces are finished, so that --reuse skips them

interface State {
  /** Sweep folders by piece, recorded when the sweep starts (so an interrupted one resumes). */
  sweeps: Record<string, { dir: string; done: boolean }>;
  /** Finished pieces' results and how long each took. */
  pieces: Record<string, { seconds: number; result: unknown }>;
  /** Test-split metrics by run folder. */
  tests: Record<string, number>;
}

class Store {
  readonly state: State;
  constructor(
    private readonly file: string,
    reuse: boolean,
  ) {
    this.state = reuse && fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as State) : { sweeps: {}, pieces: {}, tests: {} };
  }
  save(): void {
    writeJson(this.file, this.state);
  }
  /** A piece's result: recorded, or computed now and recorded. */
  async piece<T>(key: string, make: () => Promise<T>): Promise<T> {
    const done = this.state.pieces[key];
    if (done) {
      log(`${key}: finished earlier (${minutes(done.seconds)}), reused`);
      return done.result as T;
    }
    log(`${key}: started`);
    const t = Date.now();
    const result = await make();
    const seconds = (Date.now() - t) / 1000;
    this.state.pieces[key] = { seconds, result };
    this.save();
    log(`${key}: done in ${minutes(seconds)}`);
    return result;
  }
  seconds(): number {
    return Object.values(this.state.pieces).reduce((s, p) => s + p.seconds, 0);
  }
}

// ---------------------------------------------------------------------------------------
// Helpers

const started = Date.now();
function log(message: string): void {
  const t = (Date.now() - started) / 1000;
  process.stdout.write(`[${new Date().toISOString().slice(11, 19)} +${minutes(t)}] ${message}\n`);
}
function minutes(seconds: number): string {
  return seconds < 90 ? `${seconds.toFixed(0)} s` : `${(seconds / 60).toFixed(1)} min`;
}
const pct = (x: number): string => `${(100 * x).toFixed(1)}`;
const pm = (s: Stat): string => (s.n > 1 ? `${pct(s.mean)} ± ${pct(s.std)}` : pct(s.mean));
const rel = (p: string): string => path.relative(ROOT, p);

function stat(xs: readonly number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  // Sample standard deviation over seeds; 0 with a single seed.
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/**
 * The first `rows` data rows of a TSV (with its header), or the file itself when rows is
 * undefined. With `labels`, rows of other labels are skipped first: the engine refuses a
 * label its training data never had (the first rows of train lack the rarest class).
 */
function subset(file: string, rows: number | undefined, dir: string, labels?: ReadonlySet<string>): { file: string; rows: number; skipped: number; labels: Set<string>; counts: Map<string, number> } {
  const [header, ...body] = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  const column = header!.split('\t').indexOf('label');
  const labelOf = (line: string): string => line.split('\t')[column] ?? '';
  const counts = (lines: readonly string[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const l of lines) m.set(labelOf(l), (m.get(labelOf(l)) ?? 0) + 1);
    return m;
  };
  if (rows === undefined) return { file, rows: body.length, skipped: 0, labels: new Set(body.map(labelOf)), counts: counts(body) };
  const kept: string[] = [];
  let skipped = 0;
  for (const line of body) {
    if (kept.length >= rows) break;
    if (labels && !labels.has(labelOf(line))) skipped++;
    else kept.push(line);
  }
  const out = path.join(dir, path.basename(file));
  writeAtomic(out, [header, ...kept].join('\n') + '\n');
  return { file: out, rows: kept.length, skipped, labels: new Set(kept.map(labelOf)), counts: counts(kept) };
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1]!.trim();
  } catch {
    // not Linux: os.cpus() below
  }
  return os.cpus()[0]?.model ?? 'unknown CPU';
}

/** Progress for people: each run's start and evaluations, and what failed; no per-step lines. */
function progress(event: DropRegimesJobEvent): void {
  if (event.type === 'start' && 'job' in event && event.job === 'train') log(`  train ${event.run} (${event.steps} steps, ${event.parameters.trainable} trainable)`);
  else if (event.type === 'evaluation' && event.split === 'validation') log(`    epoch ${event.epoch}: dev ${event.metric} ${event.value.toFixed(4)}`);
  else if (event.type === 'trial-end' && event.status !== 'completed') log(`  trial ${event.index + 1}/${event.total} ${event.status}${event.message ? `: ${event.message}` : ''}`);
  else if (event.type === 'error') log(`  error: ${event.message}`);
}

// ---------------------------------------------------------------------------------------
// Experiments

interface Context {
  readonly scale: Scale;
  readonly store: Store;
  readonly work: string;
  readonly runs: string;
  readonly data: { readonly train: string; readonly dev: string; readonly test: string };
  readonly threads: number;
  readonly device: Device | undefined;
  /** What the evaluations and ablations run on: the provider the training jobs resolve to. */
  readonly provider: 'cpu' | 'webgpu' | 'cuda';
  readonly signal: AbortSignal;
  readonly baseParameters: number;
}

interface ExperimentText {
  readonly name: string;
  readonly model: string;
  readonly method: Method;
  readonly adapter?: Readonly<Record<string, string | number>>;
  readonly topK?: number;
  readonly learningRate: number;
  readonly seed: number;
  readonly grid?: Readonly<Record<string, readonly (string | number)[]>>;
  readonly seeds?: readonly number[];
}

/** The experiment as a user would write it, so that each run folder holds a readable file. */
function experimentYaml(c: Context, x: ExperimentText): string {
  const lines = [
    `name: ${x.name}`,
    `model: ${x.model}`,
    'task:',
    '  kind: classification',
    `  train: ${JSON.stringify(c.data.train)}`,
    `  validation: ${JSON.stringify(c.data.dev)}`,
    '  text: text',
    '  label: label',
    `  metric: ${METRIC}`,
    `  max_length: ${MAX_LENGTH}`,
    `method: ${x.method}`,
  ];
  if (x.topK !== undefined) lines.push(`top_k: ${x.topK}`);
  if (x.adapter) lines.push('adapter:', ...Object.entries(x.adapter).map(([k, v]) => `  ${k}: ${v}`));
  lines.push('training:', `  learning_rate: ${x.learningRate}`, `  epochs: ${c.scale.epochs}`, `  batch_size: ${BATCH}`, `  seed: ${x.seed}`,
    // Frozen lower layers (top-k, AdapterDrop) are computed once, not every epoch.
    '  prefix_cache:', '    enabled: true');
  if (x.grid) {
    lines.push('sweep:', '  grid:', ...Object.entries(x.grid).map(([k, vs]) => `    ${k}: [${vs.join(', ')}]`), `  seeds: [${(x.seeds ?? [x.seed]).join(', ')}]`, '  select: validation');
  }
  return lines.join('\n') + '\n';
}

function load(c: Context, x: ExperimentText) {
  const file = path.join(c.work, `${x.name}.adapter.yaml`);
  writeAtomic(file, experimentYaml(c, x));
  const loaded = loadExperimentFile(file);
  if (!loaded.ok) throw new Error(`${loaded.message}: ${(loaded.validation?.findings ?? []).filter((f) => f.severity === 'error').map((f) => f.message).join('; ')}`);
  return { file, text: loaded.text, plain: loaded.validation.plain, experiment: loaded.validation.experiment! };
}

async function testMetric(c: Context, runDir: string): Promise<number> {
  const key = rel(runDir);
  const known = c.store.state.tests[key];
  if (known !== undefined) return known;
  const r = await evaluateRun(runDir, c.data.test, { threads: c.threads, provider: c.provider });
  const value = r.metrics[METRIC]!;
  c.store.state.tests[key] = value;
  c.store.save();
  return value;
}

/**
 * A sweep (resumed where an earlier attempt stopped), then per configuration: the learning
 * rate with the best dev mean over seeds, and the test metric of each of its seeds' runs.
 */
async function sweepPoints(c: Context, key: string, x: ExperimentText, labelOf: (setting: Record<string, string | number>) => string): Promise<SweepPoint[]> {
  return c.store.piece(key, async () => {
    const { text, plain, experiment } = load(c, x);
    const known = c.store.state.sweeps[key];
    const sink = (event: DropRegimesJobEvent): void => {
      if (event.type === 'start' && 'job' in event && event.job === 'sweep') {
        c.store.state.sweeps[key] = { dir: event.sweepDir, done: false };
        c.store.save();
      }
      progress(event);
    };
    const result = await runSweep({ experiment, plain, source: text, baseDir: c.work, runsDir: c.runs, resume: known && !known.done ? known.dir : undefined, threads: c.threads, device: c.device, emit: sink, signal: c.signal });
    if (result.status === 'cancelled') throw new Error(`${key}: the sweep was cancelled; run again with --reuse to resume it`);
    c.store.state.sweeps[key] = { dir: result.sweepDir, done: true };
    c.store.save();
    const completed = result.summary.trials.filter((t) => t.status === 'completed' && t.run && t.metrics[METRIC] !== undefined);
    if (!completed.length) throw new Error(`${key}: no trial completed (${result.summary.trials.map((t) => t.message).filter(Boolean).join('; ')})`);
    // Configurations: the assignments without the learning rate.
    const groups = new Map<string, { setting: Record<string, string | number>; byLr: Map<number, TrialRecord[]> }>();
    for (const t of completed) {
      const setting = Object.fromEntries(Object.entries(t.assignments).filter(([k]) => k !== 'training.learning_rate').map(([k, v]) => [k, v as string | number]));
      const lr = Number(t.assignments['training.learning_rate'] ?? x.learningRate);
      const g = groups.get(JSON.stringify(setting)) ?? { setting, byLr: new Map<number, TrialRecord[]>() };
      g.byLr.set(lr, [...(g.byLr.get(lr) ?? []), t]);
      groups.set(JSON.stringify(setting), g);
    }
    const points: SweepPoint[] = [];
    for (const { setting, byLr } of groups.values()) {
      const lrTried = [...byLr].map(([learningRate, ts]) => ({ learningRate, dev: stat(ts.map((t) => t.metrics[METRIC]!)).mean }));
      const best = lrTried.reduce((a, b) => (b.dev > a.dev ? b : a));
      const trials = byLr.get(best.learningRate)!;
      const runs = [];
      for (const t of trials) {
        const runDir = path.join(result.sweepDir, 'runs', t.run!);
        runs.push({ seed: t.seed, run: rel(runDir), dev: t.metrics[METRIC]!, test: await testMetric(c, runDir) });
      }
      const trainable = trials[0]!.trainable ?? 0;
      const method = (setting.method as Method | undefined) ?? x.method;
      points.push({ method, label: labelOf({ method, ...setting }), setting, learningRate: best.learningRate, trainable, percentOfBase: (100 * trainable) / c.baseParameters, dev: stat(runs.map((r) => r.dev)), test: stat(runs.map((r) => r.test)), runs, lrTried });
      log(`  ${labelOf({ method, ...setting })}: lr ${best.learningRate}, dev ${pm(stat(runs.map((r) => r.dev)))}, test ${pm(stat(runs.map((r) => r.test)))}, ${((100 * trainable) / c.baseParameters).toFixed(2)}% trainable`);
    }
    return points;
  });
}

async function tradeoff(c: Context): Promise<SweepPoint[]> {
  const s = c.scale;
  const seeds = s.seeds;
  const lrGrid = (m: Method): Record<string, readonly number[]> => ({ 'training.learning_rate': s.lr[m] });
  const adapters = await sweepPoints(c, 'tradeoff-adapter', { name: 'findings-adapter', model: MODEL, method: 'adapter', adapter: { size: s.referenceSize }, learningRate: s.lr.adapter[0]!, seed: seeds[0]!, seeds, grid: { 'adapter.size': s.sizes, ...lrGrid('adapter') } }, (g) => `adapter m=${g['adapter.size']}`);
  const topK = await sweepPoints(c, 'tradeoff-top-k', { name: 'findings-top-k', model: MODEL, method: 'top_k', topK: 1, learningRate: s.lr.top_k[0]!, seed: seeds[0]!, seeds, grid: { top_k: s.topK, ...lrGrid('top_k') } }, (g) => `top-${g.top_k}`);
  const layernorm = await sweepPoints(c, 'tradeoff-layernorm', { name: 'findings-layernorm', model: MODEL, method: 'layernorm', learningRate: s.lr.layernorm[0]!, seed: seeds[0]!, seeds, grid: lrGrid('layernorm') }, () => 'layernorm');
  const full = await sweepPoints(c, 'tradeoff-full', { name: 'findings-full', model: MODEL, method: 'full', learningRate: s.lr.full[0]!, seed: seeds[0]!, seeds, grid: lrGrid('full') }, () => 'full');
  const order = (p: SweepPoint): number => p.trainable;
  return [...adapters.sort((a, b) => order(a) - order(b)), ...topK.sort((a, b) => order(a) - order(b)), ...layernorm, ...full];
}

/** The reference adapter on the unpretrained twin, with the pretrained model's learning rates. */
async function twin(c: Context): Promise<SweepPoint | undefined> {
  const s = c.scale;
  const points = await sweepPoints(c, 'twin', { name: 'findings-twin', model: TWIN, method: 'adapter', adapter: { size: s.referenceSize }, learningRate: s.lr.adapter[0]!, seed: s.seeds[0]!, seeds: s.seeds, grid: { 'training.learning_rate': s.lr.adapter } }, () => `adapter m=${s.referenceSize} (${TWIN})`);
  return points[0];
}

/** Issue 17's comparison: AdapterHub's three configurations, each with its own default size. */
async function variants(c: Context): Promise<SweepPoint[]> {
  const s = c.scale;
  return sweepPoints(c, 'variants', { name: 'findings-variants', model: MODEL, method: 'adapter', adapter: { preset: 'houlsby' }, learningRate: s.lr.adapter[0]!, seed: s.seeds[0]!, seeds: s.seeds, grid: { 'adapter.preset': ['houlsby', 'pfeiffer', 'parallel'], 'training.learning_rate': s.lr.adapter } }, (g) => `preset ${g['adapter.preset']}`);
}

/** Houlsby Fig. 6 on the best adapter run (best size on dev; its best seed on dev), on test. */
async function ablation(c: Context, best: SweepPoint): Promise<AblationFinding> {
  return c.store.piece('ablation', async () => {
    const run = best.runs.reduce((a, b) => (b.dev > a.dev ? b : a));
    const a: AblationResult = await runAblation({ runDir: path.join(ROOT, run.run), dataFile: c.data.test, mode: 'spans', threads: c.threads, provider: c.provider, emit: progress, signal: c.signal });
    if (a.status !== 'completed') throw new Error('the ablation was cancelled');
    return { run: run.run, label: best.label, baseline: a.baseline[METRIC]!, layers: a.layers, cells: a.cells.map((x) => ({ from: x.from, to: x.to, site: x.site, value: x.value })) };
  });
}

/** AdapterDrop's three regimes for every seed (on dev, by the job), the same runs on test, and their means. */
async function drop(c: Context, size: number, learningRate: number): Promise<DropCurves> {
  const seeds: DropSeed[] = [];
  let layers = 0;
  for (const seed of c.scale.seeds) {
    const one = await dropSeed(c, size, learningRate, seed);
    layers = one.layers;
    seeds.push(one.curves);
  }
  return { adapterSize: size, learningRate, layers, seeds, dev: meanCurves(seeds.map((x) => x.dev)), test: meanCurves(seeds.map((x) => x.test)) };
}

async function dropSeed(c: Context, size: number, learningRate: number, seed: number): Promise<{ layers: number; curves: DropSeed }> {
  return c.store.piece(`drop-regimes-seed-${seed}`, async () => {
    const s = c.scale;
    const { text, experiment } = load(c, { name: `findings-drop-seed-${seed}`, model: MODEL, method: 'adapter', adapter: { size }, learningRate, seed });
    const r = await runDropRegimes({ experiment, source: text, runsDir: c.runs, specialized: s.dropN, threads: c.threads, device: c.device, emit: progress, signal: c.signal });
    if (r.status !== 'completed') throw new Error(`the drop regimes ${r.status}: ${r.message ?? ''}`);
    const runsDir = path.join(r.dir, 'runs');
    const runOf = (prefix: string): string => {
      const name = fs.readdirSync(runsDir).find((n) => n.startsWith(`${prefix}-`));
      if (!name) throw new Error(`no ${prefix} run in ${runsDir}`);
      return path.join(runsDir, name);
    };
    const test: RegimeCurve[] = [];
    for (const regime of ['standard', 'robust'] as const) {
      // Re-measured on test: this replaces the run's dev drop-curve.json (regimes.json keeps the dev curves).
      const a = await runAblation({ runDir: runOf(regime), dataFile: c.data.test, mode: 'drop-curve', threads: c.threads, provider: c.provider, emit: progress, signal: c.signal });
      if (a.status !== 'completed') throw new Error(`the ${regime} test curve was cancelled`);
      test.push({ regime, points: [{ n: 0, value: a.baseline[METRIC]! }, ...a.cells.map((x) => ({ n: x.to + 1, value: x.value }))] });
    }
    const specialised = r.curves.find((x) => x.regime === 'specialized');
    const points: { n: number; value: number; run?: string }[] = [{ n: 0, value: test[0]!.points[0]!.value }];
    for (const p of specialised?.points ?? []) if (p.n > 0 && p.run) points.push({ n: p.n, value: await testMetric(c, path.join(runsDir, p.run)), run: p.run });
    test.push({ regime: 'specialized', points });
    return { layers: r.layers, curves: { seed, job: rel(r.dir), dev: r.curves, test } };
  });
}

/** Per regime and n, the mean and spread over the seeds that measured it. */
function meanCurves(perSeed: readonly (readonly RegimeCurve[])[]): MeanCurve[] {
  const regimes = [...new Set(perSeed.flatMap((cs) => cs.map((x) => x.regime)))];
  return regimes.map((regime) => {
    const curves = perSeed.map((cs) => cs.find((x) => x.regime === regime)).filter((x): x is RegimeCurve => x !== undefined);
    const ns = [...new Set(curves.flatMap((x) => x.points.map((p) => p.n)))].sort((a, b) => a - b);
    return { regime, points: ns.map((n) => ({ n, value: stat(curves.flatMap((x) => x.points.filter((p) => p.n === n).map((p) => p.value))) })) };
  });
}

/** Dev accuracy after each epoch, from a run's metrics file. */
function epochCurve(runDir: string): { epoch: number; value: number }[] {
  return readJsonLines<{ type?: string; epoch?: number; value?: number }>(path.join(runDir, RUN_FILES.metrics))
    .filter((r) => r.type === 'evaluation' && typeof r.epoch === 'number' && typeof r.value === 'number')
    .map((r) => ({ epoch: r.epoch!, value: r.value! }));
}

// ---------------------------------------------------------------------------------------
// Goals

/** Accuracies are multiples of 1/rows: a gap printed as exactly the threshold must not fail by a rounding error. */
const EPS = 1e-9;

function goals(f: Omit<Findings, 'goals'>): Goal[] {
  const out: Goal[] = [];
  const full = f.tradeoff.find((p) => p.method === 'full');
  const small = f.tradeoff.filter((p) => p.method === 'adapter' && p.percentOfBase <= 5);
  // The adapter chosen on dev among those at ≤ 5% trainable, as a user would choose it.
  const adapter = small.length ? small.reduce((a, b) => (b.dev.mean > a.dev.mean ? b : a)) : undefined;
  if (adapter && full) {
    const gap = adapter.test.mean - full.test.mean;
    out.push({ goal: 'Adapters within 1 point of full fine-tuning at ≤ 5% trainable parameters (test)', measured: `${adapter.label} (${adapter.percentOfBase.toFixed(1)}% trainable, chosen on dev) ${pm(adapter.test)} vs full ${pm(full.test)}: ${gap >= 0 ? '+' : ''}${pct(gap)} points`, met: gap >= -0.01 - EPS });
  } else out.push({ goal: 'Adapters within 1 point of full fine-tuning at ≤ 5% trainable parameters (test)', measured: 'not measured', met: undefined });
  const ln = f.tradeoff.find((p) => p.method === 'layernorm');
  const bestAdapter = f.tradeoff.filter((p) => p.method === 'adapter').reduce<SweepPoint | undefined>((a, b) => (!a || b.dev.mean > a.dev.mean ? b : a), undefined);
  if (ln && bestAdapter) {
    const gap = bestAdapter.test.mean - ln.test.mean;
    // "Clearly" is taken as 2 points or more: Houlsby et al. lost 3.5–4, and one standard error of an accuracy near 0.3 on 1,000 test rows is about 1.5 points.
    out.push({ goal: 'Layer-norm-only clearly below adapters (test; ≥ 2 points)', measured: `layernorm ${pm(ln.test)} vs ${bestAdapter.label} ${pm(bestAdapter.test)}: ${pct(gap)} points below (on dev: ${pm(ln.dev)} vs ${pm(bestAdapter.dev)})`, met: gap >= 0.02 - EPS });
  }
  if (f.ablation) {
    const a = f.ablation;
    const k = Math.max(1, Math.floor(a.layers / 3));
    const low = a.cells.find((x) => x.site === 'both' && x.from === 0 && x.to === k - 1);
    const high = a.cells.find((x) => x.site === 'both' && x.from === a.layers - k && x.to === a.layers - 1);
    if (low && high) {
      const lowCost = a.baseline - low.value;
      const highCost = a.baseline - high.value;
      out.push({ goal: "Removing the lowest layers' adapters costs less than removing the highest (test)", measured: `layers 0–${k - 1} removed: −${pct(lowCost)} points; layers ${a.layers - k}–${a.layers - 1} removed: −${pct(highCost)} points (${a.label}, all in place ${pct(a.baseline)})`, met: lowCost < highCost });
    }
  }
  if (f.drop) {
    const std = f.drop.test.find((x) => x.regime === 'standard');
    const rob = f.drop.test.find((x) => x.regime === 'robust');
    const layers = f.drop.layers;
    if (std && rob) {
      // n = L removes every adapter: no regime can keep anything there, so n runs to L − 1.
      const ns = rob.points.map((p) => p.n).filter((n) => n >= 2 && n < layers);
      const at = (curves: readonly RegimeCurve[], regime: string, n: number): number => curves.find((x) => x.regime === regime)?.points.find((p) => p.n === n)?.value ?? NaN;
      const diffs = ns.map((n) => ({
        n,
        d: rob.points.find((p) => p.n === n)!.value.mean - (std.points.find((p) => p.n === n)?.value.mean ?? NaN),
        // Seeds where robust beat standard at this n: how often, not only on average.
        wins: f.drop!.seeds.filter((x) => at(x.test, 'robust', n) > at(x.test, 'standard', n)).length,
      }));
      const seeds = f.drop.seeds.length;
      out.push({ goal: 'Robust AdapterDrop above standard at every n ≥ 2 (test)', measured: diffs.map((x) => `n=${x.n}: ${x.d >= 0 ? '+' : ''}${pct(x.d)}${seeds > 1 ? ` (${x.wins}/${seeds} seeds)` : ''}`).join(', ') + ` points${seeds > 1 ? ', mean over seeds' : ''}`, met: diffs.length > 0 && diffs.every((x) => x.d > 0) });
    }
  }
  const { pretrained, twin: t } = f.twinComparison;
  if (pretrained && t) {
    const gap = pretrained.test.mean - t.test.mean;
    out.push({ goal: 'Pretrained model ≥ 15 points above its unpretrained twin (test, same adapter)', measured: `${pm(pretrained.test)} vs ${pm(t.test)}: ${gap >= 0 ? '+' : ''}${pct(gap)} points`, met: gap >= 0.15 - EPS });
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The page

const FIG = {
  tradeoff: 'findings-tradeoff',
  ablation: 'findings-ablation',
  drop: 'findings-adapterdrop',
  twin: 'findings-pretraining',
} as const;

function figures(f: Findings): FigureSpec[] {
  const specs: FigureSpec[] = [];
  const series = (label: string, ps: readonly SweepPoint[]): Series => ({ label, points: ps.map((p) => ({ x: p.trainable, y: p.test.mean })), errors: ps.map((p) => p.test.std), markers: true, line: ps.length > 1 });
  const groups = ([['adapters', 'adapter'], ['top-k fine-tuning', 'top_k'], ['layer norms only', 'layernorm'], ['full fine-tuning', 'full']] as const)
    .map(([label, m]) => ({ label, points: f.tradeoff.filter((p) => p.method === m).sort((a, b) => a.trainable - b.trainable) }))
    .filter((g) => g.points.length);
  // Hover titles name each point's configuration (adapter m=8, top-3, …).
  const titles = new Map<string, string[]>(groups.map((g) => [g.label, g.points.map((p) => `${p.label}: ${pm(p.test)}%`)]));
  specs.push({ kind: 'line', name: FIG.tradeoff, caption: 'Test accuracy vs trainable parameters (log scale): adapters by size, top-k fine-tuning, layer norms only, full fine-tuning', series: groups.map((g) => series(g.label, g.points)), options: { xLabel: 'trainable parameters', yLabel: 'test accuracy', logX: true, pointTitle: (s, i) => titles.get(s.label)?.[i] ?? s.label } });
  if (f.ablation) specs.push({ kind: 'heatmap', name: FIG.ablation, caption: `Span ablation of ${f.ablation.label}: test accuracy with the adapters of layers i..j removed`, data: { layers: f.ablation.layers, cells: f.ablation.cells.filter((x) => x.site === 'both'), metric: METRIC, baseline: f.ablation.baseline } });
  if (f.drop) {
    const names: Record<string, string> = { standard: 'standard', robust: 'robust', specialized: 'specialised per n' };
    specs.push({ kind: 'line', name: FIG.drop, caption: "AdapterDrop: test accuracy with the adapters of the n lowest layers dropped, per training regime", series: f.drop.test.map((x) => ({ label: names[x.regime] ?? x.regime, points: x.points.map((p) => ({ x: p.n, y: p.value.mean })), errors: x.points.map((p) => p.value.std), markers: true, line: true })), options: { xLabel: 'n lowest layers without adapters', yLabel: 'test accuracy' } });
  }
  const curves = f.twinComparison.curves.filter((x) => x.epochs.length);
  if (curves.length) specs.push({ kind: 'line', name: FIG.twin, caption: 'The same adapter on the pretrained model and on its unpretrained twin: dev accuracy after each epoch', series: curves.map((x) => ({ label: x.model, points: x.epochs.map((e) => ({ x: e.epoch, y: e.value })), markers: true, line: true })), options: { xLabel: 'epoch', yLabel: 'dev accuracy' } });
  return specs;
}

function table(header: readonly string[], rows: readonly (readonly string[])[], align?: readonly ('l' | 'r')[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function pointRows(ps: readonly SweepPoint[]): string[][] {
  return ps.map((p) => [p.label, p.trainable.toLocaleString('en-US'), `${p.percentOfBase.toFixed(2)}%`, p.lrTried.length > 1 ? `${p.learningRate} (of ${p.lrTried.map((x) => x.learningRate).join(', ')})` : String(p.learningRate), pm(p.dev), pm(p.test), String(p.test.n)]);
}

function page(f: Findings, figureDir: string, pageDir: string): string {
  const href = (name: string): string => path.relative(pageDir, path.join(figureDir, `${name}.svg`)).split(path.sep).join('/');
  const specs = new Map(figures(f).map((s) => [s.name, s]));
  const fig = (name: string): string => {
    const s = specs.get(name);
    return s ? figureMarkdown(s, href(name)) : '_(no data)_';
  };
  const s = f.scale;
  const status = (m: boolean | undefined): string => (m === undefined ? 'not measured' : m ? '**met**' : '**not met**');
  const pointHeader = ['configuration', 'trainable', '% of base', 'learning rate', 'dev accuracy (%)', 'test accuracy (%)', 'seeds'];
  const align = ['l', 'r', 'r', 'l', 'r', 'r', 'r'] as const;
  const out: string[] = [];
  out.push('# Findings: the papers reproduced on the built-in English BERT');
  out.push('');
  out.push(`This page is written by \`npm run bench:findings\` (bench/findings.bench.ts) from its own runs; the numbers are measured, not typed. Raw results: \`${f.resultsFile}\` (not committed).`);
  out.push('');
  out.push(`Model: \`${f.model}\` (6 layers × 256, pretrained by Adapter Lab, see [the model card](builtin-model.md)) and \`${f.twin}\`, its unpretrained twin. Task: WordNet noun supersense of a gloss (\`examples/data/wordnet-supersense\`, 26 classes, majority class 14.2%), accuracy.`);
  out.push('');
  out.push('## Scale of this run');
  out.push('');
  out.push(table(['', ''], [
    ['scale', `\`${s.name}\`${s.name === 'full' ? ' (the issue\'s protocol)' : ' (reduced; `--scale full` runs the whole protocol)'}`],
    ['data', `train ${f.data.train.toLocaleString('en-US')} rows, dev ${f.data.dev.toLocaleString('en-US')}, test ${f.data.test.toLocaleString('en-US')} (${s.rows.train === undefined ? 'the whole splits' : `the first rows of each split; ${f.data.classes} classes occur in the train subset${f.data.skipped ? `, and ${f.data.skipped} dev/test rows of other classes were passed over` : ''}`}); max length ${f.data.maxLength}, batch ${f.data.batchSize}`],
    ['training', `${s.epochs} epoch${s.epochs === 1 ? '' : 's'}, linear warm-up (10%) and decay; seeds ${s.seeds.join(', ')}`],
    ['learning rates', (Object.entries(s.lr) as [Method, readonly number[]][]).map(([m, v]) => `${m} ${v.join(' / ')}`).join('; ') + (Object.values(s.lr).some((v) => v.length > 1) ? ' (best on dev, mean over seeds; a method with one rate was not swept)' : ' (one per method, not swept: adapters 1e-3 and full fine-tuning 1e-4 were the better of those tried earlier on a 4,000-row subset; top-k takes full fine-tuning\'s, layer norms a rate of Houlsby\'s sweep suited to few parameters)')],
    ['adapter sizes, k', `m ∈ {${s.sizes.join(', ')}}; top-k for k ∈ {${s.topK.join(', ')}}`],
    ['machine', `${f.machine.cpu}, ${f.machine.cores} cores, ${f.machine.threads} threads, ${f.machine.provider}; Node ${f.machine.node}, ${f.machine.platform}`],
    ['wall time', `${minutes(f.wallSeconds)} (every piece, training and evaluation), finished ${f.finished.slice(0, 16).replace('T', ' ')} UTC`],
    ['command', `\`${f.command}\``],
  ]));
  out.push('');
  out.push('Test numbers are measured on the test split; each configuration\'s learning rate and the best adapter size are chosen on dev.');
  out.push('');
  out.push('## Goals');
  out.push('');
  out.push(table(['goal', 'measured', ''], f.goals.map((g) => [g.goal, g.measured, status(g.met)])));
  out.push('');
  const ref = f.tradeoff.filter((p) => p.method === 'adapter').reduce<SweepPoint | undefined>((a, b) => (!a || b.dev.mean > a.dev.mean ? b : a), undefined);
  if (ref) {
    // The binomial standard error of a test accuracy: what a single difference can be told apart from.
    const n = f.data.test * Math.max(1, ref.test.n);
    const se = Math.sqrt((ref.test.mean * (1 - ref.test.mean)) / n);
    out.push(`Reading the numbers: on ${f.data.test.toLocaleString('en-US')} test rows${ref.test.n > 1 ? ` × ${ref.test.n} seeds` : ''}, one standard error of an accuracy near ${pct(ref.test.mean)}% is ±${pct(se)} points, so differences of about twice that or less are not resolved.${s.name === 'full' ? '' : ` This scale trains for fewer steps than the protocol (${s.epochs} epochs of ${f.data.train.toLocaleString('en-US')} rows)${s.seeds.length === 1 ? ' with one seed' : ''} and tries fewer learning rates: a method that needs more steps or another learning rate (full fine-tuning, above all) is at a disadvantage here that \`--scale full\` removes.`}`);
    out.push('');
  }
  out.push('## Parameter/performance trade-off (Houlsby et al., Fig. 3–4)');
  out.push('');
  out.push(fig(FIG.tradeoff));
  out.push('');
  out.push(table(pointHeader, pointRows(f.tradeoff), align));
  out.push('');
  if (s.seeds.length > 1) out.push('Means over seeds ± their standard deviation; error bars in the figure are the same spread.\n');
  out.push('## Span ablation (Houlsby et al., Fig. 6)');
  out.push('');
  if (f.ablation) {
    const a = f.ablation;
    out.push(`${a.label}, its best seed on dev (\`${a.run}\`): the adapters of layers i..j removed, no retraining, test accuracy. All adapters in place: ${pct(a.baseline)}%.`);
    out.push('');
    out.push(fig(FIG.ablation));
    out.push('');
    const diag = a.cells.filter((x) => x.site === 'both' && x.from === x.to).sort((x, y) => x.from - y.from);
    const all = a.cells.find((x) => x.site === 'both' && x.from === 0 && x.to === a.layers - 1);
    out.push(table(['layer removed', ...diag.map((x) => String(x.from))], [['test accuracy (%)', ...diag.map((x) => pct(x.value))]], ['l', ...diag.map(() => 'r' as const)]));
    out.push('');
    if (all) out.push(`Every adapter removed: ${pct(all.value)}% (always predicting the most frequent class, ${f.data.majority.label}, scores ${pct(f.data.majority.test)}% on these test rows).`);
    out.push('');
  } else out.push('_(not measured)_\n');
  out.push('## AdapterDrop (Rücklé et al.)');
  out.push('');
  if (f.drop) {
    const d = f.drop;
    const seedText = d.seeds.length > 1 ? `seeds ${d.seeds.map((x) => x.seed).join(', ')} (means ± standard deviation over seeds)` : `seed ${d.seeds[0]?.seed}`;
    out.push(`Adapter size ${d.adapterSize} (the best size on dev), learning rate ${d.learningRate}, ${seedText}. *Standard*: trained with every adapter, the n lowest layers' adapters removed at test time. *Robust*: trained with the adapters of a random number of the lowest layers (among layers 0..${d.layers - 2}) dropped at each step, then evaluated as standard. *Specialised*: one adapter trained per n without the n lowest layers' adapters, evaluated as trained. Job folders: ${d.seeds.map((x) => `\`${x.job}\``).join(', ')}.`);
    out.push('');
    out.push(fig(FIG.drop));
    out.push('');
    const ns = [...new Set(d.test.flatMap((x) => x.points.map((p) => p.n)))].sort((a, b) => a - b);
    const cell = (curves: readonly MeanCurve[], regime: string, n: number): string => {
      const v = curves.find((x) => x.regime === regime)?.points.find((p) => p.n === n)?.value;
      return v === undefined ? '—' : pm(v);
    };
    out.push(table(['n dropped', ...ns.map(String)], ['standard', 'robust', 'specialized'].flatMap((r) => [[`${r === 'specialized' ? 'specialised' : r}, test (%)`, ...ns.map((n) => cell(d.test, r, n))], [`${r === 'specialized' ? 'specialised' : r}, dev (%)`, ...ns.map((n) => cell(d.dev, r, n))]]), ['l', ...ns.map(() => 'r' as const)]));
    out.push('');
  } else out.push('_(not measured)_\n');
  out.push('## What pretraining buys');
  out.push('');
  const { pretrained, twin: t } = f.twinComparison;
  if (pretrained && t) {
    out.push(`The same adapter (m = ${s.referenceSize}) on \`${f.model}\` and on \`${f.twin}\`.`);
    out.push('');
    out.push(fig(FIG.twin));
    out.push('');
    out.push(table(pointHeader, pointRows([{ ...pretrained, label: `${pretrained.label} (${f.model})` }, t]), align));
    out.push('');
  } else out.push('_(not measured)_\n');
  out.push('## Adapter variants (AdapterHub configurations)');
  out.push('');
  out.push('Each preset with its own default size (Houlsby and Pfeiffer: hidden / 16 = 16; parallel: hidden / 2 = 128, scaled by 4), as `examples/adapter-variants.adapter.yaml` runs them.');
  out.push('');
  out.push(table(pointHeader, pointRows(f.variants), align));
  out.push('');
  out.push('## Reproducing');
  out.push('');
  out.push('```sh');
  out.push('npm run bench:findings                      # --scale quick: about half an hour on 2 cores');
  out.push('npm run bench:findings -- --scale seeds     # quick\'s data and steps, 3 seeds, every size and k, rates swept: about 1.5 hours');
  out.push('npm run bench:findings -- --scale full      # the whole protocol: 3 seeds, learning-rate sweeps, full splits');
  out.push('npm run bench:findings -- --scale quick --reuse   # after an interruption: skips finished pieces; with all done, rewrites this page');
  out.push('```');
  out.push('');
  out.push('Runs are kept in `bench/results/findings-runs/<scale>/` (each a run folder the extension opens); `--threads N` and `--device cuda` are passed to every job.');
  out.push('');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const scaleName = arg('scale', 'quick');
  if (!(scaleName in SCALES)) throw new Error(`--scale must be smoke, quick, seeds or full, not ${scaleName}`);
  const scale = SCALES[scaleName as ScaleName];
  const reuse = process.argv.includes('--reuse');
  const threads = Number(arg('threads', String(os.cpus().length)));
  const deviceArg = arg('device', '');
  const device = deviceArg ? (deviceArg as Device) : undefined;
  // The smoke run checks the plumbing: its page and figures stay out of docs/.
  const pageFile = path.resolve(arg('page', scale.name === 'smoke' ? path.join(ROOT, 'bench', 'results', 'findings-smoke', 'findings.md') : path.join(ROOT, 'docs', 'findings.md')));
  const figureDir = path.join(path.dirname(pageFile), 'figures');
  const resultsFile = path.join(ROOT, 'bench', 'results', scale.name === 'smoke' ? 'findings-smoke.json' : 'findings.json');

  const runs = path.join(ROOT, 'bench', 'results', 'findings-runs', scale.name);
  const work = path.join(runs, 'work');
  fs.mkdirSync(work, { recursive: true });
  const store = new Store(path.join(runs, 'state.json'), reuse);
  const train = subset(path.join(DATA, 'train.tsv'), scale.rows.train, work);
  const data = { train, dev: subset(path.join(DATA, 'dev.tsv'), scale.rows.dev, work, train.labels), test: subset(path.join(DATA, 'test.tsv'), scale.rows.test, work, train.labels) };
  const abort = new AbortController();
  process.once('SIGINT', () => {
    log('interrupted: stopping the run in flight (run again with --reuse to continue)');
    abort.abort();
  });
  const model = loadModel(MODEL);
  const provider = (await resolveProvider(device ?? 'auto')).provider;
  const c: Context = { scale, store, work, runs, data: { train: data.train.file, dev: data.dev.file, test: data.test.file }, threads, device, provider, signal: abort.signal, baseParameters: baseParameterCounts(model.dims).total };
  log(`findings, scale ${scale.name}: train ${data.train.rows}, dev ${data.dev.rows}, test ${data.test.rows} rows; ${threads} threads, ${provider}${reuse ? '; reusing finished pieces' : ''}`);

  const points = await tradeoff(c);
  const pretrainedRef = points.find((p) => p.method === 'adapter' && p.setting['adapter.size'] === scale.referenceSize);
  const twinPoint = await twin(c);
  const bestAdapter = points.filter((p) => p.method === 'adapter').reduce((a, b) => (b.dev.mean > a.dev.mean ? b : a));
  const ablationFinding = await ablation(c, bestAdapter);
  const dropCurves = await drop(c, Number(bestAdapter.setting['adapter.size']), bestAdapter.learningRate);
  const variantPoints = await variants(c);

  const majority = [...train.counts].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
  const curve = (p: SweepPoint | undefined, label: string) => ({ model: label, epochs: p ? epochCurve(path.join(ROOT, p.runs[0]!.run)) : [] });
  const base: Omit<Findings, 'goals'> = {
    scale,
    model: MODEL,
    twin: TWIN,
    data: { train: data.train.rows, dev: data.dev.rows, test: data.test.rows, classes: train.labels.size, skipped: data.dev.skipped + data.test.skipped, majority: { label: majority, test: (data.test.counts.get(majority) ?? 0) / Math.max(1, data.test.rows) }, maxLength: MAX_LENGTH, batchSize: BATCH },
    machine: { cpu: cpuModel(), cores: os.cpus().length, threads, provider, node: process.version, platform: `${process.platform}-${process.arch}` },
    command: `npm run bench:findings -- --scale ${scale.name}`,
    resultsFile: rel(resultsFile),
    wallSeconds: store.seconds(),
    finished: new Date().toISOString(),
    tradeoff: points,
    variants: variantPoints,
    twinComparison: { pretrained: pretrainedRef, twin: twinPoint, curves: [curve(pretrainedRef, 'pretrained'), curve(twinPoint, 'unpretrained twin')] },
    ablation: ablationFinding,
    drop: dropCurves,
  };
  const findings: Findings = { ...base, goals: goals(base) };
  writeJson(resultsFile, findings);
  log(`results: ${rel(resultsFile)}`);

  const files = await writeFigures(figureDir, figures(findings));
  writeAtomic(pageFile, page(findings, figureDir, path.dirname(pageFile)));
  log(`page: ${rel(pageFile)}; figures: ${files.map(rel).join(', ')}`);
  for (const g of findings.goals) log(`${g.met === undefined ? 'not measured' : g.met ? 'MET    ' : 'NOT MET'}  ${g.goal}: ${g.measured}`);
  log(`wall time of all pieces: ${minutes(findings.wallSeconds)}`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exitCode = 1;
});
