/**
 * Loading Hugging Face BERT folders: name mapping (the `bert.` prefix, legacy gamma/beta),
 * heads, skipped pretraining heads and buffers, and the errors for missing or misshapen
 * tensors, bad configs and folders without safetensors. Checkpoints are written by the
 * test's own spec-level encoder into temporary folders.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { baseWeightShapes, CheckpointError, engineName, loadHuggingFaceBert, type HuggingFaceBert } from '../../../engine/checkpoint/huggingface';
import { parameterShapes } from '../../../engine/model/bert';
import type { BertDims } from '../../../engine/model/dims';
import * as names from '../../../engine/model/names';
import { encodeTensors, f32Bytes, i64Bytes, removeTempFolders, tempFolder, u16Bytes, type RawTensor, checkpointError } from './fixture';

after(removeTempFolders);

const DIMS: BertDims = { hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 16, vocabSize: 20, maxPositions: 10, typeVocabSize: 2 };
const CONFIG = {
  architectures: ['BertForSequenceClassification'],
  model_type: 'bert',
  hidden_size: 8,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 16,
  vocab_size: 20,
  max_position_embeddings: 10,
  type_vocab_size: 2,
  layer_norm_eps: 1e-7,
  hidden_act: 'gelu',
};


/** Values that are multiples of 1/8 in [-2, 2): exact in F32 and BF16, and different per tensor. */
function valueOf(ourName: string, i: number): number {
  let h = 0;
  for (const c of ourName) h = (h * 31 + c.charCodeAt(0)) % 1009;
  return ((h + i) % 32) / 8 - 2;
}

function valuesOf(ourName: string, shape: readonly number[]): number[] {
  return Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => valueOf(ourName, i));
}

/** A tensor under a stored name whose values derive from our name, so a wrong mapping shows. */
function tensor(ourName: string, shape: readonly number[], dtype: 'F32' | 'BF16' = 'F32'): RawTensor {
  const values = valuesOf(ourName, shape);
  if (dtype === 'F32') return { dtype, shape, bytes: f32Bytes(values) };
  const view = new DataView(new ArrayBuffer(4));
  const bits = values.map((v) => {
    view.setFloat32(0, v);
    return view.getUint16(0); // upper half of the big-endian float32
  });
  return { dtype, shape, bytes: u16Bytes(bits) };
}

interface Options {
  readonly prefix?: boolean;
  readonly legacy?: boolean;
  readonly pooler?: boolean;
  readonly dtype?: 'F32' | 'BF16';
}

/** The stored tensors of a BERT checkpoint (stored name → tensor) for DIMS. */
function bertTensors(o: Options = {}): Map<string, RawTensor> {
  const out = new Map<string, RawTensor>();
  const store = (ours: string, shape: readonly number[]) => {
    let stored = (o.prefix ?? true ? 'bert.' : '') + ours;
    if (o.legacy) stored = stored.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
    out.set(stored, tensor(ours, shape, o.dtype));
  };
  for (const [name, shape] of baseWeightShapes(DIMS)) store(name, shape);
  if (o.pooler ?? true) {
    store(names.pooler.weight, [8, 8]);
    store(names.pooler.bias, [8]);
  }
  return out;
}

/** A model folder with config.json (none when `config` is null), model.safetensors (when given) and vocab.txt. */
function modelFolder(tensors: ReadonlyMap<string, RawTensor> | undefined, config: unknown = CONFIG, extra: Record<string, string> = {}): string {
  const dir = tempFolder('adapter-lab-hf-');
  if (config !== null) fs.writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  if (tensors) fs.writeFileSync(path.join(dir, 'model.safetensors'), encodeTensors(tensors, { format: 'pt' }));
  fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n');
  for (const [file, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

/** Every loaded base weight has the expected shape and the values stored for its name. */
function assertBaseWeights(m: HuggingFaceBert, withPooler: boolean): void {
  const expected = new Map(baseWeightShapes(DIMS));
  if (withPooler) expected.set(names.pooler.weight, [8, 8]).set(names.pooler.bias, [8]);
  assert.deepEqual([...m.weights.keys()].sort(), [...expected.keys()].sort());
  for (const [name, shape] of expected) {
    const t = m.weights.get(name)!;
    assert.equal(t.dtype, 'float32');
    assert.deepEqual(t.shape, shape, name);
    assert.deepEqual([...t.data], valuesOf(name, shape), name);
  }
}

describe('Hugging Face BERT folders: loading and name mapping', () => {
  test('BertForSequenceClassification (bert. prefix, classifier, cls.* heads, position_ids) loads under our names', () => {
    const tensors = bertTensors();
    tensors.set('bert.embeddings.position_ids', { dtype: 'I64', shape: [1, 10], bytes: i64Bytes(Array.from({ length: 10 }, (_, i) => BigInt(i))) });
    tensors.set('cls.predictions.bias', tensor('cls.predictions.bias', [20]));
    tensors.set('cls.predictions.transform.LayerNorm.gamma', tensor('x', [8]));
    // An F64 tensor the engine cannot read: loading succeeds only because ignored tensors are never read.
    tensors.set('cls.seq_relationship.weight', { dtype: 'F64', shape: [2, 8], bytes: new Uint8Array(128) });
    tensors.set('classifier.weight', tensor(names.classifier.weight, [3, 8]));
    tensors.set('classifier.bias', tensor(names.classifier.bias, [3]));
    const dir = modelFolder(tensors);
    const m = loadHuggingFaceBert(dir);

    assert.deepEqual(m.dims, DIMS);
    assert.equal(m.layerNormEps, 1e-7);
    assertBaseWeights(m, true);
    assert.ok(![...m.weights.keys()].some((k) => k.startsWith('bert.') || k.startsWith('classifier')), 'heads and prefixes stay out of the base weights');
    assert.deepEqual(m.heads.classifier?.weight.shape, [3, 8]);
    assert.deepEqual([...m.heads.classifier!.weight.data], valuesOf(names.classifier.weight, [3, 8]));
    assert.deepEqual([...m.heads.classifier!.bias.data], valuesOf(names.classifier.bias, [3]));
    assert.equal(m.heads.qaOutputs, undefined);
    assert.deepEqual(m.missing, []);
    assert.deepEqual([...m.source.ignored].sort(), ['bert.embeddings.position_ids', 'cls.predictions.bias', 'cls.predictions.transform.LayerNorm.gamma', 'cls.seq_relationship.weight']);
    assert.equal(m.source.folder, dir);
    assert.equal(m.source.weightsFile, path.join(dir, 'model.safetensors'));
    assert.equal(m.source.configFile, path.join(dir, 'config.json'));
    assert.deepEqual(m.source.metadata, { format: 'pt' });
  });

  test('a BertModel checkpoint without the bert. prefix loads the same weights', () => {
    const withPrefix = loadHuggingFaceBert(modelFolder(bertTensors({ prefix: true })));
    const without = loadHuggingFaceBert(modelFolder(bertTensors({ prefix: false })));
    assertBaseWeights(without, true);
    assert.deepEqual(without.weights, withPrefix.weights);
    assert.deepEqual(without.heads, {});
  });

  test('legacy LayerNorm.gamma / LayerNorm.beta load as LayerNorm.weight / LayerNorm.bias', () => {
    const tensors = bertTensors({ legacy: true });
    assert.ok(tensors.has('bert.encoder.layer.1.attention.output.LayerNorm.gamma'), 'the fixture uses legacy names');
    assert.ok(tensors.has('bert.embeddings.LayerNorm.beta'));
    const m = loadHuggingFaceBert(modelFolder(tensors));
    assertBaseWeights(m, true);
  });

  test('a BF16 checkpoint is widened to float32 exactly', () => {
    const tensors = bertTensors({ dtype: 'BF16' });
    assert.equal(tensors.get('bert.embeddings.word_embeddings.weight')!.dtype, 'BF16');
    assertBaseWeights(loadHuggingFaceBert(modelFolder(tensors)), true);
  });

  test('a checkpoint without a pooler loads and reports the pooler as missing', () => {
    const m = loadHuggingFaceBert(modelFolder(bertTensors({ pooler: false })));
    assertBaseWeights(m, false);
    assert.deepEqual(m.missing, [names.pooler.weight, names.pooler.bias]);
  });

  test('a BertForQuestionAnswering checkpoint returns the qa_outputs head', () => {
    const tensors = bertTensors({ pooler: false });
    tensors.set('qa_outputs.weight', tensor(names.qaOutputs.weight, [2, 8]));
    tensors.set('qa_outputs.bias', tensor(names.qaOutputs.bias, [2]));
    const m = loadHuggingFaceBert(modelFolder(tensors));
    assert.deepEqual(m.heads.qaOutputs?.weight.shape, [2, 8]);
    assert.deepEqual([...m.heads.qaOutputs!.bias.data], valuesOf(names.qaOutputs.bias, [2]));
    assert.equal(m.heads.classifier, undefined);
    assert.ok(!m.weights.has(names.qaOutputs.weight));
  });

  test("the base weights are exactly the model's non-head parameters (engine/model/bert.ts parameterShapes)", () => {
    const m = loadHuggingFaceBert(modelFolder(bertTensors()));
    const model = parameterShapes({ dims: DIMS, layerNormEps: m.layerNormEps, adapters: undefined, head: { kind: 'classification', numLabels: 3 } });
    model.delete(names.classifier.weight);
    model.delete(names.classifier.bias);
    assert.deepEqual(new Map([...m.weights].map(([k, t]) => [k, t.shape])), model);
  });

  test('layer_norm_eps defaults to 1e-12 when config.json omits it', () => {
    const { layer_norm_eps: _omitted, ...config } = CONFIG;
    assert.equal(loadHuggingFaceBert(modelFolder(bertTensors(), config)).layerNormEps, 1e-12);
  });

  test('engineName: prefix and legacy names', () => {
    const cases: [string, string][] = [
      ['bert.embeddings.word_embeddings.weight', 'embeddings.word_embeddings.weight'],
      ['embeddings.word_embeddings.weight', 'embeddings.word_embeddings.weight'],
      ['bert.encoder.layer.3.output.LayerNorm.gamma', 'encoder.layer.3.output.LayerNorm.weight'],
      ['encoder.layer.3.output.LayerNorm.beta', 'encoder.layer.3.output.LayerNorm.bias'],
      ['classifier.weight', 'classifier.weight'],
      ['cls.predictions.bias', 'cls.predictions.bias'],
      ['xbert.pooler.dense.weight', 'xbert.pooler.dense.weight'],
    ];
    for (const [stored, ours] of cases) assert.equal(engineName(stored), ours, stored);
  });
});

describe('Hugging Face BERT folders: errors name the tensor and the expected shape', () => {
  const weightsError = (tensors: Map<string, RawTensor>, config: unknown = CONFIG): CheckpointError => {
    const dir = modelFolder(tensors, config);
    const e = checkpointError(() => loadHuggingFaceBert(dir));
    assert.equal(e.file, path.join(dir, 'model.safetensors'));
    return e;
  };

  test('a missing layer weight', () => {
    const tensors = bertTensors();
    tensors.delete('bert.encoder.layer.1.output.dense.weight');
    assert.match(weightsError(tensors).message, /does not match config\.json \(hidden_size 8, .*\): missing tensor "encoder\.layer\.1\.output\.dense\.weight" \(expected shape \[8, 16\]\)$/);
  });

  test('a transposed (wrong-shape) weight', () => {
    const tensors = bertTensors();
    tensors.set('bert.encoder.layer.0.intermediate.dense.weight', tensor('encoder.layer.0.intermediate.dense.weight', [8, 16]));
    assert.match(
      weightsError(tensors).message,
      /tensor "bert\.encoder\.layer\.0\.intermediate\.dense\.weight" \("encoder\.layer\.0\.intermediate\.dense\.weight"\) has shape \[8, 16\], expected \[16, 8\] from config\.json$/,
    );
  });

  test('a config whose vocab_size disagrees with the embeddings', () => {
    const e = weightsError(bertTensors(), { ...CONFIG, vocab_size: 30 });
    assert.match(e.message, /vocab_size 30/);
    assert.match(e.message, /tensor "bert\.embeddings\.word_embeddings\.weight" \("embeddings\.word_embeddings\.weight"\) has shape \[20, 8\], expected \[30, 8\]/);
  });

  test('a weight of the wrong rank (a bias stored as [1, 8])', () => {
    const tensors = bertTensors({ prefix: false });
    tensors.set('encoder.layer.0.attention.self.key.bias', tensor('k', [1, 8]));
    assert.match(weightsError(tensors).message, /tensor "encoder\.layer\.0\.attention\.self\.key\.bias" has shape \[1, 8\], expected \[8\]/);
  });

  test('a weight stored as an integer dtype', () => {
    const tensors = bertTensors();
    tensors.set('bert.embeddings.LayerNorm.bias', { dtype: 'I64', shape: [8], bytes: new Uint8Array(64) });
    assert.match(weightsError(tensors).message, /tensor "bert\.embeddings\.LayerNorm\.bias" \("embeddings\.LayerNorm\.bias"\) has dtype I64; weights must be F32, F16 or BF16/);
  });

  test('a layer beyond num_hidden_layers', () => {
    const tensors = bertTensors();
    tensors.set('bert.encoder.layer.2.output.dense.weight', tensor('x', [8, 16]));
    assert.match(weightsError(tensors).message, /tensor "bert\.encoder\.layer\.2\.output\.dense\.weight" .*belongs to layer 2, but config\.json has num_hidden_layers 2/);
  });

  test('two stored tensors that map to the same name (prefixed and not, or gamma and weight)', () => {
    const tensors = bertTensors();
    tensors.set('embeddings.word_embeddings.weight', tensor('x', [20, 8]));
    assert.match(weightsError(tensors).message, /tensors "bert\.embeddings\.word_embeddings\.weight" and "embeddings\.word_embeddings\.weight" both map to "embeddings\.word_embeddings\.weight"/);
    const legacy = bertTensors();
    legacy.set('bert.embeddings.LayerNorm.gamma', tensor('x', [8]));
    assert.match(weightsError(legacy).message, /both map to "embeddings\.LayerNorm\.weight"/);
  });

  test('a config with more layers than the checkpoint lists the first problems and counts the rest', () => {
    const e = weightsError(bertTensors(), { ...CONFIG, num_hidden_layers: 4 });
    assert.match(e.message, /missing tensor "encoder\.layer\.2\.attention\.self\.query\.weight" \(expected shape \[8, 8\]\)/);
    // Layers 2 and 3 miss 16 tensors each: 8 listed, 24 more.
    assert.match(e.message, /; and 24 more$/);
  });

  test('a pooler with its weight but no bias', () => {
    const tensors = bertTensors();
    tensors.delete('bert.pooler.dense.bias');
    assert.match(weightsError(tensors).message, /missing tensor "pooler\.dense\.bias" \(expected shape \[8\]\)/);
  });

  test('heads: a classifier without its bias, a classifier whose bias disagrees, qa_outputs with 3 outputs, a classifier of the wrong width', () => {
    const noBias = bertTensors();
    noBias.set('classifier.weight', tensor('c', [3, 8]));
    assert.match(weightsError(noBias).message, /missing tensor "classifier\.bias" \(expected shape \[any\]\)/);

    const mismatch = bertTensors();
    mismatch.set('classifier.weight', tensor('c', [3, 8]));
    mismatch.set('classifier.bias', tensor('c', [4]));
    assert.match(weightsError(mismatch).message, /tensor "classifier\.weight" has 3 outputs but tensor "classifier\.bias" has 4/);

    const qa = bertTensors();
    qa.set('qa_outputs.weight', tensor('q', [3, 8]));
    qa.set('qa_outputs.bias', tensor('q', [3]));
    assert.match(weightsError(qa).message, /tensor "qa_outputs\.weight" has shape \[3, 8\], expected \[2, 8\]/);

    const wide = bertTensors();
    wide.set('classifier.weight', tensor('c', [3, 16]));
    wide.set('classifier.bias', tensor('c', [3]));
    assert.match(weightsError(wide).message, /tensor "classifier\.weight" has shape \[3, 16\], expected \[any, 8\]/);
  });

  test('a corrupt model.safetensors gives the reader\'s CheckpointError', () => {
    const dir = modelFolder(undefined);
    fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.from([1, 2, 3]));
    const e = checkpointError(() => loadHuggingFaceBert(dir));
    assert.equal(e.file, path.join(dir, 'model.safetensors'));
    assert.match(e.message, /the file is 3 bytes long/);
  });
});

describe('Hugging Face BERT folders: folder and config errors', () => {
  test('a folder with only pytorch_model.bin reads it; one that is not a checkpoint is refused by name', () => {
    const dir = modelFolder(undefined, CONFIG, { 'pytorch_model.bin': 'not really a pickle' });
    const e = checkpointError(() => loadHuggingFaceBert(dir));
    assert.equal(e.file, path.join(dir, 'pytorch_model.bin'));
  });

  test('a folder with only TensorFlow weights says to convert them', () => {
    const dir = modelFolder(undefined, CONFIG, { 'tf_model.h5': 'weights' });
    const e = checkpointError(() => loadHuggingFaceBert(dir));
    assert.equal(e.file, dir);
    assert.match(e.message, /no model\.safetensors or pytorch_model\.bin, only tf_model\.h5; convert it/);
    assert.match(e.message, /safe_serialization=True/);
  });

  test('a sharded checkpoint (model.safetensors.index.json) is named as such', () => {
    const dir = modelFolder(undefined, CONFIG, { 'model.safetensors.index.json': '{"weight_map":{}}' });
    assert.match(checkpointError(() => loadHuggingFaceBert(dir)).message, /the weights are sharded \(model\.safetensors\.index\.json\)/);
  });

  test('a folder with no weights at all', () => {
    const dir = modelFolder(undefined);
    assert.match(checkpointError(() => loadHuggingFaceBert(dir)).message, /no model\.safetensors or pytorch_model\.bin in the model folder$/);
  });

  test('a missing folder and a file instead of a folder', () => {
    const dir = tempFolder();
    assert.match(checkpointError(() => loadHuggingFaceBert(path.join(dir, 'absent'))).message, /model folder not found/);
    const file = path.join(dir, 'model.safetensors');
    fs.writeFileSync(file, '');
    assert.match(checkpointError(() => loadHuggingFaceBert(file)).message, /must be a Hugging Face BERT folder .*not a file/);
  });

  const configCases: [string, unknown, RegExp][] = [
    ['no config.json', null, /cannot read config\.json/],
    ['config.json that is not JSON', '{"hidden_size": 8,', /config\.json: not valid JSON/],
    ['config.json without hidden_size', { ...CONFIG, hidden_size: undefined }, /hidden_size must be a positive integer/],
    ['a RoBERTa config', { ...CONFIG, model_type: 'roberta' }, /model_type is "roberta"/],
    ['hidden_size not divisible by the heads', { ...CONFIG, num_attention_heads: 3 }, /hidden_size 8 is not divisible by num_attention_heads 3/],
    ['a negative layer_norm_eps', { ...CONFIG, layer_norm_eps: -1 }, /layer_norm_eps must be a positive number \(found -1\)/],
    ['a string layer_norm_eps', { ...CONFIG, layer_norm_eps: '1e-12' }, /layer_norm_eps must be a positive number \(found "1e-12"\)/],
  ];
  for (const [what, config, pattern] of configCases) {
    test(`${what} → an error on config.json`, () => {
      const dir = modelFolder(bertTensors(), config);
      const e = checkpointError(() => loadHuggingFaceBert(dir));
      assert.equal(e.file, path.join(dir, 'config.json'));
      assert.match(e.message, pattern);
    });
  }
});
