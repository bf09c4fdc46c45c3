/** Evaluation of a finished run on any labelled data file, with the run's label map. */
import * as path from 'node:path';
import { loadRun } from './runModel';
import { prepareEvaluation } from './tasks';
import type { SessionOptions } from '../runtime/session';
import { Trainer } from './trainer';

export interface EvaluationResult {
  readonly run: string;
  readonly dataFile: string;
  readonly examples: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export async function evaluateRun(runDir: string, dataFile: string, session: SessionOptions = {}): Promise<EvaluationResult> {
  const run = loadRun(runDir);
  const evaluation = prepareEvaluation(run.experiment, run.model.tokenizer, run.labels, path.resolve(dataFile));
  const trainer = await Trainer.create(run.spec, run.weights, [], undefined, session);
  try {
    return { run: path.basename(runDir), dataFile: path.resolve(dataFile), examples: evaluation.inputs.length, metrics: await evaluation.evaluate(trainer) };
  } finally {
    await trainer.release();
  }
}
