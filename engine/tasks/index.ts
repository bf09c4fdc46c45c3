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

export function prepareTask(e: Experiment, tokenizer: BertTokenizer): TaskInputs {
  return taskKind(e.task.kind).prepare(e, tokenizer);
}

/** Evaluation of a finished run on a data file (its validation file by default), with the run's label map. */
export function prepareEvaluation(e: Experiment, tokenizer: BertTokenizer, labelMap: LabelMap | undefined, file: string): Evaluation {
  return taskKind(e.task.kind).prepareEvaluation(e, tokenizer, labelMap, file);
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
