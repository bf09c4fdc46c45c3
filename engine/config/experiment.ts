/**
 * The resolved experiment: every setting with its default filled in and paths made
 * absolute. This is what the engine runs. Resolution is tolerant (a value of the wrong
 * shape falls back to its default) so that editors can show parameter counts for a file
 * that still has unrelated mistakes; the engine only resolves files without errors.
 */
import * as path from 'node:path';
import { BUILTIN_PREFIX } from '../model/dims';
import { parseLayerSelection, type LayerPart, type LayerSelection } from './layers';
import {
  ADAPTER_INPUTS,
  ADAPTER_PRESETS,
  DEVICES,
  INNER_NORMS,
  PLACEMENTS,
  PRESET_SETTINGS,
  SCALING_KEYWORDS,
  SHARES,
  DROP_MODES,
  EXECUTORS,
  FUSION_CONFIGS,
  type FusionConfigName,
  matchesFormat,
  gridPaths,
  METHODS,
  METRICS,
  METRICS_BY_KIND,
  NON_LINEARITIES,
  OPTIMIZERS,
  SITES,
  TASK_KINDS,
  TOKENIZER_CHOICES,
  type AdapterInputName,
  type AdapterPreset,
  type Device,
  type InnerNorm,
  type Placement,
  type Scaling,
  type Share,
  type DropMode,
  type Executor,
  type Method,
  type Metric,
  type NonLinearity,
  type Optimizer,
  type Site,
  type TaskKind,
  type TokenizerChoice,
} from './schema';
import type { TreeNode } from './tree';

export interface Experiment {
  readonly name: string;
  /** `builtin:<name>`, an absolute folder path, or `scratch:<name>` for a model `fromScratch` declares. */
  readonly model: string;
  /** A new BERT declared in the file (`from_scratch`), initialised as BERT is. */
  readonly fromScratch: ScratchModel | undefined;
  readonly task: {
    readonly kind: TaskKind;
    readonly train: string;
    readonly validation: string | undefined;
    readonly text: readonly string[];
    readonly label: string | undefined;
    readonly metric: Metric;
    readonly maxLength: number;
    /** mlm: the share of tokens selected at each step. */
    readonly maskProbability: number;
    /** mlm: select whole words. */
    readonly wholeWordMask: boolean;
    /** mlm without a validation file: the share of lines held out. */
    readonly validationFraction: number | undefined;
    /** Which tokenizer behaviour (`task.tokenizer`); absent in runs recorded before the setting existed, which read it as 'auto'. */
    readonly tokenizer?: TokenizerChoice;
  };
  readonly method: Method;
  readonly topK: number | undefined;
  readonly adapter: {
    readonly preset: AdapterPreset | undefined;
    /**
     * The bottleneck size, or, where a preset fills it, AdapterHub's reduction factor: the
     * size is then `hidden // reductionFactor`, known once the model is (`bottleneckSize`).
     */
    readonly size: number | { readonly reductionFactor: number };
    readonly sites: readonly Site[];
    readonly layers: LayerSelection;
    readonly nonLinearity: NonLinearity;
    readonly initStd: number;
    readonly trainLayerNorm: boolean;
    readonly placement: Placement;
    readonly input: AdapterInputName;
    readonly scaling: Scaling;
    readonly innerNorm: InnerNorm;
    readonly depth: number;
    readonly share: Share;
  };
  /** `method: fusion` only. */
  readonly fusion?: FusionSettings;
  readonly drop: { readonly layers: LayerSelection; readonly mode: DropMode };
  readonly training: {
    readonly learningRate: number;
    readonly epochs: number;
    readonly batchSize: number;
    readonly warmup: number;
    readonly weightDecay: number;
    readonly optimizer: Optimizer;
    readonly maxGradNorm: number;
    readonly adamBeta2: number;
    readonly adamEpsilon: number;
    /** Steps between evaluations within an epoch; undefined: at the end of each epoch only. */
    readonly evaluateEvery: number | undefined;
    readonly seed: number;
    readonly prefixCache: { readonly enabled: boolean; readonly memoryMb: number };
  };
  readonly sweep: { readonly grid: readonly GridAxis[]; readonly seeds: readonly number[]; readonly executor: Executor; readonly slurm: SlurmSettings } | undefined;
  readonly ablation: { readonly spans: 'contiguous' | readonly LayerPart[] };
  readonly runtime: { readonly device: Device; readonly threads: number | undefined };
}

/** The `fusion` block: what is fused and how. */
export interface FusionSettings {
  /** As written: run folders, adapter folders (relative to the file) or experiment names (resolved by config/fusionRefs.ts against a runs folder). */
  readonly adapters: readonly string[];
  /** The experiment file's folder, which relative references resolve against. */
  readonly baseDir: string;
  readonly config: FusionConfigName;
  readonly residualBefore: boolean;
  /** The query reads h instead of LN(x + h) (Pfeiffer's placement; AdapterHub's `query_before_ln`). */
  readonly queryBeforeLn: boolean;
  readonly temperature: boolean;
  readonly valueInitialized: boolean;
  readonly regularization: number;
  /** Undefined: the base model's attention dropout. */
  readonly dropout: number | undefined;
}

/** The shape and vocabulary of a BERT declared with `from_scratch`. */
export interface ScratchModel {
  readonly layers: number;
  readonly hiddenSize: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly maxPositions: number;
  /** Absolute path of the vocab.txt. */
  readonly vocab: string;
  readonly cased: boolean;
  /** Standard deviation of the initial weights. */
  readonly initializerRange: number;
}

/** The model reference of a model declared in the file. */
export const SCRATCH_PREFIX = 'scratch:';

/** `sweep.slurm`: the resources of each trial of a Slurm sweep; what is left out is left to the cluster. */
export interface SlurmSettings {
  readonly partition?: string;
  /** As written: minutes (a number) or Slurm's time formats. */
  readonly time?: string;
  readonly cpusPerTask?: number;
  readonly memory?: string;
  /** A count, or `type:count`. */
  readonly gpus?: string;
  readonly account?: string;
  readonly qos?: string;
  readonly maxParallel?: number;
  readonly options: readonly string[];
  readonly setup?: string;
}

export interface GridAxis {
  readonly path: string;
  readonly values: readonly unknown[];
}

type Plain = Record<string, unknown>;

const obj = (v: unknown): Plain => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Plain) : {});
const oneOf = <T extends string>(v: unknown, values: readonly T[], fallback: T): T => (typeof v === 'string' && (values as readonly string[]).includes(v) ? (v as T) : fallback);
const num = (v: unknown, fallback: number, ok: (n: number) => boolean = () => true): number => (typeof v === 'number' && Number.isFinite(v) && ok(v) ? v : fallback);
const int = (v: unknown, fallback: number, min: number): number => num(v, fallback, (n) => Number.isInteger(n) && n >= min);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

/** Resolves a path from the experiment file against its folder (built-in models stay as they are). */
export function resolvePath(value: string, baseDir: string): string {
  if (value.startsWith(BUILTIN_PREFIX)) return value;
  return path.resolve(baseDir, value);
}

export function resolveExperiment(plain: unknown, baseDir: string): Experiment {
  const root = obj(plain);
  const task = obj(root.task);
  const adapter = obj(root.adapter);
  const drop = obj(root.drop);
  const training = obj(root.training);
  const runtime = obj(root.runtime);
  const kind = oneOf(task.kind, TASK_KINDS, 'classification');
  const text = typeof task.text === 'string' ? [task.text] : Array.isArray(task.text) ? task.text.filter((c): c is string => typeof c === 'string') : [];
  const preset = typeof adapter.preset === 'string' && (ADAPTER_PRESETS as readonly string[]).includes(adapter.preset) ? (adapter.preset as AdapterPreset) : undefined;
  const fill = preset ? PRESET_SETTINGS[preset] : undefined;
  const sites = typeof adapter.sites === 'string' ? [adapter.sites] : Array.isArray(adapter.sites) ? adapter.sites : [...(fill?.sites ?? ['attention', 'ffn'])];
  const seed = int(training.seed, 42, 0);
  const name = str(root.name) ?? 'experiment';
  const fromScratch = root.from_scratch === undefined || root.model !== undefined ? undefined : resolveScratch(obj(root.from_scratch), baseDir);
  return {
    name,
    model: fromScratch ? `${SCRATCH_PREFIX}${name}` : resolvePath(str(root.model) ?? '', baseDir),
    fromScratch,
    task: {
      kind,
      train: resolvePath(str(task.train) ?? '', baseDir),
      validation: str(task.validation) !== undefined ? resolvePath(str(task.validation)!, baseDir) : undefined,
      text,
      label: str(task.label),
      metric: oneOf(task.metric, METRICS, METRICS_BY_KIND[kind][0]!),
      maxLength: int(task.max_length, 128, 8),
      maskProbability: num(task.mask_probability, 0.15, (n) => n > 0 && n <= 1),
      wholeWordMask: task.whole_word_mask === true,
      validationFraction: task.validation_fraction === undefined ? undefined : num(task.validation_fraction, 0.05, (n) => n > 0 && n <= 0.5),
      tokenizer: oneOf(task.tokenizer, TOKENIZER_CHOICES, 'auto'),
    },
    method: oneOf(root.method, METHODS, 'adapter'),
    topK: root.top_k === undefined ? undefined : int(root.top_k, 1, 1),
    adapter: {
      preset,
      size: fill && !(typeof adapter.size === 'number' && Number.isInteger(adapter.size) && adapter.size >= 1) ? { reductionFactor: fill.reductionFactor } : int(adapter.size, 64, 1),
      sites: [...new Set(sites.filter((s): s is Site => (SITES as readonly unknown[]).includes(s)))],
      layers: selectionOf(adapter.layers, ['all'], { kind: 'all' }),
      nonLinearity: oneOf(adapter.non_linearity, NON_LINEARITIES, fill?.nonLinearity ?? 'gelu'),
      initStd: num(adapter.init_std, 0.01, (n) => n > 0),
      trainLayerNorm: typeof adapter.train_layernorm === 'boolean' ? adapter.train_layernorm : true,
      placement: oneOf(adapter.placement, PLACEMENTS, fill?.placement ?? 'serial'),
      input: oneOf(adapter.input, ADAPTER_INPUTS, fill?.input ?? 'output'),
      scaling: scalingOf(adapter.scaling, fill?.scaling ?? 1),
      innerNorm: oneOf(adapter.inner_norm, INNER_NORMS, fill?.innerNorm ?? 'none'),
      depth: int(adapter.depth, fill?.depth ?? 1, 1),
      share: oneOf(adapter.share, SHARES, fill?.share ?? 'none'),
    },
    ...(root.method === 'fusion' ? { fusion: resolveFusion(obj(root.fusion), baseDir) } : {}),
    drop: { layers: selectionOf(drop.layers, ['none'], { kind: 'none' }), mode: oneOf(drop.mode, DROP_MODES, 'static') },
    training: {
      learningRate: num(training.learning_rate, 3e-4, (n) => n > 0),
      epochs: int(training.epochs, 3, 1),
      batchSize: int(training.batch_size, 32, 1),
      warmup: num(training.warmup, 0.1, (n) => n >= 0 && n < 1),
      weightDecay: num(training.weight_decay, 0, (n) => n >= 0),
      optimizer: oneOf(training.optimizer, OPTIMIZERS, 'adamw'),
      maxGradNorm: num(training.max_grad_norm, 1, (n) => n > 0),
      adamBeta2: num(training.adam_beta2, 0.999, (n) => n > 0 && n < 1),
      adamEpsilon: num(training.adam_epsilon, 1e-8, (n) => n > 0),
      evaluateEvery: training.evaluate_every === undefined ? undefined : int(training.evaluate_every, 1, 1),
      seed,
      prefixCache: { enabled: obj(training.prefix_cache).enabled === true, memoryMb: int(obj(training.prefix_cache).memory_mb, 2048, 0) },
    },
    sweep: root.sweep === undefined ? undefined : resolveSweep(obj(root.sweep), seed),
    ablation: { spans: resolveSpans(obj(root.ablation).spans) },
    runtime: { device: oneOf(runtime.device, DEVICES, 'auto'), threads: runtime.threads === undefined ? undefined : int(runtime.threads, 1, 1) },
  };
}

function resolveFusion(f: Plain, baseDir: string): FusionSettings {
  const adapters = Array.isArray(f.adapters) ? f.adapters.map(str).filter((a): a is string => a !== undefined) : [];
  return {
    adapters,
    baseDir: path.resolve(baseDir),
    config: oneOf(f.config, FUSION_CONFIGS, 'dynamic'),
    residualBefore: f.residual_before === true,
    queryBeforeLn: f.query_before_ln === true,
    temperature: f.temperature === true,
    valueInitialized: f.value_initialized !== false,
    regularization: num(f.regularization, 0.01, (n) => n >= 0),
    dropout: f.dropout === undefined ? undefined : num(f.dropout, 0.1, (n) => n >= 0 && n < 1),
  };
}

function resolveScratch(s: Plain, baseDir: string): ScratchModel {
  const hiddenSize = int(s.hidden_size, 256, 8);
  return {
    layers: int(s.layers, 4, 1),
    hiddenSize,
    heads: int(s.heads, 4, 1),
    intermediateSize: int(s.intermediate_size, 4 * hiddenSize, 8),
    maxPositions: int(s.max_positions, 512, 8),
    vocab: path.resolve(baseDir, str(s.vocab) ?? 'vocab.txt'),
    cased: s.cased === true,
    initializerRange: num(s.initializer_range, 0.02, (n) => n > 0 && n <= 1),
  };
}

function scalingOf(value: unknown, fallback: Scaling): Scaling {
  if (typeof value === 'string' && (SCALING_KEYWORDS as readonly string[]).includes(value)) return value as Scaling;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/**
 * The bottleneck size m on a model of this hidden size: the setting, or `hidden // reduction
 * factor` as AdapterHub computes it (at least 1).
 */
export function bottleneckSize(size: Experiment['adapter']['size'], hiddenSize: number): number {
  return typeof size === 'number' ? size : Math.max(1, pythonFloorDiv(hiddenSize, size.reductionFactor));
}

/**
 * Python's `a // b` for floats (AdapterHub's `int(hidden_size // reduction_factor)`), which is
 * not always `Math.floor(a / b)`: Python divides the exact remainder out first
 * (`1 // 0.1` is 9, while `Math.floor(1 / 0.1)` is 10).
 */
export function pythonFloorDiv(a: number, b: number): number {
  let mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0 && b < 0 !== mod < 0) {
    mod += b;
    div -= 1;
  }
  if (div === 0) return 0;
  let floor = Math.floor(div);
  if (div - floor > 0.5) floor += 1;
  return floor;
}

function selectionOf(value: unknown, keywords: readonly string[], fallback: LayerSelection): LayerSelection {
  if (value === undefined) return fallback;
  const parsed = parseLayerSelection(nodeOfPlain(value), keywords);
  return parsed.ok ? parsed.selection : fallback;
}

function resolveSpans(value: unknown): 'contiguous' | readonly LayerPart[] {
  if (!Array.isArray(value)) return 'contiguous';
  const parts: LayerPart[] = [];
  for (const v of value) {
    const parsed = parseLayerSelection(nodeOfPlain(v), []);
    if (parsed.ok && parsed.selection.kind === 'layers') parts.push(...parsed.selection.parts);
  }
  return parts.length > 0 ? parts : 'contiguous';
}

function resolveSweep(sweep: Plain, baseSeed: number): { grid: GridAxis[]; seeds: number[]; executor: Executor; slurm: SlurmSettings } {
  const known = new Set(gridPaths());
  const grid = Object.entries(obj(sweep.grid))
    .filter((e): e is [string, unknown[]] => known.has(e[0]) && Array.isArray(e[1]) && e[1].length > 0)
    .map(([p, values]) => ({ path: p, values: dedupe(values) }));
  return { grid, seeds: seedsOf(sweep.seeds, baseSeed), executor: oneOf(sweep.executor, EXECUTORS, 'local'), slurm: resolveSlurm(obj(sweep.slurm)) };
}

function resolveSlurm(s: Plain): SlurmSettings {
  const formatted = (v: unknown, format: Parameters<typeof matchesFormat>[0]): string | undefined => (matchesFormat(format, v) ? String(v).trim() : undefined);
  const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined);
  const options = Array.isArray(s.options) ? s.options.filter((o): o is string => typeof o === 'string' && o.trim() !== '').map((o) => o.trim()) : [];
  const out: { -readonly [K in keyof SlurmSettings]: SlurmSettings[K] } = { options };
  if (str(s.partition) !== undefined) out.partition = str(s.partition);
  if (formatted(s.time, 'slurm-time') !== undefined) out.time = formatted(s.time, 'slurm-time');
  if (count(s.cpus_per_task) !== undefined) out.cpusPerTask = count(s.cpus_per_task);
  if (formatted(s.memory, 'memory') !== undefined) out.memory = formatted(s.memory, 'memory');
  if (formatted(s.gpus, 'gpus') !== undefined) out.gpus = formatted(s.gpus, 'gpus');
  if (str(s.account) !== undefined) out.account = str(s.account);
  if (str(s.qos) !== undefined) out.qos = str(s.qos);
  if (count(s.max_parallel) !== undefined) out.maxParallel = count(s.max_parallel);
  if (typeof s.setup === 'string' && s.setup.trim() !== '') out.setup = s.setup;
  return out;
}

export function seedsOf(value: unknown, baseSeed: number): number[] {
  if (Array.isArray(value)) {
    const seeds = dedupe(value.filter((s): s is number => typeof s === 'number' && Number.isInteger(s) && s >= 0));
    return seeds.length > 0 ? (seeds as number[]) : [baseSeed];
  }
  const count = typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : 1;
  return Array.from({ length: count }, (_, i) => baseSeed + i);
}

function dedupe<T>(values: readonly T[]): T[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const k = JSON.stringify(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** Wraps a plain value as an unlocated tree node, so layer parsing has one implementation. */
function nodeOfPlain(value: unknown): TreeNode {
  const range = { start: 0, end: 0 };
  if (Array.isArray(value)) return { kind: 'seq', items: value.map(nodeOfPlain), flow: true, range };
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { kind: 'scalar', value, quoted: false, range };
  return { kind: 'scalar', value: null, quoted: false, range };
}

export interface SweepSize {
  /** The grid's Cartesian product. */
  readonly combinations: number;
  /** Distinct configurations: combinations less those that differ only in settings their method ignores. */
  readonly configurations: number;
  readonly seeds: number;
  /** Trials the sweep runs: configurations × seeds (what `expandSweep` returns). */
  readonly runs: number;
}

export function sweepSize(experiment: Experiment): SweepSize {
  if (!experiment.sweep) return { combinations: 1, configurations: 1, seeds: 1, runs: 1 };
  const combinations = experiment.sweep.grid.reduce((n, axis) => n * axis.values.length, 1);
  const configurations = sweepConfigurations(experiment).length;
  const seeds = experiment.sweep.seeds.length;
  return { combinations, configurations, seeds, runs: configurations * seeds };
}

/**
 * Whether a setting changes what a run of `method` does. Mirrors the rules' `irrelevant-key`
 * checks: `top_k` is read by `top_k` only, `adapter.*` by `adapter` only, `drop.*` by
 * `adapter` and `fusion`, `fusion.*` by `fusion`, and the frozen-prefix cache does nothing
 * for methods that train the embeddings.
 */
export function settingAppliesTo(dotted: string, method: string): boolean {
  if (dotted === 'top_k') return method === 'top_k';
  if (dotted.startsWith('adapter.')) return method === 'adapter';
  // Dropping a layer removes its adapters, or with fusion its fusion layers and the adapters they fuse.
  if (dotted.startsWith('drop.')) return method === 'adapter' || method === 'fusion';
  if (dotted.startsWith('fusion.')) return method === 'fusion';
  if (dotted.startsWith('training.prefix_cache.')) return method === 'adapter' || method === 'top_k' || method === 'fusion';
  return true;
}

/**
 * The sweep's distinct configurations, in grid order (the last axis changes fastest).
 * Assignments a configuration's method ignores are left out, so grid points that differ
 * only in them (method × top_k with `method: full`, say) are one configuration; the first
 * occurrence keeps its place.
 */
export function sweepConfigurations(base: Experiment): Readonly<Record<string, unknown>>[] {
  const axes = base.sweep?.grid ?? [];
  let combos: Record<string, unknown>[] = [{}];
  for (const axis of axes) combos = combos.flatMap((c) => axis.values.map((v) => ({ ...c, [axis.path]: v })));
  const seen = new Set<string>();
  const out: Record<string, unknown>[] = [];
  for (const combo of combos) {
    const method = typeof combo.method === 'string' ? combo.method : base.method;
    const effective = Object.fromEntries(Object.entries(combo).filter(([p]) => settingAppliesTo(p, method)));
    const key = JSON.stringify(effective);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(effective);
  }
  return out;
}

/** One trial of a sweep: the grid point it takes and the seed it runs with. */
export interface Trial {
  readonly index: number;
  /** The grid settings this trial takes, without those its method ignores. */
  readonly assignments: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly experiment: Experiment;
}

/**
 * Expands a sweep into its trials: each distinct configuration (see `sweepConfigurations`)
 * once per seed, seeds innermost; indices are dense from 0.
 */
export function expandSweep(plain: unknown, baseDir: string): Trial[] {
  const base = resolveExperiment(plain, baseDir);
  const seeds = base.sweep?.seeds ?? [base.training.seed];
  const trials: Trial[] = [];
  for (const assignments of sweepConfigurations(base)) {
    for (const seed of seeds) {
      const copy = structuredClone(obj(plain));
      for (const [p, v] of Object.entries(assignments)) setPath(copy, p.split('.'), v);
      setPath(copy, ['training', 'seed'], seed);
      delete copy.sweep;
      trials.push({ index: trials.length, assignments, seed, experiment: resolveExperiment(copy, baseDir) });
    }
  }
  return trials;
}

function setPath(target: Plain, keys: readonly string[], value: unknown): void {
  let cur = target;
  keys.slice(0, -1).forEach((k) => {
    if (typeof cur[k] !== 'object' || cur[k] === null || Array.isArray(cur[k])) cur[k] = {};
    cur = cur[k] as Plain;
  });
  cur[keys[keys.length - 1]!] = value;
}
