/**
 * Task kinds: what differs between them (examples, batches, head, loss, predictions,
 * metrics) is each kind's module, found by `task.kind` in the registry. This module is the
 * entry point the training core and the jobs use.
 */
import type { Experiment } from '../config/experiment';
import type { TaskKind } from '../config/schema';
import type { LabelMap } from '../data/examples';
import type { BertTokenizer } from '../tokenizer';
import { batchesOf, type EncodedExample, type IndexedBatch } from './batches';
import type { Evaluation, LogitsSource, TaskInputs } from './kind';
import { taskKind } from './registry';
import { predictRows } from './text';

export type { Evaluation, LogitsSource, TaskInputs, TaskKindModule } from './kind';
export type { EncodedExample, IndexedBatch } from './batches';
export { encodeExamples } from './batches';
export { buildBert, buildBertSegment, initHead } from './model';
export { taskKind } from './registry';

/**
 * The model's tokenizer as the experiment reads its inputs: `task.tokenizer` 'fast' or 'slow'
 * overrides the model folder's choice; 'auto' (and runs recorded without the setting) keep it.
 */
export function taskTokenizer(e: Experiment, tokenizer: BertTokenizer): BertTokenizer {
  const choice = e.task.tokenizer ?? 'auto';
  return choice === 'auto' ? tokenizer : tokenizer.withBehaviour(choice);
}

/** `modelTokenizer` is the loaded model's; `task.tokenizer` is applied here. */
export function prepareTask(e: Experiment, modelTokenizer: BertTokenizer): TaskInputs {
  return taskKind(e.task.kind).prepare(e, taskTokenizer(e, modelTokenizer));
}

/** Evaluation of a finished run on a data file (its validation file by default), with the run's label map. */
export function prepareEvaluation(e: Experiment, modelTokenizer: BertTokenizer, labelMap: LabelMap | undefined, file: string): Evaluation {
  return taskKind(e.task.kind).prepareEvaluation(e, taskTokenizer(e, modelTokenizer), labelMap, file);
}

/** Training batches (shuffled, length-grouped, seeded) or evaluation batches (`shuffle` false: sorted by length). */
export function makeBatches(examples: readonly EncodedExample[], batchSize: number, seed: number, kind: TaskKind, shuffle = true): IndexedBatch[] {
  return batchesOf(examples, batchSize, seed, taskKind(kind).batchLabels, shuffle);
}

/** Predictions (class ids or values) and gold labels for text examples, in their order. */
export function predictAll(trainer: LogitsSource, examples: readonly EncodedExample[], e: Pick<Experiment, 'task' | 'training'>, gates?: Float32Array): Promise<{ predictions: number[]; labels: number[]; logits: number[][] }> {
  const task = taskKind(e.task.kind);
  if (!task.predictRow) throw new Error(`${e.task.kind} tasks do not predict one output row per example`);
  return predictRows(task, trainer, examples, e, task.predictRow, gates);
}
