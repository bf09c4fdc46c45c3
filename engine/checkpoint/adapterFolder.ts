/**
 * The saved adapter folder, in a layout close to AdapterHub's (the `adapters` library's
 * `save_adapter` / `load_adapter`):
 *
 *   adapter_config.json     AdapterHub's bottleneck config (Houlsby placement) + `adapter_lab`
 *   adapter.safetensors     adapters and any trained base weights, under hub names
 *   head_config.json        AdapterHub's prediction-head config + `adapter_lab`
 *   model_head.safetensors  the task head, under hub names (`heads.{name}.1.…`)
 *
 * Names are mapped by engine/model/hubNames.ts. Reading validates everything it uses and
 * fails with an AdapterFolderError that names the file and the field: a run folder, an
 * export and an import all go through here, so a damaged or foreign folder is refused
 * before it becomes a model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError, openSafetensors, writeSafetensors } from './safetensors';
import type { Experiment } from '../config/experiment';
import { layersOf } from '../config/layers';
import { DROP_MODES, METHODS, METRICS, METRICS_BY_KIND, SITES, TASK_KINDS, type DropMode, type Method, type Metric, type NonLinearity, type Site, type TaskKind } from '../config/schema';
import { parameterShapes, type ModelSpec } from '../model/bert';
import { BUILTIN_PREFIX, type BertDims } from '../model/dims';
import { hubNaming, isValidAdapterName, type HeadKind, type HubNaming } from './hubNames';
import { writeAtomic } from '../runs/store';
import type { FloatTensor } from '../tensor';
import { ENGINE_VERSION } from '../version';

export const ADAPTER_FILES = {
  config: 'adapter_config.json',
  weights: 'adapter.safetensors',
  headConfig: 'head_config.json',
  headWeights: 'model_head.safetensors',
} as const;

/** A missing, malformed or mismatched adapter folder; the message starts with the file. */
export class AdapterFolderError extends Error {
  readonly file: string;

  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'AdapterFolderError';
    this.file = file;
  }
}

/** What a saved adapter records about how it was trained: enough to rebuild its model. */
export interface AdapterSettings {
  readonly method: Method;
  readonly adapter: {
    readonly size: number;
    readonly sites: readonly Site[];
    /** Layers selected for adapters, before static AdapterDrop removes `drop.layers`. */
    readonly layers: readonly number[];
    readonly nonLinearity: NonLinearity;
    readonly initStd: number;
    readonly trainLayerNorm: boolean;
  };
  readonly drop: { readonly layers: readonly number[]; readonly mode: DropMode };
  readonly topK: number | undefined;
  /** The task's columns and metric: what `evaluate` and `predict` need to read data. */
  readonly task: { readonly kind: TaskKind; readonly text: readonly string[]; readonly label: string | undefined; readonly metric: Metric; readonly maxLength: number };
}

/** A trained adapter to write. */
export interface SavedAdapter {
  /** The adapter name inside the hub names (see hubNames.isValidAdapterName). */
  readonly name: string;
  /** `builtin:<name>` or a model folder. */
  readonly modelRef: string;
  readonly dims: BertDims;
  /** The base model's hidden dropout: AdapterHub builds the head's dropout layer from it. */
  readonly headDropout: number;
  readonly settings: AdapterSettings;
  readonly spec: ModelSpec;
  readonly trainable: readonly string[];
  /** Every trainable parameter, under the engine's names. */
  readonly weights: ReadonlyMap<string, FloatTensor>;
  readonly trainableParameters: number;
  /** Classification: labels[i] is class i. */
  readonly labels: readonly string[] | undefined;
}

/** A saved adapter as read back. */
export interface AdapterFolder {
  readonly dir: string;
  readonly name: string;
  /** `model_name`: a Hugging Face model id, a folder's name or `builtin:<name>`. */
  readonly modelName: string | undefined;
  /** `adapter_lab.model`: the reference the adapter was trained on, as the engine wrote it. */
  readonly modelRef: string | undefined;
  readonly hiddenSize: number;
  readonly leaveOut: readonly number[];
  readonly settings: AdapterSettings;
  readonly head: { readonly kind: HeadKind; readonly numLabels: number; readonly labels: readonly string[] | undefined };
  /** Every tensor of both weight files, under the engine's names. */
  readonly weights: ReadonlyMap<string, FloatTensor>;
  readonly trainableParameters: number | undefined;
}

/** What a base model expects of the folder: its shape, the model the run builds and what it trains. */
export interface ModelExpectation {
  readonly dims: BertDims;
  readonly spec: ModelSpec;
  readonly trainable: readonly string[];
}

/** The settings of an experiment, with layer selections resolved against the model's layer count. */
export function adapterSettingsOf(e: Experiment, layers: number): AdapterSettings {
  return {
    method: e.method,
    adapter: { size: e.adapter.size, sites: e.adapter.sites, layers: layersOf(e.adapter.layers, layers), nonLinearity: e.adapter.nonLinearity, initStd: e.adapter.initStd, trainLayerNorm: e.adapter.trainLayerNorm },
    drop: { layers: layersOf(e.drop.layers, layers), mode: e.drop.mode },
    topK: e.method === 'top_k' ? e.topK ?? 1 : undefined,
    task: { kind: e.task.kind, text: e.task.text, label: e.task.label, metric: e.task.metric, maxLength: e.task.maxLength },
  };
}

/** `model_name` as AdapterHub writes it (a model id): a built-in reference, or the model folder's name. */
export function modelNameOf(ref: string): string {
  return ref.startsWith(BUILTIN_PREFIX) ? ref : path.basename(path.resolve(ref));
}

/**
 * The Houlsby placement in AdapterHub's terms (its DoubleSeqBnConfig): the adapter takes the
 * sub-layer's projected output, adds its own residual, and the layer's original post-LN
 * residual add and layer norm follow. Values other than these describe a different graph.
 */
const HOULSBY_PLACEMENT = {
  original_ln_before: false,
  original_ln_after: true,
  residual_before_ln: true,
  adapter_residual_before_ln: false,
  ln_before: false,
  ln_after: false,
  is_parallel: false,
  scaling: 1.0,
  use_gating: false,
  phm_layer: false,
} as const;

/** AdapterHub's activation names (Hugging Face's ACT2FN keys) that the engine computes. */
const NON_LINEARITY_OF: Readonly<Record<string, NonLinearity>> = { gelu: 'gelu', relu: 'relu', swish: 'swish', silu: 'swish', tanh: 'tanh' };

/** The class whose state dict holds these names (`bert.…`, `heads.…`): AdapterHub's BertAdapterModel. */
const MODEL_CLASS = 'BertAdapterModel';

/** Read when writing, not at load: job.ts (which defines the version) imports this module. */
const hubVersion = (): string => `adapter-lab/${ENGINE_VERSION}`;

/** Writes the folder (each file atomically). The folder is created if needed. */
export function writeAdapterFolder(dir: string, a: SavedAdapter): void {
  const headKind = a.spec.head.kind;
  if (headKind === 'mlm') throw new Error('a masked-LM run is saved as a Hugging Face model folder, not as an adapter folder');
  const naming = hubNaming(a.name, headKind);
  const d = a.dims.hiddenSize;
  const isHead = (n: string) => naming.toHub(n).startsWith('heads.');
  const body = new Map<string, FloatTensor>();
  const head = new Map<string, FloatTensor>();
  for (const name of a.trainable) {
    const t = a.weights.get(name);
    if (!t) throw new Error(`no weights for the trained parameter ${name}`);
    (isHead(name) ? head : body).set(naming.toHub(name), t);
  }
  const adapterLayers = a.spec.adapters?.layers ?? [];
  const common = { hidden_size: d, model_class: MODEL_CLASS, model_name: modelNameOf(a.modelRef), model_type: 'bert', name: a.name, version: hubVersion() };
  const s = a.settings;
  const adapterConfig = {
    config: {
      architecture: 'bottleneck',
      mh_adapter: s.adapter.sites.includes('attention'),
      output_adapter: s.adapter.sites.includes('ffn'),
      reduction_factor: d / s.adapter.size,
      non_linearity: s.adapter.nonLinearity,
      ...HOULSBY_PLACEMENT,
      init_weights: 'houlsby',
      leave_out: Array.from({ length: a.dims.layers }, (_, i) => i).filter((l) => !adapterLayers.includes(l)),
      dropout: 0.0,
      inv_adapter: null,
      inv_adapter_reduction_factor: null,
      cross_adapter: false,
    },
    ...common,
    adapter_lab: {
      method: s.method,
      model: a.modelRef,
      bottleneck_size: s.adapter.size,
      sites: s.adapter.sites,
      adapter_layers: s.adapter.layers,
      init_std: s.adapter.initStd,
      train_layernorm: s.adapter.trainLayerNorm,
      drop: { layers: s.drop.layers, mode: s.drop.mode },
      top_k: s.topK ?? null,
      task: { kind: s.task.kind, text: s.task.text, label: s.task.label ?? null, metric: s.task.metric, max_length: s.task.maxLength },
      trainable_parameters: a.trainableParameters,
      parameter_names: [...body.keys()],
    },
  };
  const span = a.spec.head.kind === 'span';
  const headConfig = {
    config: {
      head_type: span ? 'question_answering' : 'classification',
      num_labels: a.spec.head.kind === 'classification' || a.spec.head.kind === 'regression' ? a.spec.head.numLabels : 2,
      layers: 1,
      activation_function: null,
      label2id: a.labels ? Object.fromEntries(a.labels.map((l, i) => [l, i])) : null,
      use_pooler: !span,
      bias: true,
      dropout_prob: a.headDropout,
    },
    ...common,
    adapter_lab: { task: s.task.kind, parameter_names: [...head.keys()] },
  };
  fs.mkdirSync(dir, { recursive: true });
  // `format: pt` as PyTorch's safetensors writer sets it: Hugging Face loaders check it, and
  // the tensors are laid out as torch's (Linear weights [out, in]).
  writeSafetensors(path.join(dir, ADAPTER_FILES.weights), body, { format: 'pt', producer: hubVersion() });
  writeSafetensors(path.join(dir, ADAPTER_FILES.headWeights), head, { format: 'pt', producer: hubVersion() });
  writeAtomic(path.join(dir, ADAPTER_FILES.config), jsonWithFloats(adapterConfig, ['scaling', 'dropout']));
  writeAtomic(path.join(dir, ADAPTER_FILES.headConfig), jsonWithFloats(headConfig, ['dropout_prob']));
}

/**
 * JSON with the named number fields written as floats (`1.0`, not `1`): AdapterHub checks
 * `isinstance(scaling, float)`, and Python reads `1` as an int.
 */
function jsonWithFloats(value: unknown, keys: readonly string[]): string {
  let text = JSON.stringify(value, null, 2) + '\n';
  for (const key of keys) text = text.replace(new RegExp(`("${key}": )(-?\\d+)(,?\\n)`, 'g'), '$1$2.0$3');
  return text;
}

/**
 * Reads and validates a saved adapter. With `expect`, also checks it against the base model
 * and the run it goes into: hidden size, every trained parameter present with its shape,
 * nothing else.
 */
export function readAdapterFolder(dir: string, expect?: ModelExpectation): AdapterFolder {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new AdapterFolderError(dir, 'no such adapter folder');
  }
  if (!st.isDirectory()) throw new AdapterFolderError(dir, 'is not a folder (an adapter is a folder with adapter_config.json and adapter.safetensors)');
  const file = (name: string) => path.join(dir, name);
  const config = new Fields(file(ADAPTER_FILES.config), readJsonObject(file(ADAPTER_FILES.config)));
  if (!config.has('config') && config.has('parameter_names')) throw config.error('', 'is in the flat layout of earlier Adapter Lab versions; train the run again to save it in the AdapterHub layout');
  const c = config.object('config');
  const architecture = c.optional('architecture', 'a string', (v): v is string => typeof v === 'string');
  if (architecture !== undefined && architecture !== 'bottleneck') throw c.error('architecture', `is "${architecture}"; only bottleneck adapters can be loaded`);
  for (const [key, want] of Object.entries(HOULSBY_PLACEMENT)) {
    const v = c.raw(key);
    if (v !== undefined && v !== want) throw c.error(key, `is ${JSON.stringify(v)}; the engine's adapters are placed as Houlsby's (${key}: ${JSON.stringify(want)})`);
  }
  const mh = c.boolean('mh_adapter');
  const output = c.boolean('output_adapter');
  if (typeof c.raw('reduction_factor') === 'object' && c.raw('reduction_factor') !== null) throw c.error('reduction_factor', 'is a per-layer mapping; only one reduction factor for every layer is supported');
  const reduction = c.number('reduction_factor', (n) => n > 0, 'a positive number');
  const activation = c.string('non_linearity');
  const nonLinearity = NON_LINEARITY_OF[activation.toLowerCase()];
  if (!nonLinearity) throw c.error('non_linearity', `is "${activation}"; the engine computes ${Object.keys(NON_LINEARITY_OF).join(', ')}`);
  const leaveOut = c.optional('leave_out', 'a list of layer indices', isIndexList) ?? [];
  const hiddenSize = config.number('hidden_size', (n) => Number.isInteger(n) && n > 0, 'a positive integer');
  const name = config.string('name');
  if (!isValidAdapterName(name)) throw config.error('name', `is "${name}"; an adapter name has letters, digits, _ and - only`);
  const modelName = config.optional('model_name', 'a string', (v): v is string => typeof v === 'string');
  const lab = config.has('adapter_lab') ? config.object('adapter_lab') : undefined;

  const headFields = new Fields(file(ADAPTER_FILES.headConfig), readJsonObject(file(ADAPTER_FILES.headConfig)));
  const h = headFields.object('config');
  const headType = h.string('head_type');
  if (headType !== 'classification' && headType !== 'question_answering') throw h.error('head_type', `is "${headType}"; the engine has classification (and regression) and question_answering heads`);
  const numLabels = h.number('num_labels', (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
  const headLayers = h.optional('layers', 'an integer', (v): v is number => typeof v === 'number') ?? 1;
  if (headLayers !== 1) throw h.error('layers', `is ${headLayers}; the engine's heads are one linear layer`);
  if (headType === 'classification' && h.raw('use_pooler') !== true) throw h.error('use_pooler', 'must be true: the engine classifies the pooled [CLS] state, as BertForSequenceClassification');
  if (headType === 'question_answering' && numLabels !== 2) throw h.error('num_labels', `is ${numLabels}; a span head has 2 outputs (start and end)`);
  const labTask = headFields.has('adapter_lab') ? headFields.object('adapter_lab').optional('task', 'a task kind', (v): v is Exclude<TaskKind, 'mlm'> => v !== 'mlm' && (TASK_KINDS as readonly unknown[]).includes(v)) : undefined;
  const kind: HeadKind = headType === 'question_answering' ? 'span' : labTask ?? (numLabels === 1 ? 'regression' : 'classification');
  if ((kind === 'span') !== (headType === 'question_answering')) throw headFields.error('adapter_lab.task', `is "${labTask}" but head_type is "${headType}"`);
  const labels = labelsOf(h, numLabels, kind);

  const naming = hubNaming(name, kind);
  const weights = new Map<string, FloatTensor>();
  readWeights(file(ADAPTER_FILES.weights), naming, weights, false);
  readWeights(file(ADAPTER_FILES.headWeights), naming, weights, true);

  const settings = lab ? settingsFromLab(lab, kind, nonLinearity) : settingsInferred(weights, mh, output, nonLinearity, hiddenSize, reduction, kind);
  if (settings.method === 'adapter') {
    if (settings.adapter.sites.includes('attention') !== mh) throw c.error('mh_adapter', `is ${mh} but adapter_lab.sites is ${JSON.stringify(settings.adapter.sites)}`);
    if (settings.adapter.sites.includes('ffn') !== output) throw c.error('output_adapter', `is ${output} but adapter_lab.sites is ${JSON.stringify(settings.adapter.sites)}`);
  }
  if (lab) {
    const listed = lab.optional('parameter_names', 'a list of names', isStringList);
    if (listed) {
      for (const hub of listed) {
        const internal = naming.toInternal(hub);
        if (internal === undefined || !weights.has(internal)) throw new AdapterFolderError(file(ADAPTER_FILES.weights), `parameter "${hub}" (listed in ${ADAPTER_FILES.config}, adapter_lab.parameter_names) is missing`);
      }
    }
  }
  const trainableParameters = lab?.optional('trainable_parameters', 'an integer', (v): v is number => typeof v === 'number' && Number.isInteger(v));
  const folder: AdapterFolder = { dir, name, modelName, modelRef: lab?.optional('model', 'a string', (v): v is string => typeof v === 'string'), hiddenSize, leaveOut, settings, head: { kind, numLabels, labels }, weights, trainableParameters };
  if (expect) checkAdapterFolder(folder, expect);
  return folder;
}

/** Checks a folder against the base model and the run it goes into; throws AdapterFolderError. */
export function checkAdapterFolder(folder: AdapterFolder, expect: ModelExpectation): void {
  const configFile = path.join(folder.dir, ADAPTER_FILES.config);
  if (folder.hiddenSize !== expect.dims.hiddenSize) throw new AdapterFolderError(configFile, `hidden_size is ${folder.hiddenSize}, but the base model's hidden size is ${expect.dims.hiddenSize}`);
  // Settings the weights cannot check: they must still fit the base model.
  const { layers, maxPositions } = expect.dims;
  const s = folder.settings;
  if (s.task.maxLength > maxPositions) throw new AdapterFolderError(configFile, `adapter_lab.task.max_length is ${s.task.maxLength}, but the base model has ${maxPositions} position embeddings`);
  for (const [field, list] of [['adapter_lab.adapter_layers', s.adapter.layers], ['adapter_lab.drop.layers', s.drop.layers], ['config.leave_out', folder.leaveOut]] as const) {
    const bad = list.find((l) => !Number.isInteger(l) || l < 0 || l >= layers);
    if (bad !== undefined) throw new AdapterFolderError(configFile, `${field} names layer ${bad}, but the base model has layers 0..${layers - 1}`);
  }
  const naming = hubNaming(folder.name, folder.head.kind);
  const fileOf = (internal: string) => path.join(folder.dir, naming.toHub(internal).startsWith('heads.') ? ADAPTER_FILES.headWeights : ADAPTER_FILES.weights);
  const shapes = parameterShapes(expect.spec);
  const wanted = new Set(expect.trainable);
  for (const name of expect.trainable) {
    const t = folder.weights.get(name);
    if (!t) throw new AdapterFolderError(fileOf(name), `parameter "${naming.toHub(name)}" is missing (the ${folder.settings.method} method trains it)`);
    const shape = shapes.get(name);
    if (shape && !sameShape(shape, t.shape)) throw new AdapterFolderError(fileOf(name), `parameter "${naming.toHub(name)}" has shape [${t.shape.join(', ')}], but the model needs [${shape.join(', ')}]`);
  }
  for (const name of folder.weights.keys()) {
    if (!wanted.has(name)) throw new AdapterFolderError(fileOf(name), `parameter "${naming.toHub(name)}" is not trained by the ${folder.settings.method} method with these settings`);
  }
}

/**
 * Copies a saved adapter to `dest` as one step: the files go to a temporary folder beside
 * it, which is renamed into place, so `dest` never holds a partial adapter. A non-empty
 * `dest` is replaced only with `force`. The source is validated first.
 */
export function exportAdapterFolder(src: string, dest: string, opts: { readonly force?: boolean } = {}): { readonly dir: string; readonly bytes: number } {
  readAdapterFolder(src);
  const target = path.resolve(dest);
  let existing: string[] | undefined;
  try {
    existing = fs.readdirSync(target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') throw new AdapterFolderError(target, 'exists and is not a folder');
    if (code !== 'ENOENT') throw new AdapterFolderError(target, `cannot be read (${code ?? (e as Error).message})`);
  }
  if (existing && existing.length > 0 && !opts.force) throw new AdapterFolderError(target, 'is not empty; add --force to replace it');
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const stamp = `${process.pid}-${Date.now()}`;
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${stamp}.tmp`);
  let bytes = 0;
  try {
    fs.mkdirSync(tmp);
    for (const name of Object.values(ADAPTER_FILES)) {
      const data = fs.readFileSync(path.join(src, name));
      writeAtomic(path.join(tmp, name), data);
      bytes += data.length;
    }
    if (existing) {
      // Moved aside rather than deleted first, so a failed rename leaves the old adapter.
      const old = path.join(path.dirname(target), `.${path.basename(target)}.${stamp}.old`);
      fs.renameSync(target, old);
      try {
        fs.renameSync(tmp, target);
      } catch (e) {
        fs.renameSync(old, target);
        throw e;
      }
      fs.rmSync(old, { recursive: true, force: true });
    } else fs.renameSync(tmp, target);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { dir: target, bytes };
}

// --- reading helpers -------------------------------------------------------------------

function readJsonObject(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new AdapterFolderError(file, code === 'ENOENT' ? 'is missing' : `cannot be read (${code ?? (e as Error).message})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new AdapterFolderError(file, `is not valid JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AdapterFolderError(file, `is not a JSON object (found ${Array.isArray(value) ? 'a list' : value === null ? 'null' : typeof value})`);
  return value as Record<string, unknown>;
}

/** Typed access to one JSON object's fields, with errors that name the file and the field's path. */
class Fields {
  constructor(
    readonly file: string,
    private readonly value: Record<string, unknown>,
    private readonly prefix = '',
  ) {}

  error(key: string, message: string): AdapterFolderError {
    const where = this.prefix + key;
    return new AdapterFolderError(this.file, where ? `field "${where}" ${message}` : message);
  }

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.value, key);
  }

  raw(key: string): unknown {
    return this.has(key) ? this.value[key] : undefined;
  }

  private required<T>(key: string, what: string, ok: (v: unknown) => v is T): T {
    if (!this.has(key)) throw this.error(key, `is missing (${what})`);
    const v = this.value[key];
    if (!ok(v)) throw this.error(key, `is ${JSON.stringify(v)}; expected ${what}`);
    return v;
  }

  optional<T>(key: string, what: string, ok: (v: unknown) => v is T): T | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null) return undefined;
    if (!ok(v)) throw this.error(key, `is ${JSON.stringify(v)}; expected ${what}`);
    return v;
  }

  object(key: string): Fields {
    const v = this.required(key, 'an object', (x): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x));
    return new Fields(this.file, v, `${this.prefix}${key}.`);
  }

  boolean(key: string): boolean {
    return this.required(key, 'true or false', (v): v is boolean => typeof v === 'boolean');
  }

  string(key: string): string {
    return this.required(key, 'a string', (v): v is string => typeof v === 'string' && v !== '');
  }

  number(key: string, ok: (n: number) => boolean, what: string): number {
    return this.required(key, what, (v): v is number => typeof v === 'number' && Number.isFinite(v) && ok(v));
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    return this.required(key, `one of ${values.join(', ')}`, (v): v is T => (values as readonly unknown[]).includes(v));
  }
}

const isIndexList = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Reads one weights file into `into` under the engine's names; head names belong in the head file only. */
function readWeights(file: string, naming: HubNaming, into: Map<string, FloatTensor>, headFile: boolean): void {
  let f;
  try {
    f = openSafetensors(file);
  } catch (e) {
    throw asFolderError(file, e);
  }
  try {
    for (const info of f.tensors) {
      const internal = naming.toInternal(info.name);
      const isHead = info.name.startsWith('heads.');
      if (internal === undefined || isHead !== headFile) {
        const expected = headFile ? `heads.${naming.adapterName}.1.weight|bias` : `bert.… or bert.encoder.layer.{i}.…adapters.${naming.adapterName}.adapter_down.0|adapter_up.…`;
        throw new AdapterFolderError(file, `tensor "${info.name}" is not a parameter this file can hold (expected names like ${expected})`);
      }
      try {
        into.set(internal, f.readFloat(info.name));
      } catch (e) {
        throw asFolderError(file, e);
      }
    }
  } finally {
    f.close();
  }
}

function asFolderError(file: string, e: unknown): AdapterFolderError {
  if (e instanceof AdapterFolderError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const prefix = e instanceof CheckpointError ? `${e.file}: ` : '';
  return new AdapterFolderError(file, message.startsWith(prefix) ? message.slice(prefix.length) : message);
}

/** label2id as labels[i] = the label of class i; every id 0..n−1 exactly once. */
function labelsOf(h: Fields, numLabels: number, kind: HeadKind): readonly string[] | undefined {
  const raw = h.optional('label2id', 'an object of label → class id', (v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
  if (!raw || kind !== 'classification') return undefined;
  const labels: string[] = new Array<string>(numLabels);
  for (const [label, id] of Object.entries(raw)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= numLabels || labels[id] !== undefined) throw h.error('label2id', `maps "${label}" to ${JSON.stringify(id)}; ids must be 0..${numLabels - 1}, each once`);
    labels[id] = label;
  }
  if (Object.keys(raw).length !== numLabels) throw h.error('label2id', `has ${Object.keys(raw).length} labels but num_labels is ${numLabels}`);
  return labels;
}

function settingsFromLab(lab: Fields, kind: HeadKind, nonLinearity: NonLinearity): AdapterSettings {
  const method = lab.oneOf('method', METHODS);
  const drop = lab.object('drop');
  const task = lab.object('task');
  const taskKind = task.oneOf('kind', TASK_KINDS);
  if (taskKind !== kind) throw task.error('kind', `is "${taskKind}" but the head is for ${kind}`);
  const metric = task.oneOf('metric', METRICS);
  if (!METRICS_BY_KIND[taskKind].includes(metric)) throw task.error('metric', `is "${metric}", which is not a ${taskKind} metric`);
  const sites = lab.optional('sites', 'a list of sites', (v): v is Site[] => Array.isArray(v) && v.every((s) => (SITES as readonly unknown[]).includes(s))) ?? [];
  return {
    method,
    adapter: {
      size: lab.number('bottleneck_size', (n) => Number.isInteger(n) && n >= 1, 'a positive integer'),
      sites,
      layers: lab.optional('adapter_layers', 'a list of layer indices', isIndexList) ?? [],
      // config.non_linearity; adapter_lab does not repeat it.
      nonLinearity,
      initStd: lab.optional('init_std', 'a positive number', (v): v is number => typeof v === 'number' && v > 0) ?? 0.01,
      trainLayerNorm: lab.optional('train_layernorm', 'true or false', (v): v is boolean => typeof v === 'boolean') ?? false,
    },
    drop: { layers: drop.optional('layers', 'a list of layer indices', isIndexList) ?? [], mode: drop.oneOf('mode', DROP_MODES) },
    topK: lab.optional('top_k', 'a positive integer', (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1),
    task: {
      kind: taskKind,
      text: task.optional('text', 'a list of column names', isStringList) ?? [],
      label: task.optional('label', 'a column name', (v): v is string => typeof v === 'string'),
      metric,
      maxLength: task.number('max_length', (n) => Number.isInteger(n) && n >= 8, 'an integer ≥ 8'),
    },
  };
}

/**
 * Settings for a folder written by AdapterHub itself (no `adapter_lab` block): a Houlsby
 * adapter in the layers whose weights the file holds, the bottleneck size from the
 * weights' shapes, layer norms trained when the file holds them. The task's columns are
 * the engine's conventions (`sentence`, `label`; `sentence1`/`sentence2` are not guessed).
 */
function settingsInferred(weights: ReadonlyMap<string, FloatTensor>, mh: boolean, output: boolean, nonLinearity: NonLinearity, hiddenSize: number, reduction: number, kind: HeadKind): AdapterSettings {
  const layers = new Set<number>();
  let size: number | undefined;
  let layerNorms = false;
  for (const [name, t] of weights) {
    const m = /^encoder\.layer\.(\d+)\..*\.adapter\.down\.weight$/.exec(name);
    if (m) {
      layers.add(Number(m[1]));
      size = t.shape[0];
    }
    if (name.includes('LayerNorm')) layerNorms = true;
  }
  return {
    method: 'adapter',
    adapter: {
      size: size ?? Math.max(1, Math.floor(hiddenSize / reduction)),
      sites: [...(mh ? (['attention'] as const) : []), ...(output ? (['ffn'] as const) : [])],
      layers: [...layers].sort((a, b) => a - b),
      nonLinearity,
      initStd: 0.01,
      trainLayerNorm: layerNorms,
    },
    drop: { layers: [], mode: 'static' },
    topK: undefined,
    task: { kind, text: kind === 'span' ? [] : ['sentence'], label: kind === 'span' ? undefined : 'label', metric: METRICS_BY_KIND[kind][0]!, maxLength: 128 },
  };
}
