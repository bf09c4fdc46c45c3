/**
 * The saved adapter folder, in a layout close to AdapterHub's (the `adapters` library's
 * `save_adapter` / `load_adapter`):
 *
 *   adapter_config.json     AdapterHub's bottleneck config (Houlsby placement) + `adapter_lab`
 *   adapter.safetensors     adapters and any trained base weights, under hub names
 *   head_config.json        AdapterHub's prediction-head config + `adapter_lab`
 *   model_head.safetensors  the task head, under hub names (`heads.{name}.1.…`; a language
 *                           adapter's masked-LM head `heads.{name}.0|2|3.…`)
 *
 * Names are mapped by engine/model/hubNames.ts. Reading validates everything it uses and
 * fails with an AdapterFolderError that names the file and the field: a run folder, an
 * export and an import all go through here, so a damaged or foreign folder is refused
 * before it becomes a model.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CheckpointError, writeSafetensors } from './safetensors';
import { bottleneckSize, pythonFloorDiv, type Experiment } from '../config/experiment';
import { layersOf } from '../config/layers';
import {
  DROP_MODES,
  METHODS,
  METRICS,
  METRICS_BY_KIND,
  SHARES,
  SITES,
  TASK_KINDS,
  type DropMode,
  type Method,
  type Metric,
  type NonLinearity,
  type Scaling,
  type Share,
  type Site,
  type TaskKind,
} from '../config/schema';
import { parameterShapes, type ModelSpec } from '../model/bert';
import { BUILTIN_PREFIX, type BertDims } from '../model/dims';
import * as names from '../model/names';
import { hubNaming, isValidAdapterName, type HeadKind, type HubLayout, type HubNaming } from './hubNames';
import { writePytorchCheckpoint } from './pytorchWriter';
import { openWeightsFile } from './weightsFile';
import { writeAtomic } from '../runs/store';
import type { FloatTensor } from '../tensor';
import { ENGINE_VERSION } from '../version';

export const ADAPTER_FILES = {
  config: 'adapter_config.json',
  weights: 'adapter.safetensors',
  headConfig: 'head_config.json',
  headWeights: 'model_head.safetensors',
} as const;

/**
 * AdapterHub's default weight files, PyTorch checkpoints (`save_adapter` writes safetensors
 * only when asked): read when the safetensors file is absent.
 */
export const PYTORCH_ADAPTER_FILES = { weights: 'pytorch_adapter.bin', headWeights: 'pytorch_model_head.bin' } as const;

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
  /** The experiment's adapter settings, resolved against the model (the preset already applied). */
  readonly adapter: Omit<Experiment['adapter'], 'preset' | 'size' | 'layers'> & {
    readonly size: number;
    /** Layers selected for adapters, before static AdapterDrop removes `drop.layers`. */
    readonly layers: readonly number[];
    /** AdapterHub's reduction factor when the size came from one (written back as it was). */
    readonly reductionFactor: number | undefined;
    /** AdapterHub's `init_weights` (how the weights started; no effect on loading). */
    readonly initWeights: string;
  };
  readonly drop: { readonly layers: readonly number[]; readonly mode: DropMode };
  readonly topK: number | undefined;
  /**
   * The task's columns and metric: what `evaluate` and `predict` need to read data. A folder
   * AdapterHub wrote has no max length: the base model's positions are used then.
   */
  readonly task: { readonly kind: TaskKind; readonly text: readonly string[]; readonly label: string | undefined; readonly metric: Metric; readonly maxLength: number | undefined };
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
  /**
   * Every trainable parameter, under the engine's names; for a masked-LM head also its
   * frozen transform and layer norm (see MLM_HEAD_PARTS), so that the saved head is whole.
   */
  readonly weights: ReadonlyMap<string, FloatTensor>;
  readonly trainableParameters: number;
  /** Classification: labels[i] is class i. */
  readonly labels: readonly string[] | undefined;
  /** The base model's vocabulary fingerprint (tokenizer/checksum.ts), for fusions to check against. */
  readonly vocabularyChecksum?: string;
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

/** The settings of an experiment, with layer selections and the bottleneck size resolved against the model. */
export function adapterSettingsOf(e: Experiment, dims: BertDims): AdapterSettings {
  const layers = dims.layers;
  const a = e.adapter;
  return {
    method: e.method,
    adapter: {
      size: bottleneckSize(a.size, dims.hiddenSize),
      sites: a.sites,
      layers: layersOf(a.layers, layers),
      nonLinearity: a.nonLinearity,
      initStd: a.initStd,
      trainLayerNorm: a.trainLayerNorm,
      placement: a.placement,
      input: a.input,
      scaling: a.scaling,
      innerNorm: a.innerNorm,
      depth: a.depth,
      share: a.share,
      reductionFactor: typeof a.size === 'number' ? undefined : a.size.reductionFactor,
      initWeights: 'houlsby',
    },
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
 * AdapterHub config fields with one value here: the layer's original residual add and layer
 * norm follow the adapter (`original_ln_after`), no layer norm after the up projection, no
 * gating, no PHM layers, no invertible or cross adapters. Other values describe a graph the
 * engine does not build, and are refused with the field named.
 */
const FIXED_FIELDS: Readonly<Record<string, unknown>> = {
  original_ln_after: true,
  ln_after: false,
  use_gating: false,
  phm_layer: false,
  cross_adapter: false,
  inv_adapter: null,
};

/** How each fixed field's other values would change the graph. */
const FIXED_WHY: Readonly<Record<string, string>> = {
  original_ln_after: "without it the layer's own residual add and layer norm would not follow the adapter",
  ln_after: "a layer norm after the adapter's up projection has no setting here (adapter.inner_norm is AdapterHub's ln_before)",
  use_gating: 'gated adapters are not built here',
  phm_layer: 'PHM (Compacter) layers are not built here',
  cross_adapter: 'BERT has no cross-attention',
  inv_adapter: 'invertible adapters are not built here',
};

/** The config fields that describe the adapters' graph, as AdapterHub names them. */
export interface HubAdapterConfig {
  readonly original_ln_before: boolean;
  readonly original_ln_after: true;
  readonly residual_before_ln: true;
  readonly adapter_residual_before_ln: false;
  readonly ln_before: boolean;
  readonly ln_after: false;
  readonly is_parallel: boolean;
  readonly scaling: number | 'learned';
}

/** AdapterHub's config fields for the engine's variant settings. */
export function hubAdapterConfig(a: Pick<AdapterSettings['adapter'], 'placement' | 'input' | 'innerNorm' | 'scaling'>): HubAdapterConfig {
  return {
    original_ln_before: a.placement === 'serial' && a.input === 'normalized',
    original_ln_after: true,
    residual_before_ln: true,
    adapter_residual_before_ln: false,
    ln_before: a.innerNorm === 'layernorm',
    ln_after: false,
    is_parallel: a.placement === 'parallel',
    scaling: a.scaling,
  };
}

/**
 * A reduction factor r for which AdapterHub's `int(hidden // r)` is the size: the one the
 * adapter came with when it still gives it, else hidden / size, nudged down where Python's
 * floor division of floats would land one below.
 */
export function reductionFactorFor(hidden: number, size: number, preferred?: number): number {
  if (preferred !== undefined && pythonFloorDiv(hidden, preferred) === size) return preferred;
  let r = hidden / size;
  for (let i = 0; i < 8 && pythonFloorDiv(hidden, r) !== size; i++) r = r * (1 - Number.EPSILON);
  return r;
}

/** AdapterHub's activation names (Hugging Face's ACT2FN keys) that the engine computes. */
const NON_LINEARITY_OF: Readonly<Record<string, NonLinearity>> = { gelu: 'gelu', relu: 'relu', swish: 'swish', silu: 'swish', tanh: 'tanh' };

/**
 * The parts of a masked-LM head that a language adapter saves whether or not it trained
 * them: AdapterHub builds the whole BertStyleMaskedLMHead from the head file, so a folder
 * holding the decoder's bias only would leave the transform as AdapterHub initialises it.
 * (The decoder's weight is the word embeddings, tied: the base model has it.)
 */
export const MLM_HEAD_PARTS: readonly string[] = [names.mlmHead.transform.weight, names.mlmHead.transform.bias, names.mlmHead.layerNorm.weight, names.mlmHead.layerNorm.bias, names.mlmHead.bias];

/** The class whose state dict holds these names (`bert.…`, `heads.…`): AdapterHub's BertAdapterModel. */
const MODEL_CLASS = 'BertAdapterModel';

/** Read when writing, not at load: job.ts (which defines the version) imports this module. */
const hubVersion = (): string => `adapter-lab/${ENGINE_VERSION}`;

/** Writes the folder (each file atomically). The folder is created if needed. */
export function writeAdapterFolder(dir: string, a: SavedAdapter): void {
  const headKind = a.spec.head.kind;
  const s = a.settings;
  if (headKind === 'mlm' && s.method !== 'adapter') throw new Error(`a masked-LM run of method ${s.method} is saved as a Hugging Face model folder, not as an adapter folder`);
  const naming = hubNaming(a.name, headKind, layoutOf(s));
  const d = a.dims.hiddenSize;
  const isHead = (n: string) => naming.toHub(n).startsWith('heads.');
  const body = new Map<string, FloatTensor>();
  const head = new Map<string, FloatTensor>();
  const adapterLayers = a.spec.adapters?.layers ?? [];
  const saved = headKind === 'mlm' ? [...a.trainable, ...MLM_HEAD_PARTS.filter((n) => !a.trainable.includes(n))] : a.trainable;
  for (const name of saved) {
    const t = a.weights.get(name);
    if (!t) throw new Error(`no weights for the ${a.trainable.includes(name) ? 'trained ' : ''}parameter ${name}`);
    (isHead(name) ? head : body).set(naming.toHub(name), t);
    // A shared adapter is written at every layer that uses it: AdapterHub loads per-layer adapters.
    const shared = a.spec.adapters?.share === 'all_layers' ? /^encoder\.layer\.(\d+)\.(.*\.adapter\..*)$/.exec(name) : null;
    if (shared) for (const l of adapterLayers) if (l !== Number(shared[1])) body.set(naming.toHub(`encoder.layer.${l}.${shared[2]}`), t);
  }
  // A masked-LM head read from AdapterHub's own files may bring its tied decoder weight: it is
  // kept where AdapterHub keeps it, so that a rewritten folder (import) loads as the original.
  const decoder = headKind === 'mlm' && !a.trainable.includes(names.embeddings.word) ? a.weights.get(names.embeddings.word) : undefined;
  if (decoder) head.set(naming.aliases(names.embeddings.word)[0]!, decoder);
  const common = { hidden_size: d, model_class: MODEL_CLASS, model_name: modelNameOf(a.modelRef), model_type: 'bert', name: a.name, version: hubVersion() };
  const isAdapter = s.method === 'adapter';
  const adapterConfig = {
    config: {
      architecture: 'bottleneck',
      mh_adapter: s.adapter.sites.includes('attention'),
      output_adapter: s.adapter.sites.includes('ffn'),
      reduction_factor: reductionFactorFor(d, s.adapter.size, s.adapter.reductionFactor),
      non_linearity: s.adapter.nonLinearity,
      // Runs of the other methods hold no adapters: their config is Houlsby's, with every layer left out.
      ...hubAdapterConfig(isAdapter ? s.adapter : { placement: 'serial', input: 'output', innerNorm: 'none', scaling: 1 }),
      use_gating: false,
      phm_layer: false,
      init_weights: s.adapter.initWeights,
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
      depth: s.adapter.depth,
      share: s.adapter.share,
      init_std: s.adapter.initStd,
      train_layernorm: s.adapter.trainLayerNorm,
      drop: { layers: s.drop.layers, mode: s.drop.mode },
      top_k: s.topK ?? null,
      task: { kind: s.task.kind, text: s.task.text, label: s.task.label ?? null, metric: s.task.metric, max_length: s.task.maxLength ?? null },
      trainable_parameters: a.trainableParameters,
      ...(a.vocabularyChecksum ? { vocabulary: a.vocabularyChecksum } : {}),
      parameter_names: [...body.keys()],
    },
  };
  fs.mkdirSync(dir, { recursive: true });
  // `format: pt` as PyTorch's safetensors writer sets it: Hugging Face loaders check it, and
  // the tensors are laid out as torch's (Linear weights [out, in]).
  writeSafetensors(path.join(dir, ADAPTER_FILES.weights), body, { format: 'pt', producer: hubVersion() });
  writeAtomic(path.join(dir, ADAPTER_FILES.config), jsonWithFloats(adapterConfig, ['scaling', 'dropout']));
  writeHeadFiles(dir, { name: a.name, modelRef: a.modelRef, dims: a.dims, headDropout: a.headDropout, spec: a.spec, task: s.task.kind, labels: a.labels, weights: head });
}

/** A task head to write beside an adapter or a fusion (AdapterHub's `save_head`). */
export interface SavedHead {
  /** The head's name in the hub names (`heads.{name}.…`). */
  readonly name: string;
  readonly modelRef: string;
  readonly dims: BertDims;
  readonly headDropout: number;
  readonly spec: ModelSpec;
  readonly task: TaskKind;
  readonly labels: readonly string[] | undefined;
  /** The head's tensors under their hub names. */
  readonly weights: ReadonlyMap<string, FloatTensor>;
}

/** head_config.json and model_head.safetensors in AdapterHub's layout. */
export function writeHeadFiles(dir: string, h: SavedHead): void {
  const span = h.spec.head.kind === 'span';
  const headConfig = {
    config: h.spec.head.kind === 'mlm' ? mlmHeadConfig(h.dims.hiddenSize, h.spec.head.vocabSize) : {
      head_type: span ? 'question_answering' : 'classification',
      num_labels: h.spec.head.kind === 'classification' || h.spec.head.kind === 'regression' ? h.spec.head.numLabels : 2,
      layers: 1,
      activation_function: null,
      label2id: h.labels ? Object.fromEntries(h.labels.map((l, i) => [l, i])) : null,
      use_pooler: !span,
      bias: true,
      dropout_prob: h.headDropout,
    },
    hidden_size: h.dims.hiddenSize,
    model_class: MODEL_CLASS,
    model_name: modelNameOf(h.modelRef),
    model_type: 'bert',
    name: h.name,
    version: hubVersion(),
    adapter_lab: { task: h.task, parameter_names: [...h.weights.keys()] },
  };
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, ADAPTER_FILES.headWeights), new Map(h.weights), { format: 'pt', producer: hubVersion() });
  writeAtomic(path.join(dir, ADAPTER_FILES.headConfig), jsonWithFloats(headConfig, ['dropout_prob']));
}

/**
 * AdapterHub's config of a BertStyleMaskedLMHead (`add_masked_lm_head`), which is
 * BertForMaskedLM's head: dense d→d, GELU, LayerNorm, then the decoder to the vocabulary.
 */
function mlmHeadConfig(hidden: number, vocabSize: number) {
  return { head_type: 'masked_lm', vocab_size: vocabSize, embedding_size: hidden, layers: 2, activation_function: 'gelu', layer_norm: true, bias: true, shift_labels: false, label2id: null };
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
  for (const [key, want] of Object.entries(FIXED_FIELDS)) {
    const v = c.raw(key);
    if (v !== undefined && v !== want && !(want === false && v === null)) throw c.error(key, `is ${JSON.stringify(v)}; ${FIXED_WHY[key]} (only ${JSON.stringify(want)} can be loaded)`);
  }
  const variant = variantOf(c);
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
  const depth = lab?.optional('depth', 'a positive integer', (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1) ?? 1;
  const share = lab?.optional('share', `one of ${SHARES.join(', ')}`, (v): v is Share => (SHARES as readonly unknown[]).includes(v)) ?? 'none';
  const initWeights = c.optional('init_weights', 'a string', (v): v is string => typeof v === 'string') ?? 'houlsby';

  const { kind, numLabels, labels } = readHeadConfig(dir, hiddenSize);

  const naming = hubNaming(name, kind, { innerNorm: variant.innerNorm === 'layernorm', depth });
  const weights = new Map<string, FloatTensor>();
  const weightsFile = weightFile(dir, ADAPTER_FILES.weights, PYTORCH_ADAPTER_FILES.weights);
  readWeights(weightsFile, naming, weights, false);
  readWeights(weightFile(dir, ADAPTER_FILES.headWeights, PYTORCH_ADAPTER_FILES.headWeights), naming, weights, true);
  if (share === 'all_layers') collapseShared(weights, weightsFile, naming);

  const shape = { ...variant, depth, share, initWeights, reductionFactor: reduction };
  const settings = lab ? settingsFromLab(lab, kind, nonLinearity, shape) : settingsInferred(weights, mh, output, nonLinearity, hiddenSize, shape, kind, c);
  if (settings.method === 'adapter') {
    if (settings.adapter.sites.includes('attention') !== mh) throw c.error('mh_adapter', `is ${mh} but adapter_lab.sites is ${JSON.stringify(settings.adapter.sites)}`);
    if (settings.adapter.sites.includes('ffn') !== output) throw c.error('output_adapter', `is ${output} but adapter_lab.sites is ${JSON.stringify(settings.adapter.sites)}`);
  }
  if (lab) {
    const listed = lab.optional('parameter_names', 'a list of names', isStringList);
    if (listed) {
      for (const hub of listed) {
        const internal = naming.toInternal(hub);
        const owned = internal !== undefined && share === 'all_layers' ? sharedOwnerName(internal, weights) : internal;
        if (owned === undefined || !weights.has(owned)) throw new AdapterFolderError(weightsFile, `parameter "${hub}" (listed in ${ADAPTER_FILES.config}, adapter_lab.parameter_names) is missing`);
      }
    }
  }
  const trainableParameters = lab?.optional('trainable_parameters', 'an integer', (v): v is number => typeof v === 'number' && Number.isInteger(v));
  const folder: AdapterFolder = { dir, name, modelName, modelRef: lab?.optional('model', 'a string', (v): v is string => typeof v === 'string'), hiddenSize, leaveOut, settings, head: { kind, numLabels, labels }, weights, trainableParameters };
  if (expect) checkAdapterFolder(folder, expect);
  return folder;
}

/** A head as read back (AdapterHub's head_config.json): its kind, outputs and labels. */
export interface HeadConfig {
  readonly kind: HeadKind;
  readonly numLabels: number;
  readonly labels: readonly string[] | undefined;
}

/** Reads and checks a folder's head_config.json (a masked-LM head's decoder must fit `hiddenSize`). */
export function readHeadConfig(dir: string, hiddenSize?: number): HeadConfig {
  const file = path.join(dir, ADAPTER_FILES.headConfig);
  const headFields = new Fields(file, readJsonObject(file));
  const h = headFields.object('config');
  const headType = h.string('head_type');
  return headType === 'masked_lm' ? maskedLmHeadOf(h, headFields, hiddenSize) : taskHeadOf(h, headFields, headType);
}

/** Checks a folder against the base model and the run it goes into; throws AdapterFolderError. */
export function checkAdapterFolder(folder: AdapterFolder, expect: ModelExpectation): void {
  const configFile = path.join(folder.dir, ADAPTER_FILES.config);
  if (folder.hiddenSize !== expect.dims.hiddenSize) throw new AdapterFolderError(configFile, `hidden_size is ${folder.hiddenSize}, but the base model's hidden size is ${expect.dims.hiddenSize}`);
  // Settings the weights cannot check: they must still fit the base model.
  const { layers, maxPositions } = expect.dims;
  const s = folder.settings;
  if (s.task.maxLength !== undefined && s.task.maxLength > maxPositions) throw new AdapterFolderError(configFile, `adapter_lab.task.max_length is ${s.task.maxLength}, but the base model has ${maxPositions} position embeddings`);
  for (const [field, list] of [['adapter_lab.adapter_layers', s.adapter.layers], ['adapter_lab.drop.layers', s.drop.layers], ['config.leave_out', folder.leaveOut]] as const) {
    const bad = list.find((l) => !Number.isInteger(l) || l < 0 || l >= layers);
    if (bad !== undefined) throw new AdapterFolderError(configFile, `${field} names layer ${bad}, but the base model has layers 0..${layers - 1}`);
  }
  const naming = hubNaming(folder.name, folder.head.kind, layoutOf(folder.settings));
  const fileOf = (internal: string) => (naming.toHub(internal).startsWith('heads.') ? weightFile(folder.dir, ADAPTER_FILES.headWeights, PYTORCH_ADAPTER_FILES.headWeights) : weightFile(folder.dir, ADAPTER_FILES.weights, PYTORCH_ADAPTER_FILES.weights));
  const shapes = parameterShapes(expect.spec);
  const wanted = new Set(expect.trainable);
  if (folder.head.kind === 'mlm') {
    if (expect.spec.head.kind !== 'mlm' || folder.head.numLabels !== expect.dims.vocabSize) throw new AdapterFolderError(path.join(folder.dir, ADAPTER_FILES.headConfig), `config.vocab_size is ${folder.head.numLabels}, but the base model's vocabulary has ${expect.dims.vocabSize} entries`);
    // The head's frozen parts are saved with it; the tied decoder weight may come from AdapterHub.
    for (const name of [...MLM_HEAD_PARTS, names.embeddings.word]) {
      const t = folder.weights.get(name);
      const shape = shapes.get(name);
      if (t && shape && !sameShape(shape, t.shape)) throw new AdapterFolderError(fileOf(name), `parameter "${naming.toHub(name)}" has shape [${t.shape.join(', ')}], but the model needs [${shape.join(', ')}]`);
      if (t) wanted.add(name);
    }
  }
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
    // AdapterHub's load_adapter reads its PyTorch files unless told to use safetensors: both are written.
    for (const [safe, pickle] of [[ADAPTER_FILES.weights, PYTORCH_ADAPTER_FILES.weights], [ADAPTER_FILES.headWeights, PYTORCH_ADAPTER_FILES.headWeights]] as const) {
      const f = openWeightsFile(path.join(src, safe));
      let tensors: Map<string, FloatTensor>;
      try {
        tensors = new Map(f.tensors.map((t) => [t.name, f.readFloat(t.name)]));
      } finally {
        f.close();
      }
      writePytorchCheckpoint(path.join(tmp, pickle), tensors);
      bytes += fs.statSync(path.join(tmp, pickle)).size;
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

/** The folder's weights file: the safetensors one, else AdapterHub's default PyTorch checkpoint. */
function weightFile(dir: string, safetensors: string, pytorch: string): string {
  const safe = path.join(dir, safetensors);
  const pickle = path.join(dir, pytorch);
  return !fs.existsSync(safe) && fs.existsSync(pickle) ? pickle : safe;
}

/** How the folder's adapters are laid out in hub names. */
function layoutOf(s: AdapterSettings): HubLayout {
  return { innerNorm: s.method === 'adapter' && s.adapter.innerNorm === 'layernorm', depth: s.method === 'adapter' ? s.adapter.depth : 1 };
}

/**
 * Reads one weights file (safetensors or a PyTorch checkpoint) into `into` under the engine's
 * names; head names belong in the head file only. Two names of one tensor (AdapterHub's
 * `adapter_norm_before` beside `adapter_down.0`) must hold the same values.
 */
function readWeights(file: string, naming: HubNaming, into: Map<string, FloatTensor>, headFile: boolean): void {
  let f;
  try {
    f = openWeightsFile(file);
  } catch (e) {
    if (!fs.existsSync(file)) throw new AdapterFolderError(file, 'is missing');
    throw asFolderError(file, e);
  }
  try {
    const from = new Map<string, string>();
    for (const info of f.tensors) {
      const internal = naming.toInternal(info.name);
      const isHead = info.name.startsWith('heads.');
      if (internal === undefined || isHead !== headFile) {
        const expected = headFile ? `heads.${naming.adapterName}.1.weight|bias (a masked-LM head: .0, .2, .3)` : `bert.… or bert.encoder.layer.{i}.…adapters.${naming.adapterName}.adapter_down.0|adapter_up.…`;
        throw new AdapterFolderError(file, `tensor "${info.name}" is not a parameter this file can hold (expected names like ${expected})`);
      }
      let t: FloatTensor;
      try {
        t = f.readFloat(info.name);
      } catch (e) {
        throw asFolderError(file, e);
      }
      const seen = into.get(internal);
      if (seen && !sameTensor(seen, t)) throw new AdapterFolderError(file, `tensors "${from.get(internal)}" and "${info.name}" name the same parameter but differ`);
      into.set(internal, t);
      from.set(internal, info.name);
    }
  } finally {
    f.close();
  }
}

function sameTensor(a: FloatTensor, b: FloatTensor): boolean {
  return sameShape(a.shape, b.shape) && a.data.every((x, i) => Object.is(x, b.data[i]));
}

const ADAPTER_PARAMETER = /^encoder\.layer\.(\d+)\.(.*\.adapter\..*)$/;

/** The name a shared adapter's parameter has in the engine: the lowest layer holding that parameter. */
function sharedOwnerName(internal: string, weights: ReadonlyMap<string, FloatTensor>): string {
  const m = ADAPTER_PARAMETER.exec(internal);
  if (!m) return internal;
  const layers = [...weights.keys()].map((n) => ADAPTER_PARAMETER.exec(n)).filter((x) => x && x[2] === m[2]).map((x) => Number(x![1]));
  return layers.length ? `encoder.layer.${Math.min(...layers)}.${m[2]}` : internal;
}

/** A shared adapter is saved once per layer: every copy must equal the lowest layer's, which the engine keeps. */
function collapseShared(weights: Map<string, FloatTensor>, file: string, naming: HubNaming): void {
  const lowest = new Map<string, number>();
  for (const name of weights.keys()) {
    const m = ADAPTER_PARAMETER.exec(name);
    if (m) lowest.set(m[2]!, Math.min(lowest.get(m[2]!) ?? Infinity, Number(m[1])));
  }
  for (const [name, t] of [...weights]) {
    const m = ADAPTER_PARAMETER.exec(name);
    if (!m || Number(m[1]) === lowest.get(m[2]!)) continue;
    const owner = `encoder.layer.${lowest.get(m[2]!)}.${m[2]}`;
    if (!sameTensor(weights.get(owner)!, t)) throw new AdapterFolderError(file, `tensor "${naming.toHub(name)}" differs from "${naming.toHub(owner)}", but adapter_lab.share is all_layers (one adapter for every layer)`);
    weights.delete(name);
  }
}

/** The variant fields of AdapterHub's config, each checked; what cannot be represented is refused by name. */
function variantOf(c: Fields): Pick<AdapterSettings['adapter'], 'placement' | 'input' | 'innerNorm' | 'scaling'> {
  const flag = (key: string, fallback: boolean): boolean => c.optional(key, 'true or false', (v): v is boolean => typeof v === 'boolean') ?? fallback;
  const parallel = flag('is_parallel', false);
  // AdapterHub's parallel adapter reads the sub-layer's input whatever original_ln_before says.
  const lnBefore = flag('original_ln_before', false);
  const residual = c.raw('residual_before_ln');
  if (!parallel && lnBefore && residual !== undefined && residual !== true) throw c.error('residual_before_ln', `is ${JSON.stringify(residual)}; with original_ln_before the adapter's residual is the sub-layer's output before the add and norm (true) here`);
  if (!parallel && residual !== undefined && residual !== true && residual !== false) throw c.error('residual_before_ln', `is ${JSON.stringify(residual)}; expected true or false`);
  flag('adapter_residual_before_ln', false); // without ln_after it changes nothing
  const raw = c.raw('scaling');
  let scaling: Scaling;
  if (raw === undefined || raw === null) scaling = 1;
  else if (raw === 'learned') scaling = 'learned';
  else if (typeof raw === 'number' && Number.isFinite(raw) && raw > 0) scaling = raw;
  else throw c.error('scaling', `is ${JSON.stringify(raw)}; a positive number or "learned" can be loaded (${raw === 'channel' ? "a per-channel scaling has no setting here" : 'adapter.scaling'})`);
  return { placement: parallel ? 'parallel' : 'serial', input: !parallel && lnBefore ? 'normalized' : 'output', innerNorm: flag('ln_before', false) ? 'layernorm' : 'none', scaling };
}

function asFolderError(file: string, e: unknown): AdapterFolderError {
  if (e instanceof AdapterFolderError) return e;
  const message = e instanceof Error ? e.message : String(e);
  const prefix = e instanceof CheckpointError ? `${e.file}: ` : '';
  return new AdapterFolderError(file, message.startsWith(prefix) ? message.slice(prefix.length) : message);
}

/** A classification, regression or question-answering head config (one linear layer). */
function taskHeadOf(h: Fields, headFields: Fields, headType: string): { kind: HeadKind; numLabels: number; labels: readonly string[] | undefined } {
  if (headType !== 'classification' && headType !== 'question_answering') throw h.error('head_type', `is "${headType}"; the engine has classification (and regression), question_answering and masked_lm heads`);
  const numLabels = h.number('num_labels', (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
  const headLayers = h.optional('layers', 'an integer', (v): v is number => typeof v === 'number') ?? 1;
  if (headLayers !== 1) throw h.error('layers', `is ${headLayers}; the engine's heads are one linear layer`);
  if (headType === 'classification' && h.raw('use_pooler') !== true) throw h.error('use_pooler', 'must be true: the engine classifies the pooled [CLS] state, as BertForSequenceClassification');
  if (headType === 'question_answering' && numLabels !== 2) throw h.error('num_labels', `is ${numLabels}; a span head has 2 outputs (start and end)`);
  const labTask = headFields.has('adapter_lab') ? headFields.object('adapter_lab').optional('task', 'a task kind', (v): v is Exclude<TaskKind, 'mlm'> => v !== 'mlm' && (TASK_KINDS as readonly unknown[]).includes(v)) : undefined;
  const kind: HeadKind = headType === 'question_answering' ? 'span' : labTask ?? (numLabels === 1 ? 'regression' : 'classification');
  if ((kind === 'span') !== (headType === 'question_answering')) throw headFields.error('adapter_lab.task', `is "${labTask}" but head_type is "${headType}"`);
  return { kind, numLabels, labels: labelsOf(h, numLabels, kind) };
}

/**
 * A language adapter's head: AdapterHub's BertStyleMaskedLMHead with the fields that make it
 * BertForMaskedLM's (two layers, GELU, a layer norm, a decoder bias, no label shift); other
 * values describe a head the engine does not build, and are refused with the field named.
 */
function maskedLmHeadOf(h: Fields, headFields: Fields, hiddenSize: number | undefined): { kind: HeadKind; numLabels: number; labels: undefined } {
  const vocabSize = h.number('vocab_size', (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
  const layers = h.optional('layers', 'an integer', (v): v is number => typeof v === 'number') ?? 2;
  if (layers !== 2) throw h.error('layers', `is ${layers}; the masked-LM head is BertForMaskedLM's (a transform, then the decoder: 2)`);
  const activation = h.optional('activation_function', 'a string', (v): v is string => typeof v === 'string') ?? 'gelu';
  if (activation.toLowerCase() !== 'gelu') throw h.error('activation_function', `is "${activation}"; the masked-LM head's transform uses gelu`);
  for (const [key, want] of [['layer_norm', true], ['bias', true], ['shift_labels', false]] as const) {
    const v = h.raw(key);
    if (v !== undefined && v !== null && v !== want) throw h.error(key, `is ${JSON.stringify(v)}; the masked-LM head has ${key} ${want}`);
  }
  const embedding = h.optional('embedding_size', 'a positive integer', (v): v is number => typeof v === 'number');
  if (embedding !== undefined && hiddenSize !== undefined && embedding !== hiddenSize) throw h.error('embedding_size', `is ${embedding}; the decoder is tied to the word embeddings, of the hidden size ${hiddenSize}`);
  const labTask = headFields.has('adapter_lab') ? headFields.object('adapter_lab').raw('task') : undefined;
  if (labTask !== undefined && labTask !== 'mlm') throw headFields.error('adapter_lab.task', `is ${JSON.stringify(labTask)} but head_type is "masked_lm"`);
  return { kind: 'mlm', numLabels: vocabSize, labels: undefined };
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

/** What the config and adapter_lab say of the adapters' shape, beyond size, sites and layers. */
type ShapeFields = Pick<AdapterSettings['adapter'], 'placement' | 'input' | 'innerNorm' | 'scaling' | 'depth' | 'share' | 'initWeights'> & { readonly reductionFactor: number };

function settingsFromLab(lab: Fields, kind: HeadKind, nonLinearity: NonLinearity, shape: ShapeFields): AdapterSettings {
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
      ...shape,
    },
    drop: { layers: drop.optional('layers', 'a list of layer indices', isIndexList) ?? [], mode: drop.oneOf('mode', DROP_MODES) },
    topK: lab.optional('top_k', 'a positive integer', (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1),
    task: {
      kind: taskKind,
      text: task.optional('text', 'a list of column names', isStringList) ?? [],
      label: task.optional('label', 'a column name', (v): v is string => typeof v === 'string'),
      metric,
      maxLength: task.optional('max_length', 'an integer ≥ 8', (v): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 8),
    },
  };
}

/**
 * Settings for a folder written by AdapterHub itself (no `adapter_lab` block): the adapters
 * its config describes (`seq_bn`, `double_seq_bn`, `par_bn` and their variants) in the
 * layers whose weights the file holds, the bottleneck size `hidden // reduction_factor` as
 * AdapterHub computes it (checked against the weights), layer norms trained when the file
 * holds them. The task's columns are the engine's conventions (`sentence`, `label`;
 * `sentence1`/`sentence2` are not guessed); no max length (the base model's positions).
 */
function settingsInferred(weights: ReadonlyMap<string, FloatTensor>, mh: boolean, output: boolean, nonLinearity: NonLinearity, hiddenSize: number, shape: ShapeFields, kind: HeadKind, c: Fields): AdapterSettings {
  const layers = new Set<number>();
  const size = Math.max(1, pythonFloorDiv(hiddenSize, shape.reductionFactor));
  let layerNorms = false;
  for (const [name, t] of weights) {
    const m = /^encoder\.layer\.(\d+)\..*\.adapter\.down\.weight$/.exec(name);
    if (m) {
      layers.add(Number(m[1]));
      if (t.shape[0] !== size) throw c.error('reduction_factor', `is ${shape.reductionFactor}, so the bottleneck has hidden_size // ${shape.reductionFactor} = ${size} units, but the weights of layer ${m[1]} have ${t.shape[0]}`);
    }
    // The model's own layer norms: a masked-LM head's (cls.…) is the head's, saved whether it trained or not.
    if (name.includes('LayerNorm') && !name.includes('.adapter.') && !name.startsWith('cls.')) layerNorms = true;
  }
  return {
    method: 'adapter',
    adapter: {
      size,
      sites: [...(mh ? (['attention'] as const) : []), ...(output ? (['ffn'] as const) : [])],
      layers: [...layers].sort((a, b) => a - b),
      nonLinearity,
      initStd: 0.01,
      trainLayerNorm: layerNorms,
      ...shape,
    },
    drop: { layers: [], mode: 'static' },
    topK: undefined,
    task: { kind, text: kind === 'span' || kind === 'mlm' ? [] : ['sentence'], label: kind === 'span' || kind === 'mlm' ? undefined : 'label', metric: METRICS_BY_KIND[kind][0]!, maxLength: undefined },
  };
}
