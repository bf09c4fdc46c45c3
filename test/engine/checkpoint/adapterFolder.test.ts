/**
 * Saved adapters in AdapterHub's layout: the name mapping, a train → export → import round
 * trip through the CLI that must reproduce the run's numbers, the configs' Houlsby fields,
 * and damaged folders refused by file and field with no run folder left behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSafetensors, readSafetensors, writeSafetensors } from '../../../engine/checkpoint/safetensors';
import { openWeightsFile } from '../../../engine/checkpoint/weightsFile';
import { resolveExperiment } from '../../../engine/config/experiment';
import { parameterShapes } from '../../../engine/model/bert';
import { builtinDims } from '../../../engine/model/builtin';
import { hubNaming } from '../../../engine/checkpoint/hubNames';
import { floatTensor, type FloatTensor } from '../../../engine/tensor';
import { planRun } from '../../../engine/train/plan';
import { Workspace } from '../../support/fixtures';
import { REPO_ROOT } from '../../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const DIMS = builtinDims('tiny-bert');
const NAME = 'task_a';

const HUB_ADAPTER = new RegExp(`^bert\\.encoder\\.layer\\.(\\d+)\\.(attention\\.output|output)\\.adapters\\.${NAME}\\.(adapter_down\\.0|adapter_up)\\.(weight|bias)$`);
const HUB_HEAD = new RegExp(`^heads\\.${NAME}\\.1\\.(weight|bias)$`);
/** Every key of Hugging Face's BertModel, with `bert.`: what a base weight may be called. */
const BERT_KEYS = new Set([...parameterShapes({ dims: DIMS, layerNormEps: 1e-12, adapters: undefined, head: { kind: 'span' } }).keys()].filter((n) => !n.startsWith('qa_outputs.')).map((n) => `bert.${n}`).concat(['bert.pooler.dense.weight', 'bert.pooler.dense.bias']));

function run(args: string[], cwd: string) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
}

function plan(settings: Record<string, unknown>, kind: 'classification' | 'regression' | 'span' = 'classification') {
  const metric = kind === 'span' ? 'span_f1' : kind === 'regression' ? 'pearson' : 'accuracy';
  const e = resolveExperiment({ name: 'x', model: 'builtin:tiny-bert', task: { kind, train: 't.tsv', text: 'sentence', label: 'label', metric }, ...settings }, '/');
  return planRun(e, DIMS, kind === 'regression' ? 1 : 3);
}

describe('hub names', () => {
  const cases: [string, Record<string, unknown>, ('classification' | 'regression' | 'span')?][] = [
    ['adapter, both sites, layer norms', { method: 'adapter', adapter: { size: 8, sites: ['attention', 'ffn'], train_layernorm: true } }],
    ['adapter, ffn only, static drop', { method: 'adapter', adapter: { size: 4, sites: ['ffn'] }, drop: { layers: '0..1', mode: 'static' } }],
    ['top_k', { method: 'top_k', top_k: 2 }],
    ['layernorm', { method: 'layernorm' }],
    ['full', { method: 'full' }],
    ['full, regression', { method: 'full' }, 'regression'],
    ['adapter, span head', { method: 'adapter', adapter: { size: 8 } }, 'span'],
    ['full, span head', { method: 'full' }, 'span'],
  ];
  for (const [label, settings, kind] of cases) {
    test(`a bijection onto AdapterHub names: ${label}`, () => {
      const p = plan(settings, kind);
      const naming = hubNaming(NAME, p.spec.head.kind as 'classification' | 'regression' | 'span');
      // Every name of the model, not only the trained ones: the mapping must not merge any two.
      const all = [...parameterShapes(p.spec).keys()];
      const hubs = all.map((n) => naming.toHub(n));
      assert.equal(new Set(hubs).size, all.length, 'two names map to one hub name');
      for (const [i, n] of all.entries()) assert.equal(naming.toInternal(hubs[i]!), n, hubs[i]);
      for (const n of p.trainable) {
        const hub = naming.toHub(n);
        assert.ok(HUB_ADAPTER.test(hub) || HUB_HEAD.test(hub) || BERT_KEYS.has(hub), `${n} → ${hub} is not an AdapterHub/BertModel name`);
        assert.equal(n.includes('.adapter.'), HUB_ADAPTER.test(hub), hub);
        assert.equal(n.startsWith('classifier.') || n.startsWith('qa_outputs.'), HUB_HEAD.test(hub), hub);
      }
    });
  }

  test('names toHub never produces have no engine name', () => {
    const naming = hubNaming(NAME, 'classification');
    for (const hub of ['bert.classifier.weight', 'classifier.weight', 'bert.encoder.layer.0.output.adapter.down.weight', 'bert.encoder.layer.0.output.adapters.other.adapter_up.weight', `heads.${NAME}.0.weight`, `heads.other.1.weight`, 'encoder.layer.0.output.dense.weight']) {
      assert.equal(naming.toInternal(hub), undefined, hub);
    }
    assert.equal(naming.toInternal(`bert.encoder.layer.3.attention.output.adapters.${NAME}.adapter_down.0.bias`), 'encoder.layer.3.attention.output.adapter.down.bias');
    assert.equal(hubNaming(NAME, 'span').toInternal(`heads.${NAME}.1.weight`), 'qa_outputs.weight');
    assert.throws(() => hubNaming('a.b', 'span'), /not a valid adapter name/);
  });
});

describe('adapter-lab export --adapter and import', () => {
  let ws: Workspace;
  let runDir: string;
  const EXPERIMENT = `name: ${NAME}\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\nmethod: adapter\nadapter:\n  size: 8\n  non_linearity: relu\ndrop:\n  layers: 0\ntraining:\n  learning_rate: 3.0e-3\n  epochs: 1\n  batch_size: 8\n  seed: 5\n`;
  const onlyRun = (runs: string): string => {
    const entries = fs.readdirSync(ws.path(runs));
    assert.equal(entries.length, 1, `${runs}: ${entries.join(', ')}`);
    return path.join(ws.path(runs), entries[0]!);
  };
  const runsIn = (runs: string): string[] => (fs.existsSync(ws.path(runs)) ? fs.readdirSync(ws.path(runs)) : []);

  before(() => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 48, 1);
    ws.sentiment('dev.tsv', 24, 2);
    ws.write('exp.adapter.yaml', EXPERIMENT);
    const r = run(['train', 'exp.adapter.yaml', '--max-steps', '4', '--runs', 'runs'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    runDir = onlyRun('runs');
    const e = run(['export', runDir, '--adapter', 'exported'], ws.root);
    assert.equal(e.status, 0, e.stderr);
  });
  after(() => ws.dispose());

  test('the exported folder: six files (the weights in safetensors and PyTorch form), every tensor under an AdapterHub name', () => {
    assert.deepEqual(fs.readdirSync(ws.path('exported')).sort(), ['adapter.safetensors', 'adapter_config.json', 'head_config.json', 'model_head.safetensors', 'pytorch_adapter.bin', 'pytorch_model_head.bin']);
    // The PyTorch files hold exactly the safetensors files' tensors.
    for (const [safe, pickle] of [['adapter.safetensors', 'pytorch_adapter.bin'], ['model_head.safetensors', 'pytorch_model_head.bin']]) {
      const a = readSafetensors(ws.path('exported', safe!));
      const b = openWeightsFile(ws.path('exported', pickle!));
      try {
        assert.deepEqual(b.tensors.map((t) => t.name), [...a.keys()]);
        for (const [n, t] of a) assert.deepEqual([...b.readFloat(n).data], [...(t as FloatTensor).data], n);
      } finally {
        b.close();
      }
    }
    const body = [...readSafetensors(ws.path('exported', 'adapter.safetensors')).keys()];
    const head = [...readSafetensors(ws.path('exported', 'model_head.safetensors')).keys()];
    for (const n of body) assert.ok(HUB_ADAPTER.test(n) || BERT_KEYS.has(n), n);
    assert.deepEqual(head.sort(), [`heads.${NAME}.1.bias`, `heads.${NAME}.1.weight`]);
    // Layer 0 is dropped (static AdapterDrop): adapters at both sites of layers 1..3, and their layer norms.
    const adapters = body.filter((n) => HUB_ADAPTER.test(n));
    assert.equal(adapters.length, 3 * 2 * 4);
    assert.deepEqual([...new Set(adapters.map((n) => Number(HUB_ADAPTER.exec(n)![1])))].sort(), [1, 2, 3]);
    assert.deepEqual(body.filter((n) => !HUB_ADAPTER.test(n)).sort(), [1, 2, 3].flatMap((l) => ['attention.output.LayerNorm', 'output.LayerNorm'].flatMap((ln) => [`bert.encoder.layer.${l}.${ln}.bias`, `bert.encoder.layer.${l}.${ln}.weight`])).sort());
    const down = openSafetensors(ws.path('exported', 'adapter.safetensors'));
    try {
      assert.deepEqual(down.info(`bert.encoder.layer.1.output.adapters.${NAME}.adapter_down.0.weight`)!.shape, [8, DIMS.hiddenSize]);
      assert.deepEqual(down.info(`bert.encoder.layer.1.output.adapters.${NAME}.adapter_up.weight`)!.shape, [DIMS.hiddenSize, 8]);
    } finally {
      down.close();
    }
  });

  test('adapter_config.json and head_config.json carry AdapterHub\'s fields with the run\'s values', () => {
    const text = fs.readFileSync(ws.path('exported', 'adapter_config.json'), 'utf8');
    const c = JSON.parse(text) as { config: Record<string, unknown>; adapter_lab: Record<string, unknown> } & Record<string, unknown>;
    assert.deepEqual(
      { architecture: c.config.architecture, mh_adapter: c.config.mh_adapter, output_adapter: c.config.output_adapter, reduction_factor: c.config.reduction_factor, non_linearity: c.config.non_linearity, leave_out: c.config.leave_out, original_ln_before: c.config.original_ln_before, original_ln_after: c.config.original_ln_after, residual_before_ln: c.config.residual_before_ln, ln_before: c.config.ln_before, ln_after: c.config.ln_after, is_parallel: c.config.is_parallel, scaling: c.config.scaling, init_weights: c.config.init_weights },
      { architecture: 'bottleneck', mh_adapter: true, output_adapter: true, reduction_factor: DIMS.hiddenSize / 8, non_linearity: 'relu', leave_out: [0], original_ln_before: false, original_ln_after: true, residual_before_ln: true, ln_before: false, ln_after: false, is_parallel: false, scaling: 1, init_weights: 'houlsby' },
    );
    assert.match(text, /"scaling": 1\.0,/, 'scaling must read as a Python float');
    assert.deepEqual([c.hidden_size, c.model_class, c.model_name, c.model_type, c.name], [DIMS.hiddenSize, 'BertAdapterModel', 'builtin:tiny-bert', 'bert', NAME]);
    assert.match(String(c.version), /^adapter-lab\/\d+\.\d+\.\d+$/);
    assert.deepEqual([c.adapter_lab.method, c.adapter_lab.bottleneck_size, c.adapter_lab.drop], ['adapter', 8, { layers: [0], mode: 'static' }]);
    assert.deepEqual([...(c.adapter_lab.parameter_names as string[])].sort(), [...readSafetensors(ws.path('exported', 'adapter.safetensors')).keys()].sort());
    const config = JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')) as { parameters: { trainable: number } };
    assert.equal(c.adapter_lab.trainable_parameters, config.parameters.trainable);
    const h = JSON.parse(fs.readFileSync(ws.path('exported', 'head_config.json'), 'utf8')) as { config: Record<string, unknown> } & Record<string, unknown>;
    assert.deepEqual(h.config, { head_type: 'classification', num_labels: 2, layers: 1, activation_function: null, label2id: { 0: 0, 1: 1 }, use_pooler: true, bias: true, dropout_prob: 0.1 });
    assert.deepEqual([h.hidden_size, h.model_class, h.name], [DIMS.hiddenSize, 'BertAdapterModel', NAME]);
  });

  test('import --events: a new completed run of 0 steps; evaluate and predict give the trained run\'s numbers', () => {
    const r = run(['import', 'exported', '--runs', 'imported', '--events'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; job?: string; status?: string; kind?: string });
    assert.deepEqual(events.map((e) => e.type), ['start', 'artifact', 'end']);
    assert.deepEqual([events[0]!.job, events[1]!.kind, events[2]!.status], ['import', 'adapter', 'completed']);
    const imported = onlyRun('imported');
    assert.notEqual(imported, runDir);
    assert.deepEqual(((s) => [s.status, s.step])(JSON.parse(fs.readFileSync(path.join(imported, 'status.json'), 'utf8')) as { status: string; step: number }), ['completed', 0]);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(imported, 'labels.json'), 'utf8')), { labels: ['0', '1'] });

    const evaluate = (dir: string) => {
      const e = run(['evaluate', dir, 'dev.tsv'], ws.root);
      assert.equal(e.status, 0, e.stderr);
      return (JSON.parse(e.stdout) as { metrics: Record<string, number> }).metrics;
    };
    const original = evaluate(runDir);
    assert.deepEqual(evaluate(imported), original);
    const last = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; value: number }).filter((m) => m.type === 'evaluation').pop()!;
    assert.equal(original.accuracy, last.value, 'evaluate reproduces the run\'s own final evaluation');
    // A saved adapter folder evaluates directly, without an import of one's own; nothing is left behind.
    const before = fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('adapter-lab-evaluate-')).length;
    const direct = run(['evaluate', 'exported', 'dev.tsv'], ws.root);
    assert.equal(direct.status, 0, direct.stderr);
    assert.deepEqual((JSON.parse(direct.stdout) as { run: string; metrics: Record<string, number> }).metrics, original);
    assert.equal((JSON.parse(direct.stdout) as { run: string }).run, 'exported');
    assert.equal(fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('adapter-lab-evaluate-')).length, before);

    const logits = (dir: string) => {
      const p = run(['predict', dir, 'dev.tsv'], ws.root);
      assert.equal(p.status, 0, p.stderr);
      return p.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { logits: number[] }).logits);
    };
    const a = logits(runDir);
    const b = logits(imported);
    assert.equal(b.length, 24);
    for (const [i, row] of a.entries()) for (const [j, v] of row.entries()) assert.ok(Math.abs(v - b[i]![j]!) <= 1e-6, `example ${i} logit ${j}: ${v} vs ${b[i]![j]}`);
  });

  test('an imported run ablates and exports again, to the same weights', () => {
    const imported = onlyRun('imported');
    const ab = run(['ablate', imported, '--drop-curve', '--data', 'dev.tsv'], ws.root);
    assert.equal(ab.status, 0, ab.stderr);
    const curve = JSON.parse(fs.readFileSync(path.join(imported, 'drop-curve.json'), 'utf8')) as { cells: unknown[] };
    assert.equal(curve.cells.length, DIMS.layers);
    const again = run(['export', imported, '--adapter', 'again'], ws.root);
    assert.equal(again.status, 0, again.stderr);
    for (const file of ['adapter.safetensors', 'model_head.safetensors']) {
      const x = readSafetensors(ws.path('exported', file));
      const y = readSafetensors(ws.path('again', file));
      assert.deepEqual([...y.keys()].sort(), [...x.keys()].sort());
      for (const [n, t] of x) assert.deepEqual(y.get(n)!.data, t.data, n);
    }
    const onnx = run(['export', imported, '--onnx', 'imported.onnx'], ws.root);
    assert.equal(onnx.status, 2);
    assert.match(onnx.stderr, /imported without data.*--data FILE/);
  });

  test('a folder without the adapter_lab blocks (as AdapterHub writes it) imports to the same numbers', () => {
    fs.cpSync(ws.path('exported'), ws.path('foreign'), { recursive: true });
    for (const file of ['adapter_config.json', 'head_config.json']) {
      const json = JSON.parse(fs.readFileSync(ws.path('foreign', file), 'utf8')) as Record<string, unknown>;
      delete json.adapter_lab;
      fs.writeFileSync(ws.path('foreign', file), JSON.stringify(json));
    }
    const r = run(['import', 'foreign', '--runs', 'foreign-runs', '--model', 'builtin:tiny-bert', '--name', 'from-hub'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    const dir = onlyRun('foreign-runs');
    assert.match(path.basename(dir), /^from-hub-/);
    const e = run(['evaluate', dir, 'dev.tsv'], ws.root);
    const o = run(['evaluate', runDir, 'dev.tsv'], ws.root);
    assert.equal(e.status, 0, e.stderr);
    assert.deepEqual((JSON.parse(e.stdout) as { metrics: unknown }).metrics, (JSON.parse(o.stdout) as { metrics: unknown }).metrics);
  });

  test('export --adapter refuses a non-empty folder unless --force, and replaces it whole with --force', () => {
    ws.write('busy/notes.txt', 'keep me');
    const refused = run(['export', runDir, '--adapter', 'busy'], ws.root);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /busy: is not empty; add --force/);
    assert.deepEqual(fs.readdirSync(ws.path('busy')), ['notes.txt']);
    const forced = run(['export', runDir, '--adapter', 'busy', '--force'], ws.root);
    assert.equal(forced.status, 0, forced.stderr);
    assert.deepEqual(fs.readdirSync(ws.path('busy')).sort(), ['adapter.safetensors', 'adapter_config.json', 'head_config.json', 'model_head.safetensors', 'pytorch_adapter.bin', 'pytorch_model_head.bin']);
    assert.deepEqual(fs.readdirSync(ws.root).filter((n) => n.includes('.tmp') || n.includes('.old')), [], 'no temporary folder left');
    assert.equal(run(['export', runDir], ws.root).status, 2, 'export needs --onnx or --adapter');
  });

  /** A copy of the exported folder with one change, imported into a fresh runs folder. */
  const importDamaged = (label: string, damage: (dir: string) => void) => {
    const dir = ws.path(`damaged-${label}`);
    fs.cpSync(ws.path('exported'), dir, { recursive: true });
    damage(dir);
    const runs = `runs-${label}`;
    const r = run(['import', dir, '--runs', runs], ws.root);
    assert.equal(r.status, 2, r.stderr);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(runsIn(runs), [], 'no run folder left behind');
    return r.stderr;
  };
  const editJson = (file: string, edit: (json: { config: Record<string, unknown>; adapter_lab: Record<string, unknown> } & Record<string, unknown>) => void) => {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { config: Record<string, unknown>; adapter_lab: Record<string, unknown> } & Record<string, unknown>;
    edit(json);
    fs.writeFileSync(file, JSON.stringify(json));
  };
  const rewriteWeights = (file: string, edit: (tensors: Map<string, FloatTensor>) => void) => {
    const tensors = readSafetensors(file) as Map<string, FloatTensor>;
    edit(tensors);
    writeSafetensors(file, tensors);
  };
  const someAdapter = `bert.encoder.layer.2.attention.output.adapters.${NAME}.adapter_up.weight`;

  test('damaged folders are refused by file and field, with exit code 2 and no run folder', () => {
    assert.match(
      importDamaged('truncated', (dir) => {
        const file = path.join(dir, 'adapter.safetensors');
        fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
      }),
      /adapter\.safetensors: .*(truncated|beyond|exceeds|end|size)/i,
    );
    assert.match(
      importDamaged('missing', (dir) => {
        rewriteWeights(path.join(dir, 'adapter.safetensors'), (t) => t.delete(someAdapter));
        editJson(path.join(dir, 'adapter_config.json'), (j) => (j.adapter_lab.parameter_names = (j.adapter_lab.parameter_names as string[]).filter((n) => n !== someAdapter)));
      }),
      new RegExp(`adapter\\.safetensors: parameter "${someAdapter.replace(/\./g, '\\.')}" is missing`),
    );
    assert.match(
      importDamaged('listed', (dir) => rewriteWeights(path.join(dir, 'adapter.safetensors'), (t) => t.delete(someAdapter))),
      /adapter\.safetensors: parameter ".*adapter_up\.weight" \(listed in adapter_config\.json, adapter_lab\.parameter_names\) is missing/,
    );
    assert.match(
      importDamaged('shape', (dir) => rewriteWeights(path.join(dir, 'adapter.safetensors'), (t) => t.set(someAdapter, floatTensor([DIMS.hiddenSize, 4])))),
      /adapter\.safetensors: parameter ".*adapter_up\.weight" has shape \[64, 4\], but the model needs \[64, 8\]/,
    );
    assert.match(
      importDamaged('hidden', (dir) => editJson(path.join(dir, 'adapter_config.json'), (j) => (j.hidden_size = 128))),
      /adapter_config\.json: hidden_size is 128, but the base model's hidden size is 64/,
    );
    assert.match(importDamaged('garbage', (dir) => fs.writeFileSync(path.join(dir, 'head_config.json'), '{"config": {')), /head_config\.json: is not valid JSON/);
    assert.match(importDamaged('list', (dir) => fs.writeFileSync(path.join(dir, 'adapter_config.json'), '[1, 2]')), /adapter_config\.json: is not a JSON object \(found a list\)/);
    assert.match(importDamaged('field', (dir) => editJson(path.join(dir, 'adapter_config.json'), (j) => delete j.config.reduction_factor)), /adapter_config\.json: field "config\.reduction_factor" is missing/);
    assert.match(importDamaged('placement', (dir) => editJson(path.join(dir, 'adapter_config.json'), (j) => (j.config.ln_after = true))), /adapter_config\.json: field "config\.ln_after" is true; a layer norm after the adapter's up projection has no setting here/);
    assert.match(importDamaged('channel', (dir) => editJson(path.join(dir, 'adapter_config.json'), (j) => (j.config.scaling = 'channel'))), /adapter_config\.json: field "config\.scaling" is "channel"; .*per-channel/);
    assert.match(importDamaged('head-file', (dir) => (fs.rmSync(path.join(dir, 'model_head.safetensors')), fs.rmSync(path.join(dir, 'pytorch_model_head.bin')))), /model_head\.safetensors: is missing/);
    assert.match(importDamaged('pickle-head', (dir) => (fs.rmSync(path.join(dir, 'model_head.safetensors')), fs.writeFileSync(path.join(dir, 'pytorch_model_head.bin'), 'PK\u0003\u0004 not a zip'))), /pytorch_model_head\.bin: .*too short for a zip archive/);
    assert.match(importDamaged('length', (dir) => editJson(path.join(dir, 'adapter_config.json'), (j) => ((j.adapter_lab.task as { max_length: number }).max_length = 100000))), /adapter_config\.json: adapter_lab\.task\.max_length is 100000, but the base model has 128 position embeddings/);
    assert.match(importDamaged('layers', (dir) => editJson(path.join(dir, 'adapter_config.json'), (j) => (j.config.leave_out = [0, 99]))), /adapter_config\.json: config\.leave_out names layer 99, but the base model has layers 0\.\.3/);
    assert.match(importDamaged('no-model', (dir) => editJson(path.join(dir, 'adapter_config.json'), (j) => ((j.model_name = 'no-such-model'), delete j.adapter_lab.model))), /the base model "no-such-model" \(model_name\) is not a built-in model or a model folder here; give one with --model/);
  });

  test('a run whose own adapter folder is damaged is refused by evaluate, naming the file', () => {
    fs.cpSync(runDir, ws.path('broken-run'), { recursive: true });
    fs.truncateSync(ws.path('broken-run', 'adapter', 'model_head.safetensors'), 10);
    const r = run(['evaluate', ws.path('broken-run'), 'dev.tsv'], ws.root);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /broken-run\/adapter\/model_head\.safetensors: /);
  });
});
