/**
 * Frozen-prefix caching. When the embeddings and layers 0..n−1 hold nothing trainable and run
 * without dropout, their output for a training example never changes: it is computed the
 * first time the example is seen and read back afterwards (later epochs, later sweep trials
 * with the same model, data, max length and prefix).
 *
 * Storage is chosen up front from the cache's full size and the memory budget: float32 in
 * memory; float16 in memory when float32 does not fit; a float32 file when neither fits.
 * Classification and regression read only real tokens' states (padded keys are masked and
 * the head reads [CLS]), so only real tokens are stored and padding is zero-filled. Span
 * heads read every position, so span examples are stored padded to max_length: the state at
 * a padded position depends only on that example, so any shorter batch padding is exact.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { padBatch } from '../data/batching';
import { Ops } from '../graph/ops';
import type { ModelSpec } from '../model/bert';
import { buildBertSegment } from '../tasks';
import { EngineSession, type SessionOptions } from '../runtime/session';
import type { PrefixCacheReport } from '../events';
import type { WeightMap } from '../tensor';
import type { EncodedExample, IndexedBatch } from '../tasks/batches';

export type PrefixStorage = 'float32' | 'float16' | 'disk';

const MAX_LENGTH = bufferConstants.MAX_LENGTH;

/** What the cache holds and the time it saved (reported in the run's end event). */
export type PrefixCacheStats = PrefixCacheReport;

export interface PrefixCacheOptions {
  readonly spec: ModelSpec;
  readonly weights: WeightMap;
  /** n: the prefix is the embeddings and layers 0..n−1. */
  readonly layers: number;
  readonly examples: readonly EncodedExample[];
  /** Span tasks: store every example padded to this length. */
  readonly padTo?: number;
  readonly memoryBytes: number;
  /** Where a cache that does not fit in memory is spilled (a file, removed on release). */
  readonly spillFile: string;
  readonly session?: SessionOptions;
}

export class PrefixCache {
  private readonly rows: Int32Array;
  private readonly offsets: Float64Array;
  private readonly filled: Uint8Array;
  private readonly f32: Float32Array | undefined;
  private readonly f16: Uint16Array | undefined;
  private readonly fd: number | undefined;
  private computeSeconds = 0;
  private fills = 0;
  private hits = 0;
  private readSeconds = 0;
  readonly storage: PrefixStorage;
  readonly bytes: number;

  private constructor(
    private readonly options: PrefixCacheOptions,
    private readonly session: EngineSession,
  ) {
    const d = options.spec.dims.hiddenSize;
    const n = options.examples.length;
    this.rows = Int32Array.from(options.examples, (x) => options.padTo ?? x.inputIds.length);
    this.offsets = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) this.offsets[i + 1] = this.offsets[i]! + this.rows[i]! * d;
    this.filled = new Uint8Array(n);
    const elements = this.offsets[n]!;
    // A typed array holds at most MAX_LENGTH bytes: a larger cache goes to disk whatever the budget.
    const fits = (bytes: number): boolean => bytes <= options.memoryBytes && bytes <= MAX_LENGTH;
    if (fits(elements * 4)) {
      this.storage = 'float32';
      this.f32 = new Float32Array(elements);
      this.bytes = elements * 4;
    } else if (fits(elements * 2)) {
      this.storage = 'float16';
      this.f16 = new Uint16Array(elements);
      this.bytes = elements * 2;
    } else {
      this.storage = 'disk';
      fs.mkdirSync(path.dirname(options.spillFile), { recursive: true });
      this.fd = fs.openSync(options.spillFile, 'w+');
      this.bytes = elements * 4;
    }
  }

  static async create(options: PrefixCacheOptions): Promise<PrefixCache> {
    const o = new Ops();
    const segment = buildBertSegment(o, options.spec, options.weights, { trainable: new Set(), to: options.layers });
    o.graph.output(segment.hidden, 'hidden');
    const session = await EngineSession.create(o.graph.toOnnx(), { ...options.session, spinning: false });
    try {
      return new PrefixCache(options, session);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** The prefix's output for a batch, [batch × sequence, d] in the batch's padding. */
  async hidden(batch: IndexedBatch): Promise<Float32Array> {
    const d = this.options.spec.dims.hiddenSize;
    const S = batch.sequenceLength;
    const out = new Float32Array(batch.batchSize * S * d);
    if (batch.indices.every((i) => this.filled[i])) {
      const t = performance.now();
      batch.indices.forEach((example, b) => this.read(example, out, b * S * d, Math.min(S, this.rows[example]!)));
      this.hits++;
      this.readSeconds += (performance.now() - t) / 1000;
      return out;
    }
    const t = performance.now();
    const P = this.options.padTo ?? S;
    const p = padBatch(batch.indices.map((i) => this.options.examples[i]!), undefined, { padTo: P });
    const shape = [p.batchSize, P];
    const r = await this.session.run({ input_ids: { data: p.inputIds.data, shape }, token_type_ids: { data: p.tokenTypeIds.data, shape }, attention_mask: { data: p.attentionMask.data, shape } }, ['hidden']);
    const computed = r.hidden!.data as Float32Array;
    batch.indices.forEach((example, b) => {
      const rows = this.rows[example]!;
      this.write(example, computed.subarray(b * P * d, (b * P + rows) * d));
      // The batch's own padding: rows past its length are zeros (masked), or the span padding computed above.
      const keep = Math.min(S, this.options.padTo !== undefined ? P : rows);
      out.set(computed.subarray(b * P * d, (b * P + keep) * d), b * S * d);
    });
    this.computeSeconds += (performance.now() - t) / 1000;
    this.fills++;
    return out;
  }

  stats(): PrefixCacheStats {
    const perFill = this.fills ? this.computeSeconds / this.fills : 0;
    return {
      layers: this.options.layers,
      examples: this.options.examples.length,
      storage: this.storage,
      bytes: this.bytes,
      computeSeconds: this.computeSeconds,
      hits: this.hits,
      readSeconds: this.readSeconds,
      savedSeconds: Math.max(0, this.hits * perFill - this.readSeconds),
    };
  }

  async release(): Promise<void> {
    await this.session.release();
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      fs.rmSync(this.options.spillFile, { force: true });
    }
  }

  private write(example: number, values: Float32Array): void {
    const at = this.offsets[example]!;
    if (this.f32) this.f32.set(values, at);
    else if (this.f16) for (let i = 0; i < values.length; i++) this.f16[at + i] = toHalf(values[i]!);
    else fs.writeSync(this.fd!, Buffer.from(values.buffer, values.byteOffset, values.byteLength), 0, values.byteLength, at * 4);
    this.filled[example] = 1;
  }

  /** Copies the first `rows` stored rows of an example into `out` at `at`. */
  private read(example: number, out: Float32Array, at: number, rows: number): void {
    const d = this.options.spec.dims.hiddenSize;
    const from = this.offsets[example]!;
    const n = rows * d;
    if (this.f32) out.set(this.f32.subarray(from, from + n), at);
    else if (this.f16) for (let i = 0; i < n; i++) out[at + i] = fromHalf(this.f16[from + i]!);
    else fs.readSync(this.fd!, Buffer.from(out.buffer, out.byteOffset + at * 4, n * 4), 0, n * 4, from * 4);
  }
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** float32 → IEEE half, rounding to nearest even; overflow to ±Inf, underflow through subnormals. */
export function toHalf(value: number): number {
  scratch[0] = value;
  const x = scratchBits[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rest > mid || (rest === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/**
 * Caches shared by the runs of one process (a sweep's trials): a run asks for the cache of
 * its key (model, data file and its version, max length, prefix depth) and gets the one an
 * earlier trial filled. The memory budget is the pool's total, not each cache's: a new cache
 * gets what the caches already held leave of it, so past the budget it is stored in float16
 * or spilled to disk (PrefixCache chooses from the bytes it is given). Caches are kept until
 * the pool is released, since a later trial may want any of them again.
 */
export class PrefixCachePool {
  private readonly caches = new Map<string, Promise<PrefixCache>>();
  /** Creations run one after another, so each sees the memory the ones before it took. */
  private creating: Promise<unknown> = Promise.resolve();
  private readonly held = new Map<string, number>();

  /** `budgetBytes`: the total for every cache of the pool (else each request's budget is the total). */
  constructor(private readonly budgetBytes?: number) {}

  /** Bytes the pool's caches hold in memory (float32 and float16; a spilled cache holds none). */
  get memoryBytes(): number {
    let total = 0;
    for (const b of this.held.values()) total += b;
    return total;
  }

  /**
   * The cache for `key`: the one already made, or a new one from `create`, which is given
   * the memory left of the budget (the pool's, or `budgetBytes`, whichever is smaller).
   */
  get(key: string, create: (memoryBytes: number) => Promise<PrefixCache>, budgetBytes: number): { cache: Promise<PrefixCache>; reused: boolean } {
    const found = this.caches.get(key);
    if (found) return { cache: found, reused: true };
    const cache = this.creating.then(async () => {
      const budget = Math.min(this.budgetBytes ?? Infinity, budgetBytes);
      const made = await create(Math.max(0, budget - this.memoryBytes));
      if (made.storage !== 'disk') this.held.set(key, made.bytes);
      return made;
    });
    this.creating = cache.catch(() => undefined);
    this.caches.set(key, cache);
    // A cache that could not be built is not kept: the next trial tries again.
    cache.catch(() => this.caches.get(key) === cache && this.caches.delete(key));
    return { cache, reused: false };
  }

  async release(): Promise<void> {
    const all = [...this.caches.values()];
    this.caches.clear();
    this.held.clear();
    for (const c of await Promise.allSettled(all)) if (c.status === 'fulfilled') await c.value.release();
  }
}
