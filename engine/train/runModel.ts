/**
 * A finished run as a model again: the base model it names plus its trained weights, its
 * spec and label map. Prediction, ablation and evaluation start here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors } from '../checkpoint/safetensors';
import type { Experiment } from '../config/experiment';
import { LabelMap } from '../data/examples';
import type { ModelSpec } from '../model/bert';
import { loadModel, type LoadedModel } from '../model/load';
import { RUN_FILES } from '../runs/store';
import type { WeightMap } from '../tensor';

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
  const weightsFile = path.join(runDir, RUN_FILES.adapterDir, 'adapter.safetensors');
  if (!fs.existsSync(weightsFile)) throw new RunFolderError(`${runDir} has no trained weights (${RUN_FILES.adapterDir}/adapter.safetensors): the run did not finish`);
  const labels = fs.existsSync(file(RUN_FILES.labels)) ? LabelMap.fromJSON(JSON.parse(fs.readFileSync(file(RUN_FILES.labels), 'utf8'))) : undefined;
  const model = loadModel(config.experiment.model);
  const weights = new Map(model.weights);
  for (const [name, t] of readSafetensors(weightsFile)) if (t.dtype === 'float32') weights.set(name, t);
  return { runDir, experiment: config.experiment, spec: config.plan.spec, trainable: config.plan.trainable, labels, model, weights };
}
