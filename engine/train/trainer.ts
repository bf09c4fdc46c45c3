/**
 * The trainer owns two onnxruntime sessions (the training step and the forward pass used
 * for evaluation and prediction) and the trainable state between steps: parameters and
 * Adam moments, one array each, which every step overwrites in place. Frozen weights live
 * inside the sessions, loaded once.
 */
import { Ops } from '../graph/ops';
import type { ModelSpec } from '../model/bert';
import { buildBert, taskKind } from '../tasks';
import { EngineSession, type RunTensor, type SessionOptions } from '../runtime/session';
import { floatTensor, type FloatTensor, type WeightMap } from '../tensor';
import { stepSeed } from '../model/dropout';
import { FusionWeightSums, type AveragedFusionWeights } from '../model/fusionWeights';
import type { Batch } from '../data/batching';
import { buildTrainingGraph, type DropoutRates, type FrozenPrefix, type OptimizerSpec } from './trainingGraph';

export interface StepResult {
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
}

export type { Batch };

export interface TrainerOptions extends SessionOptions {
  readonly gates?: boolean;
  readonly dropout?: DropoutRates;
  readonly seed?: number;
  readonly prefix?: FrozenPrefix;
  /**
   * A fusion: the forward pass also returns each fusion layer's softmax weights, summed over
   * real tokens for takeFusionWeights(). An evaluation then measures them on its data at no
   * extra pass (a training run's live fusion weights).
   */
  readonly fusionWeights?: boolean;
}

export class Trainer {
  private readonly state = new Map<string, Float32Array>();
  /** Shapes of the trainable parameters; frozen weights live only inside the sessions. */
  private readonly shapes = new Map<string, readonly number[]>();
  private stepCount = 0;

  private constructor(
    private readonly spec: ModelSpec,
    weights: WeightMap,
    readonly trainable: readonly string[],
    private readonly train: EngineSession | undefined,
    private readonly forward: EngineSession,
    private readonly gated: boolean,
    private readonly seed: number | undefined,
    /** The step graph starts above a cached prefix and takes its output (`hidden_in`). */
    private readonly prefix: FrozenPrefix | undefined,
    /** A fusion's weights summed over the real tokens of every forward pass (TrainerOptions.fusionWeights). */
    private readonly fusionSums: FusionWeightSums | undefined,
  ) {
    for (const n of trainable) {
      const w = weights.get(n)!;
      this.shapes.set(n, w.shape);
      this.state.set(n, Float32Array.from(w.data));
      this.state.set(`adam_m.${n}`, new Float32Array(w.data.length));
      this.state.set(`adam_v.${n}`, new Float32Array(w.data.length));
    }
  }

  /** `dropout` with a `seed` makes training draw seeded, reproducible dropout masks. */
  static async create(spec: ModelSpec, weights: WeightMap, trainable: readonly string[], optimizer: OptimizerSpec | undefined, session: TrainerOptions = {}): Promise<Trainer> {
    const gated = session.gates ?? false;
    const graph = optimizer ? buildTrainingGraph(spec, weights, trainable, optimizer, { gates: gated, dropout: session.dropout, prefix: session.prefix }) : undefined;
    const train = graph ? await EngineSession.create(graph.model, session) : undefined;
    const o = new Ops();
    const fusionWeights = session.fusionWeights === true && spec.fusion !== undefined;
    const bert = buildBert(o, spec, weights, { trainable: new Set(trainable), gates: gated, fusionWeights });
    o.graph.output(bert.logits, 'logits');
    const forward = await EngineSession.create(o.graph.toOnnx(), session);
    return new Trainer(spec, weights, trainable, train, forward, gated, graph?.dropout ? (session.seed ?? 0) : undefined, session.prefix, fusionWeights ? new FusionWeightSums(spec.fusion!) : undefined);
  }

  get steps(): number {
    return this.stepCount;
  }

  private feeds(batch: Batch, gates?: Float32Array, fromPrefix = false): Record<string, RunTensor> {
    if (gates && !this.gated) throw new Error('adapter gates given to a trainer built without them');
    const shape = [batch.batchSize, batch.sequenceLength];
    const f: Record<string, RunTensor> = { attention_mask: { data: batch.attentionMask, shape } };
    if (fromPrefix) {
      if (!batch.hidden) throw new Error('this trainer steps from a cached prefix: the batch needs its hidden states');
      f.hidden_in = { data: batch.hidden, shape: [batch.batchSize * batch.sequenceLength, this.spec.dims.hiddenSize] };
    } else {
      f.input_ids = { data: batch.inputIds, shape };
      f.token_type_ids = { data: batch.tokenTypeIds, shape };
    }
    for (const n of this.trainable) f[n] = { data: this.state.get(n)!, shape: this.shapes.get(n)! };
    // Masked-LM: the flat token positions whose outputs the head predicts.
    if (batch.maskedPositions) f.masked_positions = { data: batch.maskedPositions, shape: [batch.maskedPositions.length] };
    if (this.gated) f.adapter_gates = { data: gates ?? new Float32Array(this.spec.dims.layers * 2).fill(1), shape: [this.spec.dims.layers * 2] };
    return f;
  }

  /**
   * One optimizer step; `gates` switches adapters off for this step (robust AdapterDrop).
   * A step whose loss is not finite throws, and has written its update all the same: the
   * trainer's state is then not worth saving.
   */
  async step(batch: Batch, gates?: Float32Array): Promise<StepResult> {
    if (!this.train) throw new Error('this trainer was created for inference only');
    if (!batch.labels) throw new Error('a training batch needs labels');
    const f = this.feeds(batch, gates, this.prefix?.cached === true);
    f.labels = { data: batch.labels, shape: taskKind(this.spec.head.kind).labelShape(batch) };
    f.step = { data: Float32Array.of(this.stepCount + 1), shape: [] };
    if (this.seed !== undefined) f.dropout_seed = { data: BigInt64Array.of(stepSeed(this.seed, this.stepCount + 1)), shape: [] };
    for (const p of this.trainable) {
      const shape = this.shapes.get(p)!;
      f[`adam_m.${p}`] = { data: this.state.get(`adam_m.${p}`)!, shape };
      f[`adam_v.${p}`] = { data: this.state.get(`adam_v.${p}`)!, shape };
    }
    // The update is written over the parameters and moments it read (the training graph reads
    // each of them only before it writes its new value): no second copy of the state exists.
    const into: Record<string, RunTensor> = {};
    for (const p of this.trainable) {
      into[`new.${p}`] = f[p]!;
      into[`new.adam_m.${p}`] = f[`adam_m.${p}`]!;
      into[`new.adam_v.${p}`] = f[`adam_v.${p}`]!;
    }
    const out = await this.train.run(f, ['loss', 'lr', 'grad_norm'], into);
    const loss = (out.loss!.data as Float32Array)[0]!;
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(this.stepCount + 1, loss);
    this.stepCount++;
    return { loss, lr: (out.lr!.data as Float32Array)[0]!, gradNorm: (out.grad_norm!.data as Float32Array)[0]! };
  }

  /** Logits for a batch: [batch, labels], or [batch, sequence, 2] for spans. */
  async logits(batch: Batch, gates?: Float32Array): Promise<{ data: Float32Array; shape: readonly number[] }> {
    const sums = this.fusionSums;
    const out = await this.forward.run(this.feeds(batch, gates), ['logits', ...(sums?.outputs ?? [])]);
    sums?.add(out, batch.attentionMask);
    return { data: out.logits!.data as Float32Array, shape: out.logits!.shape };
  }

  /**
   * The fusion's average weights over the real tokens of every logits() call since the last
   * take (an evaluation's pass over its data), then starts again; undefined for a trainer
   * created without `fusionWeights` or before any token.
   */
  takeFusionWeights(): AveragedFusionWeights | undefined {
    const sums = this.fusionSums;
    if (!sums || sums.tokens === 0) return undefined;
    const average = sums.average();
    sums.reset();
    return average;
  }

  /** The current value of a trainable parameter: a view of the state, which the next step overwrites. */
  weight(name: string): FloatTensor {
    const data = this.state.get(name);
    const shape = this.shapes.get(name);
    if (!data || !shape) throw new Error(`${name} is not trainable here`);
    return floatTensor(shape, data);
  }

  /** Trainable parameters and optimizer moments, for checkpoints: views of the state, to be written before the next step. */
  snapshot(): Map<string, FloatTensor> {
    const out = new Map<string, FloatTensor>();
    for (const [k, v] of this.state) {
      const base = k.startsWith('adam_') ? k.slice(k.indexOf('.') + 1) : k;
      out.set(k, floatTensor(this.shapes.get(base)!, v));
    }
    return out;
  }

  /** Restores a snapshot and the step count (resuming a run). */
  restore(snapshot: ReadonlyMap<string, FloatTensor>, steps: number): void {
    for (const [k, v] of snapshot) {
      const current = this.state.get(k);
      if (!current || current.length !== v.data.length) throw new Error(`checkpoint tensor ${k} does not fit this run`);
      this.state.set(k, Float32Array.from(v.data));
    }
    this.stepCount = steps;
  }

  async release(): Promise<void> {
    await this.train?.release();
    await this.forward.release();
  }
}

export class NonFiniteLossError extends Error {
  constructor(readonly step: number, readonly loss: number) {
    super(`the loss became ${loss} at step ${step}; lower the learning rate or check the data`);
  }
}
