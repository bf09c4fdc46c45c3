/**
 * AdapterFusion end to end, as examples/fusion.adapter.yaml describes it: train the adapters
 * its `# needs:` line names, train the fusion with the same runs folder, then read the run
 * back (AdapterHub's fusion layout) and evaluate it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { validateExperiment } from '../../../engine/config';
import { exportFusionRun, readFusionFolder } from '../../../engine/checkpoint/fusionFolder';
import { openSafetensors, writeSafetensors } from '../../../engine/checkpoint/safetensors';
import type { EventPayload } from '../../../engine/events';
import { evaluateRun } from '../../../engine/jobs/evaluate';
import { runAblation } from '../../../engine/jobs/ablate';
import { runSweep } from '../../../engine/jobs/sweep';
import { exportOnnx } from '../../../engine/jobs/export';
import { multiTaskPredict } from '../../../engine/jobs/multitask';
import { importFusion } from '../../../engine/jobs/import';
import { predictFile } from '../../../engine/jobs/predict';
import { writePytorchCheckpoint } from '../../../engine/checkpoint/pytorchWriter';
import { fusionWeights, pruneFusion } from '../../../engine/jobs/fusion';
import { loadRun } from '../../../engine/jobs/runModel';
import { resumeTrainJob, runTrainJob, type TrainJobResult } from '../../../engine/jobs/train';
import { readSafetensors } from '../../../engine/checkpoint/safetensors';
import type { FloatTensor } from '../../../engine/tensor';
import { replayJob } from '../../../engine/runs/replay';
import { loadEventContract } from '../../support/eventContract';
import { REPO_ROOT } from '../../support/lspClient';
import { builtinVocab } from '../../../engine/model/builtin';
import { BUILTIN_MODELS } from '../../../engine/model/dims';
import { vocabularyChecksum } from '../../../engine/tokenizer/checksum';

const EXAMPLES = path.join(REPO_ROOT, 'examples');
const FUSION = path.join(EXAMPLES, 'fusion.adapter.yaml');
/** The adapters the example fuses, in its order. */
const NAMES = ['fusion-sentiment', 'fusion-paraphrase', 'fusion-topic'];

async function train(file: string, runsDir: string, events: EventPayload[] = []): Promise<TrainJobResult> {
  const source = fs.readFileSync(file, 'utf8');
  const v = validateExperiment(source, { filePath: file, runsDir });
  assert.deepEqual(v.findings.filter((f) => f.severity === 'error').map((f) => f.message), [], `${path.basename(file)} validates`);
  return runTrainJob({ experiment: v.experiment!, source, runsDir, threads: 1, emit: (e) => events.push(e) });
}

describe('fusion end to end (examples/fusion.adapter.yaml)', () => {
  let runsDir: string;
  let adapters: TrainJobResult[];
  let fusion: TrainJobResult;
  const events: EventPayload[] = [];

  before(async () => {
    runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fusion-e2e-'));
    const needs = /^# needs: (.+)$/m.exec(fs.readFileSync(FUSION, 'utf8').split('\n')[0]!)![1]!.trim().split(/\s+/);
    adapters = [];
    for (const file of needs) adapters.push(await train(path.join(EXAMPLES, file), runsDir));
    fusion = await train(FUSION, runsDir, events);
  });
  after(() => fs.rmSync(runsDir, { recursive: true, force: true }));

  test('the first line names the adapters to train first, and they train, recording the vocabulary they were trained with', () => {
    assert.equal(adapters.length, 3);
    for (const a of adapters) {
      assert.equal(a.status, 'completed', a.message);
      const config = JSON.parse(fs.readFileSync(path.join(a.runDir, 'adapter', 'adapter_config.json'), 'utf8')) as { adapter_lab: { vocabulary: string } };
      assert.equal(config.adapter_lab.vocabulary, vocabularyChecksum(builtinVocab(BUILTIN_MODELS['tiny-bert']!)));
    }
  });

  test('adapter-lab validate --runs finds them there; without --runs, beside the file, it does not', () => {
    const cli = path.join(REPO_ROOT, 'dist', 'cli.js');
    const ok = spawnSync(process.execPath, [cli, 'validate', '--runs', runsDir, FUSION], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    const missing = spawnSync(process.execPath, [cli, 'validate', FUSION], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stdout, /no completed run of an experiment named "fusion-sentiment"/);
  });

  test('without them the fusion file is refused, with the reference located', () => {
    const source = fs.readFileSync(FUSION, 'utf8');
    const v = validateExperiment(source, { filePath: FUSION, runsDir: path.join(runsDir, 'nothing-here') });
    const errors = v.findings.filter((f) => f.severity === 'error');
    assert.deepEqual(errors.map((f) => source.slice(f.range.start, f.range.end)), ['fusion-sentiment', 'fusion-paraphrase', 'fusion-topic']);
  });

  test('the fusion trains only its layers and the head, and completes', () => {
    assert.equal(fusion.status, 'completed', fusion.message);
    // tiny-bert: d = 64, 4 layers × 2 sites of 3d² + 2d.
    assert.equal(fusion.parameters.fusion, 8 * (3 * 64 * 64 + 2 * 64));
    assert.equal(fusion.parameters.trainable, fusion.parameters.fusion + fusion.parameters.head);
    assert.ok(fusion.parameters.fusedAdapters > 0);
    const losses = events.filter((e): e is Extract<EventPayload, { type: 'step' }> => e.type === 'step').map((e) => e.loss);
    assert.ok(losses.length > 10 && losses.every(Number.isFinite));
  });

  test("the run folder holds the fusion in AdapterHub's layout and the fused adapters as their own folders", () => {
    const dir = fusion.runDir;
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'fusion', 'adapter_fusion_config.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(config.adapter_names, NAMES);
    assert.equal(config.name, 'fusion-sentiment,fusion-paraphrase,fusion-topic');
    assert.deepEqual(config.config, { key: true, query: true, value: true, query_before_ln: false, regularization: true, residual_before: false, temperature: false, value_before_softmax: true, value_initialized: true, dropout_prob: null });
    const f = openSafetensors(path.join(dir, 'fusion', 'model_adapter_fusion.safetensors'));
    const tensors = f.tensors.map((t) => t.name);
    f.close();
    assert.equal(tensors.length, 8 * 5);
    assert.ok(tensors.includes('bert.encoder.layer.3.output.adapter_fusion_layer.fusion-sentiment,fusion-paraphrase,fusion-topic.value.weight'));
    assert.ok(tensors.includes('bert.encoder.layer.0.attention.output.adapter_fusion_layer.fusion-sentiment,fusion-paraphrase,fusion-topic.key.bias'));
    for (const name of NAMES) assert.ok(fs.existsSync(path.join(dir, 'adapters', name, 'adapter_config.json')), name);
    assert.ok(fs.existsSync(path.join(dir, 'fusion', 'head_config.json')));
    // The value matrices moved from the identity (they were trained), but not far (the regulariser).
    const read = readFusionFolder(path.join(dir, 'fusion'));
    const v = read.weights.get('encoder.layer.3.output.adapter_fusion_layer.value.weight')!;
    const off = Array.from(v.data).reduce((s, x, i) => s + (x - (i % 65 === 0 ? 1 : 0)) ** 2, 0);
    assert.ok(off > 1e-8 && off < 1, `‖I − W_v‖² = ${off}`);
    // The key biases trained too: with dropout on the scores, Q·b_k no longer cancels (they start at 0).
    const bk = read.weights.get('encoder.layer.3.output.adapter_fusion_layer.key.bias')!;
    assert.ok(Array.from(bk.data).some((x) => x !== 0), 'the key bias stayed at 0');
  });

  test('saved and loaded, the fusion evaluates to what training measured last', async () => {
    const last = events.filter((e): e is Extract<EventPayload, { type: 'evaluation' }> => e.type === 'evaluation').pop()!;
    const run = loadRun(fusion.runDir);
    assert.ok(run.spec.fusion);
    const result = await evaluateRun(fusion.runDir, path.join(EXAMPLES, 'data', 'sentiment', 'dev.tsv'), { threads: 1 });
    assert.equal(result.metrics.accuracy, last.metrics.accuracy);
    // The target task's own adapter is among the fused: the fusion matches or beats it.
    assert.ok(result.metrics.accuracy! >= adapters[0]!.metrics.accuracy!, `fusion ${result.metrics.accuracy} vs the sentiment adapter ${adapters[0]!.metrics.accuracy}`);
    assert.ok(result.metrics.accuracy! > 0.9, `accuracy ${result.metrics.accuracy}`);
  });

  test('stopped part-way and resumed, the fusion ends with the same weights, bit for bit', async () => {
    const source = fs.readFileSync(FUSION, 'utf8');
    const v = validateExperiment(source, { filePath: FUSION, runsDir });
    const stop = new AbortController();
    const first = await runTrainJob({
      experiment: v.experiment!,
      source,
      runsDir,
      threads: 1,
      checkpointEvery: 4,
      signal: stop.signal,
      emit: (e) => {
        if (e.type === 'step' && e.step === 10) stop.abort();
      },
    });
    assert.equal(first.status, 'cancelled');
    const resumed = await resumeTrainJob(first.runDir, { threads: 1, emit: () => {} });
    assert.equal(resumed.status, 'completed', resumed.message);
    for (const file of ['model_adapter_fusion.safetensors', 'model_head.safetensors']) {
      const a = readSafetensors(path.join(fusion.runDir, 'fusion', file));
      const b = readSafetensors(path.join(resumed.runDir, 'fusion', file));
      assert.deepEqual([...b.keys()], [...a.keys()]);
      for (const [n, t] of a) assert.deepEqual(Array.from(b.get(n)!.data as Float32Array), Array.from(t.data as Float32Array), n);
    }
  });

  test('a run checkpointed before key biases were trained resumes as it started: they stay as they were', async () => {
    const source = fs.readFileSync(FUSION, 'utf8');
    const v = validateExperiment(source, { filePath: FUSION, runsDir });
    const stop = new AbortController();
    const first = await runTrainJob({ experiment: v.experiment!, source, runsDir, threads: 1, checkpointEvery: 4, signal: stop.signal, emit: (e) => e.type === 'step' && e.step === 6 && stop.abort() });
    assert.equal(first.status, 'cancelled');
    // As an earlier version left it: the key biases neither in the recorded plan nor in the checkpoint.
    const isKeyBias = (n: string) => n.endsWith('.adapter_fusion_layer.key.bias');
    const configFile = path.join(first.runDir, 'config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { plan: { trainable: string[] } };
    config.plan.trainable = config.plan.trainable.filter((n) => !isKeyBias(n));
    fs.writeFileSync(configFile, JSON.stringify(config));
    const checkpoint = path.join(first.runDir, 'checkpoint.safetensors');
    const f = openSafetensors(checkpoint);
    const metadata = f.metadata;
    const kept = new Map([...f.readAll()].filter(([n]) => !isKeyBias(n)) as [string, FloatTensor][]);
    f.close();
    assert.ok(kept.size < f.tensors.length);
    writeSafetensors(checkpoint, kept, metadata);
    const resumed = await resumeTrainJob(first.runDir, { threads: 1, emit: () => {} });
    assert.equal(resumed.status, 'completed', resumed.message);
    const saved = readFusionFolder(path.join(resumed.runDir, 'fusion')).weights;
    const biases = [...saved].filter(([n]) => isKeyBias(n));
    assert.equal(biases.length, 8);
    for (const [n, t] of biases) assert.ok(t.data.every((x) => x === 0), `${n} was trained`);
  });

  test('the key biases learn from dropped scores: with no dropout on the scores they move only by rounding', async () => {
    const text = fs.readFileSync(FUSION, 'utf8');
    const largest = async (source: string): Promise<number> => {
      const v = validateExperiment(source, { filePath: path.join(EXAMPLES, 'fusion-variant.adapter.yaml'), runsDir });
      const r = await runTrainJob({ experiment: v.experiment!, source, runsDir, threads: 1, maxSteps: 6, emit: () => {} });
      assert.equal(r.status, 'completed', r.message);
      const w = readFusionFolder(path.join(r.runDir, 'fusion')).weights;
      return Math.max(...[...w].filter(([n]) => n.endsWith('.key.bias')).flatMap(([, t]) => Array.from(t.data, Math.abs)));
    };
    const dropped = await largest(text);
    const kept = await largest(text.replace('  config: dynamic\n', '  config: dynamic\n  dropout: 0\n'));
    assert.ok(dropped > 10 * kept, `largest |b_k|: ${dropped} with dropout on the scores, ${kept} without`);
  });

  test('a finished fusion run reports its average fusion weights on the validation data, as docs/events.md says', () => {
    // The last one: those before it are the evaluations' live weights (with their step).
    const event = events.filter((e) => e.type === 'fusion-weights').pop();
    assert.ok(event && event.step === undefined, 'a fusion-weights event of the finished run');
    assert.deepEqual(loadEventContract().check(event), []);
    const { v: _v, time: _t, type: _type, ...payload } = event as Extract<EventPayload, { type: 'fusion-weights' }> & { v: number; time: string };
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(fusion.runDir, 'fusion-weights.json'), 'utf8')), payload);
    assert.equal(payload.data, path.join(EXAMPLES, 'data', 'sentiment', 'dev.tsv'));
    // The run folder replays it for a panel opened later.
    const replayed = replayJob(fusion.runDir).events.filter((e) => e.type === 'fusion-weights').pop();
    assert.deepEqual(replayed && { adapters: replayed.adapters, weights: replayed.weights, tokens: replayed.tokens, data: replayed.data }, payload);
    // The sentiment adapter dominates the fusion for the sentiment task (the paper's Fig. 4 pattern).
    const mean = (i: number) => Object.values(payload.weights).reduce((sum, w) => sum + w[i]!, 0) / 8;
    assert.ok(mean(0) > mean(1) && mean(0) > mean(2), `sentiment ${mean(0)}, paraphrase ${mean(1)}, topic ${mean(2)}`);
  });

  test('average fusion weights per site: one per fused adapter, summing to 1, recorded in the run folder', async () => {
    const w = await fusionWeights(fusion.runDir, undefined, { threads: 1 });
    assert.deepEqual(w.adapters, NAMES);
    assert.deepEqual(Object.keys(w.weights), [0, 1, 2, 3].flatMap((l) => [`${l}.attention`, `${l}.ffn`]));
    assert.ok(w.tokens > 1000);
    for (const [site, weights] of Object.entries(w.weights)) {
      const sum = weights.reduce<number>((a, b) => a + (b ?? 0), 0);
      assert.ok(Math.abs(sum - 1) < 1e-4, `${site}: ${sum}`);
    }
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(fusion.runDir, 'fusion-weights.json'), 'utf8')), w);
  });

  for (const scope of ['overall', 'layer'] as const) {
    test(`pruning (${scope}): top-k adapters for k = 1..N; k = N is the whole fusion`, async () => {
      const dev = path.join(EXAMPLES, 'data', 'sentiment', 'dev.tsv');
      const r = await pruneFusion(fusion.runDir, dev, scope, { threads: 1 });
      assert.deepEqual(r.rows.map((row) => row.k), [1, 2, 3]);
      for (const kept of Object.values(r.rows[0]!.kept)) assert.equal(kept.length, 1);
      for (const kept of Object.values(r.rows[1]!.kept)) assert.equal(kept.length, 2);
      for (const kept of Object.values(r.rows[2]!.kept)) assert.equal(kept.length, 3);
      if (scope === 'overall') assert.equal(new Set(Object.values(r.rows[0]!.kept).flat()).size, 1);
      const full = await evaluateRun(fusion.runDir, dev, { threads: 1 });
      assert.equal(r.rows[2]!.metrics.accuracy, full.metrics.accuracy);
      assert.ok(r.rows.every((row) => row.seconds > 0));
    });
  }

  test('exported as ONNX, the fused model gives the engine\'s logits', async () => {
    const file = path.join(runsDir, 'fusion.onnx');
    const r = await exportOnnx(fusion.runDir, file, { threads: 1 });
    assert.ok(r.checked > 0 && r.maxDifference <= r.tolerance, `max difference ${r.maxDifference}`);
    assert.ok(fs.statSync(file).size > 0);
  });

  /** The example with extra settings, trained for a few steps in the same runs folder. */
  async function variantRun(extra: string, log: EventPayload[], cache = false): Promise<TrainJobResult> {
    const text = fs.readFileSync(FUSION, 'utf8');
    const source = (cache ? text.replace('  seed: 42\n', '  seed: 42\n  prefix_cache:\n    enabled: true\n') : text) + extra;
    const file = path.join(EXAMPLES, 'fusion-variant.adapter.yaml');
    const v = validateExperiment(source, { filePath: file, runsDir });
    assert.deepEqual(v.findings.filter((f) => f.severity === 'error').map((f) => f.message), []);
    return runTrainJob({ experiment: v.experiment!, source, runsDir, threads: 1, maxSteps: 6, emit: (e) => log.push(e) });
  }

  test('static AdapterDrop with the prefix cache: the dropped layers lose their fusion layers and run once, cached', async () => {
    const log: EventPayload[] = [];
    const r = await variantRun('drop:\n  layers: 0..1\n', []);
    assert.equal(r.status, 'completed', r.message);
    assert.equal(r.parameters.fusion, 4 * (3 * 64 * 64 + 2 * 64));
    const cached = await variantRun('drop:\n  layers: 0..1\n', log, true);
    assert.equal(cached.status, 'completed', cached.message);
    assert.ok(log.some((e) => e.type === 'log' && /frozen prefix \(embeddings and layers 0–1\)/.test(e.message)), 'the prefix below the lowest fusion layer is cached');
    const config = JSON.parse(fs.readFileSync(path.join(r.runDir, 'config.json'), 'utf8')) as { plan: { spec: { fusion: { layers: number[] } } } };
    assert.deepEqual(config.plan.spec.fusion.layers, [2, 3]);
  });

  test('robust AdapterDrop trains a fusion with its lower layers switched off at random', async () => {
    const r = await variantRun('drop:\n  layers: 0..2\n  mode: robust\n', []);
    assert.equal(r.status, 'completed', r.message);
    // Robust dropping keeps every fusion layer: all 8 sites train.
    assert.equal(r.parameters.fusion, 8 * (3 * 64 * 64 + 2 * 64));
  });

  test("a fusion saved in AdapterHub's own layout (PyTorch files, no adapter_lab blocks) imports as a run with the same logits", async () => {
    const hub = path.join(runsDir, 'hub-save');
    const names = NAMES;
    for (const name of names) {
      const dir = path.join(hub, name);
      fs.mkdirSync(dir, { recursive: true });
      for (const file of fs.readdirSync(path.join(fusion.runDir, 'adapters', name))) fs.copyFileSync(path.join(fusion.runDir, 'adapters', name, file), path.join(dir, file));
      // As AdapterHub writes it: its own fields only.
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
      delete config.adapter_lab;
      fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(config));
    }
    const fusionDir = path.join(hub, names.join(','));
    fs.mkdirSync(fusionDir);
    const saved = readSafetensors(path.join(fusion.runDir, 'fusion', 'model_adapter_fusion.safetensors'));
    writePytorchCheckpoint(path.join(fusionDir, 'pytorch_model_adapter_fusion.bin'), saved as Map<string, FloatTensor>);
    const ours = JSON.parse(fs.readFileSync(path.join(fusion.runDir, 'fusion', 'adapter_fusion_config.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(fusionDir, 'adapter_fusion_config.json'), JSON.stringify({ adapter_names: names, config: ours.config, hidden_size: 64, model_class: 'BertAdapterModel', model_name: 'bert-base-uncased', model_type: 'bert', name: names.join(','), version: '1.1.0' }));
    // The head under another name, as the user called it in AdapterHub.
    const headConfig = JSON.parse(fs.readFileSync(path.join(fusion.runDir, 'fusion', 'head_config.json'), 'utf8')) as Record<string, unknown>;
    delete headConfig.adapter_lab;
    fs.writeFileSync(path.join(fusionDir, 'head_config.json'), JSON.stringify({ ...headConfig, name: 'sst2' }));
    const head = readSafetensors(path.join(fusion.runDir, 'fusion', 'model_head.safetensors'));
    writePytorchCheckpoint(path.join(fusionDir, 'pytorch_model_head.bin'), new Map([...head].map(([n, t]) => [n.replace(/^heads\.fusion\./, 'heads.sst2.'), t as FloatTensor])));

    const dev = path.join(EXAMPLES, 'data', 'sentiment', 'dev.tsv');
    const imported = importFusion({ fusionDir, runsDir: path.join(runsDir, 'imported'), model: 'builtin:tiny-bert', data: dev });
    assert.equal(imported.experiment.method, 'fusion');
    assert.equal(imported.parameters.fusion, fusion.parameters.fusion);
    const a = await predictFile(fusion.runDir, dev, 1);
    const b = await predictFile(imported.runDir, dev, 1);
    assert.equal(b.length, 100);
    assert.deepEqual(b.map((p) => p.logits), a.map((p) => p.logits));
  });

  test('export --adapter of a fusion run: each adapter and the fusion in folders of their own, which import back', async () => {
    const dest = path.join(runsDir, 'exported-fusion');
    exportFusionRun(fusion.runDir, dest);
    assert.deepEqual(fs.readdirSync(dest).sort(), ['fusion', ...NAMES].sort());
    assert.ok(fs.existsSync(path.join(dest, 'fusion-sentiment', 'pytorch_adapter.bin')));
    assert.throws(() => exportFusionRun(fusion.runDir, dest), /not empty; add --force/);
    const dev = path.join(EXAMPLES, 'data', 'sentiment', 'dev.tsv');
    const back = importFusion({ fusionDir: path.join(dest, 'fusion'), runsDir: path.join(runsDir, 'reimported'), model: 'builtin:tiny-bert', data: dev });
    assert.deepEqual((await predictFile(back.runDir, dev, 1)).map((p) => p.logits), (await predictFile(fusion.runDir, dev, 1)).map((p) => p.logits));
  });

  test('ablation removes a span\'s fusion and adapters together; multi-task inference shares the base with the adapters\' runs', async () => {
    const dev = path.join(EXAMPLES, 'data', 'sentiment', 'dev.tsv');
    const r = await runAblation({ runDir: fusion.runDir, dataFile: dev, threads: 1, emit: () => {} });
    assert.equal(r.status, 'completed');
    const all = r.cells.find((c) => c.site === 'both' && c.from === 0 && c.to === 3)!;
    // Every layer's fusion removed: the base model with the fusion's head, far from the fusion itself.
    assert.ok(all.value < r.baseline.accuracy!, `${all.value} vs ${r.baseline.accuracy}`);
    const m = await multiTaskPredict([fusion.runDir, adapters[0]!.runDir], dev, { threads: 1 });
    assert.equal(m.tasks.length, 2);
    assert.equal(m.tasks[0]!.evaluation?.metrics.accuracy, (await evaluateRun(fusion.runDir, dev, { threads: 1 })).metrics.accuracy);
  });

  test('killed (SIGKILL) part-way and resumed with the CLI: the uninterrupted run\'s fusion and head, bit for bit', async () => {
    const cli = path.join(REPO_ROOT, 'dist', 'cli.js');
    // --runs: where the adapters are found by name, and where the run's folder goes.
    const child = spawn(process.execPath, [cli, 'train', FUSION, '--runs', runsDir, '--threads', '1', '--checkpoint-every', '4', '--events']);
    let out = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!killed && out.includes('"step":10,')) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    await new Promise((resolve) => child.on('close', resolve));
    const runDir = (JSON.parse(out.split('\n')[0]!) as { runDir: string }).runDir;
    assert.equal((JSON.parse(fs.readFileSync(path.join(runDir, 'status.json'), 'utf8')) as { status: string }).status, 'running', 'a killed run could not say so');
    const resumed = spawnSync(process.execPath, [cli, 'resume', runDir, '--threads', '1', '--events'], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /resumed from the checkpoint at step 8 of 125/);
    for (const file of ['model_adapter_fusion.safetensors', 'model_head.safetensors']) {
      const a = readSafetensors(path.join(fusion.runDir, 'fusion', file));
      const b = readSafetensors(path.join(runDir, 'fusion', file));
      for (const [n, t] of a) assert.deepEqual(Array.from(b.get(n)!.data as Float32Array), Array.from(t.data as Float32Array), n);
    }
  });

  test('a sweep over fusion.config: each trial finds the adapters by name in the runs folder the sweep is in', async () => {
    const source = fs.readFileSync(FUSION, 'utf8') + 'sweep:\n  grid:\n    fusion.config: [dynamic, static]\n';
    const v = validateExperiment(source, { filePath: FUSION, runsDir });
    assert.deepEqual(v.findings.filter((f) => f.severity === 'error').map((f) => f.message), []);
    const r = await runSweep({ experiment: v.experiment!, plain: v.plain, source, baseDir: EXAMPLES, runsDir, maxSteps: 3, threads: 1, emit: () => {} });
    assert.equal(r.status, 'completed');
    const trials = fs.readdirSync(path.join(r.sweepDir, 'runs')).map((d) => JSON.parse(fs.readFileSync(path.join(r.sweepDir, 'runs', d, 'config.json'), 'utf8')) as { parameters: { fusion: number } });
    assert.deepEqual(trials.map((t) => t.parameters.fusion).sort((a, b) => a - b), [8 * (2 * 64 * 64 + 2 * 64), 8 * (3 * 64 * 64 + 2 * 64)]);
  });
});
