/**
 * onnxruntime sessions over graphs the engine builds. The rest of the engine sees host
 * arrays; this module is the only one that touches onnxruntime's types.
 */
import * as ort from 'onnxruntime-node';

export type ArrayData = Float32Array | Float64Array | BigInt64Array | Uint8Array;

export interface RunTensor {
  readonly data: ArrayData;
  readonly shape: readonly number[];
}

export interface SessionOptions {
  readonly threads?: number;
  readonly provider?: 'cpu' | 'webgpu' | 'cuda';
  /**
   * Whether idle worker threads spin waiting for work (onnxruntime's default). Off for
   * sessions run one after another in a pipeline (a model layer by layer): each session has
   * its own threads, and spinning ones starve the next session's.
   */
  readonly spinning?: boolean;
}

export class EngineSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(model: Uint8Array, options: SessionOptions = {}): Promise<EngineSession> {
    const session = await ort.InferenceSession.create(model, {
      executionProviders: [options.provider ?? 'cpu'],
      intraOpNumThreads: options.threads ?? 0,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      // With memory patterns, each training step allocated a fresh multi-GiB block while the
      // arena kept the last one: BERT-base peaked at 10.5 GiB and spent half its step on page
      // faults (13.3 s vs 5.3 s per step; bench/trainStep.bench.ts).
      enableMemPattern: false,
      ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
    });
    return new EngineSession(session);
  }

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /**
   * Runs the graph on `feeds` and returns the outputs named in `fetch` (all when absent).
   * Outputs named in `into` are written by onnxruntime straight into the arrays given there
   * (which may be arrays fed as inputs, when the graph reads those inputs only before it
   * writes the output) and are not returned.
   */
  async run(feeds: Readonly<Record<string, RunTensor>>, fetch?: readonly string[], into?: Readonly<Record<string, RunTensor>>): Promise<Record<string, RunTensor>> {
    const input: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) input[name] = toOrt(t);
    const fetches: Record<string, ort.Tensor | null> = {};
    for (const name of fetch ?? this.session.outputNames.filter((n) => !into || !(n in into))) fetches[name] = null;
    for (const [name, t] of Object.entries(into ?? {})) fetches[name] = toOrt(t);
    const result = await this.session.run(input, fetches);
    const out: Record<string, RunTensor> = {};
    // onnxruntime-node returns a copy of every fetched output, those written in place too: dropped.
    for (const [name, t] of Object.entries(result)) if (!into || !(name in into)) out[name] = { data: t.data as ArrayData, shape: [...t.dims] };
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function toOrt(t: RunTensor): ort.Tensor {
  const dims = [...t.shape];
  if (t.data instanceof Float32Array) return new ort.Tensor('float32', t.data, dims);
  if (t.data instanceof Float64Array) return new ort.Tensor('float64', t.data, dims);
  if (t.data instanceof BigInt64Array) return new ort.Tensor('int64', t.data, dims);
  return new ort.Tensor('bool', t.data, dims);
}
