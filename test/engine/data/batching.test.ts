/** Length-grouped batching, padding to each batch's longest input, and padding efficiency. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lengthGroupedBatches, padBatch, paddingEfficiency, sequentialBatches, sortedBatches } from '../../../engine/data/batching';
import { Random } from '../../../engine/util/random';

/** A skewed (roughly exponential) length distribution, 8..128 tokens, like sentence data under max_length 128. */
function skewedLengths(n: number, seed: number): number[] {
  const random = new Random(seed);
  return Array.from({ length: n }, () => Math.min(128, 8 + Math.floor(-Math.log(1 - random.next()) * 20)));
}

const lengths = skewedLengths(5000, 7);
const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('lengthGroupedBatches', () => {
  test('every example exactly once; full batches except at most one', () => {
    for (const [n, batchSize] of [[5000, 32], [1, 4], [33, 32], [64, 32], [7, 100]] as const) {
      const batches = lengthGroupedBatches(lengths.slice(0, n), batchSize, 1);
      assert.deepEqual(sorted(batches.flat()), range(n), `n=${n}`);
      assert.ok(batches.filter((b) => b.length !== batchSize).length <= 1, `n=${n}`);
      assert.ok(batches.every((b) => b.length >= 1 && b.length <= batchSize));
    }
    assert.deepEqual(lengthGroupedBatches([], 8, 1), []);
  });

  test('the same seed gives the same batches; another seed gives others', () => {
    const a = lengthGroupedBatches(lengths, 32, 42);
    assert.deepEqual(lengthGroupedBatches(lengths, 32, 42), a);
    const b = lengthGroupedBatches(lengths, 32, 43);
    assert.notDeepEqual(b, a);
    // Not merely the same batches in another order: the memberships differ too.
    const key = (bs: number[][]): string[] => bs.map((x) => sorted(x).join(',')).sort();
    assert.notDeepEqual(key(b), key(a));
  });

  test('within a chunk, batches cover disjoint length ranges (sorted, then cut)', () => {
    // One chunk holds everything here, so no two batches' length ranges may interleave.
    const batches = lengthGroupedBatches(lengths, 32, 3, { chunkBatches: 1000 });
    const spans = batches.map((b) => [Math.min(...b.map((i) => lengths[i]!)), Math.max(...b.map((i) => lengths[i]!))] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i - 1]![1] <= spans[i]![0], `batch ranges ${spans[i - 1]} and ${spans[i]} overlap`);
  });

  test('lengths within a batch are close: far closer than in random batches', () => {
    const spread = (batches: number[][]): number => {
      const s = batches.map((b) => Math.max(...b.map((i) => lengths[i]!)) - Math.min(...b.map((i) => lengths[i]!)));
      return s.reduce((a, x) => a + x, 0) / s.length;
    };
    const grouped = spread(lengthGroupedBatches(lengths, 32, 5));
    const shuffled = new Random(5).shuffle(range(lengths.length));
    const random = spread(sequentialBatches(lengths.length, 32).map((b) => b.map((i) => shuffled[i]!)));
    assert.ok(grouped < 6, `mean max−min length within a grouped batch is ${grouped}`);
    assert.ok(random > 40, `mean max−min length within a random batch is ${random}`);
  });

  test('batch order is shuffled, not sorted by length', () => {
    const batches = lengthGroupedBatches(lengths, 32, 9, { chunkBatches: 1000 });
    const firsts = batches.map((b) => lengths[b[0]!]!);
    assert.notDeepEqual(firsts, sorted(firsts));
  });

  test('refuses batch sizes and chunk sizes that are not positive integers', () => {
    assert.throws(() => lengthGroupedBatches(lengths, 0, 1), RangeError);
    assert.throws(() => lengthGroupedBatches(lengths, 2.5, 1), RangeError);
    assert.throws(() => lengthGroupedBatches(lengths, 8, 1, { chunkBatches: 0 }), RangeError);
  });
});

describe('padding efficiency', () => {
  test('length-grouped batches waste far less than padding to max_length or to random batches\u2019 longest', () => {
    const grouped = paddingEfficiency(lengths, lengthGroupedBatches(lengths, 32, 11));
    const shuffled = new Random(11).shuffle(range(lengths.length));
    const random = paddingEfficiency(lengths, sequentialBatches(lengths.length, 32).map((b) => b.map((i) => shuffled[i]!)));
    const maxLength = paddingEfficiency(lengths, sequentialBatches(lengths.length, 32), 128);
    assert.equal(grouped.realTokens, lengths.reduce((a, x) => a + x, 0));
    assert.equal(maxLength.paddedTokens, lengths.length * 128);
    assert.ok(grouped.efficiency > 0.9, `grouped ${grouped.efficiency}`);
    assert.ok(maxLength.efficiency < 0.3, `max_length ${maxLength.efficiency}`);
    assert.ok(random.efficiency < 0.5, `random ${random.efficiency}`);
    // Measured here: grouped 0.95, random batches 0.31, max_length 0.22.
    assert.ok(grouped.efficiency > 3 * maxLength.efficiency);
  });

  test('counts: real tokens over batch size × longest (or padTo)', () => {
    const stats = paddingEfficiency([2, 4, 3, 1], [[0, 1], [2, 3]]);
    assert.deepEqual(stats, { realTokens: 10, paddedTokens: 2 * 4 + 2 * 3, efficiency: 10 / 14 });
    assert.equal(paddingEfficiency([2, 4], [[0, 1]], 8).paddedTokens, 16);
    assert.equal(paddingEfficiency([], []).efficiency, 1);
  });
});

describe('padBatch', () => {
  const items = [{ inputIds: [101, 7, 8, 102], tokenTypeIds: [0, 0, 1, 1] }, { inputIds: [101, 9, 102] }, { inputIds: [101, 5, 6, 7, 8, 102] }];

  test('int64 tensors padded to the longest input only, with mask and token types', () => {
    const b = padBatch(items, undefined, { padTokenId: 0 });
    assert.equal(b.batchSize, 3);
    assert.equal(b.sequenceLength, 6);
    assert.equal(b.tokens, 13);
    for (const t of [b.inputIds, b.tokenTypeIds, b.attentionMask]) {
      assert.equal(t.dtype, 'int64');
      assert.ok(t.data instanceof BigInt64Array);
      assert.deepEqual(t.shape, [3, 6]);
    }
    assert.deepEqual([...b.inputIds.data], [101n, 7n, 8n, 102n, 0n, 0n, 101n, 9n, 102n, 0n, 0n, 0n, 101n, 5n, 6n, 7n, 8n, 102n]);
    assert.deepEqual([...b.tokenTypeIds.data], [0n, 0n, 1n, 1n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
    assert.deepEqual([...b.attentionMask.data], [1n, 1n, 1n, 1n, 0n, 0n, 1n, 1n, 1n, 0n, 0n, 0n, 1n, 1n, 1n, 1n, 1n, 1n]);
    assert.equal(b.labels, undefined);
  });

  test('another pad id; padTo pads further and may not cut', () => {
    const b = padBatch([{ inputIds: [1, 2] }], undefined, { padTokenId: 99, padTo: 4 });
    assert.deepEqual([...b.inputIds.data], [1n, 2n, 99n, 99n]);
    assert.deepEqual([...b.attentionMask.data], [1n, 1n, 0n, 0n]);
    assert.throws(() => padBatch(items, undefined, { padTo: 5 }), /shorter/);
  });

  test('labels: class ids int64 [b], targets float32 [b], spans int64 [b, 2]', () => {
    const cls = padBatch(items, { kind: 'classification', values: [1, 0, 2] }).labels!;
    assert.equal(cls.dtype, 'int64');
    assert.deepEqual(cls.shape, [3]);
    assert.deepEqual([...cls.data], [1n, 0n, 2n]);
    const reg = padBatch(items, { kind: 'regression', values: [0.5, 4.25, -1] }).labels!;
    assert.equal(reg.dtype, 'float32');
    assert.deepEqual([...reg.data], [0.5, 4.25, -1]);
    const span = padBatch(items, { kind: 'span', values: [[1, 2], [0, 0], [3, 4]] }).labels!;
    assert.equal(span.dtype, 'int64');
    assert.deepEqual(span.shape, [3, 2]);
    assert.deepEqual([...span.data], [1n, 2n, 0n, 0n, 3n, 4n]);
  });

  test('refuses an empty batch, label counts that differ, token types of another length', () => {
    assert.throws(() => padBatch([]), RangeError);
    assert.throws(() => padBatch(items, { kind: 'classification', values: [1] }), /3 labels/);
    assert.throws(() => padBatch([{ inputIds: [1, 2], tokenTypeIds: [0] }]), /token types/);
  });
});

describe('evaluation orders', () => {
  test('sequential batches keep file order', () => {
    assert.deepEqual(sequentialBatches(5, 2), [[0, 1], [2, 3], [4]]);
    assert.deepEqual(sequentialBatches(0, 2), []);
  });

  test('sorted batches: longest first, ties by index, every index once', () => {
    assert.deepEqual(sortedBatches([3, 9, 3, 1, 9], 2), [[1, 4], [0, 2], [3]]);
    assert.deepEqual(sorted(sortedBatches(lengths, 32).flat()), range(lengths.length));
  });
});
