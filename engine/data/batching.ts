/**
 * Batches: which examples go together, and their padded tensors.
 *
 * Training order is length-grouped: the examples are shuffled, cut into chunks of
 * `chunkBatches × batchSize`, each chunk is sorted by length and cut into batches, and the
 * batches are shuffled. Batches then hold examples of similar length and are padded only to
 * their own longest sequence, which on typical (skewed) length distributions removes most
 * padding; the chunking keeps the order random at the scale of the epoch. Everything is a
 * function of the seed: pass a different seed per epoch (for instance seed·1000 + epoch).
 */
import { floatTensor, type FloatTensor, type IntTensor } from '../tensor';
import { Random } from '../util/random';

/** One encoded input: token ids and token types (zeros when absent), without padding. */
export interface EncodedInput {
  readonly inputIds: readonly number[];
  readonly tokenTypeIds?: readonly number[];
}

export type BatchLabels =
  /** Class ids → int64 [batch]. */
  | { readonly kind: 'classification'; readonly values: readonly number[] }
  /** Targets → float32 [batch]. */
  | { readonly kind: 'regression'; readonly values: readonly number[] }
  /** Start and end positions → int64 [batch, 2]. */
  | { readonly kind: 'span'; readonly values: readonly (readonly [number, number])[] };

export interface PaddedBatch {
  /** The graph's `input_ids`: int64 [batchSize, sequenceLength], padded with the pad id. */
  readonly inputIds: IntTensor;
  /** The graph's `token_type_ids`: int64, 0 on padding. */
  readonly tokenTypeIds: IntTensor;
  /** The graph's `attention_mask`: int64, 1 on real tokens, 0 on padding. */
  readonly attentionMask: IntTensor;
  readonly labels: IntTensor | FloatTensor | undefined;
  readonly batchSize: number;
  readonly sequenceLength: number;
  /** Real (unpadded) tokens in the batch. */
  readonly tokens: number;
}

export interface BatchingOptions {
  /** Chunk size in batches: larger chunks group lengths more tightly but keep less randomness. Default 50. */
  readonly chunkBatches?: number;
}

/**
 * Length-grouped batches of example indices for one epoch (see the module comment). Every
 * index 0..n-1 appears exactly once; only the last chunk's last batch may be short.
 */
export function lengthGroupedBatches(lengths: readonly number[], batchSize: number, seed: number, options: BatchingOptions = {}): number[][] {
  checkBatchSize(batchSize);
  const chunkBatches = options.chunkBatches ?? 50;
  if (!Number.isInteger(chunkBatches) || chunkBatches < 1) throw new RangeError(`chunkBatches must be a positive integer, got ${chunkBatches}`);
  const random = new Random(seed);
  const order = random.shuffle(Array.from(lengths, (_, i) => i));
  const chunk = chunkBatches * batchSize;
  const batches: number[][] = [];
  for (let from = 0; from < order.length; from += chunk) {
    // Array.prototype.sort is stable: equal lengths keep their shuffled order.
    const sorted = order.slice(from, from + chunk).sort((a, b) => lengths[a]! - lengths[b]!);
    for (let i = 0; i < sorted.length; i += batchSize) batches.push(sorted.slice(i, i + batchSize));
  }
  return random.shuffle(batches);
}

/** Batches in file order (evaluation when order matters). */
export function sequentialBatches(count: number, batchSize: number): number[][] {
  checkBatchSize(batchSize);
  const batches: number[][] = [];
  for (let i = 0; i < count; i += batchSize) batches.push(Array.from({ length: Math.min(batchSize, count - i) }, (_, k) => i + k));
  return batches;
}

/** Evaluation batches sorted by length (longest first, ties by index): least padding, no randomness. */
export function sortedBatches(lengths: readonly number[], batchSize: number): number[][] {
  checkBatchSize(batchSize);
  const order = Array.from(lengths, (_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const batches: number[][] = [];
  for (let i = 0; i < order.length; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/**
 * Pads a batch to its longest input (or to `padTo`, which must be at least that long: the
 * max_length padding a benchmark compares against).
 */
export function padBatch(items: readonly EncodedInput[], labels?: BatchLabels, options: { readonly padTokenId?: number; readonly padTo?: number } = {}): PaddedBatch {
  if (items.length === 0) throw new RangeError('a batch needs at least one input');
  if (labels !== undefined && labels.values.length !== items.length) throw new RangeError(`a batch of ${items.length} inputs needs ${items.length} labels, got ${labels.values.length}`);
  const longest = items.reduce((m, x) => Math.max(m, x.inputIds.length), 0);
  const sequenceLength = options.padTo ?? longest;
  if (sequenceLength < longest) throw new RangeError(`padTo ${sequenceLength} is shorter than the batch's longest input (${longest})`);
  const n = items.length;
  const ids = new BigInt64Array(n * sequenceLength).fill(BigInt(options.padTokenId ?? 0));
  const types = new BigInt64Array(n * sequenceLength);
  const mask = new BigInt64Array(n * sequenceLength);
  let tokens = 0;
  items.forEach((item, row) => {
    const base = row * sequenceLength;
    const len = item.inputIds.length;
    if (item.tokenTypeIds !== undefined && item.tokenTypeIds.length !== len) throw new RangeError(`input ${row} has ${len} token ids but ${item.tokenTypeIds.length} token types`);
    for (let j = 0; j < len; j++) {
      ids[base + j] = BigInt(item.inputIds[j]!);
      if (item.tokenTypeIds) types[base + j] = BigInt(item.tokenTypeIds[j]!);
      mask[base + j] = 1n;
    }
    tokens += len;
  });
  const shape = [n, sequenceLength];
  return {
    inputIds: intTensor(shape, ids),
    tokenTypeIds: intTensor(shape, types),
    attentionMask: intTensor(shape, mask),
    labels: labels === undefined ? undefined : labelTensor(labels),
    batchSize: n,
    sequenceLength,
    tokens,
  };
}

export interface PaddingStats {
  /** Sum of the inputs' lengths. */
  readonly realTokens: number;
  /** Positions fed to the model: batch size × padded length, summed over batches. */
  readonly paddedTokens: number;
  /** realTokens / paddedTokens (1 = no padding). */
  readonly efficiency: number;
}

/** Padding efficiency of batches (indices into `lengths`), padded to each batch's longest input or to `padTo`. */
export function paddingEfficiency(lengths: readonly number[], batches: readonly (readonly number[])[], padTo?: number): PaddingStats {
  let realTokens = 0;
  let paddedTokens = 0;
  for (const batch of batches) {
    let longest = 0;
    for (const i of batch) {
      realTokens += lengths[i]!;
      longest = Math.max(longest, lengths[i]!);
    }
    paddedTokens += batch.length * (padTo ?? longest);
  }
  return { realTokens, paddedTokens, efficiency: paddedTokens === 0 ? 1 : realTokens / paddedTokens };
}

function labelTensor(labels: BatchLabels): IntTensor | FloatTensor {
  switch (labels.kind) {
    case 'classification':
      return intTensor([labels.values.length], BigInt64Array.from(labels.values, (v) => BigInt(v)));
    case 'regression':
      return floatTensor([labels.values.length], Float32Array.from(labels.values));
    case 'span':
      return intTensor([labels.values.length, 2], BigInt64Array.from(labels.values.flatMap(([s, e]) => [BigInt(s), BigInt(e)])));
  }
}

function intTensor(shape: readonly number[], data: BigInt64Array): IntTensor {
  return { dtype: 'int64', shape: [...shape], data };
}

function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
}

/** A padded batch: int64 [batch, sequence] inputs and labels (int64 classes, float32 targets, or int64 [batch, 2] spans). */
export interface Batch {
  readonly inputIds: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly batchSize: number;
  readonly sequenceLength: number;
  readonly labels?: BigInt64Array | Float32Array;
  /** Unpadded tokens in the batch. */
  readonly tokens: number;
  /** Masked-LM: flat positions (row × sequence + column) of the tokens to predict; `labels` holds their original ids. */
  readonly maskedPositions?: BigInt64Array;
  /** The cached frozen prefix's output [batch × sequence, d], for a trainer whose step starts above it. */
  readonly hidden?: Float32Array;
}
