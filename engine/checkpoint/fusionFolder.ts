/**
 * AdapterFusion on disk, in AdapterHub's layout (`save_adapter_fusion` / `load_adapter_fusion`):
 *
 *   adapter_fusion_config.json          `adapter_names`, `config` (AdapterHub's flags), `name`, …
 *   model_adapter_fusion.safetensors    `bert.encoder.layer.{i}.{attention.output|output}.adapter_fusion_layer.{name}.{query|key|value}.…`
 *
 * where `{name}` is the fusion's name, the fused adapters' names joined by commas. The fused
 * adapters are adapter folders of their own (adapterFolder.ts); reading them for a fusion
 * keeps their adapters only, under the fused names (`….adapters.{adapter}.…`). They share
 * one serial placement, Houlsby's or Pfeiffer's, which decides what the fusion reads
 * (engine/model/fusion.ts); the fusion's config records it (`adapter_lab.adapter_config`,
 * AdapterHub's placement fields), since AdapterHub's own fusion config does not.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FusionSettings } from '../config/experiment';
import { resolveFusedAdapter } from '../config/fusionRefs';
import { parameterShapes, type FusedAdapter, type FusionSpec, type ModelSpec } from '../model/bert';
import type { BertDims } from '../model/dims';
import type { AdapterInput } from '../model/adapterVariant';
import { inputWords, type FusionLayerSpec } from '../model/fusion';
import type { FusionConfig } from '../model/parameters';
import * as names from '../model/names';
import { RUN_FILES, writeAtomic } from '../runs/store';
import type { FloatTensor } from '../tensor';
import { ENGINE_VERSION } from '../version';
import { AdapterFolderError, exportAdapterFolder, hubAdapterConfig, readAdapterFolder, readHeadConfig, writeHeadFiles, type AdapterFolder, type SavedHead } from './adapterFolder';
import { hubNaming, type HeadKind } from './hubNames';
import { writeSafetensors } from './safetensors';
import { openWeightsFile } from './weightsFile';

export const FUSION_FILES = {
  config: 'adapter_fusion_config.json',
  weights: 'model_adapter_fusion.safetensors',
  /** AdapterHub's default when safetensors was not asked for; read when the safetensors file is absent. */
  pytorchWeights: 'pytorch_model_adapter_fusion.bin',
} as const;

/** AdapterHub's name for a fusion: its adapters' names joined by commas. */
export function fusionName(adapterNames: readonly string[]): string {
  return adapterNames.join(',');
}

const FUSION_PARAMETER = /^encoder\.layer\.(\d+)\.(attention\.output|output)\.adapter_fusion_layer\.((?:query|key|value)\.(?:weight|bias))$/;

/** A fusion parameter's name in AdapterHub's state dict. */
export function fusionHubName(internal: string, name: string): string {
  const m = FUSION_PARAMETER.exec(internal);
  if (!m) throw new Error(`${internal} is not a fusion parameter`);
  return `bert.encoder.layer.${m[1]}.${m[2]}.adapter_fusion_layer.${name}.${m[3]}`;
}

/** The engine's name for a hub fusion parameter of the fusion `name`, or undefined. */
export function fusionInternalName(hub: string, name: string): string | undefined {
  const prefix = /^bert\.encoder\.layer\.(\d+)\.(attention\.output|output)\.adapter_fusion_layer\./.exec(hub);
  if (!prefix) return undefined;
  const rest = hub.slice(prefix[0].length);
  if (!rest.startsWith(`${name}.`)) return undefined;
  const param = rest.slice(name.length + 1);
  return /^(query|key|value)\.(weight|bias)$/.test(param) && param !== 'value.bias' ? `encoder.layer.${prefix[1]}.${prefix[2]}.adapter_fusion_layer.${param}` : undefined;
}

/**
 * The fused adapters' placement as AdapterHub's adapter config names it: the fields that
 * decide what a fusion reads (`pre_forward`, `post_forward`).
 */
export function hubPlacementConfig(input: AdapterInput): Record<string, boolean> {
  const c = hubAdapterConfig({ placement: 'serial', input, innerNorm: 'none', scaling: 1 });
  return { original_ln_before: c.original_ln_before, original_ln_after: c.original_ln_after, residual_before_ln: c.residual_before_ln, is_parallel: c.is_parallel };
}

/** AdapterHub's fusion config flags for the engine's settings. */
export function hubFusionConfig(f: FusionLayerSpec & { readonly valueInitialized: boolean }): Record<string, unknown> {
  const dynamic = f.config === 'dynamic';
  return {
    key: true,
    query: true,
    value: dynamic,
    query_before_ln: f.queryBeforeLn === true,
    regularization: dynamic && f.regularization > 0,
    residual_before: f.residualBefore,
    temperature: f.temperature,
    // Before or after the weighted sum is the same function (V is linear without a bias); AdapterHub's dynamic config says before.
    value_before_softmax: true,
    value_initialized: dynamic && f.valueInitialized,
    dropout_prob: f.dropout ?? null,
  };
}

export interface SavedFusion {
  readonly adapterNames: readonly string[];
  /** What the fused adapters read (their shared placement). */
  readonly adapterInput: AdapterInput;
  readonly hiddenSize: number;
  readonly modelName: string;
  readonly settings: FusionLayerSpec & { readonly valueInitialized: boolean };
  /** The fusion layers' weights under the engine's names (key biases included). */
  readonly weights: ReadonlyMap<string, FloatTensor>;
}

export function writeFusionFolder(dir: string, f: SavedFusion): void {
  const name = fusionName(f.adapterNames);
  const tensors = new Map<string, FloatTensor>();
  for (const [internal, t] of f.weights) tensors.set(fusionHubName(internal, name), t);
  const config = {
    adapter_names: f.adapterNames,
    config: hubFusionConfig(f.settings),
    hidden_size: f.hiddenSize,
    model_class: 'BertAdapterModel',
    model_name: f.modelName,
    model_type: 'bert',
    name,
    version: `adapter-lab/${ENGINE_VERSION}`,
    // What AdapterHub's flags do not say: the regulariser's weight, and the placement of the
    // adapters the layers were trained over (AdapterHub keeps it only in the adapters' configs).
    adapter_lab: { regularization_weight: f.settings.regularization, adapter_config: hubPlacementConfig(f.adapterInput) },
  };
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, FUSION_FILES.weights), tensors, { format: 'pt', producer: `adapter-lab/${ENGINE_VERSION}` });
  writeAtomic(path.join(dir, FUSION_FILES.config), JSON.stringify(config, null, 2) + '\n');
}

export interface FusionFolder {
  readonly dir: string;
  readonly adapterNames: readonly string[];
  readonly hiddenSize: number;
  readonly settings: FusionLayerSpec;
  /** What the fused adapters read, as `adapter_lab.adapter_config` records it; undefined in AdapterHub's own folders (the adapters' configs say). */
  readonly adapterInput: AdapterInput | undefined;
  /** Under the engine's names. */
  readonly weights: ReadonlyMap<string, FloatTensor>;
}

/** Reads and checks a fusion folder (the config's flags the engine computes, every tensor's name). */
export function readFusionFolder(dir: string): FusionFolder {
  const file = path.join(dir, FUSION_FILES.config);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new AdapterFolderError(file, fs.existsSync(file) ? `is not valid JSON (${(e as Error).message})` : 'is missing');
  }
  const adapterNames = json.adapter_names;
  if (!Array.isArray(adapterNames) || adapterNames.length < 1 || !adapterNames.every((n) => typeof n === 'string' && /^[A-Za-z0-9_-]+$/.test(n))) throw new AdapterFolderError(file, 'field "adapter_names" must list the fused adapters\' names');
  const c = json.config;
  if (typeof c !== 'object' || c === null) throw new AdapterFolderError(file, 'field "config" is missing');
  const flags = c as Record<string, unknown>;
  const flag = (key: string, fallback: boolean): boolean => {
    const v = flags[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') throw new AdapterFolderError(file, `field "config.${key}" is ${JSON.stringify(v)}; expected true or false`);
    return v;
  };
  for (const key of ['key', 'query'] as const) if (!flag(key, true)) throw new AdapterFolderError(file, `field "config.${key}" is false; only fusions with a ${key} projection are built here`);
  const hidden = json.hidden_size;
  if (typeof hidden !== 'number' || !Number.isInteger(hidden) || hidden < 1) throw new AdapterFolderError(file, 'field "hidden_size" must be a positive integer');
  const dropout = flags.dropout_prob;
  if (dropout !== undefined && dropout !== null && !(typeof dropout === 'number' && dropout >= 0 && dropout < 1)) throw new AdapterFolderError(file, `field "config.dropout_prob" is ${JSON.stringify(dropout)}; expected null or a number in [0, 1)`);
  const lab = typeof json.adapter_lab === 'object' && json.adapter_lab !== null ? (json.adapter_lab as Record<string, unknown>) : {};
  const config: FusionConfig = flag('value', false) ? 'dynamic' : 'static';
  const regularization = config === 'dynamic' && flag('regularization', config === 'dynamic') ? (typeof lab.regularization_weight === 'number' ? lab.regularization_weight : 0.01) : 0;
  const name = typeof json.name === 'string' ? json.name : fusionName(adapterNames as string[]);
  const settings: FusionLayerSpec = { config, residualBefore: flag('residual_before', false), queryBeforeLn: flag('query_before_ln', false), temperature: flag('temperature', false), regularization, dropout: typeof dropout === 'number' ? dropout : undefined };
  const adapterInput = recordedInput(file, lab.adapter_config);

  const safe = path.join(dir, FUSION_FILES.weights);
  const weightsFile = fs.existsSync(safe) || !fs.existsSync(path.join(dir, FUSION_FILES.pytorchWeights)) ? safe : path.join(dir, FUSION_FILES.pytorchWeights);
  if (!fs.existsSync(weightsFile)) throw new AdapterFolderError(weightsFile, 'is missing');
  const weights = new Map<string, FloatTensor>();
  const f = openWeightsFile(weightsFile);
  try {
    for (const info of f.tensors) {
      const internal = fusionInternalName(info.name, name);
      if (!internal) throw new AdapterFolderError(weightsFile, `tensor "${info.name}" is not a parameter of fusion "${name}" (expected bert.encoder.layer.{i}.…adapter_fusion_layer.${name}.query|key|value.…)`);
      if (internal.endsWith('.value.weight') && config === 'static') throw new AdapterFolderError(weightsFile, `tensor "${info.name}" is a value matrix, but config.value is false`);
      const t = f.readFloat(info.name);
      const want = internal.endsWith('.bias') ? [hidden] : [hidden, hidden];
      if (t.shape.length !== want.length || t.shape.some((x, i) => x !== want[i])) throw new AdapterFolderError(weightsFile, `tensor "${info.name}" has shape [${t.shape.join(', ')}]; expected [${want.join(', ')}]`);
      weights.set(internal, t);
    }
  } finally {
    f.close();
  }
  return { dir, adapterNames: adapterNames as string[], hiddenSize: hidden, settings, adapterInput, weights };
}

/** The placement `adapter_lab.adapter_config` records, checked: serial, with the layer's own residual and norm after. */
function recordedInput(file: string, recorded: unknown): AdapterInput | undefined {
  if (recorded === undefined) return undefined;
  const field = (key?: string): string => `field "adapter_lab.adapter_config${key ? `.${key}` : ''}"`;
  if (typeof recorded !== 'object' || recorded === null || Array.isArray(recorded)) throw new AdapterFolderError(file, `${field()} must be a mapping of AdapterHub's placement fields`);
  const r = recorded as Record<string, unknown>;
  for (const key of ['original_ln_before', 'original_ln_after', 'residual_before_ln', 'is_parallel']) {
    if (typeof r[key] !== 'boolean') throw new AdapterFolderError(file, `${field(key)} is ${JSON.stringify(r[key])}; expected true or false`);
  }
  if (r.is_parallel === true) throw new AdapterFolderError(file, `${field('is_parallel')} is true; a fusion here fuses serial adapters (Houlsby's or Pfeiffer's placement)`);
  for (const key of ['original_ln_after', 'residual_before_ln']) {
    if (r[key] !== true) throw new AdapterFolderError(file, `${field(key)} is false; the layer's own residual add and layer norm follow the fusion here (true)`);
  }
  return r.original_ln_before === true ? 'normalized' : 'output';
}

/**
 * Checks that fused adapters share one placement, and that it is the one a fusion folder
 * recorded (when it did): a fusion layer trained over adapters reading LN(x + h) means
 * nothing over adapters reading h.
 */
export function checkFusedPlacement(adapters: readonly LoadedFusedAdapter[], recorded?: { readonly file: string; readonly input: AdapterInput | undefined }): AdapterInput {
  const first = adapters[0];
  if (!first) throw new Error('a fusion needs at least one adapter');
  const input = first.fused.adapter.input ?? 'output';
  for (const a of adapters) {
    const own = a.fused.adapter.input ?? 'output';
    if (own !== input) throw new AdapterFolderError(path.join(a.folder.dir, 'adapter_config.json'), `adapter "${a.fused.name}" reads ${inputWords(own)}, but "${first.fused.name}" reads ${inputWords(input)}; fused adapters need one placement (AdapterHub would use the last one's for all)`);
  }
  if (recorded?.input !== undefined && recorded.input !== input) throw new AdapterFolderError(recorded.file, `field "adapter_lab.adapter_config" says the fusion was trained over adapters reading ${inputWords(recorded.input)}, but its adapters read ${inputWords(input)}`);
  return input;
}

/** Checks that a fusion folder holds every parameter of the fusion layers the spec builds. */
export function checkFusionWeights(folder: FusionFolder, spec: FusionSpec, hiddenSize: number): void {
  const file = path.join(folder.dir, FUSION_FILES.weights);
  if (folder.hiddenSize !== hiddenSize) throw new AdapterFolderError(path.join(folder.dir, FUSION_FILES.config), `hidden_size is ${folder.hiddenSize}, but the base model's is ${hiddenSize}`);
  for (const layer of spec.layers) {
    for (const site of spec.sites) {
      const p = names.fusion(layer, site);
      const wanted = [p.query.weight, p.query.bias, p.key.weight, p.key.bias, ...(spec.config === 'dynamic' ? [p.value.weight] : [])];
      for (const n of wanted) if (!folder.weights.has(n)) throw new AdapterFolderError(file, `parameter "${fusionHubName(n, fusionName(folder.adapterNames))}" is missing`);
    }
  }
}

/** One fused adapter as read for a fusion. */
export interface LoadedFusedAdapter {
  readonly folder: AdapterFolder;
  readonly fused: FusedAdapter;
  /** Its adapter weights under the fused names. */
  readonly weights: ReadonlyMap<string, FloatTensor>;
  /** Base-model weights the adapter's run also trained (layer norms): the fusion leaves them out and uses the base model's. */
  readonly ignored: readonly string[];
}

/**
 * Reads an adapter folder for fusion: serial adapters, Houlsby's placement (reading the
 * sub-layer's output) or Pfeiffer's (reading LN(x + h)), at the layers the folder holds them in.
 */
export function readFusedAdapter(dir: string, dims: BertDims): LoadedFusedAdapter {
  const folder = readAdapterFolder(dir);
  const file = path.join(dir, 'adapter_config.json');
  const s = folder.settings;
  if (s.method !== 'adapter') throw new AdapterFolderError(file, `holds a ${s.method} run, which has no adapters to fuse`);
  if (folder.hiddenSize !== dims.hiddenSize) throw new AdapterFolderError(file, `hidden_size is ${folder.hiddenSize}, but the base model's is ${dims.hiddenSize}`);
  if (s.adapter.placement !== 'serial') throw new AdapterFolderError(file, "holds parallel adapters (is_parallel: true); a fusion here fuses serial adapters, in Houlsby's placement (original_ln_before: false) or Pfeiffer's (original_ln_before: true)");
  const present = new Set<number>();
  const weights = new Map<string, FloatTensor>();
  const ignored: string[] = [];
  for (const [name, t] of folder.weights) {
    const m = /^encoder\.layer\.(\d+)\.(attention\.output|output)\.adapter\.(.+)$/.exec(name);
    if (!m) {
      // The head is the adapter's own task's; layer norms its run trained are the base model's.
      if (!/^(classifier|qa_outputs|pooler)\./.test(name)) ignored.push(name);
      continue;
    }
    const layer = Number(m[1]);
    if (layer >= dims.layers) throw new AdapterFolderError(file, `holds an adapter in layer ${layer}, but the base model has layers 0..${dims.layers - 1}`);
    present.add(layer);
    weights.set(`encoder.layer.${layer}.${m[2]}.adapters.${folder.name}.${m[3]}`, t);
  }
  // A shared adapter is held once, at its lowest layer, and used at every adapter layer.
  const layers = s.adapter.share === 'all_layers' ? s.adapter.layers.filter((l) => !s.drop.layers.includes(l) || s.drop.mode === 'robust') : [...present].sort((a, b) => a - b);
  const fused: FusedAdapter = {
    name: folder.name,
    adapter: { size: s.adapter.size, sites: s.adapter.sites, layers, nonLinearity: s.adapter.nonLinearity, placement: 'serial', input: s.adapter.input, scaling: s.adapter.scaling, innerNorm: s.adapter.innerNorm, depth: s.adapter.depth, share: s.adapter.share },
  };
  return { folder, fused, weights, ignored };
}

/** A fusion run's folders: the fusion (with its head, as AdapterHub's `save_adapter_fusion(…, with_head=True)`) and each fused adapter. */
export const FUSION_RUN_DIRS = { fusion: RUN_FILES.fusionDir, adapters: RUN_FILES.fusedAdaptersDir } as const;

/**
 * Resolves and reads the adapters a fusion names (`fusion.adapters`), experiment names in
 * `runsDir`. Throws AdapterFolderError naming the reference that cannot be used.
 */
export function loadFusedAdapters(f: FusionSettings, runsDir: string, dims: BertDims): LoadedFusedAdapter[] {
  const loaded = f.adapters.map((ref) => {
    const r = resolveFusedAdapter(ref, f.baseDir, runsDir);
    if (!r.ok) throw new AdapterFolderError(ref, r.message);
    return readFusedAdapter(r.info.dir, dims);
  });
  const seen = new Set<string>();
  for (const a of loaded) {
    if (seen.has(a.fused.name)) throw new AdapterFolderError(a.folder.dir, `its adapter is named "${a.fused.name}", as another fused adapter is; fused adapters need distinct names`);
    seen.add(a.fused.name);
  }
  if (loaded.length < 2) throw new Error('a fusion combines at least two adapters');
  checkFusedPlacement(loaded);
  return loaded;
}

export interface SavedFusionRun {
  readonly fusion: SavedFusion;
  /** The head, under the engine's names, and what its config says. */
  readonly head: Omit<SavedHead, 'weights'> & { readonly weights: ReadonlyMap<string, FloatTensor> };
}

/** Writes a fusion run's fusion folder: the fusion layers and the head. */
export function writeFusionRun(runDir: string, r: SavedFusionRun): string {
  const fusionDir = path.join(runDir, FUSION_RUN_DIRS.fusion);
  writeFusionFolder(fusionDir, r.fusion);
  const naming = hubNaming(r.head.name, headKindOf(r.head.spec));
  writeHeadFiles(fusionDir, { ...r.head, weights: new Map([...r.head.weights].map(([n, t]) => [naming.toHub(n), t])) });
  return fusionDir;
}

/**
 * Copies the fused adapters into the run (`adapters/<name>/`) when it starts: the run then
 * holds everything it is made of, so resuming, evaluating and exporting it never depend on
 * where the adapters came from (or on which run of an experiment is the latest by then).
 */
export function copyFusedAdapters(runDir: string, adapters: readonly LoadedFusedAdapter[]): void {
  for (const a of adapters) {
    const dest = path.join(runDir, FUSION_RUN_DIRS.adapters, a.fused.name);
    fs.mkdirSync(dest, { recursive: true });
    for (const file of fs.readdirSync(a.folder.dir)) {
      const src = path.join(a.folder.dir, file);
      if (fs.statSync(src).isFile()) writeAtomic(path.join(dest, file), fs.readFileSync(src));
    }
  }
}

/** The fused adapters a run copied, in the order it fuses them. */
export function readFusedCopies(runDir: string, order: readonly string[], dims: BertDims): LoadedFusedAdapter[] {
  return order.map((name) => readFusedAdapter(path.join(runDir, FUSION_RUN_DIRS.adapters, name), dims));
}

/**
 * A fusion run's weights under the engine's names (fused adapters, fusion layers, head),
 * checked against the model the run builds.
 */
export function readFusionRun(runDir: string, dims: BertDims, spec: ModelSpec, headName: string): Map<string, FloatTensor> {
  const fusion = spec.fusion;
  if (!fusion) throw new Error('readFusionRun: the spec has no fusion');
  const weights = new Map<string, FloatTensor>();
  const copies = readFusedCopies(runDir, fusion.adapters.map((a) => a.name), dims);
  for (const loaded of copies) {
    const want = fusion.adapters.find((a) => a.name === loaded.fused.name);
    if (!want) throw new AdapterFolderError(loaded.folder.dir, `holds adapter "${loaded.fused.name}", which the run does not fuse`);
    const input = want.adapter.input ?? 'output';
    if ((loaded.fused.adapter.input ?? 'output') !== input) throw new AdapterFolderError(path.join(loaded.folder.dir, 'adapter_config.json'), `adapter "${loaded.fused.name}" reads ${inputWords(loaded.fused.adapter.input ?? 'output')}, but the run fused it reading ${inputWords(input)}`);
    for (const [n, t] of loaded.weights) weights.set(n, t);
  }
  const dir = path.join(runDir, FUSION_RUN_DIRS.fusion);
  const folder = readFusionFolder(dir);
  checkFusedPlacement(copies, { file: path.join(dir, FUSION_FILES.config), input: folder.adapterInput });
  checkFusionWeights(folder, fusion, dims.hiddenSize);
  for (const [n, t] of folder.weights) weights.set(n, t);
  for (const [n, t] of readFusionHead(dir, headName)) weights.set(n, t);
  const shapes = parameterShapes(spec);
  for (const [n, t] of weights) {
    const want = shapes.get(n);
    if (want && (want.length !== t.shape.length || want.some((x, i) => x !== t.shape[i]))) throw new AdapterFolderError(runDir, `parameter ${n} has shape [${t.shape.join(', ')}], but the model needs [${want.join(', ')}]`);
  }
  return weights;
}

/**
 * The head saved beside a fusion (head_config.json and model_head.safetensors, else
 * AdapterHub's pytorch_model_head.bin), under the engine's names: `heads.{headName}.1.…` and,
 * for a classification head, the pooler (`bert.pooler.dense.…`).
 */
export function readFusionHead(dir: string, headName: string): Map<string, FloatTensor> {
  const head = readHeadConfig(dir);
  const naming = hubNaming(headName, head.kind);
  const safe = path.join(dir, 'model_head.safetensors');
  const file = fs.existsSync(safe) || !fs.existsSync(path.join(dir, 'pytorch_model_head.bin')) ? safe : path.join(dir, 'pytorch_model_head.bin');
  const weights = new Map<string, FloatTensor>();
  const f = openWeightsFile(file);
  try {
    for (const info of f.tensors) {
      const internal = naming.toInternal(info.name);
      if (!internal) throw new AdapterFolderError(file, `tensor "${info.name}" is not a parameter of head "${headName}" (expected heads.${headName}.1.weight|bias)`);
      weights.set(internal, f.readFloat(info.name));
    }
  } finally {
    f.close();
  }
  return weights;
}

/** The head's name in a head_config.json (`name`), as AdapterHub writes it. */
export function headNameOf(dir: string): string {
  const file = path.join(dir, 'head_config.json');
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new AdapterFolderError(file, fs.existsSync(file) ? `is not valid JSON (${(e as Error).message})` : 'is missing: a fusion is imported with its head');
  }
  const name = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).name : undefined;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(name)) throw new AdapterFolderError(file, 'field "name" must be the head\'s name (letters, digits, _ and -)');
  return name;
}

function headKindOf(spec: ModelSpec): HeadKind {
  const kind = spec.head.kind;
  if (kind === 'mlm') throw new Error('a fusion for masked-LM is not saved in the AdapterHub layout');
  return kind;
}

/**
 * A fusion run exported as AdapterHub's `save_all_adapters` leaves it: `dest/<adapter>/` for
 * each fused adapter (exportAdapterFolder: safetensors and PyTorch files) and `dest/fusion/`
 * with the fusion and its head. A non-empty `dest` is replaced only with `force`.
 */
export function exportFusionRun(runDir: string, dest: string, opts: { readonly force?: boolean } = {}): { readonly dir: string; readonly bytes: number } {
  const fusionDir = path.join(runDir, FUSION_RUN_DIRS.fusion);
  const folder = readFusionFolder(fusionDir);
  const target = path.resolve(dest);
  const existing = fs.existsSync(target) ? fs.readdirSync(target) : [];
  if (existing.length > 0 && !opts.force) throw new AdapterFolderError(target, 'is not empty; add --force to replace it');
  if (existing.length > 0) fs.rmSync(target, { recursive: true, force: true });
  let bytes = 0;
  for (const name of folder.adapterNames) bytes += exportAdapterFolder(path.join(runDir, FUSION_RUN_DIRS.adapters, name), path.join(target, name)).bytes;
  fs.mkdirSync(path.join(target, FUSION_RUN_DIRS.fusion), { recursive: true });
  for (const file of fs.readdirSync(fusionDir)) {
    const data = fs.readFileSync(path.join(fusionDir, file));
    writeAtomic(path.join(target, FUSION_RUN_DIRS.fusion, file), data);
    bytes += data.length;
  }
  return { dir: target, bytes };
}
