/**
 * Predictions from a finished run: rebuild its model from the run folder (the base model
 * it names, plus its trained weights) and run a data file through it, in file order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensors } from '../checkpoint/safetensors';
import type { Experiment } from '../config/experiment';
import { LabelMap } from '../data/examples';
import { readTable } from '../data/table';
import { loadModel } from '../model/load';
import type { ModelSpec } from '../model/bert';
import { RUN_FILES } from '../runs/store';
import type { FloatTensor } from '../tensor';
import type { EncodedExample } from './batches';
import { predictAll } from './tasks';
import { Trainer } from './trainer';

export interface Prediction {
  readonly index: number;
  readonly logits: readonly number[];
  /** The label (classification) or value (regression). */
  readonly prediction: string | number;
}

export class RunFolderError extends Error {}

interface RunConfig {
  readonly experiment: Experiment;
  readonly plan: { readonly trainable: readonly string[]; readonly spec: ModelSpec };
}

function readRun(runDir: string): { config: RunConfig; labels: LabelMap | undefined; trained: Map<string, FloatTensor> } {
  const file = (name: string) => path.join(runDir, name);
  let config: RunConfig;
  try {
    config = JSON.parse(fs.readFileSync(file(RUN_FILES.config), 'utf8')) as RunConfig;
  } catch (e) {
    throw new RunFolderError(`${runDir} is not a run folder: cannot read ${RUN_FILES.config} (${(e as Error).message})`);
  }
  const weightsFile = path.join(runDir, RUN_FILES.adapterDir, 'adapter.safetensors');
  if (!fs.existsSync(weightsFile)) throw new RunFolderError(`${runDir} has no trained weights (${RUN_FILES.adapterDir}/adapter.safetensors): the run did not finish`);
  const trained = new Map<string, FloatTensor>();
  for (const [name, t] of readSafetensors(weightsFile)) if (t.dtype === 'float32') trained.set(name, t);
  const labels = fs.existsSync(file(RUN_FILES.labels)) ? LabelMap.fromJSON(JSON.parse(fs.readFileSync(file(RUN_FILES.labels), 'utf8'))) : undefined;
  return { config, labels, trained };
}

export async function predictFile(runDir: string, dataFile: string, threads?: number): Promise<Prediction[]> {
  const { config, labels, trained } = readRun(runDir);
  const e = config.experiment;
  if (e.task.kind === 'span') throw new RunFolderError('predict reads .tsv/.csv/.jsonl text tasks; span runs are evaluated with their SQuAD file');
  const model = loadModel(e.model);
  const weights = new Map(model.weights);
  for (const [name, t] of trained) weights.set(name, t);
  const table = readTable(dataFile, { columns: [...e.task.text] });
  const examples: EncodedExample[] = table.rows.map((row, i) => {
    const enc = model.tokenizer.encode(String(row.cells[0] ?? ''), e.task.text.length > 1 ? String(row.cells[1] ?? '') : undefined, { maxLength: e.task.maxLength });
    return { index: i, inputIds: enc.inputIds, tokenTypeIds: enc.tokenTypeIds, label: 0 };
  });
  const trainer = await Trainer.create(config.plan.spec, weights, [], undefined, { threads });
  try {
    const { predictions, logits } = await predictAll(trainer, examples, e);
    return examples.map((x) => ({
      index: x.index,
      logits: logits[x.index]!,
      prediction: e.task.kind === 'regression' ? predictions[x.index]! : (labels?.labels[predictions[x.index]!] ?? predictions[x.index]!),
    }));
  } finally {
    await trainer.release();
  }
}
