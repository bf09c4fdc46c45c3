/**
 * Adapter training step on the BERT-base shape (12 layers, hidden 768, 12 heads, FFN 3072,
 * batch 32 × 128) and a small shape: step time, tokens/s, achieved GFLOP/s and its ratio
 * to onnxruntime's own MatMul throughput measured in the same run, peak memory; and the
 * same step in PyTorch eager when Debian's python3-torch is installed.
 *
 * Run: npm run build && node out/bench/trainStep.bench.js [--shape base|small|all] [--steps N] [--threads N] [--drop N]
 * Weights are random (the step time does not depend on their values).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Ops } from '../engine/graph/ops';
import type { ModelSpec } from '../engine/model/bert';
import type { BertDims } from '../engine/model/dims';
import { initAdapters, initModel } from '../engine/model/init';
import { initHead } from '../engine/tasks';
import { EngineSession } from '../engine/runtime/session';
import { Trainer, type Batch } from '../engine/train/trainer';
import { arg } from './args';

const threads = Number(arg('threads', String(os.cpus().length)));
const steps = Number(arg('steps', '3'));
const drop = Number(arg('drop', '0'));

const SHAPES: Record<string, { dims: BertDims; batch: number; seq: number; adapter: number }> = {
  base: { dims: { hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2 }, batch: 32, seq: 128, adapter: 64 },
  small: { dims: { hiddenSize: 128, layers: 6, heads: 4, intermediateSize: 512, vocabSize: 4096, maxPositions: 256, typeVocabSize: 2 }, batch: 32, seq: 128, adapter: 16 },
};

/** Peak resident memory of this process (VmHWM), in bytes. */
function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

/**
 * FLOPs of one adapter training step: the forward pass, plus input gradients through every
 * layer above the lowest adapter (frozen weights get no weight gradients), plus adapter
 * weight gradients. Multiply-adds count as 2.
 */
function stepFlops(dims: BertDims, batch: number, seq: number, m: number, dropped: number): number {
  const d = dims.hiddenSize;
  const T = batch * seq;
  const perLayer = 2 * T * (4 * d * d + 2 * d * dims.intermediateSize) + 2 * 2 * batch * seq * seq * d;
  const adapters = 2 * T * 2 * (2 * d * m);
  const forward = dims.layers * perLayer + (dims.layers - dropped) * adapters;
  const backwardInputs = (dims.layers - dropped) * (perLayer + adapters);
  const adapterWeights = (dims.layers - dropped) * adapters;
  return forward + backwardInputs + adapterWeights;
}

async function matmulGflops(): Promise<number> {
  const o = new Ops();
  const a = o.graph.input('a', 'float32', [512, 768]);
  const b = o.graph.input('b', 'float32', [768, 3072]);
  o.graph.output(o.matmul(a, b), 'c');
  const s = await EngineSession.create(o.graph.toOnnx(), { threads });
  const feeds = { a: { data: new Float32Array(512 * 768).fill(0.01), shape: [512, 768] }, b: { data: new Float32Array(768 * 3072).fill(0.01), shape: [768, 3072] } };
  await s.run(feeds);
  const runs = 20;
  const t = performance.now();
  for (let i = 0; i < runs; i++) await s.run(feeds);
  const seconds = (performance.now() - t) / 1000;
  await s.release();
  return (runs * 2 * 512 * 768 * 3072) / seconds / 1e9;
}

async function engineStep(shape: string): Promise<{ step: number; tokensPerSecond: number; gflops: number; build: number; peak: number }> {
  const { dims, batch, seq, adapter } = SHAPES[shape]!;
  const layers = Array.from({ length: dims.layers }, (_, i) => i).filter((l) => l >= drop);
  const spec: ModelSpec = { dims, layerNormEps: 1e-12, adapters: { size: adapter, sites: ['attention', 'ffn'], layers, nonLinearity: 'gelu' }, head: { kind: 'classification', numLabels: 2 } };
  const t0 = performance.now();
  const weights = initModel(spec, 1);
  initAdapters(weights, spec, 1e-2, 1);
  initHead(weights, spec, 1);
  const trainable = [...weights.keys()].filter((n) => n.includes('.adapter.') || (n.includes('LayerNorm') && layers.some((l) => n.startsWith(`encoder.layer.${l}.`))) || n.startsWith('classifier'));
  const trainer = await Trainer.create(spec, weights, trainable, { kind: 'adamw', learningRate: 3e-4, weightDecay: 0, maxGradNorm: 1, warmupSteps: 1, totalSteps: 100 }, { threads, dropout: { hidden: 0.1, attention: 0.1 }, seed: 1 });
  const build = (performance.now() - t0) / 1000;
  weights.clear();
  const n = batch * seq;
  const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(i % seq === 0 ? 2 : 5 + ((i * 7919) % (dims.vocabSize - 5))));
  const b: Batch = { inputIds: ids, tokenTypeIds: new BigInt64Array(n), attentionMask: new BigInt64Array(n).fill(1n), batchSize: batch, sequenceLength: seq, labels: BigInt64Array.from({ length: batch }, (_, i) => BigInt(i % 2)), tokens: n };
  await trainer.step(b);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await trainer.step(b);
    times.push((performance.now() - t) / 1000);
  }
  await trainer.release();
  const step = times.sort((x, y) => x - y)[Math.floor(times.length / 2)]!;
  return { step, tokensPerSecond: n / step, gflops: stepFlops(dims, batch, seq, adapter, drop) / step / 1e9, build, peak: peakRss() };
}

function torchStep(shape: string): { step: number; peak: number; version: string } | string {
  const { dims, batch, seq, adapter } = SHAPES[shape]!;
  const script = path.resolve(__dirname, '..', '..', 'bench', 'torch_step.py');
  const r = spawnSync('/usr/bin/python3', [script, '--layers', String(dims.layers), '--hidden', String(dims.hiddenSize), '--heads', String(dims.heads), '--ffn', String(dims.intermediateSize), '--vocab', String(dims.vocabSize), '--batch', String(batch), '--seq', String(seq), '--adapter', String(adapter), '--drop', String(drop), '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8' });
  if (r.status !== 0) return /No module named 'torch'/.test(r.stderr) ? 'PyTorch not installed (apt-get install python3-torch)' : `PyTorch failed: ${r.stderr.trim().split('\n').pop()}`;
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { step_seconds: number; peak_rss_bytes: number; torch: string };
  return { step: j.step_seconds, peak: j.peak_rss_bytes, version: j.torch };
}

async function main(): Promise<void> {
  const shapes = arg('shape', 'all') === 'all' ? ['small', 'base'] : [arg('shape', 'base')];
  console.log(`Machine: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; engine threads ${threads}; AdapterDrop n = ${drop}; median of ${steps} steps after one warm-up`);
  const mm = await matmulGflops();
  console.log(`onnxruntime MatMul 512×768×3072: ${mm.toFixed(1)} GFLOP/s`);
  console.log('\n| shape | engine s/step | tokens/s | GFLOP/s | vs MatMul | graph+session s | engine peak RSS | PyTorch s/step | PyTorch peak RSS | engine/PyTorch time |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const shape of shapes) {
    const e = await engineStep(shape);
    const t = torchStep(shape);
    const gb = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
    const torchCols = typeof t === 'string' ? `${t} | — | —` : `${t.step.toFixed(3)} | ${gb(t.peak)} | ${(e.step / t.step).toFixed(2)}`;
    console.log(`| ${shape} (${SHAPES[shape]!.batch}×${SHAPES[shape]!.seq}) | ${e.step.toFixed(3)} | ${e.tokensPerSecond.toFixed(0)} | ${e.gflops.toFixed(1)} | ${(e.gflops / mm).toFixed(2)} | ${e.build.toFixed(1)} | ${gb(e.peak)} | ${torchCols} |`);
  }
  console.log('\nWeights are random. The engine peak RSS is this process\'s high-water mark so far (shapes run in order: small, then base).');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
