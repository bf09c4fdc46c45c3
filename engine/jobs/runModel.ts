/**
 * A finished run as a model again: the base model it names plus its trained weights, its
 * spec and label map. Prediction, ablation and evaluation start here. A fusion run that is
 * still training can also be read from its last checkpoint (`loadFusionCheckpoint`), for
 * views that show it as it goes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Experiment } from '../config/experiment';
import { LabelMap } from '../data/examples';
import type { ModelSpec } from '../model/bert';
import { loadModel, type LoadedModel } from '../checkpoint/baseModel';
import { RUN_FILES } from '../runs/store';
import type { WeightMap } from '../tensor';
import { ADAPTER_FILES, readAdapterFolder } from '../checkpoint/adapterFolder';
import { FUSION_FILES, FUSION_RUN_DIRS, readFusedCopies, readFusionRun } from '../checkpoint/fusionFolder';
import { openSafetensors, type SafetensorsFile } from '../checkpoint/safetensors';
import { parameterShapes } from '../model/bert';
import { adapterNameFrom } from '../checkpoint/hubNames';

export class RunFolderError extends Error {}

export interface LoadedRun {
  readonly runDir: string;
  readonly experiment: Experiment;
  readonly spec: ModelSpec;
  readonly trainable: readonly string[];
  readonly labels: LabelMap | undefined;
  readonly model: LoadedModel;
  /** Base weights with the run's trained weights in place. */
  readonly weights: WeightMap;
}

interface RunConfig {
  readonly experiment: Experiment;
  readonly plan: { readonly trainable: readonly string[]; readonly spec: ModelSpec };
}

function readRunConfig(runDir: string): RunConfig {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as RunConfig;
  } catch (e) {
    throw new RunFolderError(`${runDir} is not a run folder: cannot read ${RUN_FILES.config} (${(e as Error).message})`);
  }
}

export function loadRun(runDir: string): LoadedRun {
  const config = readRunConfig(runDir);
  if (config.plan.spec.fusion) return loadFusionRun(runDir, config);
  const adapterDir = path.join(runDir, RUN_FILES.adapterDir);
  const modelDir = path.join(runDir, RUN_FILES.modelDir);
  // A masked-LM run that trained the whole model saved it as a model folder instead of an adapter folder.
  if (!fs.existsSync(path.join(adapterDir, ADAPTER_FILES.config)) && fs.existsSync(path.join(modelDir, 'config.json'))) {
    const model = loadModel(modelDir);
    return { runDir, experiment: config.experiment, spec: config.plan.spec, trainable: config.plan.trainable, labels: undefined, model, weights: new Map(model.weights) };
  }
  if (!fs.existsSync(path.join(adapterDir, ADAPTER_FILES.config))) throw new RunFolderError(`${runDir} has no trained weights (${RUN_FILES.adapterDir}/${ADAPTER_FILES.config}): the run did not finish`);
  const labels = labelsOf(runDir);
  const model = loadModel(config.experiment.model);
  // Validated against the model the run builds: a damaged adapter folder is refused here, by file and field.
  const saved = readAdapterFolder(adapterDir, { dims: model.dims, spec: config.plan.spec, trainable: config.plan.trainable });
  const weights = new Map(model.weights);
  for (const [name, t] of saved.weights) weights.set(name, t);
  return { runDir, experiment: config.experiment, spec: config.plan.spec, trainable: config.plan.trainable, labels, model, weights };
}

function labelsOf(runDir: string): LabelMap | undefined {
  const file = path.join(runDir, RUN_FILES.labels);
  return fs.existsSync(file) ? LabelMap.fromJSON(JSON.parse(fs.readFileSync(file, 'utf8'))) : undefined;
}

/** A fusion run: its fused adapters (copied into the run), its fusion layers and head (AdapterHub's fusion layout). */
function loadFusionRun(runDir: string, config: RunConfig): LoadedRun {
  const fusionDir = path.join(runDir, FUSION_RUN_DIRS.fusion);
  if (!fs.existsSync(path.join(fusionDir, FUSION_FILES.config))) throw new RunFolderError(`${runDir} has no trained fusion (${FUSION_RUN_DIRS.fusion}/${FUSION_FILES.config}): the run did not finish`);
  const model = loadModel(config.experiment.model);
  const saved = readFusionRun(runDir, model.dims, config.plan.spec, adapterNameFrom(config.experiment.name));
  const weights = new Map(model.weights);
  for (const [name, t] of saved) weights.set(name, t);
  return { runDir, experiment: config.experiment, spec: config.plan.spec, trainable: config.plan.trainable, labels: labelsOf(runDir), model, weights };
}

/**
 * A fusion run that has not finished, as its last checkpoint holds it: the base model, the
 * fused adapters the run copied when it started, and the trained fusion layers and head from
 * `checkpoint.safetensors` (which training replaces atomically, so a running job's file reads
 * whole). Undefined when the run has no checkpoint yet.
 */
export function loadFusionCheckpoint(runDir: string): (LoadedRun & { readonly checkpointStep: number }) | undefined {
  const config = readRunConfig(runDir);
  const spec = config.plan.spec;
  if (!spec.fusion) throw new RunFolderError(`${runDir} is not a fusion run`);
  const file = path.join(runDir, RUN_FILES.checkpoint);
  if (!fs.existsSync(file)) return undefined;
  const model = loadModel(config.experiment.model);
  const weights = new Map(model.weights);
  for (const copy of readFusedCopies(runDir, spec.fusion.adapters.map((a) => a.name), model.dims)) for (const [n, t] of copy.weights) weights.set(n, t);
  const shapes = parameterShapes(spec);
  let f: ReturnType<typeof openSafetensors>;
  try {
    f = openSafetensors(file);
  } catch (e) {
    // The run finished meanwhile: training removes the checkpoint once its weights are saved.
    if (!fs.existsSync(file)) return undefined;
    throw e;
  }
  const read = new Set<string>();
  let step: number;
  try {
    step = checkpointStepIn(f, file);
    for (const info of f.tensors) {
      if (info.name.startsWith('adam_')) continue;
      const want = shapes.get(info.name);
      if (!want || want.length !== info.shape.length || want.some((x, i) => x !== info.shape[i])) throw new RunFolderError(`${file}: tensor ${info.name} [${info.shape.join(', ')}] is not a parameter of this run's model${want ? ` (it needs [${want.join(', ')}])` : ''}`);
      weights.set(info.name, f.readFloat(info.name));
      read.add(info.name);
    }
  } finally {
    f.close();
  }
  const missing = config.plan.trainable.filter((n) => !read.has(n));
  if (missing.length) throw new RunFolderError(`${file} lacks ${missing.length} of the run's trained parameters (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`);
  return { runDir, experiment: config.experiment, spec, trainable: config.plan.trainable, labels: labelsOf(runDir), model, weights, checkpointStep: step };
}

/** The step a run's checkpoint holds, from its metadata (the trainer writes it there). */
export function checkpointStepIn(f: SafetensorsFile, file: string): number {
  const step = Number(f.metadata?.step);
  if (!Number.isInteger(step) || step < 0) throw new RunFolderError(`${file} has no valid step in its metadata`);
  return step;
}
