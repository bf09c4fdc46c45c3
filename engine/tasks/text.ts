/**
 * What classification and regression share: examples from tables (TSV, CSV, JSONL) with
 * one or two text columns and a label column, scored on one output row per example.
 */
import type { Experiment } from '../config/experiment';
import { loadExperimentData, loadTextExamples, textTaskOf, type LabelMap } from '../data/examples';
import type { BertTokenizer } from '../tokenizer';
import { batchesOf, encodeExamples, type EncodedExample } from './batches';
import type { Evaluation, LogitsSource, Scorer, TaskInputs, TaskKindModule } from './kind';

/** Scores predictions (class ids or values) against labels: the experiment's metric first. */
export type TextScorer = (e: Experiment, predictions: number[], labels: number[]) => Record<string, number>;

/** The prediction an output row stands for: a class id (argmax) or a value. */
export type RowPrediction = (row: readonly number[]) => number;

export function textEvaluation(task: TaskKindModule, e: Experiment, inputs: readonly EncodedExample[], score: TextScorer, predict: RowPrediction): Evaluation {
  const evaluate: Scorer = async (trainer, gates) => {
    const { predictions, labels } = await predictRows(task, trainer, inputs, e, predict, gates);
    return score(e, predictions, labels);
  };
  return { inputs, evaluate };
}

export function prepareText(task: TaskKindModule, e: Experiment, tokenizer: BertTokenizer, score: TextScorer, predict: RowPrediction): TaskInputs {
  const data = loadExperimentData(e);
  const validation = data.validation ? textEvaluation(task, e, encodeExamples(tokenizer, data.validation, e.task.maxLength), score, predict) : undefined;
  return {
    train: encodeExamples(tokenizer, data.train, e.task.maxLength),
    validation: validation?.inputs,
    labelMap: data.train.labelMap,
    numLabels: data.train.labelMap ? Math.max(2, data.train.labelMap.labels.length) : 1,
    evaluate: (trainer, gates) => validation!.evaluate(trainer, gates),
  };
}

export function textFileEvaluation(task: TaskKindModule, e: Experiment, tokenizer: BertTokenizer, labelMap: LabelMap | undefined, file: string, score: TextScorer, predict: RowPrediction): Evaluation {
  return textEvaluation(task, e, encodeExamples(tokenizer, loadTextExamples(file, textTaskOf(e), labelMap), e.task.maxLength), score, predict);
}

/** Predictions, gold labels and output rows for text examples, in their order. */
export async function predictRows(task: TaskKindModule, trainer: LogitsSource, examples: readonly EncodedExample[], e: Pick<Experiment, 'task' | 'training'>, predict: RowPrediction, gates?: Float32Array): Promise<{ predictions: number[]; labels: number[]; logits: number[][] }> {
  const predictions: number[] = new Array(examples.length);
  const labels: number[] = new Array(examples.length);
  const logits: number[][] = new Array(examples.length);
  for (const batch of batchesOf(examples, Math.max(e.training.batchSize, 32), 0, (items) => task.batchLabels(items), false)) {
    const out = await trainer.logits(batch, gates);
    const width = out.shape[out.shape.length - 1]!;
    batch.indices.forEach((index, row) => {
      const l = Array.from(out.data.subarray(row * width, (row + 1) * width));
      logits[index] = l;
      predictions[index] = predict(l);
      labels[index] = examples[index]!.label;
    });
  }
  return { predictions, labels, logits };
}
