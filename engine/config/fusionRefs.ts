/**
 * What `fusion.adapters` names: a run folder, an adapter folder in AdapterHub's layout, or
 * an experiment's name (its latest completed run in the runs folder). Resolution reads only
 * small JSON files, so the language server can check references as the user types; the
 * engine resolves the same way and then reads the weights (engine/checkpoint).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AdapterInput, AdapterPlacement } from '../model/adapterVariant';
import type { FusedAdapter, NonLinearityName } from '../model/bert';
import type { BertDims } from '../model/dims';
import type { AdapterShape, AdapterSite } from '../model/parameters';

/** The files of a run folder and of an adapter folder that resolution reads. */
const RUN_CONFIG = 'config.json';
const RUN_STATUS = 'status.json';
const RUN_ADAPTER = 'adapter';
const ADAPTER_CONFIG = 'adapter_config.json';

/** An adapter to fuse, as far as its config tells. */
export interface FusedAdapterInfo {
  /** The adapter folder (adapter_config.json and its weights). */
  readonly dir: string;
  /** The run it belongs to, when the reference named a run or an experiment. */
  readonly runDir: string | undefined;
  /** The adapter's name in its folder (AdapterHub's `name`). */
  readonly name: string;
  readonly hiddenSize: number;
  /** The model it was trained on as the engine wrote it (`builtin:…` or a folder), when known. */
  readonly modelRef: string | undefined;
  /** AdapterHub's `model_name`. */
  readonly modelName: string | undefined;
  readonly sites: readonly AdapterSite[];
  /** AdapterHub's `is_parallel`. */
  readonly placement: AdapterPlacement;
  /** What a serial adapter reads: `normalized` with AdapterHub's `original_ln_before` (Pfeiffer's placement). */
  readonly input: AdapterInput;
  /** Layers AdapterHub leaves without the adapter. */
  readonly leaveOut: readonly number[];
  /** The bottleneck size where the config gives it (the engine's own folders do). */
  readonly size: number | undefined;
  readonly reductionFactor: number | undefined;
  /** Whether it holds adapters at all (a run of another method saves an adapter folder with none). */
  readonly method: string | undefined;
  /** What inside the adapter changes its parameter count. */
  readonly shape: AdapterShape;
  /** One adapter per site serves every layer (`share: all_layers`). */
  readonly shared: boolean;
  readonly nonLinearity: NonLinearityName;
  /** The vocabulary fingerprint of the model it was trained on (`adapter_lab.vocabulary`), when the folder records it. */
  readonly vocabulary: string | undefined;
}

export type FusedAdapterRef = { readonly ok: true; readonly info: FusedAdapterInfo } | { readonly ok: false; readonly code: 'missing-file' | 'bad-model'; readonly message: string };

/**
 * Resolves one reference. `baseDir` is the experiment file's folder; `runsDir` the runs
 * folder experiment names are looked up in.
 */
export function resolveFusedAdapter(ref: string, baseDir: string, runsDir: string): FusedAdapterRef {
  const folder = path.resolve(baseDir, ref);
  if (isDir(folder)) {
    if (isFile(path.join(folder, ADAPTER_CONFIG))) return readInfo(folder, undefined);
    if (isFile(path.join(folder, RUN_CONFIG))) {
      const status = runStatus(folder);
      if (status !== 'completed') return { ok: false, code: 'bad-model', message: `Run ${path.basename(folder)} is ${status ?? 'unreadable'}, not completed: only a finished run has a trained adapter` };
      return readInfo(path.join(folder, RUN_ADAPTER), folder);
    }
    return { ok: false, code: 'bad-model', message: `${ref} is neither a run folder (config.json) nor an adapter folder (${ADAPTER_CONFIG})` };
  }
  // A bare name: an experiment's latest completed run.
  if (!/[\\/]/.test(ref)) {
    const run = latestCompletedRun(runsDir, ref);
    if (run) return readInfo(path.join(run, RUN_ADAPTER), run);
    return { ok: false, code: 'missing-file', message: `No folder "${ref}" beside this file, and no completed run of an experiment named "${ref}" in ${runsDir}: train it first, or give a run or adapter folder` };
  }
  return { ok: false, code: 'missing-file', message: `No adapter or run folder at ${ref}` };
}

/** The latest completed run of an experiment: its folders are `<name>-<yyyymmdd-hhmmss>[-n]`, so the largest name is the latest. */
export function latestCompletedRun(runsDir: string, experiment: string): string | undefined {
  const safe = experiment.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
  let entries: string[];
  try {
    entries = fs.readdirSync(runsDir);
  } catch {
    return undefined;
  }
  const pattern = new RegExp(`^${safe.replace(/[.]/g, '\\.')}-(\\d{8}-\\d{6})(?:-(\\d+))?$`);
  const runs = entries
    .map((name) => ({ name, m: pattern.exec(name) }))
    .filter((r): r is { name: string; m: RegExpExecArray } => r.m !== null)
    .sort((a, b) => (a.m[1]! < b.m[1]! ? -1 : a.m[1]! > b.m[1]! ? 1 : Number(a.m[2] ?? 0) - Number(b.m[2] ?? 0)));
  for (let i = runs.length - 1; i >= 0; i--) {
    const dir = path.join(runsDir, runs[i]!.name);
    if (runStatus(dir) === 'completed' && isFile(path.join(dir, RUN_ADAPTER, ADAPTER_CONFIG))) return dir;
  }
  return undefined;
}

/** Completed runs' experiment names in a runs folder (for completion), without duplicates. */
export function completedExperimentNames(runsDir: string): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(runsDir);
  } catch {
    return [];
  }
  const out = new Set<string>();
  for (const name of entries) {
    const m = /^(.*)-\d{8}-\d{6}(?:-\d+)?$/.exec(name);
    if (m && runStatus(path.join(runsDir, name)) === 'completed' && isFile(path.join(runsDir, name, RUN_ADAPTER, ADAPTER_CONFIG))) out.add(m[1]!);
  }
  return [...out].sort();
}

/**
 * The adapter as far as its config describes it, for counting and planning before its
 * weights are read: at every layer it does not leave out, with the size it was trained with
 * (AdapterHub's `hidden // reduction_factor` when the folder does not say).
 */
export function fusedAdapterOf(a: FusedAdapterInfo, dims: BertDims): FusedAdapter {
  const size = a.size ?? Math.max(1, Math.floor(a.hiddenSize / (a.reductionFactor ?? 16)));
  const layers = Array.from({ length: dims.layers }, (_, i) => i).filter((l) => !a.leaveOut.includes(l));
  return { name: a.name, adapter: { size, sites: a.sites, layers, nonLinearity: a.nonLinearity, placement: a.placement, input: a.input, innerNorm: a.shape.innerNorm ? 'layernorm' : 'none', depth: a.shape.depth, scaling: a.shape.learnedScaling ? 'learned' : 1, share: a.shared ? 'all_layers' : 'none' } };
}

function runStatus(dir: string): string | undefined {
  const status = readJson(path.join(dir, RUN_STATUS));
  return typeof status?.status === 'string' ? status.status : undefined;
}

function readInfo(dir: string, runDir: string | undefined): FusedAdapterRef {
  const file = path.join(dir, ADAPTER_CONFIG);
  const json = readJson(file);
  const config = json && typeof json.config === 'object' && json.config !== null ? (json.config as Record<string, unknown>) : undefined;
  if (!json || !config) return { ok: false, code: 'bad-model', message: `${file} is not an adapter config (no "config" mapping)` };
  if (typeof json.name !== 'string' || typeof json.hidden_size !== 'number') return { ok: false, code: 'bad-model', message: `${file} has no adapter "name" or "hidden_size"` };
  const lab = typeof json.adapter_lab === 'object' && json.adapter_lab !== null ? (json.adapter_lab as Record<string, unknown>) : undefined;
  const sites: AdapterSite[] = [];
  if (config.mh_adapter === true) sites.push('attention');
  if (config.output_adapter === true) sites.push('ffn');
  const leaveOut = Array.isArray(config.leave_out) ? config.leave_out.filter((l): l is number => typeof l === 'number') : [];
  return {
    ok: true,
    info: {
      dir,
      runDir,
      name: json.name,
      hiddenSize: json.hidden_size,
      modelRef: typeof lab?.model === 'string' ? lab.model : undefined,
      modelName: typeof json.model_name === 'string' ? json.model_name : undefined,
      sites,
      placement: config.is_parallel === true ? 'parallel' : 'serial',
      // AdapterHub's parallel adapter ignores original_ln_before.
      input: config.is_parallel !== true && config.original_ln_before === true ? 'normalized' : 'output',
      leaveOut,
      size: typeof lab?.bottleneck_size === 'number' ? lab.bottleneck_size : undefined,
      reductionFactor: typeof config.reduction_factor === 'number' ? config.reduction_factor : undefined,
      method: typeof lab?.method === 'string' ? lab.method : undefined,
      shape: { innerNorm: config.ln_before === true, depth: typeof lab?.depth === 'number' ? lab.depth : 1, learnedScaling: config.scaling === 'learned' },
      shared: lab?.share === 'all_layers',
      // AdapterHub's names (Hugging Face's ACT2FN keys); an unknown one is refused when the weights are read.
      vocabulary: typeof lab?.vocabulary === 'string' ? lab.vocabulary : undefined,
      nonLinearity: ({ gelu: 'gelu', relu: 'relu', swish: 'swish', silu: 'swish', tanh: 'tanh' } as const)[String(config.non_linearity).toLowerCase() as 'gelu'] ?? 'gelu',
    },
  };
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
