/** Evaluation of a finished run on any labelled data file, with the run's label map. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readJsonLines, RUN_FILES, type RunStatusRecord } from '../runs/store';
import { loadRun } from './runModel';
import { prepareEvaluation } from '../tasks/index';
import type { SessionOptions } from '../runtime/session';
import { Trainer } from '../train/trainer';

export interface EvaluationResult {
  readonly run: string;
  readonly dataFile: string;
  readonly examples: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/** What the result is of: the experiment's metric, and when in training the weights were saved. */
export interface EvaluationDetails {
  readonly metric: string;
  readonly trainedAt: TrainedAt;
  readonly seconds: number;
}

export interface TrainedAt {
  /** The run's last optimizer step (0 for an imported adapter). */
  readonly step: number;
  /** The epoch of its last evaluation (0 when it has none). */
  readonly epoch: number;
}

export async function evaluateRun(runDir: string, dataFile: string, session: SessionOptions = {}): Promise<EvaluationResult & EvaluationDetails> {
  const t = performance.now();
  const run = loadRun(runDir);
  const evaluation = prepareEvaluation(run.experiment, run.model.tokenizer, run.labels, path.resolve(dataFile));
  const trainer = await Trainer.create(run.spec, run.weights, [], undefined, session);
  try {
    const metrics = await evaluation.evaluate(trainer);
    return { run: path.basename(runDir), dataFile: path.resolve(dataFile), examples: evaluation.inputs.length, metrics, metric: run.experiment.task.metric, trainedAt: trainedAt(runDir), seconds: (performance.now() - t) / 1000 };
  } finally {
    await trainer.release();
  }
}

/** Where a run's weights come from: its status's step and its last evaluation's epoch. */
export function trainedAt(runDir: string): TrainedAt {
  let status: Partial<RunStatusRecord> | undefined;
  try {
    status = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.status), 'utf8')) as Partial<RunStatusRecord>;
  } catch {
    // No status (a folder made by hand): the weights are from step 0 as far as anyone knows.
  }
  const evaluations = readJsonLines<{ type?: string; epoch?: number }>(path.join(runDir, RUN_FILES.metrics)).filter((r) => r.type === 'evaluation');
  return { step: status?.step ?? 0, epoch: evaluations[evaluations.length - 1]?.epoch ?? 0 };
}
