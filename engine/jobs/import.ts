/**
 * A saved adapter folder as a new run: the experiment is rebuilt from the adapter's config
 * and a base model, the weights are checked against the model the run builds, and a
 * completed run folder (0 steps) is written, so `evaluate`, `predict`, `ablate` and
 * `export` work on it as on a run trained here; a fusion folder likewise (`importFusion`).
 * Nothing is created until everything has been validated, and a failure while writing
 * removes the half-written folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { stringify } from 'yaml';
import { resolveExperiment, type Experiment } from '../config/experiment';
import { LabelMap } from '../data/examples';
import { stampImport, type ImportEventPayload, type ImportJobEvent } from '../events';
import { BUILTIN_PREFIX } from '../model/dims';
import { loadModel } from '../checkpoint/baseModel';
import { countParameters, type ParameterCounts } from '../model/parameters';
import { createRunDir, RUN_FILES, writeAtomic, writeJson, type RunStatusRecord } from '../runs/store';
import { ADAPTER_FILES, AdapterFolderError, checkAdapterFolder, modelNameOf, readAdapterFolder, readHeadConfig, writeAdapterFolder, type AdapterFolder } from '../checkpoint/adapterFolder';
import { checkFusedPlacement, checkFusionWeights, copyFusedAdapters, FUSION_FILES, headNameOf, readFusedAdapter, readFusionFolder, readFusionHead, writeFusionRun } from '../checkpoint/fusionFolder';
import { adapterNameFrom } from '../checkpoint/hubNames';
import { ENGINE_VERSION } from './train';
import { planRun } from '../train/plan';

export interface ImportOptions {
  readonly adapterDir: string;
  readonly runsDir: string;
  /** The base model (`builtin:<name>` or a Hugging Face folder); defaults to the one the adapter names. */
  readonly model?: string;
  /** The run's (experiment) name; defaults to the adapter's name. */
  readonly name?: string;
  /** A labelled file that serves as the run's validation data (ablate's default, export's check). */
  readonly data?: string;
  /** Receives start, artifact and end (`adapter-lab import --events`). */
  readonly emit?: (event: ImportJobEvent) => void;
}

export interface ImportResult {
  readonly runDir: string;
  readonly experiment: Experiment;
  readonly parameters: ParameterCounts;
}

export async function importAdapter(opts: ImportOptions): Promise<ImportResult> {
  const started = Date.now();
  const emit = (p: ImportEventPayload): void => opts.emit?.(stampImport(p));
  const from = path.resolve(opts.adapterDir);
  const folder = readAdapterFolder(from);
  const modelRef = resolveModel(folder, opts.model);
  if (opts.data !== undefined && !fs.existsSync(opts.data)) throw new AdapterFolderError(path.resolve(opts.data), '--data: no such file');
  const model = loadModel(modelRef);
  // A folder AdapterHub wrote names no max length: the base model's positions bound the input.
  const maxLength = folder.settings.task.maxLength ?? model.dims.maxPositions;
  const experiment = experimentOf(folder, modelRef, maxLength, opts);
  const numLabels = folder.head.kind === 'span' ? 2 : folder.head.numLabels;
  const plan = planRun(experiment, model.dims, numLabels, model.layerNormEps);
  checkAdapterFolder(folder, { dims: model.dims, spec: plan.spec, trainable: plan.trainable });
  const parameters = countParameters(model.dims, plan.counting);
  const labels = folder.head.kind === 'classification' ? LabelMap.fromJSON({ labels: folder.head.labels ?? Array.from({ length: numLabels }, (_, i) => String(i)) }) : undefined;

  const runDir = createRunDir(opts.runsDir, experiment.name);
  const run = path.basename(runDir);
  try {
    emit({ type: 'start', job: 'import', run, runDir, from, method: experiment.method, model: model.ref, parameters: { trainable: parameters.trainable, base: parameters.base, percentOfBase: parameters.percentOfBase } });
    writeAtomic(path.join(runDir, RUN_FILES.experiment), `# Imported by adapter-lab import from ${from}; the adapter was not trained here.\n${stringify(plainExperiment(folder, modelRef, maxLength, opts))}`);
    writeJson(path.join(runDir, RUN_FILES.config), { experiment, plan: { trainable: plan.trainable, spec: plan.spec }, parameters, totalSteps: 0, stepsPerEpoch: 0, imported: { from, adapter: folder.name } });
    writeJson(path.join(runDir, RUN_FILES.environment), { engine: ENGINE_VERSION, onnxruntime: ort.env.versions.common, node: process.version, platform: `${process.platform}-${process.arch}`, model: model.ref, pretrained: model.pretrained, imported: from });
    if (labels) writeJson(path.join(runDir, RUN_FILES.labels), labels.toJSON());
    const adapterDir = path.join(runDir, RUN_FILES.adapterDir);
    // Rewritten rather than copied: a folder saved by AdapterHub itself gains the adapter_lab block.
    writeAdapterFolder(adapterDir, {
      name: folder.name,
      modelRef: model.ref,
      dims: model.dims,
      headDropout: model.dropout.hidden,
      settings: { ...folder.settings, task: { ...folder.settings.task, maxLength } },
      spec: plan.spec,
      trainable: plan.trainable,
      weights: folder.weights,
      trainableParameters: parameters.trainable,
      labels: labels?.labels,
    });
    emit({ type: 'artifact', kind: 'adapter', path: adapterDir });
    const now = new Date().toISOString();
    writeJson(path.join(runDir, RUN_FILES.status), { status: 'completed', started: new Date(started).toISOString(), ended: now, step: 0, pid: process.pid } satisfies RunStatusRecord);
  } catch (e) {
    fs.rmSync(runDir, { recursive: true, force: true });
    emit({ type: 'error', code: 'import-failed', message: (e as Error).message });
    emit({ type: 'end', status: 'failed', run, seconds: (Date.now() - started) / 1000, steps: 0, metrics: {} });
    throw e;
  }
  emit({ type: 'end', status: 'completed', run, seconds: (Date.now() - started) / 1000, steps: 0, metrics: {} });
  return { runDir, experiment, parameters };
}

/**
 * The base model: `--model`, else the reference the engine saved (`adapter_lab.model`),
 * else `model_name`, the first that is a built-in model or a model folder here.
 */
function resolveModel(folder: AdapterFolder, override: string | undefined): string {
  const usable = (ref: string): string | undefined => {
    if (ref.startsWith(BUILTIN_PREFIX)) return ref;
    const dir = path.resolve(ref);
    return fs.existsSync(path.join(dir, 'config.json')) ? dir : undefined;
  };
  if (override !== undefined) {
    const ref = usable(override);
    if (!ref) throw new AdapterFolderError(path.resolve(override), '--model: not a built-in model (builtin:<name>) or a model folder with config.json');
    return ref;
  }
  for (const candidate of [folder.modelRef, folder.modelName]) {
    const ref = candidate ? usable(candidate) : undefined;
    if (ref) return ref;
  }
  throw new AdapterFolderError(path.join(folder.dir, ADAPTER_FILES.config), `the base model "${folder.modelRef ?? folder.modelName ?? '(none)'}" (model_name) is not a built-in model or a model folder here; give one with --model`);
}

/** The experiment as the plain (YAML-shaped) settings it would be written with. */
function plainExperiment(folder: AdapterFolder, modelRef: string, maxLength: number, opts: ImportOptions): Record<string, unknown> {
  const s = folder.settings;
  const data = opts.data !== undefined ? path.resolve(opts.data) : undefined;
  return {
    name: opts.name ?? folder.name,
    model: modelRef,
    task: {
      kind: s.task.kind,
      ...(data ? { train: data, validation: data } : {}),
      ...(s.task.text.length ? { text: [...s.task.text] } : {}),
      ...(s.task.label !== undefined ? { label: s.task.label } : {}),
      metric: s.task.metric,
      max_length: maxLength,
    },
    method: s.method,
    ...(s.topK !== undefined ? { top_k: s.topK } : {}),
    adapter: {
      size: s.adapter.size,
      sites: [...s.adapter.sites],
      // An empty selection is no valid setting; only the adapter method reads it.
      layers: s.adapter.layers.length ? [...s.adapter.layers] : 'all',
      non_linearity: s.adapter.nonLinearity,
      placement: s.adapter.placement,
      ...(s.adapter.placement === 'serial' ? { input: s.adapter.input } : {}),
      scaling: s.adapter.scaling,
      inner_norm: s.adapter.innerNorm,
      depth: s.adapter.depth,
      share: s.adapter.share,
      init_std: s.adapter.initStd,
      train_layernorm: s.adapter.trainLayerNorm,
    },
    drop: { layers: s.drop.layers.length ? [...s.drop.layers] : 'none', mode: s.drop.mode },
  };
}

function experimentOf(folder: AdapterFolder, modelRef: string, maxLength: number, opts: ImportOptions): Experiment {
  const e = resolveExperiment(plainExperiment(folder, modelRef, maxLength, opts), process.cwd());
  // Without --data the run has no data file at all (resolution would make the folder one).
  return opts.data !== undefined ? e : { ...e, task: { ...e.task, train: '', validation: undefined } };
}

export interface ImportFusionOptions {
  /** The folder with adapter_fusion_config.json. */
  readonly fusionDir: string;
  /** Where the fused adapters' folders are, by name; default: beside the fusion folder, each under its name. */
  readonly adaptersDir?: string;
  readonly runsDir: string;
  /** `builtin:<name>` or a Hugging Face model folder. */
  readonly model: string;
  /** A labelled file that serves as the run's validation data. */
  readonly data?: string;
  /** The run's name; default: the head's. */
  readonly name?: string;
}

export interface ImportFusionResult {
  readonly runDir: string;
  readonly experiment: Experiment;
  readonly parameters: ParameterCounts;
}

/**
 * A fusion saved in AdapterHub's layout (`save_all_adapters` / `save_adapter_fusion(…,
 * with_head=True)`: a fusion folder with adapter_fusion_config.json, its weights and its
 * head, and each fused adapter in a folder of its own beside it) as a new completed run, so
 * that `evaluate`, `predict`, `fusion weights|prune` and `export` work on it as on a fusion
 * trained here. Everything is read and checked before the run folder is created.
 */
export function importFusion(opts: ImportFusionOptions): ImportFusionResult {
  const started = new Date().toISOString();
  const fusionDir = path.resolve(opts.fusionDir);
  const folder = readFusionFolder(fusionDir);
  const model = loadModel(opts.model);
  if (folder.hiddenSize !== model.dims.hiddenSize) throw new AdapterFolderError(path.join(fusionDir, FUSION_FILES.config), `hidden_size is ${folder.hiddenSize}, but ${model.ref}'s is ${model.dims.hiddenSize}`);
  const adaptersDir = path.resolve(opts.adaptersDir ?? path.dirname(fusionDir));
  const fused = folder.adapterNames.map((name) => readFusedAdapter(path.join(adaptersDir, name), model.dims));
  fused.forEach((a, i) => {
    if (a.fused.name !== folder.adapterNames[i]) throw new AdapterFolderError(a.folder.dir, `holds adapter "${a.fused.name}", but the fusion names "${folder.adapterNames[i]}" here`);
  });
  const adapterInput = checkFusedPlacement(fused, { file: path.join(fusionDir, FUSION_FILES.config), input: folder.adapterInput });
  const headName = headNameOf(fusionDir);
  const head = readHeadConfig(fusionDir);
  const name = opts.name ?? headName;
  const data = opts.data !== undefined ? path.resolve(opts.data) : undefined;
  if (data !== undefined && !fs.existsSync(data)) throw new AdapterFolderError(data, '--data: no such file');
  const s = folder.settings;
  const plain = {
    name,
    model: opts.model,
    task: { kind: head.kind, ...(data ? { train: data, validation: data } : {}), ...(head.kind === 'span' ? {} : { text: ['sentence'], label: 'label' }), max_length: model.dims.maxPositions },
    method: 'fusion',
    fusion: { adapters: fused.map((a) => a.folder.dir), config: s.config, residual_before: s.residualBefore, query_before_ln: s.queryBeforeLn === true, temperature: s.temperature, regularization: s.regularization, ...(s.dropout !== undefined ? { dropout: s.dropout } : {}) },
  };
  const resolved = resolveExperiment(plain, process.cwd());
  const experiment: Experiment = data !== undefined ? resolved : { ...resolved, task: { ...resolved.task, train: '', validation: undefined } };
  const numLabels = head.kind === 'span' ? 2 : head.numLabels;
  const plan = planRun(experiment, model.dims, numLabels, model.layerNormEps, fused.map((a) => a.fused));
  checkFusionWeights(folder, plan.spec.fusion!, model.dims.hiddenSize);
  const headWeights = readFusionHead(fusionDir, headName);
  for (const n of plan.trainable.filter((t) => !t.includes('.adapter_fusion_layer.'))) {
    if (!headWeights.has(n)) throw new AdapterFolderError(fusionDir, `the head has no parameter ${n} (its ${head.kind} head needs it)`);
  }
  const parameters = countParameters(model.dims, plan.counting);
  const labels = head.kind === 'classification' ? LabelMap.fromJSON({ labels: head.labels ?? Array.from({ length: numLabels }, (_, i) => String(i)) }) : undefined;

  const runDir = createRunDir(opts.runsDir, name);
  try {
    writeAtomic(path.join(runDir, RUN_FILES.experiment), `# Imported by adapter-lab import from ${fusionDir}; the fusion was not trained here.\n${stringify(plain)}`);
    writeJson(path.join(runDir, RUN_FILES.config), { experiment, plan: { trainable: plan.trainable, spec: plan.spec }, parameters, totalSteps: 0, stepsPerEpoch: 0, imported: { from: fusionDir }, fused: fused.map((a) => ({ name: a.fused.name, source: a.folder.dir })) });
    if (labels) writeJson(path.join(runDir, RUN_FILES.labels), labels.toJSON());
    copyFusedAdapters(runDir, fused);
    // Rewritten under the run's head name (the folder may use another) and with the engine's config fields.
    writeFusionRun(runDir, {
      fusion: { adapterNames: folder.adapterNames, adapterInput, hiddenSize: folder.hiddenSize, modelName: modelNameOf(model.ref), settings: { ...s, valueInitialized: s.config === 'dynamic' }, weights: folder.weights },
      head: { name: adapterNameFrom(name), modelRef: model.ref, dims: model.dims, headDropout: model.dropout.hidden, spec: plan.spec, task: head.kind, labels: labels?.labels, weights: headWeights },
    });
    writeJson(path.join(runDir, RUN_FILES.status), { status: 'completed', started, ended: new Date().toISOString(), step: 0, pid: process.pid } satisfies RunStatusRecord);
  } catch (e) {
    fs.rmSync(runDir, { recursive: true, force: true });
    throw e;
  }
  return { runDir, experiment, parameters };
}
