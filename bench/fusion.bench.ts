/**
 * AdapterFusion's cost, side by side in one run:
 *
 * 1. One fusion layer (d = 768, `--tokens` tokens) for N = 1, 2, 4, 8 adapters (m = `--size`, 64),
 *    forward only: the plain formulation as AdapterHub computes it (each adapter's up
 *    projection, K_n and V_n per adapter) against the engine's exact rewrite as a training
 *    graph builds it and with constant weights (evaluation, export).
 * 2. The BERT-base shape (12 layers, 768, FFN 3072) with one adapter per site (m as above) against
 *    a fusion of 8 such adapters, and the fusion pruned to 2, in Houlsby's placement (two
 *    sites a layer) and Pfeiffer's (one): a training step and inference.
 *
 * Run: npm run build && node out/bench/fusion.bench.js [--threads N] [--steps N] [--batch B] [--seq S] [--tokens T] [--part layer|model|all] [--placement houlsby|pfeiffer|both] [--size M] [--train no]
 * Weights are random (the times do not depend on their values).
 */
import * as os from 'node:os';
import type { Value } from '../engine/graph/graph';
import { Ops } from '../engine/graph/ops';
import type { AdapterSpec, ModelSpec } from '../engine/model/bert';
import type { BertDims } from '../engine/model/dims';
import { fuse } from '../engine/model/fusion';
import { initAdapters, initFusion, initModel } from '../engine/model/init';
import { EngineSession, type RunTensor } from '../engine/runtime/session';
import { initHead } from '../engine/tasks';
import { floatTensor, type FloatTensor, type WeightMap } from '../engine/tensor';
import { Trainer, type Batch } from '../engine/train/trainer';
import { arg } from './args';

const threads = Number(arg('threads', String(os.cpus().length)));
/** Rounds of training steps (inference: twice as many), each model once a round; the median is reported. */
const steps = Number(arg('steps', '5'));
const batch = Number(arg('batch', '8'));
const seq = Number(arg('seq', '128'));
const tokens = Number(arg('tokens', '1024'));
const part = arg('part', 'all');
/** `--train no`: inference only (a training step on the BERT-base shape takes seconds). */
const withTraining = arg('train', 'yes') !== 'no';

const D = 768;

/** AdapterHub's BertFusion: keys and values per adapter, then the softmax-weighted sum of the values. */
function plainFuse(o: Ops, h: Value, z: readonly Value[], w: { q: Value; bq: Value; k: Value; bk: Value; v: Value }): Value {
  const q = o.linear(h, w.q, w.bq);
  const scores = z.map((zn) => o.reduceSum(o.mul(q, o.linear(zn, w.k, w.bk)), [1], true));
  const top = scores.reduce((a, b) => o.max(a, b));
  const e = scores.map((s) => o.exp(o.sub(s, top)));
  const total = e.reduce((a, b) => o.add(a, b));
  return z.map((zn, n) => o.mul(o.linear(zn, w.v), o.div(e[n]!, total))).reduce((a, b) => o.add(a, b));
}

/** m of every adapter (`--size`; AdapterHub's Pfeiffer config, reduction factor 16, gives 48 at d = 768). */
const M = Number(arg('size', '64'));

/** One fusion layer's forward: AdapterHub's form, the rewrite as training builds it, or with constant weights (evaluation). */
async function layerOf(n: number, form: 'plain' | 'rewrite' | 'constant'): Promise<{ run: () => Promise<unknown>; release: () => Promise<void> }> {
  const o = new Ops();
  const h = o.graph.input('h', 'float32', [tokens, D]);
  const f = Array.from({ length: n }, (_, k) => o.graph.input(`f${k}`, 'float32', [tokens, M]));
  const mat = (name: string, shape: number[]) => o.graph.floatInitializer(name, floatTensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => ((i * 7919) % 1000) / 1e5)));
  // As training builds it, the fusion's weights are inputs (so nothing of them folds into constants).
  const weightInputs = form === 'rewrite';
  const param = (name: string, shape: number[]) => (weightInputs ? o.graph.input(name, 'float32', shape) : mat(name, shape));
  const w = { q: param('q', [D, D]), bq: param('bq', [D]), k: param('k', [D, D]), v: param('v', [D, D]), bk: param('bk', [D]) };
  const up = f.map((_, k) => ({ weight: mat(`up${k}`, [D, M]), bias: mat(`upb${k}`, [D]) }));
  let out: Value;
  if (form === 'plain') out = plainFuse(o, h, f.map((fk, k) => o.linear(fk, up[k]!.weight, up[k]!.bias)), w);
  // The key bias cancels in the softmax: a training graph feeds it (it learns from dropped scores), an inference graph does not.
  else out = fuse(o, { query: h, residual: h }, { hidden: o.concat(f, 1), adapters: up.map((u) => ({ size: M, up: u })) }, { query: { weight: w.q, bias: w.bq }, key: w.k, ...(form === 'rewrite' ? { keyBias: w.bk } : {}), value: w.v }, { residualBefore: false, constantWeights: form === 'constant' }).added;
  o.graph.output(out, 'out');
  const session = await EngineSession.create(o.graph.toOnnx(), { threads });
  const feeds: Record<string, RunTensor> = { h: { data: new Float32Array(tokens * D).fill(0.01), shape: [tokens, D] } };
  if (weightInputs) for (const [name, shape] of [['q', [D, D]], ['bq', [D]], ['k', [D, D]], ['v', [D, D]], ['bk', [D]]] as const) feeds[name] = { data: new Float32Array(shape.reduce((a: number, b: number) => a * b, 1)).fill(1e-3), shape: [...shape] };
  for (let k = 0; k < n; k++) feeds[`f${k}`] = { data: Float32Array.from({ length: tokens * M }, (_, i) => ((i + k * 31) % 97) / 97), shape: [tokens, M] };
  return { run: () => session.run(feeds), release: () => session.release() };
}

const BASE: BertDims = { hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2 };
const ALL_LAYERS = Array.from({ length: BASE.layers }, (_, i) => i);
/**
 * `--placement houlsby`: adapters (and fusion layers) at both sites of every layer; `pfeiffer`:
 * at the feed-forward site only, reading LN(x + h), the AdapterFusion paper's setting.
 */
const placement = arg('placement', 'both');
const ADAPTERS: Record<'houlsby' | 'pfeiffer', AdapterSpec> = {
  houlsby: { size: M, sites: ['attention', 'ffn'], layers: ALL_LAYERS, nonLinearity: 'gelu' },
  pfeiffer: { size: M, sites: ['ffn'], layers: ALL_LAYERS, nonLinearity: 'relu', input: 'normalized' },
};

function batchOf(): Batch {
  const n = batch * seq;
  return {
    inputIds: BigInt64Array.from({ length: n }, (_, i) => BigInt(1 + (i % 1000))),
    tokenTypeIds: new BigInt64Array(n),
    attentionMask: new BigInt64Array(n).fill(1n),
    batchSize: batch,
    sequenceLength: seq,
    labels: BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 2)),
    tokens: n,
  };
}

/** A model with one adapter per site, or a fusion of `fused` adapters (the first `kept` of them present). */
function modelOf(adapter: AdapterSpec, fused: number, kept = fused): { spec: ModelSpec; weights: WeightMap; trainable: string[] } {
  const head = { kind: 'classification' as const, numLabels: 2 };
  if (fused === 0) {
    const spec: ModelSpec = { dims: BASE, layerNormEps: 1e-12, adapters: adapter, head };
    const weights = initModel(spec, 1);
    initAdapters(weights, spec, 1e-2, 1);
    initHead(weights, spec, 1);
    return { spec, weights, trainable: [...weights.keys()].filter((n) => n.includes('.adapter.') || n.startsWith('classifier')) };
  }
  const adapters = Array.from({ length: fused }, (_, k) => ({ name: `task${k}`, adapter: { ...adapter, layers: k < kept ? ALL_LAYERS : [] } }));
  const spec: ModelSpec = { dims: BASE, layerNormEps: 1e-12, adapters: undefined, fusion: { adapters, layers: ALL_LAYERS, sites: adapter.sites, config: 'dynamic', residualBefore: false, temperature: false, regularization: 0.01, dropout: undefined }, head };
  const weights = initModel({ ...spec, fusion: undefined }, 1);
  // Each fused adapter's weights: a one-adapter model's, renamed.
  for (const a of adapters) {
    const one: ModelSpec = { dims: BASE, layerNormEps: 1e-12, adapters: adapter, head };
    const w = new Map<string, FloatTensor>();
    initAdapters(w, one, 1e-2, 1);
    for (const [n, t] of w) weights.set(n.replace('.adapter.', `.adapters.${a.name}.`), t);
  }
  initFusion(weights, spec, true, 1);
  initHead(weights, spec, 1);
  return { spec, weights, trainable: [...weights.keys()].filter((n) => n.includes('.adapter_fusion_layer.') || n.startsWith('classifier')) };
}

const CONFIGS = [
  ['one adapter per site', 0, 0],
  ['fusion of 8', 8, 8],
  ['fusion of 8, pruned to 2', 8, 2],
] as const;

/**
 * A training step's multiply-adds per token and layer, counted by hand (not measured), for a
 * fusion of `kept` adapters against one adapter per site, at `sites` sites a layer: what
 * exact training with this rewrite cannot go below. The base model is frozen: its forward and
 * its input gradients, 24·d² + 6·S·d with the FFN at 4d. One adapter: 6·m·d a site (forward,
 * input and weight gradients). A fusion: 8·Σm·d a site per token (the adapters' down
 * projections and their input gradient; q·(W_qᵀ·W_k·U), (F·p)·(W_v·U)ᵀ, their input and
 * weight gradients), 6·N·d a site per token for the up biases' columns likewise, and 7
 * products of d²·(Σm + N) a step (three forward, four backward), shared by the step's tokens.
 */
function countedRatio(sites: number, kept: number, tokensPerStep: number): number {
  const base = 24 * D * D + 6 * seq * D;
  const widths = kept * M;
  const fusion = 8 * widths * D + 6 * kept * D + (7 * D * D * (widths + kept)) / tokensPerStep;
  return (base + sites * fusion) / (base + sites * 6 * M * D);
}

/** The median of each model's times, measured in turns (one run of each model per round), so that a change in the machine's load hits all alike. */
async function inTurns(run: readonly (() => Promise<unknown>)[], rounds: number): Promise<number[]> {
  for (const r of run) await r();
  const times = run.map(() => [] as number[]);
  for (let k = 0; k < rounds; k++) {
    for (let i = 0; i < run.length; i++) {
      const t = performance.now();
      await run[i]!();
      times[i]!.push((performance.now() - t) / 1000);
    }
  }
  return times.map((ts) => [...ts].sort((x, y) => x - y)[Math.floor(ts.length / 2)]!);
}

/** Training steps and inference of the three configurations, each measured in turns. */
async function timeModels(adapter: AdapterSpec): Promise<{ step: number; inference: number }[]> {
  const models = CONFIGS.map(([, fused, kept]) => modelOf(adapter, fused, kept));
  const b = batchOf();
  let stepTimes = CONFIGS.map(() => NaN);
  if (withTraining) {
    const optimizer = { kind: 'adamw' as const, learningRate: 5e-5, weightDecay: 0, maxGradNorm: 1, warmupSteps: 0, totalSteps: 1000 };
    const trainers: Trainer[] = [];
    for (const m of models) trainers.push(await Trainer.create(m.spec, m.weights, m.trainable, optimizer, { threads, dropout: { hidden: 0.1, attention: 0.1 }, seed: 1 }));
    stepTimes = await inTurns(trainers.map((t) => () => t.step(b)), steps);
    for (const t of trainers) await t.release();
  }
  // Inference: every weight a constant, as evaluate, predict and export build the model.
  const inference: Trainer[] = [];
  for (const m of models) inference.push(await Trainer.create(m.spec, m.weights, [], undefined, { threads, seed: 1 }));
  const logits = await inTurns(inference.map((t) => () => t.logits(b)), steps * 2);
  for (const t of inference) await t.release();
  return CONFIGS.map((_, i) => ({ step: stepTimes[i]!, inference: logits[i]! }));
}

async function main(): Promise<void> {
  console.log(`threads ${threads}`);
  if (part === 'layer' || part === 'all') {
    console.log(`\nOne fusion layer, d = ${D}, m = ${M}, ${tokens} tokens, forward (ms):`);
    console.log('N   plain (AdapterHub)   rewrite (training form)   rewrite (constant weights)   plain / constant');
    for (const n of [1, 2, 4, 8]) {
      const layers = [await layerOf(n, 'plain'), await layerOf(n, 'rewrite'), await layerOf(n, 'constant')];
      const [plain, rewrite, constant] = await inTurns(layers.map((l) => l.run), 20);
      for (const l of layers) await l.release();
      console.log(`${n}   ${(plain! * 1000).toFixed(2).padStart(10)}   ${(rewrite! * 1000).toFixed(2).padStart(22)}   ${(constant! * 1000).toFixed(2).padStart(24)}   ${(plain! / constant!).toFixed(2).padStart(10)}`);
    }
  }
  if (part === 'model' || part === 'all') {
    for (const which of placement === 'both' ? (['houlsby', 'pfeiffer'] as const) : [placement as 'houlsby' | 'pfeiffer']) {
      const adapter = ADAPTERS[which];
      console.log(`\nBERT-base shape, ${which === 'houlsby' ? "Houlsby's placement (2 sites a layer)" : "Pfeiffer's placement (1 site a layer)"}, m = ${M}, batch ${batch} × ${seq}, seconds (ratio to one adapter per site):`);
      const [single, ...fusions] = await timeModels(adapter);
      // `--train no` leaves the steps unmeasured (NaN): shown as a dash.
      const fixed = (v: number, digits: number): string => (Number.isFinite(v) ? v.toFixed(digits) : '—');
      console.log(`${CONFIGS[0][0].padEnd(26)} step ${fixed(single!.step, 3)}          inference ${fixed(single!.inference, 3)}`);
      fusions.forEach((r, i) => {
        console.log(`${CONFIGS[i + 1]![0].padEnd(26)} step ${fixed(r.step, 3)} (${fixed(r.step / single!.step, 2)}×)   inference ${fixed(r.inference, 3)} (${fixed(r.inference / single!.inference, 2)}×)`);
      });
      const sites = which === 'houlsby' ? 2 : 1;
      console.log(`training step by count of multiply-adds (exact, this rewrite): ${CONFIGS.slice(1).map(([name, , kept]) => `${name} ${countedRatio(sites, kept, batch * seq).toFixed(2)}×`).join(', ')}`);
    }
  }
}

void main();
