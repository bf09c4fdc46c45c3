/**
 * Extractive question answering (SQuAD v1.1): questions and contexts, with long contexts
 * split into overlapping windows; start and end logits per token, as
 * BertForQuestionAnswering; answers decoded back to context text.
 */
import type { Experiment } from '../config/experiment';
import { METRICS_BY_KIND } from '../config/schema';
import { buildSpanFeatures, readSquad, spanTokenizerFrom, type SpanFeature, type SquadExample } from '../data/squad';
import { computeMetric } from '../metrics';
import { BERT_INIT_STD, normalTensor } from '../model/init';
import * as names from '../model/names';
import { floatTensor } from '../tensor';
import type { BertTokenizer } from '../tokenizer';
import { Random } from '../util/random';
import { batchesOf, type EncodedExample } from './batches';
import type { Evaluation, LogitsSource, TaskKindModule } from './kind';
import { crossEntropy } from './loss';

/** Longest answer considered when decoding spans, in tokens (run_squad's max_answer_length). */
const MAX_ANSWER_TOKENS = 30;
const DOC_STRIDE = 128;

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

/** The best answer text per question: the highest start + end logit over all its windows, start ≤ end ≤ start + 30 tokens. */
async function predictSpans(trainer: LogitsSource, examples: readonly SquadExample[], features: readonly SpanFeature[], inputs: readonly EncodedExample[], e: Pick<Experiment, 'task' | 'training'>, gates?: Float32Array): Promise<string[]> {
  const best = examples.map(() => ({ score: -Infinity, text: '' }));
  for (const batch of batchesOf(inputs, Math.max(e.training.batchSize, 16), 0, span.batchLabels, false)) {
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

export const span: TaskKindModule = {
  kind: 'span',
  metrics: METRICS_BY_KIND.span,
  prepare(e, tokenizer) {
    const trainFeatures = buildSpanFeatures(readSquad(e.task.train), spanTokenizerFrom(tokenizer), spanOptions(e));
    const validation = e.task.validation ? spanEvaluation(e, tokenizer, readSquad(e.task.validation)) : undefined;
    return {
      train: spanInputs(trainFeatures),
      validation: validation?.inputs,
      labelMap: undefined,
      numLabels: 2,
      evaluate: (trainer, gates) => validation!.evaluate(trainer, gates),
    };
  },
  prepareEvaluation: (e, tokenizer, _labelMap, file) => spanEvaluation(e, tokenizer, readSquad(file)),
  headSpec: () => ({ kind: 'span' }),
  headParameters: () => [names.qaOutputs.weight, names.qaOutputs.bias],
  aboveTopLayer: () => [],
  initHead(weights, spec, seed) {
    const rng = new Random(seed ^ 0x4ead);
    const d = spec.dims.hiddenSize;
    const existing = weights.get(names.qaOutputs.weight);
    if (existing && existing.shape[0] === 2 && existing.shape[1] === d) return [];
    weights.set(names.qaOutputs.weight, normalTensor([2, d], BERT_INIT_STD, rng, false));
    weights.set(names.qaOutputs.bias, floatTensor([2]));
    return [names.qaOutputs.weight, names.qaOutputs.bias];
  },
  // Start and end logits per token: [batch, sequence, 2].
  head: () => ({ o, hidden, ioShape, linear }) => o.reshape(linear(hidden, names.qaOutputs), o.concatShapes([ioShape, o.ints([2])], 3), ['batch', 'sequence', 2]),
  loss(o, logits, _head, dtype) {
    // [batch, sequence, 2] → start and end logits over the sequence; labels [batch, 2].
    const labels = o.graph.input('labels', 'int64', ['batch', 2]);
    const byEnd = o.transpose(logits, [2, 0, 1]);
    const start = o.gather(byEnd, o.scalar(0, 'int64'));
    const end = o.gather(byEnd, o.scalar(1, 'int64'));
    const labelsT = o.transpose(labels, [1, 0]);
    const ls = crossEntropy(o, start, o.gather(labelsT, o.scalar(0, 'int64')), 'sequence', dtype);
    const le = crossEntropy(o, end, o.gather(labelsT, o.scalar(1, 'int64')), 'sequence', dtype);
    return { loss: o.mul(o.add(ls, le), o.scalar(0.5, dtype)), labelInput: 'labels' };
  },
  labelShape: (batch) => [batch.batchSize, 2],
  batchLabels: (items) => ({ kind: 'span', values: items.map((x) => x.span ?? ([0, 0] as const)) }),
};
