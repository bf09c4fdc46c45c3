/**
 * Inference layer by layer, reusing hidden states across calls that share a prefix of
 * adapter gates. An ablation asks for the same batches under many gate settings: every cell
 * of row i of the span heatmap keeps the adapters of layers 0..i−1, so the state entering
 * layer i is computed once (the baseline computes it for every i), and cell (i, j) starts
 * from the state cell (i, j−1) left after layer j−1 with layers i..j−1 removed. One graph
 * per layer, each with the gates as an input: no graph is built per cell.
 *
 * States are kept only where they can be reused — gate prefixes of the form "all on, then
 * all off" — within a memory budget, least recently used first out; an evicted state is
 * recomputed, so the budget changes speed, never results.
 */
import { Ops } from '../graph/ops';
import { type ModelSpec } from '../model/bert';
import { buildBertSegment } from '../tasks';
import { EngineSession, type RunTensor, type SessionOptions } from '../runtime/session';
import type { WeightMap } from '../tensor';
import type { IndexedBatch } from '../tasks/batches';
import type { LogitsSource } from '../tasks/index';

export interface LayerwiseOptions extends SessionOptions {
  /** Bytes of hidden states kept for reuse (default 2 GiB). */
  readonly memoryBytes?: number;
}

export class LayerwiseModel implements LogitsSource {
  private readonly memo = new Map<string, Float32Array>();
  private memoBytes = 0;
  /** Encoder layers run so far, and batches answered: without reuse each batch runs every layer. */
  layersRun = 0;
  batches = 0;

  private constructor(
    private readonly spec: ModelSpec,
    private readonly embed: EngineSession,
    private readonly layers: readonly EngineSession[],
    private readonly head: EngineSession,
    private readonly memoryBytes: number,
  ) {}

  static async create(spec: ModelSpec, weights: WeightMap, options: LayerwiseOptions = {}): Promise<LayerwiseModel> {
    const segment = async (from: number | undefined, to: number | undefined): Promise<EngineSession> => {
      const o = new Ops();
      const s = buildBertSegment(o, spec, weights, { trainable: new Set(), gates: from !== undefined && to !== undefined, from, to });
      o.graph.output(s.logits ?? s.hidden, 'out');
      return EngineSession.create(o.graph.toOnnx(), { ...options, spinning: false });
    };
    const L = spec.dims.layers;
    const embed = await segment(undefined, 0);
    const layers: EngineSession[] = [];
    for (let k = 0; k < L; k++) layers.push(await segment(k, k + 1));
    const head = await segment(L, undefined);
    return new LayerwiseModel(spec, embed, layers, head, options.memoryBytes ?? 2 * 2 ** 30);
  }

  async logits(batch: IndexedBatch, gates?: Float32Array): Promise<{ data: Float32Array; shape: readonly number[] }> {
    const L = this.spec.dims.layers;
    this.batches++;
    const g = gates ?? new Float32Array(L * 2).fill(1);
    const shape = [batch.batchSize, batch.sequenceLength];
    const mask: RunTensor = { data: batch.attentionMask, shape };
    const id = batch.indices.join(',');
    // The deepest stored state for this batch and these gates.
    let k = L;
    let h: Float32Array | undefined;
    for (; k >= 0; k--) {
      const key = memoKey(id, k, g);
      h = key ? this.memo.get(key) : undefined;
      if (h) {
        this.touch(key!, h);
        break;
      }
    }
    if (!h) {
      k = 0;
      h = (await this.embed.run({ input_ids: { data: batch.inputIds, shape }, token_type_ids: { data: batch.tokenTypeIds, shape }, attention_mask: mask }, ['out'])).out!.data as Float32Array;
      this.store(memoKey(id, 0, g), h);
    }
    const d = this.spec.dims.hiddenSize;
    const gateTensor: RunTensor = { data: g, shape: [L * 2] };
    for (; k < L; k++) {
      h = (await this.layers[k]!.run({ hidden_in: { data: h, shape: [batch.batchSize * batch.sequenceLength, d] }, attention_mask: mask, adapter_gates: gateTensor }, ['out'])).out!.data as Float32Array;
      this.layersRun++;
      this.store(memoKey(id, k + 1, g), h);
    }
    const out = (await this.head.run({ hidden_in: { data: h, shape: [batch.batchSize * batch.sequenceLength, d] }, attention_mask: mask }, ['out'])).out!;
    return { data: out.data as Float32Array, shape: out.shape };
  }

  async release(): Promise<void> {
    this.memo.clear();
    for (const s of [this.embed, ...this.layers, this.head]) await s.release();
  }

  private store(key: string | undefined, h: Float32Array): void {
    if (!key || this.memo.has(key) || h.byteLength > this.memoryBytes) return;
    this.memo.set(key, h);
    this.memoBytes += h.byteLength;
    // Maps iterate in insertion order: the first entries are the least recently used.
    for (const [old, v] of this.memo) {
      if (this.memoBytes <= this.memoryBytes) break;
      this.memo.delete(old);
      this.memoBytes -= v.byteLength;
    }
  }

  private touch(key: string, h: Float32Array): void {
    this.memo.delete(key);
    this.memo.set(key, h);
  }
}

/**
 * The key of the state entering layer k: the batch and the gates of layers 0..k−1, or
 * undefined when that prefix is not "all on, then all off" (such states are not reused).
 */
function memoKey(batch: string, k: number, gates: Float32Array): string | undefined {
  let on = 0;
  while (on < k && gates[on * 2] === 1 && gates[on * 2 + 1] === 1) on++;
  for (let l = on; l < k; l++) if (gates[l * 2] !== 0 || gates[l * 2 + 1] !== 0) return undefined;
  return `${batch}|${on}|${k - on}`;
}
