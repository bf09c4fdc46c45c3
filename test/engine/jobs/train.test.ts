/** `adapter-lab train`, `predict` and `demo` as a user runs them: events, run folders, failures and cancellation. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeSafetensors } from '../../../engine/checkpoint/safetensors';
import { parameterShapes } from '../../../engine/model/bert';
import { builtinSentiment, builtinVocab } from '../../../engine/model/builtin';
import { initModel } from '../../../engine/model/init';
import { floatTensor, type FloatTensor } from '../../../engine/tensor';
import { loadRun } from '../../../engine/jobs/runModel';
import { Workspace } from '../../support/fixtures';
import { REPO_ROOT } from '../../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

function run(args: string[], cwd: string) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
}

function experiment(extra = '', lr = '3.0e-3', epochs = 2): string {
  return `name: job-test\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\nmethod: adapter\nadapter:\n  size: 8\ntraining:\n  learning_rate: ${lr}\n  epochs: ${epochs}\n  batch_size: 8\n  seed: 3\n${extra}`;
}

interface Event { type: string; [k: string]: unknown }
const events = (stdout: string): Event[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
const runFolders = (dir: string): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir).map((d) => path.join(dir, d)) : []);

describe('adapter-lab train', () => {
  let ws: Workspace;
  before(() => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 64, 1);
    ws.sentiment('dev.tsv', 20, 2);
    ws.write('exp.adapter.yaml', experiment());
  });
  after(() => ws.dispose());

  test('--events: start, one step event per optimizer step with the contract fields, evaluation, artifact, end', () => {
    const r = run(['train', 'exp.adapter.yaml', '--events', '--max-steps', '5', '--runs', 'runs-a'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    const list = events(r.stdout);
    assert.equal(list[0]!.type, 'start');
    assert.equal(list[list.length - 1]!.type, 'end');
    assert.equal(list[list.length - 1]!.status, 'completed');
    const steps = list.filter((e) => e.type === 'step');
    assert.deepEqual(steps.map((e) => e.step), [1, 2, 3, 4, 5]);
    for (const s of steps) {
      for (const key of ['step', 'loss', 'lr', 'examples', 'tokens', 'seconds']) assert.equal(typeof s[key], 'number', key);
      assert.equal(s.v, 1);
      assert.equal(s.examples, 8);
    }
    assert.ok(list.some((e) => e.type === 'evaluation' && e.metric === 'accuracy'));
    assert.ok(list.some((e) => e.type === 'artifact' && e.kind === 'adapter'));
    assert.match(r.stderr, /completed after 5 steps/);
  });

  test('the run folder holds the resolved config, status, metrics, label map and trained weights', () => {
    const [dir] = runFolders(ws.path('runs-a'));
    assert.ok(dir);
    const status = JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { status: string; step: number };
    assert.deepEqual([status.status, status.step], ['completed', 5]);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { experiment: { name: string }; parameters: { trainable: number } };
    assert.equal(config.experiment.name, 'job-test');
    const metrics = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event);
    assert.equal(metrics.filter((m) => m.type === 'step').length, 5);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'labels.json'), 'utf8')), { labels: ['0', '1'] });
    const adapterConfig = JSON.parse(fs.readFileSync(path.join(dir, 'adapter', 'adapter_config.json'), 'utf8')) as { config: { mh_adapter: boolean; output_adapter: boolean }; adapter_lab: { bottleneck_size: number; trainable_parameters: number } };
    assert.deepEqual([adapterConfig.adapter_lab.bottleneck_size, adapterConfig.config.mh_adapter, adapterConfig.config.output_adapter], [8, true, true]);
    assert.equal(adapterConfig.adapter_lab.trainable_parameters, config.parameters.trainable);
    const weightBytes = fs.statSync(path.join(dir, 'adapter', 'adapter.safetensors')).size + fs.statSync(path.join(dir, 'adapter', 'model_head.safetensors')).size;
    assert.ok(weightBytes > config.parameters.trainable * 4);
    assert.equal(fs.readFileSync(path.join(dir, 'experiment.adapter.yaml'), 'utf8'), experiment());
  });

  test('predict: one JSON line per example, in file order, with logits and a label', () => {
    const [dir] = runFolders(ws.path('runs-a'));
    const r = run(['predict', dir!, 'dev.tsv'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { index: number; logits: number[]; prediction: string });
    assert.deepEqual(lines.map((l) => l.index), Array.from({ length: 20 }, (_, i) => i));
    for (const l of lines) {
      assert.equal(l.logits.length, 2);
      assert.equal(l.prediction, l.logits[1]! > l.logits[0]! ? '1' : '0');
    }
    const out = run(['predict', dir!, 'dev.tsv', '--out', 'predictions.jsonl'], ws.root);
    assert.equal(out.status, 0);
    assert.equal(fs.readFileSync(ws.path('predictions.jsonl'), 'utf8'), r.stdout);
  });

  test('robust AdapterDrop trains end to end; a sweep in the file is named as not expanded', () => {
    ws.write('robust.adapter.yaml', experiment('drop:\n  layers: 0..2\n  mode: robust\nsweep:\n  grid:\n    adapter.size: [4, 8]\n'));
    const r = run(['train', 'robust.adapter.yaml', '--events', '--max-steps', '4', '--runs', 'runs-robust'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    const list = events(r.stdout);
    assert.equal(list.filter((e) => e.type === 'step').length, 4);
    assert.ok(list.some((e) => e.type === 'log' && e.level === 'warning' && /has a sweep: train runs its base settings once/.test(e.message as string)));
    const [dir] = runFolders(ws.path('runs-robust'));
    const config = JSON.parse(fs.readFileSync(path.join(dir!, 'adapter', 'adapter_config.json'), 'utf8')) as { config: { leave_out: number[] }; adapter_lab: { drop: { layers: number[]; mode: string } } };
    assert.deepEqual(config.adapter_lab.drop, { layers: [0, 1, 2], mode: 'robust' });
    assert.deepEqual(config.config.leave_out, [], 'robust training keeps adapters in every layer');
  });

  test('evaluate: the run\'s metrics on a labelled file equal its own final evaluation on that file', () => {
    const [dir] = runFolders(ws.path('runs-a'));
    const r = run(['evaluate', dir!, 'dev.tsv'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { examples: number; metrics: { accuracy: number } };
    const last = fs.readFileSync(path.join(dir!, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event).filter((m) => m.type === 'evaluation').pop()!;
    assert.equal(result.examples, 20);
    assert.equal(result.metrics.accuracy, last.value);
    const missing = run(['evaluate', dir!, 'nope.tsv'], ws.root);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope.tsv.*not found/);
  });

  test('export --onnx: a standalone model whose logits equal predict\'s', async () => {
    const [dir] = runFolders(ws.path('runs-a'));
    const r = run(['export', dir!, '--onnx', 'model.onnx'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /its logits match the engine's to .* on 20 examples/);
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(ws.path('model.onnx'));
    assert.deepEqual([...session.inputNames].sort(), ['attention_mask', 'input_ids', 'token_type_ids']);
    assert.deepEqual([...session.outputNames], ['logits']);
    // One example through the exported file, against the engine's prediction for it.
    const predicted = JSON.parse(run(['predict', dir!, 'dev.tsv'], ws.root).stdout.split('\n')[0]!) as { logits: number[] };
    const tokenizer = loadRun(dir!).model.tokenizer;
    const first = fs.readFileSync(ws.path('dev.tsv'), 'utf8').split('\n')[1]!.split('\t')[0]!;
    const enc = tokenizer.encode(first, undefined, { maxLength: 24 });
    const t = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v.map(BigInt)), [1, v.length]);
    const out = await session.run({ input_ids: t(enc.inputIds), token_type_ids: t(enc.tokenTypeIds), attention_mask: t(enc.attentionMask) });
    const logits = Array.from(out.logits!.data as Float32Array);
    await session.release();
    logits.forEach((v, i) => assert.ok(Math.abs(v - predicted.logits[i]!) < 1e-4, `${v} vs ${predicted.logits[i]}`));
  });

  test('predict on a folder that is not a run: exit 2 and a clear message', () => {
    const r = run(['predict', ws.root, 'dev.tsv'], ws.root);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /is not a run folder/);
  });

  test('a file with errors is refused with located findings, and no run folder is made', () => {
    ws.write('bad.adapter.yaml', experiment().replace('size: 8', 'size: 0'));
    const r = run(['train', 'bad.adapter.yaml', '--runs', 'runs-bad', '--events'], ws.root);
    assert.equal(r.status, 1);
    assert.deepEqual(events(r.stdout).map((e) => `${e.type}:${String(e.code ?? e.status)}`), ['error:setup-failed', 'end:failed']);
    assert.match(r.stderr, /bad.adapter.yaml:\d+:\d+: error: `adapter.size` must be >= 1, found 0 \[out-of-bounds\]/);
    assert.deepEqual(runFolders(ws.path('runs-bad')), []);
  });

  test('a loss that becomes infinite or NaN stops the run: error event, status failed, exit 1', () => {
    ws.write('nan.adapter.yaml', experiment('', '1.0e+30'));
    const r = run(['train', 'nan.adapter.yaml', '--events', '--runs', 'runs-nan'], ws.root);
    assert.equal(r.status, 1, r.stderr);
    const list = events(r.stdout);
    const error = list.find((e) => e.type === 'error');
    assert.equal(error?.code, 'non-finite-loss');
    assert.equal(list[list.length - 1]!.status, 'failed');
    const [dir] = runFolders(ws.path('runs-nan'));
    assert.equal((JSON.parse(fs.readFileSync(path.join(dir!, 'status.json'), 'utf8')) as { status: string }).status, 'failed');
  });

  test('weights that cannot be saved fail the run with an error event, and its status says failed', () => {
    // A file where the adapter folder should go makes writing the weights fail.
    const dir = ws.path('runs-save');
    fs.mkdirSync(dir);
    const child = spawnSync(process.execPath, ['-e', `
      const fs = require('fs'); const path = require('path');
      const orig = fs.mkdirSync;
      fs.mkdirSync = function (p, o) { if (String(p).endsWith(path.sep + 'adapter')) { fs.writeFileSync(p, 'not a folder'); return; } return orig.call(this, p, o); };
      require(${JSON.stringify(CLI)}).main(['train', 'exp.adapter.yaml', '--events', '--max-steps', '2', '--runs', 'runs-save']).then((code) => { process.exitCode = code; });
    `], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(child.status, 1, child.stderr);
    const list = events(child.stdout);
    assert.equal(list.find((e) => e.type === 'error')?.code, 'save-failed');
    assert.equal(list[list.length - 1]!.status, 'failed');
    const [run] = runFolders(dir);
    assert.equal((JSON.parse(fs.readFileSync(path.join(run!, 'status.json'), 'utf8')) as { status: string }).status, 'failed');
  });

  test('SIGINT stops the run: status cancelled, exit 130, the run folder stays readable', async () => {
    ws.write('long.adapter.yaml', experiment('', '3.0e-3', 50));
    const child = spawn(process.execPath, [CLI, 'train', 'long.adapter.yaml', '--events', '--runs', 'runs-int'], { cwd: ws.root });
    let out = '';
    let sent = false;
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        // One signal: a second SIGINT force-quits, as terminals expect.
        if (!sent && out.includes('"step":3,')) {
          sent = true;
          child.kill('SIGINT');
          resolve();
        }
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130);
    const list = events(out);
    assert.equal(list[list.length - 1]!.status, 'cancelled');
    const [dir] = runFolders(ws.path('runs-int'));
    const status = JSON.parse(fs.readFileSync(path.join(dir!, 'status.json'), 'utf8')) as { status: string; step: number };
    assert.equal(status.status, 'cancelled');
    assert.ok(status.step >= 3 && status.step < 400);
    const metrics = fs.readFileSync(path.join(dir!, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event);
    assert.equal(metrics.filter((m) => m.type === 'step').length, status.step);
  });

  test('an execution provider that cannot run here is refused with the fix, before any run folder exists', () => {
    ws.write('cuda.adapter.yaml', experiment('runtime:\n  device: cuda\n'));
    const r = run(['train', 'cuda.adapter.yaml', '--runs', 'runs-cuda', '--events'], ws.root);
    if (r.status === 0) return; // a machine with a working CUDA provider
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the cuda provider cannot run here \(.+\); install the CUDA provider \(npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12/);
    assert.doesNotMatch(r.stderr, /onnxruntime_src/);
    assert.deepEqual(runFolders(ws.path('runs-cuda')), []);
    // The event stream says so too: an error and a failed end, with no run started.
    const list = events(r.stdout);
    assert.deepEqual(list.map((e) => e.type), ['error', 'end']);
    assert.equal(list[0]!.code, 'setup-failed');
    assert.match(list[0]!.message as string, /the cuda provider cannot run here/);
    assert.deepEqual([list[1]!.status, list[1]!.run], ['failed', '']);
  });

  test('demo: adapters, full fine-tuning and layer norms on the pretrained built-in model, and adapters on its unpretrained twin, no user files', () => {
    const dir = ws.path('demo-cwd');
    fs.mkdirSync(dir);
    const r = run(['demo', '--max-steps', '4'], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /WordNet noun supersenses/);
    assert.match(r.stderr, /\nadapters +builtin:english-bert +\d[\d.]*k +[\d.]+% +0\.\d{4} +completed/);
    assert.match(r.stderr, /\nfull fine-tuning +builtin:english-bert +[\d.]+M +100\.\d\d% +0\.\d{4} +completed/);
    assert.match(r.stderr, /\nlayer norms only +builtin:english-bert +\d[\d.]*k +[\d.]+% +0\.\d{4} +completed/);
    assert.match(r.stderr, /\nadapters, unpretrained twin +builtin:english-bert-random +\d[\d.]*k +[\d.]+% +0\.\d{4} +completed/);
    assert.match(r.stderr, /Pretraining buys [+-]\d+\.\d points/);
    assert.match(r.stderr, /english-bert-random is generated from a fixed seed and is not pretrained/);
    assert.equal(runFolders(path.join(dir, '.adapter-lab', 'runs')).length, 4);
  });
});

describe('training from a Hugging Face BERT folder', () => {
  let ws: Workspace;
  before(() => {
    ws = new Workspace();
    const dims = { hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 64, vocabSize: 200, maxPositions: 64, typeVocabSize: 2 };
    const vocab = builtinVocab(dims);
    ws.write('bert/vocab.txt', vocab.join('\n') + '\n');
    ws.write('bert/config.json', JSON.stringify({ model_type: 'bert', hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, vocab_size: 200, max_position_embeddings: 64, type_vocab_size: 2, hidden_act: 'gelu', layer_norm_eps: 1e-12, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 }));
    // Saved as BertForPreTraining would: `bert.` prefixes and an MLM head the engine ignores.
    const weights = initModel({ dims, layerNormEps: 1e-12, adapters: undefined, head: { kind: 'classification', numLabels: 2 } }, 5);
    const stored = new Map<string, FloatTensor>([...weights].filter(([n]) => parameterShapes({ dims, layerNormEps: 1e-12, adapters: undefined, head: { kind: 'classification', numLabels: 2 } }).has(n) && !n.startsWith('classifier')).map(([n, t]) => [`bert.${n}`, t] as const));
    stored.set('cls.predictions.bias', floatTensor([200]));
    writeSafetensors(ws.path('bert/model.safetensors'), stored);
    const tsv = (rows: { sentence: string; label: number }[], regression: boolean) => ['sentence\tscore', ...rows.map((r, i) => `${r.sentence}\t${regression ? (r.label + (i % 5) / 10).toFixed(1) : r.label}`)].join('\n') + '\n';
    ws.write('train.tsv', tsv(builtinSentiment(48, 1), false));
    ws.write('dev.tsv', tsv(builtinSentiment(16, 2), false));
    ws.write('train-r.tsv', tsv(builtinSentiment(48, 1), true));
    ws.write('dev-r.tsv', tsv(builtinSentiment(16, 2), true));
  });
  after(() => ws.dispose());

  const file = (kind: string, train: string, dev: string, metric: string) =>
    `name: hf-${kind}\nmodel: ./bert\ntask:\n  kind: ${kind}\n  train: ./${train}\n  validation: ./${dev}\n  text: sentence\n  label: score\n  metric: ${metric}\n  max_length: 24\nmethod: adapter\nadapter:\n  size: 4\ntraining:\n  epochs: 1\n  batch_size: 8\n`;

  test('classification: loads the checkpoint and its vocabulary, trains and evaluates', () => {
    ws.write('c.adapter.yaml', file('classification', 'train.tsv', 'dev.tsv', 'accuracy'));
    const r = run(['train', 'c.adapter.yaml', '--events', '--runs', 'runs'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    const list = events(r.stdout);
    const start = list.find((e) => e.type === 'start')!;
    assert.equal(start.model, ws.path('bert'));
    assert.equal(list.filter((e) => e.type === 'step').length, 6);
    const evaluation = list.find((e) => e.type === 'evaluation')!;
    assert.equal(evaluation.metric, 'accuracy');
    assert.ok((evaluation.value as number) >= 0 && (evaluation.value as number) <= 1);
    const env = JSON.parse(fs.readFileSync(path.join(start.runDir as string, 'environment.json'), 'utf8')) as { pretrained: boolean; provider: string };
    assert.deepEqual([env.pretrained, env.provider], [true, 'cpu']);
  });

  test('regression: an MSE head, evaluated with Pearson correlation', () => {
    ws.write('r.adapter.yaml', file('regression', 'train-r.tsv', 'dev-r.tsv', 'pearson'));
    const r = run(['train', 'r.adapter.yaml', '--events', '--runs', 'runs'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    const list = events(r.stdout);
    const evaluation = list.find((e) => e.type === 'evaluation')!;
    assert.equal(evaluation.metric, 'pearson');
    assert.ok(Math.abs(evaluation.value as number) <= 1);
    const [dir] = runFolders(ws.path('runs')).filter((d) => path.basename(d).startsWith('hf-regression'));
    const predicted = run(['predict', dir!, 'dev-r.tsv'], ws.root);
    const lines = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l) as { logits: number[]; prediction: number });
    assert.equal(lines.length, 16);
    for (const l of lines) assert.equal(l.prediction, l.logits[0]);
  });
});

describe('span tasks (SQuAD v1.1)', () => {
  let ws: Workspace;
  before(() => {
    ws = new Workspace();
    const subjects = ['film', 'plot', 'cast', 'script', 'ending'];
    const words = ['dull', 'superb', 'clumsy', 'charming', 'awful', 'brilliant'];
    const squad = (n: number, seed: number) => {
      const paragraphs = Array.from({ length: n }, (_, i) => {
        const a = subjects[(i + seed) % subjects.length]!;
        const b = subjects[(i + seed + 2) % subjects.length]!;
        const wa = words[(i * 3 + seed) % words.length]!;
        const wb = words[(i * 5 + seed + 1) % words.length]!;
        const context = `the ${a} was ${wa} . the ${b} was ${wb} .`;
        return { context, qas: [{ id: `q${seed}-${i}`, question: `what was the ${b} ?`, answers: [{ text: wb, answer_start: context.lastIndexOf(wb) }] }] };
      });
      return JSON.stringify({ version: '1.1', data: [{ title: 'reviews', paragraphs }] });
    };
    ws.write('train.json', squad(40, 1));
    ws.write('dev.json', squad(10, 2));
    ws.write('qa.adapter.yaml', 'name: qa\nmodel: builtin:tiny-bert\ntask:\n  kind: span\n  train: ./train.json\n  validation: ./dev.json\n  metric: span_f1\n  max_length: 32\nmethod: adapter\nadapter:\n  size: 8\ntraining:\n  epochs: 1\n  batch_size: 8\n');
  });
  after(() => ws.dispose());

  test('trains start/end logits and evaluates with exact match and span F1', () => {
    const r = run(['train', 'qa.adapter.yaml', '--events', '--runs', 'runs'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    const list = events(r.stdout);
    assert.equal(list.filter((e) => e.type === 'step').length, 5);
    const evaluation = list.find((e) => e.type === 'evaluation')!;
    assert.equal(evaluation.metric, 'span_f1');
    const metrics = evaluation.metrics as Record<string, number>;
    assert.deepEqual(Object.keys(metrics).sort(), ['exact_match', 'span_f1']);
    for (const v of Object.values(metrics)) assert.ok(v >= 0 && v <= 1);
    const [dir] = runFolders(ws.path('runs'));
    const head = JSON.parse(fs.readFileSync(path.join(dir!, 'adapter', 'head_config.json'), 'utf8')) as { config: { head_type: string; num_labels: number }; adapter_lab: { task: string } };
    assert.deepEqual([head.config.head_type, head.config.num_labels, head.adapter_lab.task], ['question_answering', 2, 'span']);
  });
});

