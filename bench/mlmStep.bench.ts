/**
 * Masked-LM pretraining step (method full: every weight trains, AdamW, dropout 0.1, the
 * head gathered at the 15% masked positions before the tied decoder) in the engine and in
 * PyTorch eager (bench/torch_mlm.py, Debian's python3-torch), side by side in one run:
 *
 *   mini  4 layers × 256, 4 heads, FFN 1024, vocabulary 8,192, batch 64 × 128 (BERT-Mini)
 *   base  12 layers × 768, 12 heads, FFN 3072, vocabulary 30,522, batch 32 × 128 (BERT-base)
 *
 * Each side runs in a process of its own, so that each peak RSS (the high-water mark,
 * VmHWM / ru_maxrss) is that shape's and that framework's alone. Then loss parity: the
 * engine's initial weights are written to a safetensors file and its masked batches (the
 * engine's own packing and masking of examples/data/mlm) to a JSON file; PyTorch loads both
 * and runs the same optimizer (AdamW with the engine's schedule, clipping, decay rule),
 * dropout off on both sides, and the two loss curves are compared step by step.
 *
 * Run: npm run bench:mlm -- [--shape mini|base|all|none] [--steps N] [--base-steps N] [--threads N]
 *      [--parity-steps N] [--no-parity]
 * On demand only (BERT-base takes minutes per step on two cores); never in CI.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSafetensors } from '../engine/checkpoint/safetensors';
import { readDocuments } from '../engine/data/text';
import { parameterShapes, type ModelSpec } from '../engine/model/bert';
import type { BertDims } from '../engine/model/dims';
import { initPretraining } from '../engine/model/init';
import { initHead } from '../engine/tasks';
import { maskSequence, type MaskingOptions } from '../engine/tasks/masking';
import { packDocuments } from '../engine/tasks/mlm';
import { BertTokenizer } from '../engine/tokenizer';
import { Trainer, type Batch } from '../engine/train/trainer';
import type { FloatTensor } from '../engine/tensor';
import { arg } from './args';

const argv = process.argv.slice(2);
const threads = Number(arg('threads', '2'));
const steps = Number(arg('steps', '3'));
const baseSteps = Number(arg('base-steps', String(steps)));
const paritySteps = Number(arg('parity-steps', '50'));
const ROOT = path.resolve(__dirname, '..', '..');
const TORCH_SCRIPT = path.join(ROOT, 'bench', 'torch_mlm.py');
const PYTHON = '/usr/bin/python3';
/** The [MASK] id of the timing batches (any id works: the step time does not depend on values). */
const MASK_ID = 4;

interface Shape {
  readonly dims: BertDims;
  readonly batch: number;
  readonly seq: number;
}

const SHAPES: Record<string, Shape> = {
  mini: { dims: { hiddenSize: 256, layers: 4, heads: 4, intermediateSize: 1024, vocabSize: 8192, maxPositions: 512, typeVocabSize: 2 }, batch: 64, seq: 128 },
  base: { dims: { hiddenSize: 768, layers: 12, heads: 12, intermediateSize: 3072, vocabSize: 30522, maxPositions: 512, typeVocabSize: 2 }, batch: 32, seq: 128 },
};

/** The optimizer of both sides: BERT pretraining's AdamW (science.md §4). */
const OPTIMIZER = { kind: 'adamw' as const, learningRate: 1e-3, weightDecay: 0.01, maxGradNorm: 1, beta2: 0.98, epsilon: 1e-6 };

interface Timing {
  readonly step: number;
  readonly peak: number;
  readonly build: number;
  readonly version?: string;
  readonly blas?: string;
}

function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

const specOf = (dims: BertDims): ModelSpec => ({ dims, layerNormEps: 1e-12, adapters: undefined, head: { kind: 'mlm', vocabSize: dims.vocabSize } });

/** Every 1/0.15-th position of a batch, the same count PyTorch's side draws: what 15% masking selects on average. */
function timingBatch(shape: Shape): Batch {
  const { batch, seq, dims } = shape;
  const n = batch * seq;
  const original = Array.from({ length: n }, (_, i) => (i % seq === 0 ? 2 : 5 + ((i * 7919) % (dims.vocabSize - 5))));
  const masked = Math.round(0.15 * n);
  const positions = Array.from({ length: masked }, (_, k) => Math.floor((k * n) / masked) + (Math.floor((k * n) / masked) % seq === 0 ? 1 : 0));
  const ids = original.slice();
  for (const p of positions) ids[p] = MASK_ID;
  return {
    inputIds: BigInt64Array.from(ids, BigInt),
    tokenTypeIds: new BigInt64Array(n),
    attentionMask: new BigInt64Array(n).fill(1n),
    batchSize: batch,
    sequenceLength: seq,
    maskedPositions: BigInt64Array.from(positions, BigInt),
    labels: BigInt64Array.from(positions, (p) => BigInt(original[p]!)),
    tokens: n,
  };
}

/** One shape in this process (the child's side of `--child`): median step time after one warm-up step. */
async function engineTiming(name: string, count: number): Promise<Timing> {
  const shape = SHAPES[name]!;
  const spec = specOf(shape.dims);
  const t0 = performance.now();
  const weights = initPretraining(shape.dims, 1);
  initHead(weights, spec, 1);
  const trainable = [...parameterShapes(spec).keys()];
  const trainer = await Trainer.create(spec, weights, trainable, { ...OPTIMIZER, warmupSteps: 1, totalSteps: 10_000 }, { threads, dropout: { hidden: 0.1, attention: 0.1 }, seed: 1 });
  const build = (performance.now() - t0) / 1000;
  weights.clear();
  const b = timingBatch(shape);
  await trainer.step(b);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await trainer.step(b);
    times.push((performance.now() - t) / 1000);
  }
  await trainer.release();
  return { step: times.sort((x, y) => x - y)[Math.floor(times.length / 2)]!, peak: peakRss(), build };
}

function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

function engineChild(name: string, count: number): Timing | string {
  const r = spawnSync(process.execPath, [__filename, '--child', name, '--steps', String(count), '--threads', String(threads)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return `engine failed: ${(r.stderr || `signal ${r.signal}`).trim().split('\n').pop()}`;
  return lastJson<Timing>(r.stdout);
}

function torch(args: readonly string[]): { ok: true; stdout: string } | { ok: false; why: string } {
  const r = spawnSync(PYTHON, [TORCH_SCRIPT, '--threads', String(threads), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status === 0) return { ok: true, stdout: r.stdout };
  const why = /No module named 'torch'/.test(r.stderr) ? 'PyTorch not installed (apt-get install python3-torch libopenblas0-pthread)' : `PyTorch failed: ${(r.stderr || `signal ${r.signal}`).trim().split('\n').pop()}`;
  return { ok: false, why };
}

function torchTiming(name: string, count: number): Timing | string {
  const { dims, batch, seq } = SHAPES[name]!;
  const r = torch(['time', '--layers', String(dims.layers), '--hidden', String(dims.hiddenSize), '--heads', String(dims.heads), '--ffn', String(dims.intermediateSize), '--vocab', String(dims.vocabSize), '--batch', String(batch), '--seq', String(seq), '--steps', String(count), '--lr', String(OPTIMIZER.learningRate), '--weight-decay', String(OPTIMIZER.weightDecay), '--beta2', String(OPTIMIZER.beta2), '--eps', String(OPTIMIZER.epsilon)]);
  if (!r.ok) return r.why;
  const j = lastJson<{ step_seconds: number; peak_rss_bytes: number; build_seconds: number; torch: string; blas: string }>(r.stdout);
  return { step: j.step_seconds, peak: j.peak_rss_bytes, build: j.build_seconds, version: j.torch, blas: j.blas };
}

// --- loss parity ----------------------------------------------------------------------

/** The parity model: small enough to run 50 steps on each side in seconds, on real text. */
const PARITY = { layers: 2, hidden: 128, heads: 2, ffn: 512, batch: 16, seq: 64, warmup: 5, seed: 7 };

/** 50 masked batches as the engine trains on them: the shipped text packed into full sequences, masks drawn per (seed, step, example). */
function parityBatches(tokenizer: BertTokenizer, count: number): Batch[] {
  const file = path.join(ROOT, 'examples', 'data', 'mlm', 'text.txt');
  const packed = packDocuments(readDocuments(file), tokenizer, PARITY.seq);
  // Full sequences only: no padding, so the attention mask plays no part on either side.
  const rows = packed.sequences.map((ids, i) => ({ ids, continues: packed.continues[i]!, index: i })).filter((r) => r.ids.length === PARITY.seq);
  const maskId = tokenizer.maskTokenId!;
  const masking: MaskingOptions = { probability: 0.15, wholeWord: false, maskId, vocabSize: tokenizer.vocabSize, specialIds: new Set([tokenizer.padTokenId, tokenizer.unkTokenId, tokenizer.clsTokenId, tokenizer.sepTokenId, maskId]) };
  const out: Batch[] = [];
  for (let step = 1; step <= count; step++) {
    const ids: bigint[] = [];
    const positions: bigint[] = [];
    const labels: bigint[] = [];
    for (let r = 0; r < PARITY.batch; r++) {
      const row = rows[((step - 1) * PARITY.batch + r) % rows.length]!;
      const m = maskSequence(row.ids, row.continues, masking, PARITY.seed, step, row.index);
      ids.push(...m.inputIds.map(BigInt));
      m.positions.forEach((p, k) => {
        positions.push(BigInt(r * PARITY.seq + p));
        labels.push(BigInt(m.labels[k]!));
      });
    }
    const n = PARITY.batch * PARITY.seq;
    out.push({ inputIds: BigInt64Array.from(ids), tokenTypeIds: new BigInt64Array(n), attentionMask: new BigInt64Array(n).fill(1n), batchSize: PARITY.batch, sequenceLength: PARITY.seq, maskedPositions: BigInt64Array.from(positions), labels: BigInt64Array.from(labels), tokens: n });
  }
  return out;
}

async function parity(count: number): Promise<string> {
  const vocab = fs.readFileSync(path.join(ROOT, 'examples', 'data', 'mlm', 'vocab.txt'), 'utf8').split('\n').filter((l) => l !== '');
  const tokenizer = BertTokenizer.fromVocab(vocab);
  const dims: BertDims = { hiddenSize: PARITY.hidden, layers: PARITY.layers, heads: PARITY.heads, intermediateSize: PARITY.ffn, vocabSize: vocab.length, maxPositions: PARITY.seq, typeVocabSize: 2 };
  const spec = specOf(dims);
  const weights = initPretraining(dims, PARITY.seed);
  initHead(weights, spec, PARITY.seed);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-mlm-parity-'));
  try {
    writeSafetensors(path.join(dir, 'init.safetensors'), weights as ReadonlyMap<string, FloatTensor>);
    const batches = parityBatches(tokenizer, count);
    fs.writeFileSync(path.join(dir, 'batches.json'), JSON.stringify(batches.map((b) => ({ input_ids: Array.from(b.inputIds, Number), positions: Array.from(b.maskedPositions!, Number), labels: Array.from(b.labels!, Number) }))));
    const trainable = [...parameterShapes(spec).keys()];
    const trainer = await Trainer.create(spec, weights, trainable, { ...OPTIMIZER, warmupSteps: PARITY.warmup, totalSteps: count }, { threads });
    const engine: number[] = [];
    for (const b of batches) engine.push((await trainer.step(b)).loss);
    await trainer.release();
    const r = torch(['parity', '--dir', dir, '--layers', String(dims.layers), '--hidden', String(dims.hiddenSize), '--heads', String(dims.heads), '--ffn', String(dims.intermediateSize), '--vocab', String(dims.vocabSize), '--batch', String(PARITY.batch), '--seq', String(PARITY.seq), '--steps', String(count), '--warmup', String(PARITY.warmup), '--lr', String(OPTIMIZER.learningRate), '--weight-decay', String(OPTIMIZER.weightDecay), '--beta2', String(OPTIMIZER.beta2), '--eps', String(OPTIMIZER.epsilon), '--max-grad-norm', String(OPTIMIZER.maxGradNorm)]);
    if (!r.ok) return `Loss parity: ${r.why}`;
    const torchLosses = lastJson<{ losses: number[] }>(r.stdout).losses;
    const rel = (i: number) => Math.abs(engine[i]! - torchLosses[i]!) / Math.abs(torchLosses[i]!);
    const worst = Math.max(...engine.map((_, i) => rel(i)));
    const last = count - 1;
    const lines = [
      `Loss parity (${PARITY.layers} layers × ${PARITY.hidden}, ${PARITY.heads} heads, FFN ${PARITY.ffn}, vocabulary ${dims.vocabSize}, batch ${PARITY.batch} × ${PARITY.seq}, ${count} steps of AdamW lr ${OPTIMIZER.learningRate} (warm-up ${PARITY.warmup}, linear decay), examples/data/mlm, dropout off; identical initial weights and masked batches):`,
      '',
      '| step | engine loss | PyTorch loss | relative difference |',
      '| ---: | ---: | ---: | ---: |',
      ...[0, 9, 24, last].filter((i, k, a) => i <= last && a.indexOf(i) === k).map((i) => `| ${i + 1} | ${engine[i]!.toFixed(6)} | ${torchLosses[i]!.toFixed(6)} | ${rel(i).toExponential(1)} |`),
      '',
      `After ${count} steps the losses are ${rel(last).toExponential(1)} apart, relative (goal: within 1e-2: ${rel(last) <= 0.01 ? 'met' : 'NOT met'}); the largest relative difference at any step ${worst.toExponential(1)}.`,
    ];
    return lines.join('\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const child = argv.indexOf('--child');
  if (child >= 0) {
    console.log(JSON.stringify(await engineTiming(argv[child + 1]!, steps)));
    return;
  }
  const which = arg('shape', 'all');
  const shapes = which === 'all' ? ['mini', 'base'] : which === 'none' ? [] : [which];
  console.log(`Machine: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; ${threads} threads on both sides; median of N steps after one warm-up step`);
  console.log('\n| shape | steps | engine s/step | engine tokens/s | engine peak RSS | PyTorch s/step | PyTorch tokens/s | PyTorch peak RSS | time engine/PyTorch | memory engine/PyTorch | goal |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
  let torchInfo = '';
  for (const name of shapes) {
    const shape = SHAPES[name]!;
    const count = name === 'base' ? baseSteps : steps;
    const tokens = shape.batch * shape.seq;
    const e = engineChild(name, count);
    const t = torchTiming(name, count);
    const gb = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
    const goal = name === 'base' ? 0.7 : 0.5;
    const engineCols = typeof e === 'string' ? `${e} | — | —` : `${e.step.toFixed(2)} | ${(tokens / e.step).toFixed(0)} | ${gb(e.peak)}`;
    const torchCols = typeof t === 'string' ? `${t} | — | —` : `${t.step.toFixed(2)} | ${(tokens / t.step).toFixed(0)} | ${gb(t.peak)}`;
    const ratios = typeof e === 'string' || typeof t === 'string' ? '— | — | —' : `${(e.step / t.step).toFixed(2)} | ${(e.peak / t.peak).toFixed(2)} | time ≤ ${goal}×: ${e.step / t.step <= goal ? 'met' : 'not met'}; memory ≤ 1×: ${e.peak <= t.peak ? 'met' : 'not met'}`;
    console.log(`| ${name} (${shape.dims.layers}×${shape.dims.hiddenSize}, V ${shape.dims.vocabSize}, ${shape.batch}×${shape.seq}) | ${count} | ${engineCols} | ${torchCols} | ${ratios} |`);
    if (typeof t !== 'string') torchInfo = `PyTorch ${t.version}, BLAS: ${t.blas}`;
  }
  if (torchInfo) console.log(`\n${torchInfo}`);
  console.log('Peak RSS: each side in a process of its own (engine: VmHWM of a node process holding its sessions; PyTorch: ru_maxrss). Weights are random; the timing batch masks 15% of its tokens.');
  if (!argv.includes('--no-parity')) console.log(`\n${await parity(paritySteps)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
