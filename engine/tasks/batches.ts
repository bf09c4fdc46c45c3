/**
 * From task examples to the trainer's padded batches: tokenize once, then group by length
 * for training (engine/data/batching.ts) or sort by length for evaluation. How labels
 * are packed is the task kind's (TaskKindModule.batchLabels).
 */
import { lengthGroupedBatches, padBatch, sortedBatches, type Batch, type BatchLabels } from '../data/batching';
import type { TaskData } from '../data/examples';
import type { BertTokenizer } from '../tokenizer';


export interface EncodedExample {
  readonly index: number;
  readonly inputIds: readonly number[];
  readonly tokenTypeIds: readonly number[];
  readonly label: number;
  /** Span tasks: the answer's start and end token positions (0, 0 when the window lacks it). */
  readonly span?: readonly [number, number];
}

/** A trainer batch that remembers which examples it holds. */
export type IndexedBatch = Batch & { readonly indices: readonly number[] };

export function encodeExamples(tokenizer: BertTokenizer, data: TaskData, maxLength: number): EncodedExample[] {
  return data.examples.map((x, i) => {
    const enc = tokenizer.encode(x.textA, x.textB, { maxLength });
    return { index: i, inputIds: enc.inputIds, tokenTypeIds: enc.tokenTypeIds, label: x.label };
  });
}

/**
 * Training batches (shuffled, length-grouped, seeded) or evaluation batches (`shuffle`
 * false: sorted by length), with labels as the task kind packs them.
 */
export function batchesOf(examples: readonly EncodedExample[], batchSize: number, seed: number, labelsOf: (items: readonly EncodedExample[]) => BatchLabels | undefined, shuffle = true): IndexedBatch[] {
  const lengths = examples.map((x) => x.inputIds.length);
  const groups = shuffle ? lengthGroupedBatches(lengths, batchSize, seed) : sortedBatches(lengths, batchSize);
  return groups.map((indices) => {
    const items = indices.map((i) => examples[i]!);
    const p = padBatch(items, labelsOf(items));
    return {
      indices,
      inputIds: p.inputIds.data,
      tokenTypeIds: p.tokenTypeIds.data,
      attentionMask: p.attentionMask.data,
      batchSize: p.batchSize,
      sequenceLength: p.sequenceLength,
      labels: p.labels?.data,
      tokens: p.tokens,
    };
  });
}
