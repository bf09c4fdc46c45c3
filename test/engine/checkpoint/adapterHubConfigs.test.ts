/**
 * Folders as AdapterHub's `save_adapter` writes them for its three configurations —
 * `seq_bn` (Pfeiffer), `double_seq_bn` (Houlsby) and `par_bn` (He et al., with a scaling
 * other than its 4.0, and learned) — in safetensors and in its default PyTorch form, on a
 * base model with 64 positions that itself ships only pytorch_model.bin. Each is imported,
 * its logits are checked against the float64 reference computing AdapterHub's own
 * formulas from the hub names (mapped here, independently of the engine), it evaluates,
 * and export writes the config and tensors back as they were.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdapterFolderError, exportAdapterFolder, readAdapterFolder } from '../../../engine/checkpoint/adapterFolder';
import { hubNaming } from '../../../engine/checkpoint/hubNames';
import { openWeightsFile } from '../../../engine/checkpoint/weightsFile';
import { writeSafetensors } from '../../../engine/checkpoint/safetensors';
import { loadModel } from '../../../engine/checkpoint/baseModel';
import { evaluateRun } from '../../../engine/jobs/evaluate';
import { importAdapter } from '../../../engine/jobs/import';
import { predictFile } from '../../../engine/jobs/predict';
import { builtinVocab } from '../../../engine/model/builtin';
import type { BertDims } from '../../../engine/model/dims';
import { floatTensor, type FloatTensor, type WeightMap } from '../../../engine/tensor';
import { Random } from '../../../engine/util/random';
import { Workspace } from '../../support/fixtures';
import { referenceForward, type ReferenceConfig } from '../../support/referenceBert';
import { torchSave } from '../../support/torchCheckpoint';

const NAME = 'hubtask';
const TINY = loadModel('builtin:tiny-bert');
/** tiny-bert's shape with 64 positions: a folder AdapterHub wrote names no max length, so the model's positions must bound the input. */
const DIMS: BertDims = { ...TINY.dims, maxPositions: 64 };
const d = DIMS.hiddenSize;

/** AdapterHub's BnConfig as `to_dict` writes it, with a configuration's values over the defaults. */
function hubConfig(values: Record<string, unknown>): Record<string, unknown> {
  return {
    adapter_residual_before_ln: false, architecture: 'bottleneck', cross_adapter: false, dropout: 0.0, factorized_phm_W: true, factorized_phm_rule: false,
    hypercomplex_nonlinearity: 'glorot-uniform', init_weights: 'bert', inv_adapter: null, inv_adapter_reduction_factor: null, is_parallel: false, learn_phm: true,
    leave_out: [], ln_after: false, ln_before: false, original_ln_after: true, original_ln_before: false, phm_bias: true, phm_c_init: 'normal', phm_dim: 4,
    phm_init_range: 0.0001, phm_layer: false, phm_rank: 1, residual_before_ln: true, scaling: 1.0, shared_W_phm: false, shared_phm_rule: true, stochastic_depth: 0.0, use_gating: false,
    ...values,
  };
}

interface HubCase {
  readonly label: string;
  readonly config: Record<string, unknown>;
  /** What AdapterHub computes, for the reference. */
  readonly reference: NonNullable<ReferenceConfig['adapters']>;
  readonly forms: readonly ('safetensors' | 'pickle')[];
  /** AdapterHub's state dict names an inner norm twice (adapter_norm_before and adapter_down.0). */
  readonly normAlias?: boolean;
}

const CASES: HubCase[] = [
  {
    label: 'seq_bn (Pfeiffer)',
    config: hubConfig({ mh_adapter: false, output_adapter: true, non_linearity: 'relu', reduction_factor: 16, original_ln_before: true }),
    reference: { size: d / 16, sites: ['ffn'], layers: [0, 1, 2, 3], nonLinearity: 'relu', input: 'normalized' },
    forms: ['safetensors', 'pickle'],
  },
  {
    label: 'double_seq_bn (Houlsby), layer 0 left out',
    config: hubConfig({ mh_adapter: true, output_adapter: true, non_linearity: 'swish', reduction_factor: 16, leave_out: [0] }),
    reference: { size: d / 16, sites: ['attention', 'ffn'], layers: [1, 2, 3], nonLinearity: 'swish' },
    forms: ['safetensors', 'pickle'],
  },
  {
    label: 'par_bn with scaling 2.0',
    config: hubConfig({ mh_adapter: false, output_adapter: true, non_linearity: 'relu', reduction_factor: 2, is_parallel: true, scaling: 2.0, init_weights: 'mam_adapter' }),
    reference: { size: d / 2, sites: ['ffn'], layers: [0, 1, 2, 3], nonLinearity: 'relu', placement: 'parallel', scaling: 2 },
    forms: ['safetensors', 'pickle'],
  },
  {
    label: 'par_bn with learned scaling',
    config: hubConfig({ mh_adapter: false, output_adapter: true, non_linearity: 'relu', reduction_factor: 2, is_parallel: true, scaling: 'learned', init_weights: 'mam_adapter' }),
    reference: { size: d / 2, sites: ['ffn'], layers: [0, 1, 2, 3], nonLinearity: 'relu', placement: 'parallel', scaling: 'learned' },
    forms: ['safetensors', 'pickle'],
  },
  {
    label: 'seq_bn with ln_before',
    config: hubConfig({ mh_adapter: false, output_adapter: true, non_linearity: 'relu', reduction_factor: 16, original_ln_before: true, ln_before: true }),
    reference: { size: d / 16, sites: ['ffn'], layers: [0, 1, 2, 3], nonLinearity: 'relu', input: 'normalized', innerNorm: true },
    forms: ['pickle'],
    normAlias: true,
  },
];

/** The tensors of an AdapterHub folder, by hub name, and the same under engine names for the reference (mapped here by hand). */
function hubTensors(c: HubCase, seed: number): { adapter: Map<string, FloatTensor>; head: Map<string, FloatTensor>; engine: WeightMap } {
  const rng = new Random(seed);
  const rand = (shape: number[], scale: number, mean = 0) => floatTensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => mean + (rng.next() - 0.5) * 2 * scale));
  const r = c.reference;
  const m = r.size;
  const adapter = new Map<string, FloatTensor>();
  const engine: WeightMap = new Map();
  for (const layer of r.layers) {
    for (const site of r.sites) {
      const module = `bert.encoder.layer.${layer}.${site === 'attention' ? 'attention.output' : 'output'}.adapters.${NAME}`;
      const ours = `encoder.layer.${layer}.${site === 'attention' ? 'attention.output' : 'output'}.adapter`;
      const set = (hub: string, name: string, t: FloatTensor) => {
        adapter.set(`${module}.${hub}`, t);
        engine.set(`${ours}.${name}`, t);
      };
      const down = r.innerNorm ? 'adapter_down.1' : 'adapter_down.0';
      if (r.innerNorm) {
        const w = rand([d], 0.3, 1);
        const b = rand([d], 0.3);
        set('adapter_down.0.weight', 'LayerNorm.weight', w);
        set('adapter_down.0.bias', 'LayerNorm.bias', b);
        if (c.normAlias) {
          adapter.set(`${module}.adapter_norm_before.weight`, w);
          adapter.set(`${module}.adapter_norm_before.bias`, b);
        }
      }
      set(`${down}.weight`, 'down.weight', rand([m, d], 0.3));
      set(`${down}.bias`, 'down.bias', rand([m], 0.3));
      set('adapter_up.weight', 'up.weight', rand([d, m], 0.3));
      set('adapter_up.bias', 'up.bias', rand([d], 0.3));
      if (c.config.scaling === 'learned') set('scaling', 'scaling', floatTensor([1], [0.7]));
    }
  }
  const head = new Map([
    [`heads.${NAME}.1.weight`, rand([2, d], 0.5)],
    [`heads.${NAME}.1.bias`, rand([2], 0.5)],
  ]);
  engine.set('classifier.weight', head.get(`heads.${NAME}.1.weight`)!).set('classifier.bias', head.get(`heads.${NAME}.1.bias`)!);
  return { adapter, head, engine };
}

function writeHubFolder(dir: string, c: HubCase, form: 'safetensors' | 'pickle', tensors: ReturnType<typeof hubTensors>): void {
  fs.mkdirSync(dir, { recursive: true });
  const common = { hidden_size: d, model_class: 'BertAdapterModel', model_name: 'bert64', model_type: 'bert', name: NAME, version: 'adapters.1.1.0' };
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ config: c.config, ...common }, null, 2));
  fs.writeFileSync(path.join(dir, 'head_config.json'), JSON.stringify({ config: { head_type: 'classification', num_labels: 2, layers: 1, activation_function: 'tanh', label2id: { '0': 0, '1': 1 }, use_pooler: true, bias: true, dropout_prob: null }, ...common }, null, 2));
  if (form === 'safetensors') {
    writeSafetensors(path.join(dir, 'adapter.safetensors'), tensors.adapter);
    writeSafetensors(path.join(dir, 'model_head.safetensors'), tensors.head);
  } else {
    fs.writeFileSync(path.join(dir, 'pytorch_adapter.bin'), torchSave(tensors.adapter));
    fs.writeFileSync(path.join(dir, 'pytorch_model_head.bin'), torchSave(tensors.head));
  }
}

function readTensors(file: string): Map<string, FloatTensor> {
  const f = openWeightsFile(file);
  try {
    return new Map(f.tensors.map((t) => [t.name, f.readFloat(t.name)]));
  } finally {
    f.close();
  }
}

const MAPPED_FIELDS = ['architecture', 'mh_adapter', 'output_adapter', 'reduction_factor', 'non_linearity', 'original_ln_before', 'original_ln_after', 'residual_before_ln', 'adapter_residual_before_ln', 'ln_before', 'ln_after', 'is_parallel', 'scaling', 'leave_out', 'init_weights', 'use_gating', 'phm_layer', 'inv_adapter', 'cross_adapter'];

describe('AdapterHub folders: seq_bn, double_seq_bn and par_bn, safetensors and PyTorch', () => {
  let ws: Workspace;
  let modelDir: string;
  let dev: string;
  let rows: { sentence: string; label: number }[];

  before(() => {
    ws = new Workspace();
    // The base model as a Hugging Face folder with only pytorch_model.bin, cut to 64 positions.
    modelDir = ws.path('bert64');
    const config = { model_type: 'bert', hidden_size: d, num_hidden_layers: DIMS.layers, num_attention_heads: DIMS.heads, intermediate_size: DIMS.intermediateSize, vocab_size: DIMS.vocabSize, max_position_embeddings: 64, type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1 };
    ws.write('bert64/config.json', JSON.stringify(config));
    ws.write('bert64/vocab.txt', builtinVocab(TINY.dims).join('\n') + '\n');
    const base = new Map<string, FloatTensor>();
    for (const [name, t] of TINY.weights) base.set(`bert.${name}`, name === 'embeddings.position_embeddings.weight' ? floatTensor([64, d], t.data.slice(0, 64 * d)) : t);
    fs.writeFileSync(path.join(modelDir, 'pytorch_model.bin'), torchSave(base));
    dev = ws.sentiment('dev.tsv', 16, 3);
    rows = fs.readFileSync(dev, 'utf8').trim().split('\n').slice(1).map((l) => ({ sentence: l.split('\t')[0]!, label: Number(l.split('\t')[1]) }));
  });
  after(() => ws.dispose());

  for (const [i, c] of CASES.entries()) {
    for (const form of c.forms) {
      test(`${c.label}, ${form === 'pickle' ? 'pytorch_adapter.bin' : 'adapter.safetensors'}: imported, matches AdapterHub's formulas, evaluates, exported back as it was`, async () => {
        const tensors = hubTensors(c, 100 + i);
        const src = ws.path(`hub-${i}-${form}`);
        writeHubFolder(src, c, form, tensors);
        const { runDir, experiment } = await importAdapter({ adapterDir: src, runsDir: ws.path('runs'), model: modelDir, data: dev });
        assert.equal(experiment.task.maxLength, 64, "no max length in the folder: the base model's 64 positions");
        assert.equal(experiment.adapter.size, c.reference.size);

        // The engine's logits against AdapterHub's formulas, on the base model's weights and the hub tensors.
        const base = loadModel(modelDir);
        const weights: WeightMap = new Map([...base.weights, ...tensors.engine]);
        const predictions = await predictFile(runDir, dev, 1);
        let worst = 0;
        for (const [k, row] of rows.entries()) {
          const enc = base.tokenizer.encode(row.sentence, undefined, { maxLength: 64 });
          const ref = referenceForward(weights, { dims: DIMS, layerNormEps: 1e-12, adapters: c.reference, head: { kind: 'classification', numLabels: 2 } }, { inputIds: [enc.inputIds.map(Number)], tokenTypeIds: [enc.tokenTypeIds.map(Number)], attentionMask: [enc.inputIds.map(() => 1)] });
          ref.logits[0]!.forEach((v, j) => (worst = Math.max(worst, Math.abs(predictions[k]!.logits[j]! - v))));
        }
        assert.ok(worst < 1e-4, `max logit difference ${worst.toExponential(2)}`);

        const evaluation = await evaluateRun(runDir, dev, { threads: 1 });
        assert.equal(evaluation.examples, rows.length);
        assert.ok(evaluation.metrics.accuracy! >= 0 && evaluation.metrics.accuracy! <= 1);

        // Export: the configuration's fields and every tensor as they were, in both forms.
        const out = ws.path(`export-${i}-${form}`);
        exportAdapterFolder(path.join(runDir, 'adapter'), out);
        const original = JSON.parse(fs.readFileSync(path.join(src, 'adapter_config.json'), 'utf8')) as { config: Record<string, unknown> };
        const exported = JSON.parse(fs.readFileSync(path.join(out, 'adapter_config.json'), 'utf8')) as { config: Record<string, unknown>; name: string };
        for (const field of MAPPED_FIELDS) assert.deepEqual(exported.config[field], original.config[field], field);
        assert.equal(exported.name, NAME);
        const canonical = new Map([...tensors.adapter].filter(([n]) => !n.includes('adapter_norm_before')));
        for (const [file, expected] of [['adapter.safetensors', canonical], ['pytorch_adapter.bin', canonical], ['model_head.safetensors', tensors.head], ['pytorch_model_head.bin', tensors.head]] as const) {
          const got = readTensors(path.join(out, file));
          assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), file);
          for (const [n, t] of expected) assert.deepEqual([...got.get(n)!.data], [...t.data], `${file}: ${n}`);
        }
        // The exported folder reads back as the same adapter.
        assert.deepEqual(readAdapterFolder(out).settings.adapter.placement, experiment.adapter.placement);
      });
    }
  }

  test('configurations the engine cannot represent are refused with the field named', () => {
    const refused = (values: Record<string, unknown>, pattern: RegExp) => {
      const c: HubCase = { ...CASES[2]!, config: { ...CASES[2]!.config, ...values } };
      const dir = ws.path(`refused-${Object.keys(values).join('-')}`);
      writeHubFolder(dir, c, 'safetensors', hubTensors(c, 7));
      assert.throws(() => readAdapterFolder(dir), (e: unknown) => e instanceof AdapterFolderError && pattern.test(e.message));
    };
    refused({ ln_after: true }, /adapter_config\.json: field "config\.ln_after" is true/);
    refused({ scaling: 'channel' }, /field "config\.scaling" is "channel"; .*per-channel/);
    refused({ use_gating: true }, /field "config\.use_gating" is true; gated adapters/);
    refused({ phm_layer: true }, /field "config\.phm_layer" is true; PHM/);
    refused({ original_ln_after: false }, /field "config\.original_ln_after" is false/);
    refused({ reduction_factor: 4 }, /field "config\.reduction_factor" is 4, so the bottleneck has hidden_size \/\/ 4 = 16 units, but the weights of layer 0 have 32/);
    refused({ reduction_factor: { '1': 2, default: 2 } }, /field "config\.reduction_factor" is a per-layer mapping/);
    const seq = { ...CASES[0]!, config: { ...CASES[0]!.config, residual_before_ln: 'post_add' } };
    const dir = ws.path('refused-post-add');
    writeHubFolder(dir, seq, 'safetensors', hubTensors(seq, 7));
    assert.throws(() => readAdapterFolder(dir), /field "config\.residual_before_ln" is "post_add"/);
  });

  test('hub names for the variants: a bijection, with the inner norm\'s second name read as an alias', () => {
    const layouts = [{ innerNorm: false, depth: 1 }, { innerNorm: true, depth: 1 }, { innerNorm: false, depth: 3 }, { innerNorm: true, depth: 2 }];
    for (const layout of layouts) {
      const naming = hubNaming(NAME, 'classification', layout);
      const p = 'encoder.layer.2.output.adapter';
      const internal = [`${p}.down.weight`, `${p}.up.bias`, `${p}.scaling`, ...(layout.innerNorm ? [`${p}.LayerNorm.weight`] : []), ...Array.from({ length: layout.depth - 1 }, (_, k) => `${p}.hidden.${k}.weight`)];
      const hubs = internal.map((n) => naming.toHub(n));
      assert.equal(new Set(hubs).size, hubs.length);
      internal.forEach((n, i) => assert.equal(naming.toInternal(hubs[i]!), n, hubs[i]));
      const first = layout.innerNorm ? 1 : 0;
      assert.equal(naming.toHub(`${p}.down.weight`), `bert.encoder.layer.2.output.adapters.${NAME}.adapter_down.${first}.weight`);
      if (layout.depth > 1) assert.equal(naming.toHub(`${p}.hidden.0.weight`), `bert.encoder.layer.2.output.adapters.${NAME}.adapter_down.${first + 2}.weight`);
      // Beyond the depth, and the norm's names without an inner norm, name nothing.
      assert.equal(naming.toInternal(`bert.encoder.layer.2.output.adapters.${NAME}.adapter_down.${first + 2 * layout.depth}.weight`), undefined);
      assert.equal(naming.toInternal(`bert.encoder.layer.2.output.adapters.${NAME}.adapter_norm_before.weight`), layout.innerNorm ? `${p}.LayerNorm.weight` : undefined);
    }
  });
});
