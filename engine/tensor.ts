/**
 * Host tensors: the engine's one in-memory form for weights, batches and results.
 * Row-major, float32 for all numerical work (checkpoints in F16/BF16 are widened on load).
 */
export interface FloatTensor {
  readonly dtype: 'float32';
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface IntTensor {
  readonly dtype: 'int64';
  readonly shape: readonly number[];
  /** int64 values held as numbers: token ids, positions and labels are far below 2^53. */
  readonly data: BigInt64Array;
}

export type HostTensor = FloatTensor | IntTensor;

/** Named weights, keyed by the engine's parameter names (see engine/model/names.ts). */
export type WeightMap = Map<string, FloatTensor>;

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

export function floatTensor(shape: readonly number[], data?: Float32Array | readonly number[]): FloatTensor {
  const n = sizeOf(shape);
  const array = data instanceof Float32Array ? data : data ? Float32Array.from(data) : new Float32Array(n);
  if (array.length !== n) throw new Error(`tensor of shape [${shape.join(', ')}] needs ${n} values, got ${array.length}`);
  return { dtype: 'float32', shape: [...shape], data: array };
}
