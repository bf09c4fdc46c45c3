/**
 * Masked-language modelling: the head and its tied decoder against finite differences and the
 * independent float64 reference BERT; pretraining from scratch through the real CLI (it
 * learns, resumes bit-identically after SIGKILL, saves a BertForMaskedLM folder that
 * fine-tunes); and bad input refused with a located message.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hubNaming } from '../../../engine/checkpoint/hubNames';
import { writePytorchCheckpoint } from '../../../engine/checkpoint/pytorchWriter';
import { readSafetensors } from '../../../engine/checkpoint/safetensors';
import { validateExperiment } from '../../../engine/config';
import { gradients } from '../../../engine/graph/autodiff';
import { Ops } from '../../../engine/graph/ops';
import { resolveExperiment } from '../../../engine/config/experiment';
import { builtinDims, builtinVocab } from '../../../engine/model/builtin';
import { planRun, withCreatedHead } from '../../../engine/train/plan';
import type { ModelSpec } from '../../../engine/model/bert';
import type { BertDims } from '../../../engine/model/dims';
import { initPretraining } from '../../../engine/model/init';
import * as names from '../../../engine/model/names';
import { EngineSession, type RunTensor } from '../../../engine/runtime/session';
import { buildBert, initHead, taskKind } from '../../../engine/tasks';
import { packDocuments } from '../../../engine/tasks/mlm';
import { BertTokenizer } from '../../../engine/tokenizer';
import type { FloatTensor } from '../../../engine/tensor';
import { Random } from '../../../engine/util/random';
import { Workspace } from '../../support/fixtures';
import { REPO_ROOT } from '../../support/lspClient';
import { referenceForward } from '../../support/referenceBert';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const DIMS: BertDims = { hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 12, vocabSize: 20, maxPositions: 8, typeVocabSize: 2 };
const SPEC: ModelSpec = { dims: DIMS, layerNormEps: 1e-12, adapters: undefined, head: { kind: 'mlm', vocabSize: DIMS.vocabSize } };
const IDS = [2, 5, 9, 13, 3, 2, 7, 7, 3, 0];
const MASK = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0];
/** Flat positions (row × 5 + column) the head predicts, and their labels. */
const POSITIONS = [1, 3, 6, 7];
const LABELS = [11, 4, 17, 6];

function weightsFor(seed: number) {
  const weights = initPretraining(DIMS, seed);
  initHead(weights, SPEC, seed);
  // Away from the initial zeros and ones, so that every parameter's gradient is exercised.
  const rng = new Random(seed + 1);
  for (const name of [names.mlmHead.bias, names.mlmHead.transform.bias, names.mlmHead.layerNorm.weight, names.mlmHead.layerNorm.bias]) {
    const t = weights.get(name)!;
    for (let i = 0; i < t.data.length; i++) t.data[i] = (name.endsWith('LayerNorm.weight') ? 1 : 0) + (rng.next() - 0.5) * 0.4;
  }
  return weights;
}

function feedsOf(): Record<string, RunTensor> {
  return {
    input_ids: { data: BigInt64Array.from(IDS.map(BigInt)), shape: [2, 5] },
    token_type_ids: { data: new BigInt64Array(10), shape: [2, 5] },
    attention_mask: { data: BigInt64Array.from(MASK.map(BigInt)), shape: [2, 5] },
    masked_positions: { data: BigInt64Array.from(POSITIONS.map(BigInt)), shape: [POSITIONS.length] },
  };
}

describe('the masked-LM head (float64)', () => {
  test('gradients of the loss match finite differences, the tied word embeddings receiving both paths', async () => {
    const weights = weightsFor(3);
    const trainable = [names.embeddings.word, names.mlmHead.transform.weight, names.mlmHead.transform.bias, names.mlmHead.layerNorm.weight, names.mlmHead.layerNorm.bias, names.mlmHead.bias, names.layer(1).output.weight, names.embeddings.position];
    const o = new Ops();
    const bert = buildBert(o, SPEC, weights, { trainable: new Set(trainable), dtype: 'float64' });
    const { loss } = taskKind('mlm').loss(o, bert.logits, SPEC.head, 'float64');
    o.graph.output(loss, 'loss');
    const grads = gradients(o, loss, trainable.map((n) => bert.params.get(n)!));
    for (const n of trainable) o.graph.output(grads.get(bert.params.get(n)!)!, `grad.${n}`);
    const session = await EngineSession.create(o.graph.toOnnx());
    const feeds = { ...feedsOf(), labels: { data: BigInt64Array.from(LABELS.map(BigInt)), shape: [LABELS.length] } };
    const values = new Map<string, Float64Array>();
    for (const n of trainable) {
      values.set(n, Float64Array.from(weights.get(n)!.data));
      feeds[n as 'labels'] = { data: values.get(n)!, shape: weights.get(n)!.shape } as never;
    }
    const analytic = await session.run(feeds);
    const rng = new Random(17);
    let worst = 0;
    for (const n of trainable) {
      const x = values.get(n)!;
      const g = analytic[`grad.${n}`]!.data as Float64Array;
      // The word embeddings: rows read as inputs (5, 9) and rows only the decoder reads (11, 17).
      const entries = n === names.embeddings.word ? [5 * 8 + 1, 9 * 8 + 4, 11 * 8 + 2, 17 * 8 + 7, 19 * 8] : [0, 1, 2].map(() => rng.int(x.length));
      for (const k of entries) {
        const keep = x[k]!;
        const eps = 1e-6;
        x[k] = keep + eps;
        const plus = ((await session.run(feeds, ['loss'])).loss!.data as Float64Array)[0]!;
        x[k] = keep - eps;
        const minus = ((await session.run(feeds, ['loss'])).loss!.data as Float64Array)[0]!;
        x[k] = keep;
        const numeric = (plus - minus) / (2 * eps);
        worst = Math.max(worst, Math.abs(numeric - g[k]!) / Math.max(1, Math.abs(numeric)));
      }
    }
    assert.ok(worst < 1e-6, `worst relative error ${worst}`);
  });

  test('the logits at the masked positions equal the independent reference BERT with BertForMaskedLM\'s head', async () => {
    const weights = weightsFor(5);
    const o = new Ops();
    const bert = buildBert(o, SPEC, weights, { trainable: new Set(), dtype: 'float64' });
    o.graph.output(bert.logits, 'logits');
    const session = await EngineSession.create(o.graph.toOnnx());
    const out = await session.run(feedsOf());
    assert.deepEqual(out.logits!.shape, [POSITIONS.length, DIMS.vocabSize]);
    const rows = [IDS.slice(0, 5), IDS.slice(5)];
    const expected = referenceForward(weights, { dims: DIMS, layerNormEps: 1e-12, head: { kind: 'mlm', vocabSize: DIMS.vocabSize, positions: POSITIONS.map((p) => [Math.floor(p / 5), p % 5] as const) } }, {
      inputIds: rows,
      tokenTypeIds: rows.map((r) => r.map(() => 0)),
      attentionMask: [MASK.slice(0, 5), MASK.slice(5)],
    });
    const got = out.logits!.data as Float64Array;
    let worst = 0;
    expected.logits.forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - got[i * DIMS.vocabSize + j]!)))));
    // onnxruntime has no float64 Erf: the GELUs run it in float32.
    assert.ok(worst < 1e-6, `max difference ${worst}`);
  });
});

describe('packing', () => {
  test('documents are joined with [SEP] into [CLS] … [SEP] sequences of max_length, split where they do not fit', () => {
    const tokenizer = BertTokenizer.fromVocab(builtinVocab({ ...DIMS, vocabSize: 200 }));
    const docs = [{ line: 1, text: 'the cat sat on the mat' }, { line: 2, text: 'the film is good' }, { line: 3, text: '' }];
    const packed = packDocuments(docs, tokenizer, 8);
    const words = packed.sequences.map((s) => tokenizer.convertIdsToTokens(s).join(' '));
    assert.deepEqual(words, ['[CLS] the cat sat on the mat [SEP]', '[CLS] the film is good [SEP]']);
    const tight = packDocuments(docs, tokenizer, 6).sequences.map((s) => tokenizer.convertIdsToTokens(s).join(' '));
    assert.deepEqual(tight, ['[CLS] the cat sat on [SEP]', '[CLS] the mat [SEP] the [SEP]', '[CLS] film is good [SEP]']);
    assert.ok(packDocuments(docs, tokenizer, 6).sequences.every((s) => s.length <= 6));
  });
});

/**
 * A language in which each line repeats one word: a masked word is the word of its
 * neighbours, which attention that merely averages can find, while its frequency alone says
 * 1 in 40. (A model this small needs thousands of steps to learn word order, the plateau
 * that pretraining must outlast.)
 */
function repeatedCorpus(count: number, seed: number, words: readonly string[]): string {
  const rng = new Random(seed);
  return Array.from({ length: count }, () => Array.from({ length: 12 }, () => words[0]).fill(words[rng.int(words.length)]!).join(' ')).join('\n') + '\n';
}

const WORDS = builtinVocab({ ...DIMS, vocabSize: 200 }).slice(5, 45);

function pretrainExperiment(name: string, extra = ''): string {
  return `name: ${name}
from_scratch:
  layers: 2
  hidden_size: 64
  heads: 2
  intermediate_size: 128
  max_positions: 32
  vocab: ./vocab.txt
  initializer_range: 0.05
task:
  kind: mlm
  train: ./train.txt
  validation: ./dev.txt
  max_length: 32
method: full
training:
  learning_rate: 5.0e-3
  epochs: 4
  batch_size: 16
  warmup: 0.1
  weight_decay: 0.01
  adam_beta2: 0.98
  adam_epsilon: 1.0e-6
  seed: 7
runtime:
  threads: 1
${extra}`;
}

describe('pretraining a BERT from scratch (adapter-lab train, task.kind mlm)', () => {
  let ws: Workspace;
  let runDir: string;
  let events: { type: string; [k: string]: unknown }[];
  before(() => {
    ws = new Workspace('adapter-lab-mlm-');
    ws.write('vocab.txt', builtinVocab({ ...DIMS, vocabSize: 200 }).join('\n') + '\n');
    ws.write('train.txt', repeatedCorpus(1200, 1, WORDS));
    ws.write('dev.txt', repeatedCorpus(60, 2, WORDS));
    ws.write('lm.adapter.yaml', pretrainExperiment('lm'));
    const r = spawnSync(process.execPath, [CLI, 'train', 'lm.adapter.yaml', '--runs', 'runs', '--events', '--checkpoint-every', '20'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    runDir = ws.path('runs', fs.readdirSync(ws.path('runs'))[0]!);
  });
  after(() => ws.dispose());

  test('masked accuracy leaves the unigram baseline far behind', () => {
    const evaluations = events.filter((e) => e.type === 'evaluation') as unknown as { metrics: Record<string, number> }[];
    const last = evaluations[evaluations.length - 1]!.metrics;
    // Every word is equally frequent: predicting by frequency scores 1 in 40.
    assert.ok(last.masked_accuracy! > 0.5, `masked accuracy ${last.masked_accuracy}`);
    assert.ok(last.mlm_loss! < Math.log(40) / 2, `loss ${last.mlm_loss}`);
    assert.ok(Math.abs(last.perplexity! - Math.exp(last.mlm_loss!)) < 1e-6 * last.perplexity!);
  });

  test('evaluate on the finished pretraining run (its model folder) scores what its last evaluation scored', () => {
    const evaluations = events.filter((e) => e.type === 'evaluation') as unknown as { metrics: Record<string, number> }[];
    const last = evaluations[evaluations.length - 1]!.metrics;
    const out = spawnSync(process.execPath, [CLI, 'evaluate', runDir, 'dev.txt'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const scored = (JSON.parse(out.stdout.trim().split('\n')[0]!) as { metrics: Record<string, number> }).metrics;
    for (const m of ['masked_accuracy', 'mlm_loss']) assert.ok(Math.abs(scored[m]! - last[m]!) <= 1e-6 * Math.abs(last[m]!), `${m}: ${scored[m]} vs ${last[m]}`);
  });

  test('the run saves a Hugging Face BertForMaskedLM folder: exactly its tensor names and shapes', () => {
    const dir = path.join(runDir, 'model');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config.architectures, ['BertForMaskedLM']);
    assert.equal(config.vocab_size, 200);
    const tensors = readSafetensors(path.join(dir, 'model.safetensors'));
    const d = 64;
    const expected = new Map<string, readonly number[]>([
      ['bert.embeddings.word_embeddings.weight', [200, d]],
      ['bert.embeddings.position_embeddings.weight', [32, d]],
      ['bert.embeddings.token_type_embeddings.weight', [2, d]],
      ['bert.embeddings.LayerNorm.weight', [d]],
      ['bert.embeddings.LayerNorm.bias', [d]],
      ['cls.predictions.bias', [200]],
      ['cls.predictions.transform.dense.weight', [d, d]],
      ['cls.predictions.transform.dense.bias', [d]],
      ['cls.predictions.transform.LayerNorm.weight', [d]],
      ['cls.predictions.transform.LayerNorm.bias', [d]],
    ]);
    for (let i = 0; i < 2; i++) {
      const p = `bert.encoder.layer.${i}`;
      for (const m of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) expected.set(`${p}.${m}.weight`, [d, d]).set(`${p}.${m}.bias`, [d]);
      expected.set(`${p}.attention.output.LayerNorm.weight`, [d]).set(`${p}.attention.output.LayerNorm.bias`, [d]);
      expected.set(`${p}.intermediate.dense.weight`, [128, d]).set(`${p}.intermediate.dense.bias`, [128]);
      expected.set(`${p}.output.dense.weight`, [d, 128]).set(`${p}.output.dense.bias`, [d]);
      expected.set(`${p}.output.LayerNorm.weight`, [d]).set(`${p}.output.LayerNorm.bias`, [d]);
    }
    assert.deepEqual([...tensors.keys()].sort(), [...expected.keys()].sort());
    for (const [name, shape] of expected) assert.deepEqual(tensors.get(name)!.shape, shape, name);
    assert.equal(fs.readFileSync(path.join(dir, 'vocab.txt'), 'utf8'), fs.readFileSync(ws.path('vocab.txt'), 'utf8'));
  });

  test('killed (SIGKILL) mid-run and resumed: bit-identical weights to the uninterrupted run', async () => {
    const child = spawn(process.execPath, [CLI, 'train', 'lm.adapter.yaml', '--runs', 'runs-killed', '--events', '--checkpoint-every', '20'], { cwd: ws.root });
    let out = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!killed && out.includes('"step":47,')) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    await new Promise((resolve) => child.on('close', resolve));
    assert.ok(killed, 'the run ended before it could be killed');
    const dir = ws.path('runs-killed', fs.readdirSync(ws.path('runs-killed'))[0]!);
    const resumed = spawnSync(process.execPath, [CLI, 'resume', dir], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /resumed from the checkpoint at step 40/);
    const a = readSafetensors(path.join(runDir, 'model', 'model.safetensors'));
    const b = readSafetensors(path.join(dir, 'model', 'model.safetensors'));
    for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, name);
  });

  test('the saved model loads back as model: and fine-tunes; evaluate, predict, export and ablate work on the run (its pooler is its own)', () => {
    ws.sentiment('cls.tsv', 120, 3);
    ws.write('cls.adapter.yaml', `name: cls\nmodel: ./${path.relative(ws.root, path.join(runDir, 'model'))}\ntask:\n  kind: classification\n  train: ./cls.tsv\n  validation: ./cls.tsv\n  text: sentence\n  label: label\n  max_length: 16\nmethod: adapter\nadapter:\n  size: 4\ntraining:\n  epochs: 1\n  batch_size: 16\nruntime:\n  threads: 1\n`);
    const trained = spawnSync(process.execPath, [CLI, 'train', 'cls.adapter.yaml', '--runs', 'runs-cls'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(trained.status, 0, trained.stderr);
    const run = ws.path('runs-cls', fs.readdirSync(ws.path('runs-cls'))[0]!);
    for (const args of [['evaluate', run, 'cls.tsv'], ['predict', run, 'cls.tsv'], ['export', run, '--onnx', 'cls.onnx'], ['ablate', run]]) {
      const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ws.root, encoding: 'utf8' });
      assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
    }
    const adapter = readSafetensors(path.join(run, 'adapter', 'adapter.safetensors'));
    assert.ok([...adapter.keys()].some((n) => n.includes('pooler')), 'the pooler the run drew is saved with it');
  });

  test('a language adapter on the pretrained model: only adapters, their layer norms and the decoder bias train; saved in AdapterHub\'s layout; evaluate, export and import give it back', () => {
    const base = path.join(runDir, 'model');
    ws.write('la.adapter.yaml', `name: la\nmodel: ./${path.relative(ws.root, base)}\ntask:\n  kind: mlm\n  train: ./train.txt\n  validation: ./dev.txt\n  max_length: 32\nmethod: adapter\nadapter:\n  size: 8\n  sites: [ffn]\n  layers: [1]\ntraining:\n  learning_rate: 1.0e-2\n  epochs: 1\n  batch_size: 16\nruntime:\n  threads: 1\n`);
    assert.deepEqual(validateExperiment(fs.readFileSync(ws.path('la.adapter.yaml'), 'utf8'), { filePath: ws.path('la.adapter.yaml') }).findings.filter((f) => f.severity === 'error'), []);
    const trained = spawnSync(process.execPath, [CLI, 'train', 'la.adapter.yaml', '--runs', 'runs-la', '--events', '--max-steps', '12'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(trained.status, 0, trained.stderr);
    const run = ws.path('runs-la', fs.readdirSync(ws.path('runs-la'))[0]!);
    const lastEvaluation = trained.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; metrics?: Record<string, number> }).filter((e) => e.type === 'evaluation').pop()!.metrics!;

    // What the run trained: the adapter of layer 1, that layer's two layer norms, the decoder bias.
    const ln = (site: string) => [`${site}.LayerNorm.weight`, `${site}.LayerNorm.bias`];
    const adapterNames = ['down.weight', 'down.bias', 'up.weight', 'up.bias'].map((p) => `encoder.layer.1.output.adapter.${p}`);
    const config = JSON.parse(fs.readFileSync(path.join(run, 'config.json'), 'utf8')) as { plan: { trainable: string[] } };
    assert.deepEqual([...config.plan.trainable].sort(), [...adapterNames, ...ln('encoder.layer.1.attention.output'), ...ln('encoder.layer.1.output'), names.mlmHead.bias].sort());

    // AdapterHub's names: the body file holds the adapter and the layer norms, the head file BertStyleMaskedLMHead's stack.
    const dir = path.join(run, 'adapter');
    const body = readSafetensors(path.join(dir, 'adapter.safetensors'));
    const head = readSafetensors(path.join(dir, 'model_head.safetensors'));
    assert.deepEqual([...body.keys()].sort(), [
      ...['adapter_down.0.weight', 'adapter_down.0.bias', 'adapter_up.weight', 'adapter_up.bias'].map((p) => `bert.encoder.layer.1.output.adapters.la.${p}`),
      ...ln('bert.encoder.layer.1.attention.output'),
      ...ln('bert.encoder.layer.1.output'),
    ].sort());
    assert.deepEqual(body.get('bert.encoder.layer.1.output.adapters.la.adapter_down.0.weight')!.shape, [8, 64]);
    assert.deepEqual(Object.fromEntries([...head].map(([n, t]) => [n, t.shape])), { 'heads.la.0.weight': [64, 64], 'heads.la.0.bias': [64], 'heads.la.2.weight': [64], 'heads.la.2.bias': [64], 'heads.la.3.bias': [200] });
    const headConfig = JSON.parse(fs.readFileSync(path.join(dir, 'head_config.json'), 'utf8')) as { config: Record<string, unknown> };
    assert.deepEqual(headConfig.config, { head_type: 'masked_lm', vocab_size: 200, embedding_size: 64, layers: 2, activation_function: 'gelu', layer_norm: true, bias: true, shift_labels: false, label2id: null });
    const adapterConfig = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as { config: Record<string, unknown>; adapter_lab: { task: { kind: string } } };
    assert.equal(adapterConfig.config.architecture, 'bottleneck');
    assert.deepEqual(adapterConfig.config.leave_out, [0]);
    assert.equal(adapterConfig.adapter_lab.task.kind, 'mlm');

    // The base stayed as it was: the head's transform is saved unchanged; what trained moved.
    const pretrained = readSafetensors(path.join(base, 'model.safetensors'));
    assert.deepEqual(head.get('heads.la.0.weight')!.data, pretrained.get('cls.predictions.transform.dense.weight')!.data);
    assert.deepEqual(head.get('heads.la.2.bias')!.data, pretrained.get('cls.predictions.transform.LayerNorm.bias')!.data);
    assert.notDeepEqual(head.get('heads.la.3.bias')!.data, pretrained.get('cls.predictions.bias')!.data);
    assert.notDeepEqual(body.get('bert.encoder.layer.1.output.LayerNorm.weight')!.data, pretrained.get('bert.encoder.layer.1.output.LayerNorm.weight')!.data);
    assert.ok(body.get('bert.encoder.layer.1.output.adapters.la.adapter_up.weight')!.data.some((v) => Math.abs(Number(v)) > 1e-3), 'the adapter moved away from its near-zero start');

    // Loaded back, it scores what the run scored at its end; exported and imported, the same.
    const evaluate = (r: string) => {
      const out = spawnSync(process.execPath, [CLI, 'evaluate', r, 'dev.txt'], { cwd: ws.root, encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      return (JSON.parse(out.stdout.trim().split('\n')[0]!) as { metrics: Record<string, number> }).metrics;
    };
    const scored = evaluate(run);
    for (const m of ['masked_accuracy', 'mlm_loss', 'perplexity']) assert.ok(Math.abs(scored[m]! - lastEvaluation[m]!) <= 1e-6 * Math.abs(lastEvaluation[m]!), `${m}: ${scored[m]} vs ${lastEvaluation[m]}`);
    for (const args of [['export', run, '--adapter', 'la-out'], ['import', 'la-out', '--runs', 'runs-la-imported']]) {
      const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ws.root, encoding: 'utf8' });
      assert.equal(r.status, 0, `${args[0]}: ${r.stderr}`);
    }
    const imported = ws.path('runs-la-imported', fs.readdirSync(ws.path('runs-la-imported'))[0]!);
    assert.deepEqual(evaluate(imported), scored);

    // As AdapterHub's save_adapter writes it: no adapter_lab blocks, PyTorch files only, and the
    // head file holding the tied decoder weight (the word embeddings) as heads.la.3.weight.
    const hub = ws.path('la-hub');
    fs.mkdirSync(hub);
    for (const file of ['adapter_config.json', 'head_config.json']) {
      const json = JSON.parse(fs.readFileSync(ws.path('la-out', file), 'utf8')) as Record<string, unknown>;
      delete json.adapter_lab;
      fs.writeFileSync(path.join(hub, file), JSON.stringify(json));
    }
    const headTensors = new Map(readSafetensors(path.join(dir, 'model_head.safetensors')) as Map<string, FloatTensor>);
    headTensors.set('heads.la.3.weight', pretrained.get('bert.embeddings.word_embeddings.weight') as FloatTensor);
    writePytorchCheckpoint(path.join(hub, 'pytorch_model_head.bin'), headTensors);
    fs.copyFileSync(ws.path('la-out', 'pytorch_adapter.bin'), path.join(hub, 'pytorch_adapter.bin'));
    const fromHub = spawnSync(process.execPath, [CLI, 'import', 'la-hub', '--model', base, '--runs', 'runs-la-hub'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(fromHub.status, 0, fromHub.stderr);
    const hubRun = ws.path('runs-la-hub', fs.readdirSync(ws.path('runs-la-hub'))[0]!);
    assert.deepEqual(evaluate(hubRun), scored);
    // The run keeps the decoder weight the folder brought, where AdapterHub keeps it.
    assert.deepEqual(readSafetensors(path.join(hubRun, 'adapter', 'model_head.safetensors')).get('heads.la.3.weight')!.data, pretrained.get('bert.embeddings.word_embeddings.weight')!.data);
  });
});

describe('what a language adapter trains', () => {
  test('on a base without a masked-LM head (the built-in models): the head it draws trains too, the base stays frozen', () => {
    const e = resolveExperiment({ name: 'la', model: 'builtin:tiny-bert', task: { kind: 'mlm', train: 'x.txt', max_length: 32 }, method: 'adapter', adapter: { size: 8, sites: ['ffn'], layers: [3] } }, process.cwd());
    const dims = builtinDims('tiny-bert');
    const planned = planRun(e, dims, dims.vocabSize);
    const weights = initPretraining(dims, 1);
    const plan = withCreatedHead(planned, initHead(weights, planned.spec, 1));
    const head = [names.mlmHead.transform.weight, names.mlmHead.transform.bias, names.mlmHead.layerNorm.weight, names.mlmHead.layerNorm.bias];
    assert.deepEqual(planned.trainable.filter((n) => !/^encoder\.layer\.3\.(output\.adapter\.|attention\.output\.LayerNorm|output\.LayerNorm)/.test(n)), [names.mlmHead.bias]);
    assert.ok(planned.trainable.includes('encoder.layer.3.output.adapter.down.weight') && planned.trainable.includes('encoder.layer.3.output.LayerNorm.weight'));
    assert.deepEqual([...plan.trainable].sort(), [...planned.trainable, ...head].sort());
    assert.ok(!plan.trainable.some((n) => n.startsWith('embeddings.') || /^encoder\.layer\.[012]\./.test(n)), 'nothing below the adapter layer trains');
  });
});

describe('a masked-LM head in AdapterHub names', () => {
  test('BertStyleMaskedLMHead\'s stack: transform .0, layer norm .2, decoder .3 (its weight the tied word embeddings); both directions agree', () => {
    const naming = hubNaming('lang', 'mlm');
    const expected: Record<string, string> = {
      [names.mlmHead.transform.weight]: 'heads.lang.0.weight',
      [names.mlmHead.transform.bias]: 'heads.lang.0.bias',
      [names.mlmHead.layerNorm.weight]: 'heads.lang.2.weight',
      [names.mlmHead.layerNorm.bias]: 'heads.lang.2.bias',
      [names.mlmHead.bias]: 'heads.lang.3.bias',
    };
    for (const [internal, hub] of Object.entries(expected)) {
      assert.equal(naming.toHub(internal), hub);
      assert.equal(naming.toInternal(hub), internal);
    }
    assert.equal(naming.toInternal('heads.lang.3.weight'), names.embeddings.word);
    assert.equal(naming.toHub(names.embeddings.word), 'bert.embeddings.word_embeddings.weight');
    assert.equal(naming.toInternal('heads.lang.1.weight'), undefined, 'the GELU has no weights');
    assert.equal(hubNaming('lang', 'classification').toInternal('heads.lang.0.weight'), undefined);
  });
});

describe('masked-LM input is checked', () => {
  let ws: Workspace;
  before(() => {
    ws = new Workspace('adapter-lab-mlm-bad-');
    ws.write('vocab.txt', builtinVocab({ ...DIMS, vocabSize: 200 }).join('\n') + '\n');
    ws.write('train.txt', repeatedCorpus(20, 1, WORDS));
    ws.write('dev.txt', repeatedCorpus(5, 2, WORDS));
  });
  after(() => ws.dispose());

  const validate = (text: string) => validateExperiment(text, { filePath: ws.path('x.adapter.yaml') });
  const messages = (text: string) => validate(text).findings.filter((f) => f.severity === 'error').map((f) => `${f.code}: ${f.message}`);

  test('a vocabulary without [MASK], a shape that does not divide, max_length above the positions: located errors', () => {
    ws.write('nomask.txt', builtinVocab({ ...DIMS, vocabSize: 200 }).filter((t) => t !== '[MASK]').join('\n') + '\n');
    assert.match(messages(pretrainExperiment('x').replace('./vocab.txt', './nomask.txt')).join('\n'), /bad-model: The vocabulary lacks \[MASK\]/);
    assert.match(messages(pretrainExperiment('x').replace('heads: 2', 'heads: 3')).join('\n'), /hidden_size 64 is not a multiple of heads 3/);
    assert.match(messages(pretrainExperiment('x').replace('  max_length: 32', '  max_length: 64')).join('\n'), /max-length-too-large/);
    assert.match(messages(pretrainExperiment('x').replace(/from_scratch:[\s\S]*?initializer_range: 0\.05\n/, '')).join('\n'), /missing-key: The experiment needs `model`/);
    // Language adapters (MAD-X) and layer-norm training are masked-LM methods like the others.
    assert.deepEqual(messages(pretrainExperiment('x').replace('method: full', 'method: adapter')), []);
    assert.deepEqual(messages(pretrainExperiment('x').replace('method: full', 'method: layernorm')), []);
    assert.deepEqual(messages(pretrainExperiment('x')), []);
  });

  test('an empty corpus and a line that is not UTF-8 are refused with the file (and line); a giant line is split, not refused', () => {
    const train = (file: string) => ws.write('x.adapter.yaml', pretrainExperiment('x').replace('./train.txt', `./${file}`));
    ws.write('empty.txt', '\n\n  \n');
    train('empty.txt');
    let r = spawnSync(process.execPath, [CLI, 'train', 'x.adapter.yaml', '--runs', 'runs', '--max-steps', '2'], { cwd: ws.root, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /x\.adapter\.yaml:\d+:\d+: error: The text file is empty/);
    // Text the tokenizer removes entirely (zero-width spaces): refused by name, not trained on nothing.
    ws.write('invisible.txt', '\u200b\u200b\n\u200b\n');
    train('invisible.txt');
    r = spawnSync(process.execPath, [CLI, 'train', 'x.adapter.yaml', '--runs', 'runs', '--max-steps', '2'], { cwd: ws.root, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /invisible\.txt: no text to learn from/);
    fs.writeFileSync(ws.path('latin1.txt'), Buffer.concat([Buffer.from('the cat sat\nthe mat\n'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])]));
    train('latin1.txt');
    r = spawnSync(process.execPath, [CLI, 'train', 'x.adapter.yaml', '--runs', 'runs', '--max-steps', '2'], { cwd: ws.root, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /latin1\.txt:3: not UTF-8: byte 0xE9/);
    ws.write('giant.txt', Array.from({ length: 30_000 }, (_, i) => WORDS[i % WORDS.length]).join(' ') + '\n');
    train('giant.txt');
    r = spawnSync(process.execPath, [CLI, 'train', 'x.adapter.yaml', '--runs', 'runs', '--max-steps', '2'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
});
