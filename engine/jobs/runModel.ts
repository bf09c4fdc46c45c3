/**
 * A finished run as a model again: the base model it names plus its trained weights, its
 * spec and label map. Prediction, ablation and evaluation start here.
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
import { FUSION_FILES, FUSION_RUN_DIRS, readFusionRun } from '../checkpoint/fusionFolder';
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

export function loadRun(runDir: string): LoadedRun {
  const file = (name: string) => path.join(runDir, name);
  let config: RunConfig;
  try {
    config = JSON.parse(fs.readFileSync(file(RUN_FILES.config), 'utf8')) as RunConfig;
  } catch (e) {
    throw new RunFolderError(`${runDir} is not a run folder: cannot read ${RUN_FILES.config} (${(e as Error).message})`);
  }
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
