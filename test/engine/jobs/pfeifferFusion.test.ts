/**
 * AdapterFusion over adapters in Pfeiffer's placement (AdapterHub's seq_bn: one adapter
 * after the feed-forward sub-layer, reading LN(x + h)), end to end on builtin:tiny-bert:
 * two such adapters trained, their fusion trained, saved in AdapterHub's fusion layout with
 * the adapters' placement recorded, loaded back to identical logits, exported (ONNX and
 * AdapterHub's layout) and imported; and a fusion folder as AdapterHub writes it for seq_bn
 * adapters (its names, shapes and PyTorch files, written here) imported and checked against
 * AdapterHub's formulas.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { validateExperiment } from '../../../engine/config';
import { loadModel } from '../../../engine/checkpoint/baseModel';
import { exportFusionRun, readFusedAdapter, readFusionFolder, readFusionHead } from '../../../engine/checkpoint/fusionFolder';
import { readSafetensors } from '../../../engine/checkpoint/safetensors';
import { evaluateRun } from '../../../engine/jobs/evaluate';
import { exportOnnx } from '../../../engine/jobs/export';
import { importFusion } from '../../../engine/jobs/import';
import { predictFile } from '../../../engine/jobs/predict';
import { loadRun } from '../../../engine/jobs/runModel';
import { CHECKPOINT_FILE, resumeTrainJob, runTrainJob, type TrainJobResult } from '../../../engine/jobs/train';
import type { EventPayload } from '../../../engine/events';
import * as names from '../../../engine/model/names';
import { predictAll, prepareEvaluation } from '../../../engine/tasks';
import { floatTensor, type FloatTensor, type WeightMap } from '../../../engine/tensor';
import { Trainer } from '../../../engine/train/trainer';
import { Random } from '../../../engine/util/random';
import { Workspace } from '../../support/fixtures';
import { referenceForward } from '../../support/referenceBert';
import { torchSave } from '../../support/torchCheckpoint';

const TINY = loadModel('builtin:tiny-bert');
const D = TINY.dims.hiddenSize;
const LAYERS = Array.from({ length: TINY.dims.layers }, (_, i) => i);
/** What the fusion records for adapters in Pfeiffer's placement, in AdapterHub's field names. */
const PFEIFFER_PLACEMENT = { original_ln_before: true, original_ln_after: true, residual_before_ln: true, is_parallel: false };

function experimentText(name: string, body: string, seed: number): string {
  return `name: ${name}
model: builtin:tiny-bert
task:
  kind: classification
  train: data/train.tsv
  validation: data/dev.tsv
  text: sentence
  label: label
  max_length: 32
${body}training:
  learning_rate: 5.0e-3
  epochs: 1
  batch_size: 16
  seed: ${seed}
runtime:
  device: cpu
`;
}

describe("fusion of adapters in Pfeiffer's placement (AdapterHub's seq_bn)", () => {
  let ws: Workspace;
  let runsDir: string;
  let dev: string;
  const adapters: TrainJobResult[] = [];
  let fusion: TrainJobResult;
  const events: EventPayload[] = [];

  async function train(name: string, body: string, seed: number, opts: { readonly maxSteps?: number; readonly stopAfter?: number; readonly log?: EventPayload[] } = {}): Promise<TrainJobResult> {
    const source = experimentText(name, body, seed);
    const file = ws.write(`${name}.adapter.yaml`, source);
    const v = validateExperiment(source, { filePath: file, runsDir });
    assert.deepEqual(v.findings.filter((f) => f.severity === 'error').map((f) => f.message), [], `${name} validates`);
    return runTrainJob({ experiment: v.experiment!, source, runsDir, threads: 1, ...opts, emit: (e) => opts.log?.push(e) });
  }

  before(async () => {
    ws = new Workspace('pfeiffer-fusion-');
    runsDir = ws.path('runs');
    ws.sentiment('data/train.tsv', 64, 11);
    dev = ws.sentiment('data/dev.tsv', 24, 12);
    // train_layernorm: false keeps the adapters alone what the fusion reuses (it keeps the base model's norms).
    for (const [i, name] of ['pf-a', 'pf-b'].entries()) adapters.push(await train(name, 'method: adapter\nadapter:\n  preset: pfeiffer\n  train_layernorm: false\n', 1 + i, { maxSteps: 4 }));
    // Stopped after step 3 of 4: the run saves what it trained and also keeps the trainer's state as its checkpoint.
    fusion = await train('pf-fusion', 'method: fusion\nfusion:\n  adapters: [pf-a, pf-b]\n', 3, { stopAfter: 3, log: events });
  });
  after(() => ws.dispose());

  test("the adapters are AdapterHub's seq_bn; the fusion trains a layer at their one site per layer and records their placement", () => {
    for (const a of adapters) {
      assert.equal(a.status, 'completed', a.message);
      const config = JSON.parse(fs.readFileSync(path.join(a.runDir, 'adapter', 'adapter_config.json'), 'utf8')) as { config: Record<string, unknown> };
      assert.deepEqual([config.config.original_ln_before, config.config.mh_adapter, config.config.output_adapter], [true, false, true]);
    }
    assert.equal(fusion.status, 'cancelled', fusion.message);
    assert.equal(fusion.parameters.fusion, LAYERS.length * (3 * D * D + 2 * D));
    const dir = path.join(fusion.runDir, 'fusion');
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'adapter_fusion_config.json'), 'utf8')) as { config: Record<string, unknown>; adapter_lab: Record<string, unknown>; name: string };
    assert.equal(config.name, 'pf-a,pf-b');
    assert.equal(config.config.query_before_ln, false);
    assert.equal(config.config.residual_before, false);
    assert.deepEqual(config.adapter_lab.adapter_config, PFEIFFER_PLACEMENT);
    const saved = readSafetensors(path.join(dir, 'model_adapter_fusion.safetensors'));
    assert.equal(saved.size, LAYERS.length * 5);
    for (const n of saved.keys()) assert.match(n, /^bert\.encoder\.layer\.\d\.output\.adapter_fusion_layer\.pf-a,pf-b\.(query|key|value)\./);
    const run = JSON.parse(fs.readFileSync(path.join(fusion.runDir, 'config.json'), 'utf8')) as { plan: { spec: { fusion: { sites: string[]; adapters: { adapter: { input: string } }[] } } } };
    assert.deepEqual(run.plan.spec.fusion.sites, ['ffn']);
    assert.deepEqual(run.plan.spec.fusion.adapters.map((a) => a.adapter.input), ['normalized', 'normalized']);
  });

  test('saved and loaded: exactly what the trainer held, and identical logits', async () => {
    // The checkpoint is the trainer's own state at the step the run saved.
    const checkpoint = readSafetensors(path.join(fusion.runDir, CHECKPOINT_FILE));
    const trained = new Map([...checkpoint].filter(([n]) => !n.startsWith('adam_')) as [string, FloatTensor][]);
    const folder = readFusionFolder(path.join(fusion.runDir, 'fusion'));
    const head = readFusionHead(path.join(fusion.runDir, 'fusion'), 'pf-fusion');
    assert.ok(trained.size > 0);
    for (const [n, t] of trained) {
      const got = folder.weights.get(n) ?? head.get(n);
      assert.ok(got, `${n} is saved`);
      assert.deepEqual(Array.from(got.data), Array.from(t.data), n);
    }

    // The model as trained: the base model, the adapters from their own runs and the trainer's
    // parameters (the key biases among them, which cancel in the softmax here).
    const run = loadRun(fusion.runDir);
    const asTrained: WeightMap = new Map(TINY.weights);
    for (const a of adapters) for (const [n, t] of readFusedAdapter(path.join(a.runDir, 'adapter'), TINY.dims).weights) asTrained.set(n, t);
    for (const [n, t] of trained) asTrained.set(n, t);
    const evaluation = prepareEvaluation(run.experiment, run.model.tokenizer, run.labels, dev);
    const logitsWith = async (weights: WeightMap): Promise<number[][]> => {
      const trainer = await Trainer.create(run.spec, weights, [], undefined, { threads: 1 });
      try {
        return (await predictAll(trainer, evaluation.inputs, run.experiment)).logits;
      } finally {
        await trainer.release();
      }
    };
    const loaded = await logitsWith(run.weights);
    assert.equal(loaded.length, 24);
    assert.deepEqual(loaded, await logitsWith(asTrained));
  });

  test('resumed to the end, the loaded fusion evaluates to what training measured last', async () => {
    const log: EventPayload[] = [];
    const resumed = await resumeTrainJob(fusion.runDir, { threads: 1, emit: (e) => log.push(e) });
    assert.equal(resumed.status, 'completed', resumed.message);
    const last = log.filter((e): e is Extract<EventPayload, { type: 'evaluation' }> => e.type === 'evaluation').pop()!;
    const result = await evaluateRun(fusion.runDir, dev, { threads: 1 });
    assert.equal(result.metrics.accuracy, last.metrics.accuracy);
  });

  test("exported as ONNX, the fused model gives the engine's logits", async () => {
    const r = await exportOnnx(fusion.runDir, ws.path('pf-fusion.onnx'), { threads: 1 });
    assert.ok(r.checked > 0 && r.maxDifference <= r.tolerance, `max difference ${r.maxDifference}`);
  });

  test('exported and imported back: the same logits; the recorded placement is checked against the adapters', async () => {
    const dest = ws.path('exported');
    exportFusionRun(fusion.runDir, dest);
    const back = importFusion({ fusionDir: path.join(dest, 'fusion'), runsDir: ws.path('imported'), model: 'builtin:tiny-bert', data: dev });
    assert.deepEqual(loadRun(back.runDir).spec.fusion!.adapters.map((a) => a.adapter.input), ['normalized', 'normalized']);
    assert.deepEqual((await predictFile(back.runDir, dev, 1)).map((p) => p.logits), (await predictFile(fusion.runDir, dev, 1)).map((p) => p.logits));

    // A fusion that says it was trained over adapters reading h does not load over these.
    const configFile = path.join(dest, 'fusion', 'adapter_fusion_config.json');
    const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { adapter_lab: { adapter_config: Record<string, boolean> } };
    fs.writeFileSync(configFile, JSON.stringify({ ...config, adapter_lab: { ...config.adapter_lab, adapter_config: { ...PFEIFFER_PLACEMENT, original_ln_before: false } } }));
    assert.throws(() => importFusion({ fusionDir: path.join(dest, 'fusion'), runsDir: ws.path('refused'), model: 'builtin:tiny-bert' }), /adapter_fusion_config\.json: field "adapter_lab\.adapter_config" says the fusion was trained over adapters reading the sub-layer's output h .*, but its adapters read the layer's normalised sum LN\(x \+ h\)/);
    fs.writeFileSync(configFile, JSON.stringify({ ...config, adapter_lab: { ...config.adapter_lab, adapter_config: { ...PFEIFFER_PLACEMENT, is_parallel: true } } }));
    assert.throws(() => importFusion({ fusionDir: path.join(dest, 'fusion'), runsDir: ws.path('refused'), model: 'builtin:tiny-bert' }), /field "adapter_lab\.adapter_config\.is_parallel" is true/);
    fs.writeFileSync(configFile, JSON.stringify(config));

    // One adapter swapped for one in Houlsby's placement: refused, naming that adapter's config.
    const cfgB = path.join(dest, 'pf-b', 'adapter_config.json');
    const b = JSON.parse(fs.readFileSync(cfgB, 'utf8')) as { config: Record<string, unknown> };
    fs.writeFileSync(cfgB, JSON.stringify({ ...b, config: { ...b.config, original_ln_before: false } }));
    assert.throws(() => importFusion({ fusionDir: path.join(dest, 'fusion'), runsDir: ws.path('refused'), model: 'builtin:tiny-bert' }), (e: unknown) => e instanceof Error && e.message.startsWith(cfgB) && /adapter "pf-b" reads the sub-layer's output h .*, but "pf-a" reads the layer's normalised sum .*; fused adapters need one placement/.test(e.message));
    assert.ok(!fs.existsSync(ws.path('refused')) || fs.readdirSync(ws.path('refused')).length === 0, 'a refused import leaves no run');
  });

  for (const queryBeforeLn of [false, true]) {
    test(`a fusion folder as AdapterHub writes it over seq_bn adapters${queryBeforeLn ? ' (query_before_ln)' : ''} imports, evaluates, and computes AdapterHub's fusion`, async () => {
      const hub = ws.path(`hub-${queryBeforeLn}`);
      const { engine } = writeHubFusion(hub, ['sst', 'rte'], queryBeforeLn, 40 + Number(queryBeforeLn));
      const imported = importFusion({ fusionDir: path.join(hub, 'sst,rte'), runsDir: ws.path(`hub-runs-${queryBeforeLn}`), model: 'builtin:tiny-bert', data: dev });
      assert.equal(imported.experiment.fusion!.queryBeforeLn, queryBeforeLn);
      assert.equal(imported.parameters.fusion, LAYERS.length * (3 * D * D + 2 * D));
      const evaluation = await evaluateRun(imported.runDir, dev, { threads: 1 });
      assert.equal(evaluation.examples, 24);
      assert.ok(evaluation.metrics.accuracy! >= 0 && evaluation.metrics.accuracy! <= 1);

      // The engine's logits against AdapterHub's formulas on the same tensors (mapped by hand above).
      const predictions = await predictFile(imported.runDir, dev, 1);
      const weights: WeightMap = new Map([...TINY.weights, ...engine]);
      const rows = fs.readFileSync(dev, 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')[0]!);
      let worst = 0;
      for (const [k, sentence] of rows.entries()) {
        const enc = TINY.tokenizer.encode(sentence, undefined, { maxLength: TINY.dims.maxPositions });
        const ref = referenceForward(
          weights,
          {
            dims: TINY.dims,
            layerNormEps: TINY.layerNormEps,
            head: { kind: 'classification', numLabels: 2 },
            fusion: { adapters: ['sst', 'rte'].map((name) => ({ name, size: D / 16, nonLinearity: 'relu' as const, layers: LAYERS, sites: ['ffn' as const] })), input: 'normalized', layers: LAYERS, sites: ['ffn'], config: 'dynamic', residualBefore: false, queryBeforeLn },
          },
          { inputIds: [enc.inputIds.map(Number)], tokenTypeIds: [enc.tokenTypeIds.map(Number)], attentionMask: [enc.inputIds.map(() => 1)] },
        );
        ref.logits[0]!.forEach((v, j) => (worst = Math.max(worst, Math.abs(predictions[k]!.logits[j]! - v))));
      }
      assert.ok(worst < 1e-4, `max logit difference ${worst.toExponential(2)}`);
    });
  }
});

/** AdapterHub's BnConfig for seq_bn as `to_dict` writes it. */
const SEQ_BN = {
  adapter_residual_before_ln: false, architecture: 'bottleneck', cross_adapter: false, dropout: 0.0, factorized_phm_W: true, factorized_phm_rule: false,
  hypercomplex_nonlinearity: 'glorot-uniform', init_weights: 'bert', inv_adapter: null, inv_adapter_reduction_factor: null, is_parallel: false, learn_phm: true,
  leave_out: [], ln_after: false, ln_before: false, mh_adapter: false, non_linearity: 'relu', original_ln_after: true, original_ln_before: true, output_adapter: true,
  phm_bias: true, phm_c_init: 'normal', phm_dim: 4, phm_init_range: 0.0001, phm_layer: false, phm_rank: 1, reduction_factor: 16, residual_before_ln: true, scaling: 1.0,
  shared_W_phm: false, shared_phm_rule: true, stochastic_depth: 0.0, use_gating: false,
};

/**
 * What AdapterHub's `save_all_adapters` leaves for a fusion of seq_bn adapters, PyTorch files
 * only: `<dir>/<adapter>/` (config, adapter and its own head) and `<dir>/<a,b>/` (the fusion's
 * config, its layers at the feed-forward sites, and the target task's head). Returns the same
 * tensors under the engine's names, mapped here by hand, for the reference.
 */
function writeHubFusion(dir: string, adapterNames: readonly string[], queryBeforeLn: boolean, seed: number): { engine: WeightMap } {
  const rng = new Random(seed);
  const rand = (shape: number[], scale: number, diagonal = 0) => floatTensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (rng.next() - 0.5) * 2 * scale + (shape.length === 2 && i % (shape[1]! + 1) === 0 ? diagonal : 0)));
  const m = D / 16;
  const engine: WeightMap = new Map();
  const common = { hidden_size: D, model_class: 'BertAdapterModel', model_name: 'bert-base-uncased', model_type: 'bert', version: '1.1.0' };
  const headConfig = (name: string) => JSON.stringify({ config: { head_type: 'classification', num_labels: 2, layers: 1, activation_function: 'tanh', label2id: { '0': 0, '1': 1 }, use_pooler: true, bias: true, dropout_prob: null }, ...common, name });
  for (const name of adapterNames) {
    const tensors = new Map<string, FloatTensor>();
    for (const l of LAYERS) {
      const hub = `bert.encoder.layer.${l}.output.adapters.${name}`;
      const ours = names.fusedAdapter(name, l, 'ffn');
      for (const [h, n, t] of [
        ['adapter_down.0.weight', ours.down.weight, rand([m, D], 0.3)],
        ['adapter_down.0.bias', ours.down.bias, rand([m], 0.3)],
        ['adapter_up.weight', ours.up.weight, rand([D, m], 0.3)],
        ['adapter_up.bias', ours.up.bias, rand([D], 0.3)],
      ] as const) {
        tensors.set(`${hub}.${h}`, t);
        engine.set(n, t);
      }
    }
    fs.mkdirSync(path.join(dir, name), { recursive: true });
    fs.writeFileSync(path.join(dir, name, 'adapter_config.json'), JSON.stringify({ config: SEQ_BN, ...common, name }));
    fs.writeFileSync(path.join(dir, name, 'pytorch_adapter.bin'), torchSave(tensors));
    fs.writeFileSync(path.join(dir, name, 'head_config.json'), headConfig(name));
    fs.writeFileSync(path.join(dir, name, 'pytorch_model_head.bin'), torchSave(new Map([[`heads.${name}.1.weight`, rand([2, D], 0.5)], [`heads.${name}.1.bias`, rand([2], 0.5)]])));
  }
  const fusionName = adapterNames.join(',');
  const fusionDir = path.join(dir, fusionName);
  fs.mkdirSync(fusionDir, { recursive: true });
  const config = { key: true, query: true, value: true, query_before_ln: queryBeforeLn, regularization: true, residual_before: false, temperature: false, value_before_softmax: true, value_initialized: true, dropout_prob: null };
  fs.writeFileSync(path.join(fusionDir, 'adapter_fusion_config.json'), JSON.stringify({ adapter_names: adapterNames, config, ...common, name: fusionName }));
  const fusionTensors = new Map<string, FloatTensor>();
  for (const l of LAYERS) {
    const p = names.fusion(l, 'ffn');
    const hub = `bert.encoder.layer.${l}.output.adapter_fusion_layer.${fusionName}`;
    // Query and key far enough from zero that the softmax weights differ; a key bias far from zero (it cancels).
    for (const [h, n, t] of [
      ['query.weight', p.query.weight, rand([D, D], 0.3)],
      ['query.bias', p.query.bias, rand([D], 0.3)],
      ['key.weight', p.key.weight, rand([D, D], 0.3)],
      ['key.bias', p.key.bias, rand([D], 3)],
      ['value.weight', p.value.weight, rand([D, D], 0.05, 1)],
    ] as const) {
      fusionTensors.set(`${hub}.${h}`, t);
      engine.set(n, t);
    }
  }
  fs.writeFileSync(path.join(fusionDir, 'pytorch_model_adapter_fusion.bin'), torchSave(fusionTensors));
  // The target task's head, under the name the user gave it in AdapterHub.
  const head = { weight: rand([2, D], 0.5), bias: rand([2], 0.5) };
  fs.writeFileSync(path.join(fusionDir, 'head_config.json'), headConfig('target'));
  fs.writeFileSync(path.join(fusionDir, 'pytorch_model_head.bin'), torchSave(new Map([['heads.target.1.weight', head.weight], ['heads.target.1.bias', head.bias]])));
  engine.set(names.classifier.weight, head.weight).set(names.classifier.bias, head.bias);
  return { engine };
}
