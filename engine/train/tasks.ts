/**
 * What differs between task kinds: how examples become model inputs and how predictions
 * are scored. Text tasks (classification, regression) read tables; span tasks read SQuAD
 * files, split long contexts into windows and turn start/end logits back into answer text.
 */
import type { Experiment } from '../config/experiment';
import { loadExperimentData, loadTextExamples, textTaskOf, type LabelMap } from '../data/examples';
import { buildSpanFeatures, readSquad, spanTokenizerFrom, type SpanFeature, type SquadExample } from '../data/squad';
import { computeMetric } from '../metrics';
import type { BertTokenizer } from '../tokenizer';
import { encodeExamples, makeBatches, type EncodedExample, type IndexedBatch } from './batches';

/** Anything that gives a batch's logits, with adapters gated: the trainer, or a layer-by-layer model that reuses states. */
export interface LogitsSource {
  logits(batch: IndexedBatch, gates?: Float32Array): Promise<{ readonly data: Float32Array; readonly shape: readonly number[] }>;
}

export interface TaskInputs {
  readonly train: readonly EncodedExample[];
  readonly validation: readonly EncodedExample[] | undefined;
  readonly labelMap: LabelMap | undefined;
  /** Classes for classification, 1 for regression, 2 (start, end) for spans. */
  readonly numLabels: number;
  /** Scores the current model on the validation inputs: the experiment's metric first. `gates` switch adapters off (ablation). */
  readonly evaluate: (trainer: LogitsSource, gates?: Float32Array) => Promise<Record<string, number>>;
}

/** Inputs and scoring for one evaluation file. */
export interface Evaluation {
  readonly inputs: readonly EncodedExample[];
  readonly evaluate: (trainer: LogitsSource, gates?: Float32Array) => Promise<Record<string, number>>;
}

/** Longest answer considered when decoding spans, in tokens (run_squad's max_answer_length). */
const MAX_ANSWER_TOKENS = 30;
const DOC_STRIDE = 128;

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
  const tokenizer = taskTokenizer(e, modelTokenizer);
  return e.task.kind === 'span' ? prepareSpan(e, tokenizer) : prepareText(e, tokenizer);
}

/** Evaluation of a finished run on a data file (its validation file by default), with the run's label map. */
export function prepareEvaluation(e: Experiment, modelTokenizer: BertTokenizer, labelMap: LabelMap | undefined, file: string): Evaluation {
  const tokenizer = taskTokenizer(e, modelTokenizer);
  if (e.task.kind === 'span') return spanEvaluation(e, tokenizer, readSquad(file));
  return textEvaluation(e, encodeExamples(tokenizer, loadTextExamples(file, textTaskOf(e), labelMap), e.task.maxLength));
}

function textEvaluation(e: Experiment, inputs: readonly EncodedExample[]): Evaluation {
  return {
    inputs,
    evaluate: async (trainer, gates) => {
      const { predictions, labels } = await predictAll(trainer, inputs, e, gates);
      const out: Record<string, number> = { [e.task.metric]: computeMetric(e.task.metric as 'accuracy', predictions, labels) };
      if (e.task.kind === 'classification' && e.task.metric !== 'accuracy') out.accuracy = computeMetric('accuracy', predictions, labels);
      return out;
    },
  };
}

function prepareText(e: Experiment, tokenizer: BertTokenizer): TaskInputs {
  const data = loadExperimentData(e);
  const validation = data.validation ? textEvaluation(e, encodeExamples(tokenizer, data.validation, e.task.maxLength)) : undefined;
  return {
    train: encodeExamples(tokenizer, data.train, e.task.maxLength),
    validation: validation?.inputs,
    labelMap: data.train.labelMap,
    numLabels: data.train.labelMap ? Math.max(2, data.train.labelMap.labels.length) : 1,
    evaluate: (trainer, gates) => validation!.evaluate(trainer, gates),
  };
}

function spanInputs(features: readonly SpanFeature[]): EncodedExample[] {
  return features.map((f, i) => ({ index: i, inputIds: f.inputIds, tokenTypeIds: f.tokenTypeIds, label: 0, span: [f.startPosition, f.endPosition] as const }));
}

function spanOptions(e: Experiment) {
  return { maxLength: e.task.maxLength, docStride: Math.min(DOC_STRIDE, Math.max(1, Math.floor(e.task.maxLength / 2))) };
}

function spanEvaluation(e: Experiment, tokenizer: BertTokenizer, examples: readonly SquadExample[]): Evaluation {
  const features = buildSpanFeatures(examples, spanTokenizerFrom(tokenizer), spanOptions(e));
  const inputs = spanInputs(features);
  return {
    inputs,
    evaluate: async (trainer, gates) => {
      const answers = await predictSpans(trainer, examples, features, inputs, e, gates);
      const golds = examples.map((x) => x.answers.map((a) => a.text));
      const em = computeMetric('exact_match', answers, golds);
      const f1 = computeMetric('span_f1', answers, golds);
      return e.task.metric === 'exact_match' ? { exact_match: em, span_f1: f1 } : { span_f1: f1, exact_match: em };
    },
  };
}

function prepareSpan(e: Experiment, tokenizer: BertTokenizer): TaskInputs {
  const trainFeatures = buildSpanFeatures(readSquad(e.task.train), spanTokenizerFrom(tokenizer), spanOptions(e));
  const validation = e.task.validation ? spanEvaluation(e, tokenizer, readSquad(e.task.validation)) : undefined;
  return {
    train: spanInputs(trainFeatures),
    validation: validation?.inputs,
    labelMap: undefined,
    numLabels: 2,
    evaluate: (trainer, gates) => validation!.evaluate(trainer, gates),
  };
}

/** The best answer text per question: the highest start + end logit over all its windows, start ≤ end ≤ start + 30 tokens. */
async function predictSpans(trainer: LogitsSource, examples: readonly SquadExample[], features: readonly SpanFeature[], inputs: readonly EncodedExample[], e: Pick<Experiment, 'task' | 'training'>, gates?: Float32Array): Promise<string[]> {
  const best = examples.map(() => ({ score: -Infinity, text: '' }));
  for (const batch of makeBatches(inputs, Math.max(e.training.batchSize, 16), 0, 'span', false)) {
    const out = await trainer.logits(batch, gates);
    const S = batch.sequenceLength;
    batch.indices.forEach((index, row) => {
      const f = features[index]!;
      const logit = (pos: number, which: 0 | 1) => out.data[(row * S + pos) * 2 + which]!;
      for (let s = 0; s < f.inputIds.length; s++) {
        const so = f.offsets[s];
        if (!so) continue;
        for (let t = s; t < Math.min(f.inputIds.length, s + MAX_ANSWER_TOKENS); t++) {
          const to = f.offsets[t];
          if (!to) continue;
          const score = logit(s, 0) + logit(t, 1);
          const slot = best[f.exampleIndex]!;
          if (score > slot.score) {
            slot.score = score;
            slot.text = examples[f.exampleIndex]!.context.slice(so[0], to[1]);
          }
        }
      }
    });
  }
  return best.map((b) => b.text);
}

/** Predictions (class ids or values) and gold labels for text examples, in their order. */
export async function predictAll(trainer: LogitsSource, examples: readonly EncodedExample[], e: Pick<Experiment, 'task' | 'training'>, gates?: Float32Array): Promise<{ predictions: number[]; labels: number[]; logits: number[][] }> {
  const predictions: number[] = new Array(examples.length);
  const labels: number[] = new Array(examples.length);
  const logits: number[][] = new Array(examples.length);
  for (const batch of makeBatches(examples, Math.max(e.training.batchSize, 32), 0, e.task.kind, false)) {
    const out = await trainer.logits(batch, gates);
    const width = out.shape[out.shape.length - 1]!;
    batch.indices.forEach((index, row) => {
      const l = Array.from(out.data.subarray(row * width, (row + 1) * width));
      logits[index] = l;
      predictions[index] = e.task.kind === 'regression' ? l[0]! : l.indexOf(Math.max(...l));
      labels[index] = examples[index]!.label;
    });
  }
  return { predictions, labels, logits };
}
