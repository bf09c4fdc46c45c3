/**
 * The training step (engine/train/trainingGraph.ts) against an independent float64
 * reference, for every task kind and both optimizers. The reference shares nothing with the
 * engine's graph code: the loss is plain JavaScript over the reference BERT
 * (test/support/referenceBert.ts), its gradients are central finite differences, and
 * clipping, the schedule and the optimizer are written out as PyTorch states them
 * (clip_grad_norm_, get_linear_schedule_with_warmup on the engine's 1-based step,
 * torch.optim.Adam with weight_decay and torch.optim.AdamW). The engine's real training
 * graph, built in float64 without dropout, then runs several steps beside it — across the
 * end of warm-up into the decay, with clipping active on some steps and not on others —
 * and after every step its loss, learning rate, gradient norm, updated parameters and both
 * Adam moments must equal the reference's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HeadSpec, ModelSpec } from '../../../engine/model/bert';
import type { BertDims } from '../../../engine/model/dims';
import { initAdapters, initModel } from '../../../engine/model/init';
import * as names from '../../../engine/model/names';
import { EngineSession, type RunTensor } from '../../../engine/runtime/session';
import { initHead } from '../../../engine/tasks';
import { buildTrainingGraph, type OptimizerSpec } from '../../../engine/train/trainingGraph';
import { floatTensor, type WeightMap } from '../../../engine/tensor';
import { Random } from '../../../engine/util/random';
import { referenceForward, type ReferenceBatch, type ReferenceConfig, type ReferenceWeights } from '../../support/referenceBert';

const DIMS: BertDims = { hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 12, vocabSize: 20, maxPositions: 8, typeVocabSize: 2 };
const ADAPTERS = { size: 2, sites: ['ffn' as const], layers: [1], nonLinearity: 'swish' as const };
const LN_EPS = 1e-12;
const CLASSES = 3;

type Kind = 'classification' | 'regression' | 'span' | 'mlm';

/** One step's batch, as the reference reads it, with the task's labels. */
interface StepBatch extends ReferenceBatch {
  /** classification: a class per row; regression: a value per row; span: [start, end] per row; mlm: the original id per masked position. */
  readonly labels: readonly (number | readonly [number, number])[];
  /** mlm: the (row, column) pairs the head predicts. */
  readonly positions?: readonly (readonly [number, number])[];
}

const MASK_ID = 4;

/** Two batches of 2 × 5 tokens, each with a padded row; steps alternate between them. */
function batchesOf(kind: Kind): StepBatch[] {
  const inputIds = [
    [
      [2, 5, 9, 13, 3],
      [2, 7, 7, 3, 0],
    ],
    [
      [2, 11, 6, 0, 0],
      [2, 8, 15, 10, 3],
    ],
  ];
  const attentionMask = [
    [
      [1, 1, 1, 1, 1],
      [1, 1, 1, 1, 0],
    ],
    [
      [1, 1, 1, 0, 0],
      [1, 1, 1, 1, 1],
    ],
  ];
  const tokenTypeIds = [
    [
      [0, 0, 0, 1, 1],
      [0, 0, 1, 1, 0],
    ],
    [
      [0, 0, 0, 0, 0],
      [0, 1, 1, 0, 0],
    ],
  ];
  const labels: Record<Exclude<Kind, 'mlm'>, StepBatch['labels'][]> = {
    classification: [
      [2, 0],
      [1, 1],
    ],
    regression: [
      [0.7, -1.3],
      [2.5, 0.4],
    ],
    span: [
      [
        [1, 3],
        [2, 2],
      ],
      [
        [1, 2],
        [3, 4],
      ],
    ],
  };
  return [0, 1].map((k) => {
    const base = { inputIds: inputIds[k]!.map((r) => [...r]), tokenTypeIds: tokenTypeIds[k]!, attentionMask: attentionMask[k]! };
    if (kind !== 'mlm') return { ...base, labels: labels[kind][k]! };
    // Masked LM: the masked tokens' ids become [MASK]; their original ids are the labels.
    const positions: (readonly [number, number])[] = k === 0 ? [[0, 1], [0, 3], [1, 2]] : [[0, 2], [1, 1], [1, 3], [0, 1]];
    const targets = positions.map(([r, c]) => base.inputIds[r]![c]!);
    for (const [r, c] of positions) base.inputIds[r]![c] = MASK_ID;
    return { ...base, labels: targets, positions };
  });
}

function headOf(kind: Kind): HeadSpec {
  switch (kind) {
    case 'classification':
      return { kind, numLabels: CLASSES };
    case 'regression':
      return { kind, numLabels: 1 };
    case 'span':
      return { kind };
    case 'mlm':
      return { kind, vocabSize: DIMS.vocabSize };
  }
}

/**
 * What trains, and whether weight decay applies, stated by hand rather than derived from the
 * names: matrices decay; biases and layer-norm weights and biases do not.
 */
function trainableOf(kind: Kind): { name: string; decay: boolean }[] {
  const adapter = names.adapter(1, 'ffn');
  const shared = [
    { name: adapter.down.weight, decay: true },
    { name: adapter.down.bias, decay: false },
    { name: adapter.up.weight, decay: true },
    { name: adapter.up.bias, decay: false },
    { name: names.layer(1).attentionLn.weight, decay: false },
    { name: names.layer(1).attentionLn.bias, decay: false },
  ];
  switch (kind) {
    case 'classification':
    case 'regression':
      return [...shared, { name: names.classifier.weight, decay: true }, { name: names.classifier.bias, decay: false }];
    case 'span':
      // Not qa_outputs.bias: it adds one constant to every position's logit, which the softmax
      // over positions ignores, so its gradient is exactly zero and would compare only rounding.
      return [...shared, { name: names.qaOutputs.weight, decay: true }];
    case 'mlm':
      return [
        ...shared,
        { name: names.mlmHead.transform.weight, decay: true },
        { name: names.mlmHead.layerNorm.weight, decay: false },
        { name: names.mlmHead.layerNorm.bias, decay: false },
        { name: names.mlmHead.bias, decay: false },
      ];
  }
}

function specOf(kind: Kind): ModelSpec {
  return { dims: DIMS, layerNormEps: LN_EPS, adapters: ADAPTERS, head: headOf(kind) };
}

/** A random model with the task's head; the trainable biases and layer norms moved off 0 and 1, so that decaying them by mistake would show. */
function weightsOf(kind: Kind): WeightMap {
  const spec = specOf(kind);
  const weights = initModel(spec, 11);
  initAdapters(weights, spec, 0.5, 11);
  initHead(weights, spec, 11);
  // The reference computes the pooled output whatever the head; the span head never reads it.
  if (kind === 'span') {
    const d = DIMS.hiddenSize;
    const rng = new Random(29);
    weights.set(names.pooler.weight, floatTensor([d, d], Array.from({ length: d * d }, () => rng.next() - 0.5)));
    weights.set(names.pooler.bias, floatTensor([d]));
  }
  const rng = new Random(23);
  for (const { name } of trainableOf(kind)) {
    const t = weights.get(name)!;
    if (name.endsWith('.bias')) for (let i = 0; i < t.data.length; i++) t.data[i] = (rng.next() - 0.5) * 0.8;
    else if (name.includes('LayerNorm')) for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + (rng.next() - 0.5) * 0.8;
    // The heads start at N(0, 0.02²): larger, so that their gradients and decay are not negligible.
    else if (name === names.classifier.weight || name === names.qaOutputs.weight) for (let i = 0; i < t.data.length; i++) t.data[i] = (rng.next() - 0.5) * 2;
  }
  return weights;
}

// ---------------------------------------------------------------------------------------
// The reference: loss, finite-difference gradients, clipping, schedule, Adam/AdamW.

/** −log softmax(logits)[label], in float64. */
function nll(logits: readonly number[], label: number): number {
  const max = Math.max(...logits);
  let sum = 0;
  for (const z of logits) sum += Math.exp(z - max);
  return Math.log(sum) + max - logits[label]!;
}

/**
 * The task's loss on the reference BERT. classification: mean cross-entropy over the rows;
 * regression: mean squared error; span: the mean of the start and the end cross-entropies,
 * each over the whole sequence (padding included, as BertForQuestionAnswering) and averaged
 * over the rows; mlm: mean cross-entropy over the vocabulary at the masked positions.
 */
function referenceLoss(kind: Kind, weights: ReferenceWeights, batch: StepBatch): number {
  const head: ReferenceConfig['head'] = kind === 'mlm' ? { kind, vocabSize: DIMS.vocabSize, positions: batch.positions } : kind === 'span' ? { kind } : { kind, numLabels: kind === 'regression' ? 1 : CLASSES };
  const { logits } = referenceForward(weights, { dims: DIMS, layerNormEps: LN_EPS, adapters: ADAPTERS, head }, batch);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  switch (kind) {
    case 'classification':
    case 'mlm':
      return mean(logits.map((row, i) => nll(row, batch.labels[i] as number)));
    case 'regression':
      return mean(logits.map((row, i) => (row[0]! - (batch.labels[i] as number)) ** 2));
    case 'span': {
      const S = batch.inputIds[0]!.length;
      const start = mean(logits.map((row, i) => nll(row.slice(0, S), (batch.labels[i] as readonly [number, number])[0])));
      const end = mean(logits.map((row, i) => nll(row.slice(S), (batch.labels[i] as readonly [number, number])[1])));
      return (start + end) / 2;
    }
  }
}

/**
 * Finite differences of `loss` with respect to every entry of every parameter: the
 * five-point central stencil (−f(x+2h) + 8f(x+h) − 8f(x−h) + f(x−2h)) / 12h, whose error is
 * O(h⁴), so that h can be large enough for rounding in the loss not to matter.
 */
function finiteDifferences(loss: () => number, params: ReadonlyMap<string, Float64Array>, h = 1e-3): Map<string, Float64Array> {
  const grads = new Map<string, Float64Array>();
  for (const [name, x] of params) {
    const g = new Float64Array(x.length);
    for (let k = 0; k < x.length; k++) {
      const keep = x[k]!;
      const at = (d: number) => {
        x[k] = keep + d;
        return loss();
      };
      g[k] = (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h);
      x[k] = keep;
    }
    grads.set(name, g);
  }
  return grads;
}

/**
 * The schedule on the engine's 1-based step t: the peak times t/W over the W warm-up steps,
 * then falling linearly to zero at step T. This is get_linear_schedule_with_warmup's factor
 * at t; Hugging Face's Trainer applies the factor at t − 1 to its t-th step (its first step at
 * a rate of zero, its last above zero), so the engine's schedule runs one step ahead of it.
 */
function scheduledRate(opt: OptimizerSpec, t: number): number {
  if (t <= opt.warmupSteps) return (opt.learningRate * t) / opt.warmupSteps;
  return opt.learningRate * Math.max(0, (opt.totalSteps - t) / (opt.totalSteps - opt.warmupSteps));
}

interface ReferenceState {
  readonly params: Map<string, Float64Array>;
  readonly m: Map<string, Float64Array>;
  readonly v: Map<string, Float64Array>;
}

interface StepReport {
  readonly loss: number;
  readonly lr: number;
  readonly gradNorm: number;
  /** The clipping factor, below 1 when clipping acted. */
  readonly clip: number;
}

/** One step of the reference: loss and gradients at the current parameters, clip_grad_norm_, then PyTorch's Adam or AdamW. */
function referenceStep(kind: Kind, frozen: WeightMap, decay: ReadonlyMap<string, boolean>, opt: OptimizerSpec, state: ReferenceState, t: number, batch: StepBatch): StepReport {
  const weights: ReferenceWeights = new Map<string, { shape: readonly number[]; data: Float32Array | Float64Array }>([...frozen, ...[...state.params].map(([n, data]) => [n, { shape: frozen.get(n)!.shape, data }] as const)]);
  const lossOf = () => referenceLoss(kind, weights, batch);
  const loss = lossOf();
  const grads = finiteDifferences(lossOf, state.params);

  // torch.nn.utils.clip_grad_norm_: one norm over all gradients, coefficient clamped to 1.
  let sq = 0;
  for (const g of grads.values()) for (const x of g) sq += x * x;
  const gradNorm = Math.sqrt(sq);
  const clip = Math.min(1, opt.maxGradNorm / (gradNorm + 1e-6));

  const lr = scheduledRate(opt, t);
  const b1 = opt.beta1!;
  const b2 = opt.beta2!;
  const eps = opt.epsilon!;
  const wd = opt.weightDecay;
  const biasCorrection1 = 1 - b1 ** t;
  const biasCorrection2 = 1 - b2 ** t;
  for (const [name, p] of state.params) {
    const raw = grads.get(name)!;
    const m = state.m.get(name)!;
    const v = state.v.get(name)!;
    for (let i = 0; i < p.length; i++) {
      let g = raw[i]! * clip;
      // torch.optim.Adam(weight_decay): an L2 term added to the (already clipped) gradient.
      if (opt.kind === 'adam' && decay.get(name)) g += wd * p[i]!;
      // torch.optim.AdamW: decoupled decay of the parameter itself, before the Adam update.
      if (opt.kind === 'adamw' && decay.get(name)) p[i] = p[i]! * (1 - lr * wd);
      m[i] = b1 * m[i]! + (1 - b1) * g;
      v[i] = b2 * v[i]! + (1 - b2) * g * g;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(biasCorrection2) + eps;
      p[i] = p[i]! - (lr / biasCorrection1) * (m[i]! / denom);
    }
  }
  return { loss, lr, gradNorm, clip };
}

// ---------------------------------------------------------------------------------------
// The engine's training graph beside it.

function int64(rows: readonly (readonly number[])[]): BigInt64Array {
  return BigInt64Array.from(rows.flat().map(BigInt));
}

function batchFeeds(kind: Kind, batch: StepBatch): Record<string, RunTensor> {
  const B = batch.inputIds.length;
  const S = batch.inputIds[0]!.length;
  const shape = [B, S];
  const f: Record<string, RunTensor> = {
    input_ids: { data: int64(batch.inputIds), shape },
    token_type_ids: { data: int64(batch.tokenTypeIds), shape },
    attention_mask: { data: int64(batch.attentionMask), shape },
  };
  switch (kind) {
    case 'classification':
      f.labels = { data: BigInt64Array.from(batch.labels.map((l) => BigInt(l as number))), shape: [B] };
      break;
    case 'regression':
      f.labels = { data: Float64Array.from(batch.labels as number[]), shape: [B] };
      break;
    case 'span':
      f.labels = { data: int64(batch.labels as (readonly [number, number])[]), shape: [B, 2] };
      break;
    case 'mlm':
      // As the trainer feeds it: flat positions row × S + column, and the labels there.
      f.masked_positions = { data: BigInt64Array.from(batch.positions!.map(([r, c]) => BigInt(r * S + c))), shape: [batch.positions!.length] };
      f.labels = { data: BigInt64Array.from(batch.labels.map((l) => BigInt(l as number))), shape: [batch.labels.length] };
      break;
  }
  return f;
}

/** ‖a − b‖∞ */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function maxAbs(a: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]!));
  return worst;
}

const STEPS = 6;
const BASE_OPTIMIZER = { learningRate: 0.02, weightDecay: 0.2, warmupSteps: 2, totalSteps: STEPS, beta1: 0.8, beta2: 0.95, epsilon: 1e-3 };

/**
 * Tolerances. The graph is float64 throughout but for erf, in BERT's GELU: onnxruntime has no
 * float64 Erf, so float64 graphs compose it from Abramowitz–Stegun 7.1.26 (engine/graph/ops.ts),
 * within 1.5e-7 of erf and with a derivative up to 1e-4 off near 0 — float32 precision, in
 * effect. The reference keeps the exact erf. Over these trajectories that leaves: loss and
 * gradient norm within 5e-7 relative; Adam's moments within 5e-6 (v normwise per tensor; m,
 * whose entries may cancel across steps, against √max v, its natural scale); parameters within
 * 1.25e-5 of the summed learning rates (Adam divides each gradient entry by its own size, which
 * lifts the relative error of small entries). The tolerances below are four times these; the
 * learning rate, which no erf reaches, holds to 1e-12 of the peak. The five-point finite
 * differences add less than 1e-10.
 */
const TOL = { lr: 1e-12, loss: 1e-6, gradNorm: 2e-6, moments: 2e-5, params: 5e-5 };

async function compareTrajectories(kind: Kind, optimizer: 'adam' | 'adamw', maxGradNorm: number): Promise<void> {
  const opt: OptimizerSpec = { ...BASE_OPTIMIZER, kind: optimizer, maxGradNorm };
  const spec = specOf(kind);
  const weights = weightsOf(kind);
  const table = trainableOf(kind);
  const trainable = table.map((t) => t.name);
  const decay = new Map(table.map((t) => [t.name, t.decay]));
  const graph = buildTrainingGraph(spec, weights, trainable, opt, { dtype: 'float64' });
  const session = await EngineSession.create(graph.model, { threads: 1 });
  try {
    const initial = new Map(trainable.map((n) => [n, Float64Array.from(weights.get(n)!.data)]));
    const zeros = () => new Map(trainable.map((n) => [n, new Float64Array(weights.get(n)!.data.length)]));
    const ref: ReferenceState = { params: new Map([...initial].map(([n, x]) => [n, x.slice()])), m: zeros(), v: zeros() };
    const engine: ReferenceState = { params: new Map([...initial].map(([n, x]) => [n, x.slice()])), m: zeros(), v: zeros() };
    const batches = batchesOf(kind);
    const clips: number[] = [];
    let travelled = 0;
    for (let t = 1; t <= STEPS; t++) {
      const batch = batches[(t - 1) % batches.length]!;
      const feeds = batchFeeds(kind, batch);
      feeds.step = { data: Float64Array.of(t), shape: [] };
      for (const n of trainable) {
        const shape = weights.get(n)!.shape;
        feeds[n] = { data: engine.params.get(n)!, shape };
        feeds[`adam_m.${n}`] = { data: engine.m.get(n)!, shape };
        feeds[`adam_v.${n}`] = { data: engine.v.get(n)!, shape };
      }
      const out = await session.run(feeds);
      const expected = referenceStep(kind, weights, decay, opt, ref, t, batch);
      clips.push(expected.clip);
      const at = `${kind}, ${optimizer}, step ${t}`;
      const scalar = (name: string) => (out[name]!.data as Float64Array)[0]!;
      const rel = (got: number, want: number) => Math.abs(got - want) / Math.abs(want);
      assert.ok(Math.abs(scalar('lr') - expected.lr) <= TOL.lr * opt.learningRate, `${at}: lr ${scalar('lr')}, expected ${expected.lr}`);
      assert.ok(rel(scalar('loss'), expected.loss) <= TOL.loss, `${at}: loss ${scalar('loss')}, expected ${expected.loss}`);
      assert.ok(rel(scalar('grad_norm'), expected.gradNorm) <= TOL.gradNorm, `${at}: gradient norm ${scalar('grad_norm')}, expected ${expected.gradNorm}`);
      travelled += expected.lr;
      for (const n of trainable) {
        const p = out[`new.${n}`]!.data as Float64Array;
        const m = out[`new.adam_m.${n}`]!.data as Float64Array;
        const v = out[`new.adam_v.${n}`]!.data as Float64Array;
        const refV = ref.v.get(n)!;
        const errP = maxDiff(p, ref.params.get(n)!) / travelled;
        const errM = maxDiff(m, ref.m.get(n)!) / Math.sqrt(maxAbs(refV));
        const errV = maxDiff(v, refV) / maxAbs(refV);
        assert.ok(errP <= TOL.params, `${at}: ${n} differs by ${errP.toExponential(2)} of the summed learning rates`);
        assert.ok(errM <= TOL.moments, `${at}: adam_m.${n} differs by ${errM.toExponential(2)} of √max(adam_v)`);
        assert.ok(errV <= TOL.moments, `${at}: adam_v.${n} relative error ${errV.toExponential(2)}`);
        engine.params.set(n, p);
        engine.m.set(n, m);
        engine.v.set(n, v);
      }
    }
    // The trajectory exercised both sides of clipping.
    assert.ok(clips.some((c) => c < 1) && clips.some((c) => c === 1), `${kind}, ${optimizer}: clipping factors ${clips.map((c) => c.toFixed(3)).join(', ')} should include both clipped and unclipped steps`);
  } finally {
    await session.release();
  }
}

/** max_grad_norm per task, between the gradient norms its steps see, so that clipping acts on some steps only. */
const MAX_GRAD_NORM: Record<Kind, number> = { classification: 2, regression: 4, span: 1, mlm: 5.5 };

describe('the training step against an independent float64 reference (loss, finite-difference gradients, clipping, schedule, Adam/AdamW)', () => {
  for (const kind of ['classification', 'regression', 'span', 'mlm'] as const) {
    for (const optimizer of ['adam', 'adamw'] as const) {
      test(`${kind}, ${optimizer} with weight decay: ${STEPS} steps through warm-up and decay`, async () => {
        await compareTrajectories(kind, optimizer, MAX_GRAD_NORM[kind]);
      });
    }
  }
});
