/**
 * Masked-language modelling (Devlin et al.; RoBERTa's dynamic masking and full-sentence
 * packing): running text is tokenized and packed into sequences `[CLS] doc [SEP] doc [SEP] …`
 * of `max_length`, documents split across sequences where they do not fit. At every step a
 * new 15% of the tokens is selected (engine/tasks/masking.ts), and the loss is the
 * cross-entropy at those positions only. The head is BertForMaskedLM's: the hidden states are
 * gathered at the selected positions first, so the vocabulary projection — the largest matrix
 * of a small model — runs only there; its decoder is the word-embedding matrix (tied).
 */
import type { Experiment } from '../config/experiment';
import { METRICS_BY_KIND } from '../config/schema';
import { DataError } from '../data/errors';
import { readDocuments, type TextDocument } from '../data/text';
import { gelu } from '../model/bert';
import { BERT_INIT_STD, normalTensor } from '../model/init';
import * as names from '../model/names';
import { floatTensor } from '../tensor';
import type { BertTokenizer } from '../tokenizer';
import { Random } from '../util/random';
import { batchesOf, type EncodedExample, type IndexedBatch } from './batches';
import type { Evaluation, LogitsSource, TaskKindModule } from './kind';
import { crossEntropy } from './loss';
import { maskSequence, type MaskingOptions } from './masking';

/** Packed sequences and, per token, whether it continues the word before it (a `##` piece). */
export interface PackedText {
  readonly sequences: readonly (readonly number[])[];
  readonly continues: readonly (readonly boolean[])[];
}

/** RoBERTa's full-sentence packing: each document's tokens then [SEP], cut into `[CLS] … [SEP]` sequences of at most `maxLength`. */
export function packDocuments(docs: readonly TextDocument[], tokenizer: BertTokenizer, maxLength: number): PackedText {
  if (maxLength < 3) throw new RangeError(`max_length ${maxLength} leaves no room for text between [CLS] and [SEP]`);
  const capacity = maxLength - 2;
  const sequences: number[][] = [];
  const continues: boolean[][] = [];
  let ids: number[] = [];
  let cont: boolean[] = [];
  const flush = (): void => {
    if (ids.some((id) => id !== tokenizer.sepTokenId)) {
      const endsWithSep = ids[ids.length - 1] === tokenizer.sepTokenId;
      sequences.push([tokenizer.clsTokenId, ...ids, ...(endsWithSep ? [] : [tokenizer.sepTokenId])]);
      continues.push([false, ...cont, ...(endsWithSep ? [] : [false])]);
    }
    ids = [];
    cont = [];
  };
  for (const doc of docs) {
    const tokens = tokenizer.tokenize(doc.text);
    if (tokens.length === 0) continue;
    const tokenIds = tokenizer.convertTokensToIds(tokens);
    for (let i = 0; i <= tokens.length; i++) {
      // A document that filled the last sequence exactly: that sequence's own [SEP] ends it.
      if (i === tokens.length && ids.length === 0) break;
      ids.push(i < tokens.length ? tokenIds[i]! : tokenizer.sepTokenId);
      cont.push(i < tokens.length && tokens[i]!.startsWith('##'));
      if (ids.length === capacity) flush();
    }
  }
  flush();
  return { sequences, continues };
}

/** A deterministic share of the lines: those whose text hashes below `fraction`. */
export function heldOut(text: string, fraction: number): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h / 2 ** 32 < fraction;
}

interface MlmExamples {
  readonly examples: EncodedExample[];
  readonly continues: readonly (readonly boolean[])[];
}

function encodePacked(packed: PackedText): MlmExamples {
  const zeros = new Map<number, readonly number[]>();
  const typesOf = (n: number): readonly number[] => zeros.get(n) ?? (zeros.set(n, new Array<number>(n).fill(0)), zeros.get(n)!);
  return { examples: packed.sequences.map((ids, index) => ({ index, inputIds: ids, tokenTypeIds: typesOf(ids.length), label: 0 })), continues: packed.continues };
}

function maskingOf(e: Experiment, tokenizer: BertTokenizer): MaskingOptions {
  if (tokenizer.maskTokenId === undefined) throw new Error('the vocabulary has no [MASK] token: a masked-language model needs one');
  const specialIds = new Set([tokenizer.padTokenId, tokenizer.unkTokenId, tokenizer.clsTokenId, tokenizer.sepTokenId, tokenizer.maskTokenId]);
  return { probability: e.task.maskProbability, wholeWord: e.task.wholeWordMask, maskId: tokenizer.maskTokenId, vocabSize: tokenizer.vocabSize, specialIds };
}

/** The batch with its rows masked as drawn for (seed, step, example): masked inputs, the positions to predict and their original ids as labels. */
export function maskBatch(batch: IndexedBatch, data: MlmExamples, masking: MaskingOptions, seed: number, step: number): IndexedBatch {
  const S = batch.sequenceLength;
  const inputIds = batch.inputIds.slice();
  const positions: bigint[] = [];
  const labels: bigint[] = [];
  batch.indices.forEach((index, row) => {
    const m = maskSequence(data.examples[index]!.inputIds, data.continues[index], masking, seed, step, index);
    m.positions.forEach((p, k) => {
      inputIds[row * S + p] = BigInt(m.inputIds[p]!);
      positions.push(BigInt(row * S + p));
      labels.push(BigInt(m.labels[k]!));
    });
  });
  return { ...batch, inputIds, maskedPositions: BigInt64Array.from(positions), labels: BigInt64Array.from(labels) };
}

/** Masked-LM scores of a model on fixed masks (drawn at step 0): loss, perplexity and accuracy at the masked positions. */
function mlmEvaluation(e: Experiment, data: MlmExamples, masking: MaskingOptions): Evaluation {
  return {
    inputs: data.examples,
    evaluate: async (trainer: LogitsSource, gates?: Float32Array) => {
      let loss = 0;
      let correct = 0;
      let count = 0;
      for (const plain of batchesOf(data.examples, Math.max(e.training.batchSize, 32), 0, () => undefined, false)) {
        const batch = maskBatch(plain, data, masking, e.training.seed, 0);
        const out = await trainer.logits(batch, gates);
        const V = out.shape[out.shape.length - 1]!;
        batch.labels!.forEach((label, k) => {
          const row = out.data.subarray(k * V, (k + 1) * V);
          let max = -Infinity;
          let best = 0;
          for (let v = 0; v < V; v++) if (row[v]! > max) ((max = row[v]!), (best = v));
          let sum = 0;
          for (let v = 0; v < V; v++) sum += Math.exp(row[v]! - max);
          loss += Math.log(sum) + max - row[Number(label)]!;
          if (best === Number(label)) correct++;
          count++;
        });
      }
      const mean = loss / Math.max(1, count);
      const scores: Record<string, number> = { masked_accuracy: correct / Math.max(1, count), mlm_loss: mean, perplexity: Math.exp(mean) };
      return { [e.task.metric]: scores[e.task.metric]!, ...scores };
    },
  };
}

function prepareMlm(e: Experiment, tokenizer: BertTokenizer, trainFile: string, validationFile: string | undefined): { train: MlmExamples; validation: MlmExamples | undefined } {
  const column = e.task.text[0];
  const docs = readDocuments(trainFile, column);
  let trainDocs = docs;
  let validationDocs: TextDocument[] | undefined;
  if (validationFile) validationDocs = readDocuments(validationFile, column);
  else if (e.task.validationFraction !== undefined) {
    const f = e.task.validationFraction;
    validationDocs = docs.filter((d) => heldOut(d.text, f));
    trainDocs = docs.filter((d) => !heldOut(d.text, f));
    if (trainDocs.length === 0 || validationDocs.length === 0) throw new RangeError(`task.validation_fraction ${f} leaves ${trainDocs.length} training and ${validationDocs.length} validation lines of ${docs.length}`);
  }
  const packed = (docs: readonly TextDocument[], file: string): MlmExamples => {
    const data = encodePacked(packDocuments(docs, tokenizer, e.task.maxLength));
    if (data.examples.length === 0) throw new DataError(file, undefined, 'no text to learn from: every line tokenizes to nothing (only characters the tokenizer removes)');
    return data;
  };
  const train = packed(trainDocs, trainFile);
  const validation = validationDocs ? packed(validationDocs, validationFile ?? trainFile) : undefined;
  return { train, validation };
}

export const mlm: TaskKindModule = {
  kind: 'mlm',
  metrics: METRICS_BY_KIND.mlm,
  prepare(e, tokenizer) {
    const masking = maskingOf(e, tokenizer);
    const { train, validation } = prepareMlm(e, tokenizer, e.task.train, e.task.validation);
    const evaluation = validation ? mlmEvaluation(e, validation, masking) : undefined;
    return {
      train: train.examples,
      validation: validation?.examples,
      labelMap: undefined,
      numLabels: tokenizer.vocabSize,
      evaluate: (trainer, gates) => evaluation!.evaluate(trainer, gates),
      stepBatch: (batch, step) => maskBatch(batch, train, masking, e.training.seed, step),
    };
  },
  prepareEvaluation(e, tokenizer, _labelMap, file) {
    const data = encodePacked(packDocuments(readDocuments(file, e.task.text[0]), tokenizer, e.task.maxLength));
    return mlmEvaluation(e, data, maskingOf(e, tokenizer));
  },
  headSpec: (vocabSize) => ({ kind: 'mlm', vocabSize }),
  // Language adapters (MAD-X) train the decoder's bias with the adapters; the transform follows the method.
  headParameters: () => [names.mlmHead.bias],
  aboveTopLayer: () => [names.mlmHead.transform.weight, names.mlmHead.transform.bias, names.mlmHead.layerNorm.weight, names.mlmHead.layerNorm.bias],
  initHead(weights, spec, seed) {
    if (spec.head.kind !== 'mlm') throw new Error(`a ${spec.head.kind} head is not a masked-LM head`);
    const d = spec.dims.hiddenSize;
    const m = names.mlmHead;
    const rng = new Random(seed ^ 0x4ead);
    const fits = (name: string, shape: readonly number[]) => weights.get(name)?.shape.join() === shape.join();
    const created: string[] = [];
    if (!fits(m.transform.weight, [d, d]) || !fits(m.transform.bias, [d])) {
      weights.set(m.transform.weight, normalTensor([d, d], BERT_INIT_STD, rng, false));
      weights.set(m.transform.bias, floatTensor([d]));
      created.push(m.transform.weight, m.transform.bias);
    }
    if (!fits(m.layerNorm.weight, [d]) || !fits(m.layerNorm.bias, [d])) {
      weights.set(m.layerNorm.weight, floatTensor([d], new Float32Array(d).fill(1)));
      weights.set(m.layerNorm.bias, floatTensor([d]));
      created.push(m.layerNorm.weight, m.layerNorm.bias);
    }
    if (!fits(m.bias, [spec.head.vocabSize])) {
      weights.set(m.bias, floatTensor([spec.head.vocabSize]));
      created.push(m.bias);
    }
    return created;
  },
  head: () => ({ o, hidden, layerNormEps, weight, linear }) => {
    const m = names.mlmHead;
    // Only the selected positions go through the head: [masked, d].
    const positions = o.graph.input('masked_positions', 'int64', ['masked']);
    const picked = o.gather(hidden, positions);
    const t = gelu(o, linear(picked, m.transform));
    const normed = o.layerNorm(t, weight(m.layerNorm.weight), weight(m.layerNorm.bias), layerNormEps);
    // The decoder: x · Eᵀ + b with E the word embeddings, as BertForMaskedLM ties them.
    return linear(normed, { weight: names.embeddings.word, bias: m.bias });
  },
  loss(o, logits, _head, dtype) {
    const labels = o.graph.input('labels', 'int64', ['masked']);
    return { loss: crossEntropy(o, logits, labels, 'vocab', dtype), labelInput: 'labels' };
  },
  labelShape: (batch) => [batch.labels?.length ?? 0],
  batchLabels: () => undefined,
};
