/**
 * PyTorch checkpoints read without Python: state dicts in torch.save's zip format (views,
 * shared storages, half precision, deflated entries), Hugging Face folders that ship only
 * pytorch_model.bin, and corrupt or hostile files refused with the problem named.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadHuggingFaceBert } from '../../../engine/checkpoint/huggingface';
import { writeSafetensors } from '../../../engine/checkpoint/safetensors';
import { openWeightsFile } from '../../../engine/checkpoint/weightsFile';
import { initModel } from '../../../engine/model/init';
import type { FloatTensor } from '../../../engine/tensor';
import { Pickler, stateDictPickle, torchArchive, torchSave, torchSaveRaw, zipArchive } from '../../support/torchCheckpoint';
import { checkpointError, f32Bytes, i64Bytes, removeTempFolders, rng, tempFolder, u16Bytes } from './fixture';

after(removeTempFolders);

function write(bytes: Uint8Array, name = 'pytorch_model.bin'): string {
  const file = path.join(tempFolder(), name);
  fs.writeFileSync(file, bytes);
  return file;
}

function read(file: string): Map<string, FloatTensor> {
  const f = openWeightsFile(file);
  try {
    return new Map(f.tensors.map((t) => [t.name, f.readFloat(t.name)]));
  } finally {
    f.close();
  }
}

describe('PyTorch checkpoints: state dicts', () => {
  test('float32 tensors as torch.save writes a state dict: names, shapes and values exact', () => {
    const random = rng(1);
    const tensors = new Map([
      ['bert.encoder.layer.0.output.adapters.a.adapter_down.0.weight', { shape: [4, 8], data: Float32Array.from({ length: 32 }, () => random() - 0.5) }],
      ['bert.encoder.layer.0.output.adapters.a.adapter_down.0.bias', { shape: [4], data: Float32Array.from([1, -2, 3.5, 1e-30]) }],
      ['scaling', { shape: [1], data: Float32Array.of(4) }],
      ['empty', { shape: [0, 3], data: new Float32Array(0) }],
    ]);
    const got = read(write(torchSave(tensors)));
    assert.deepEqual([...got.keys()], [...tensors.keys()]);
    for (const [name, t] of tensors) {
      assert.deepEqual(got.get(name)!.shape, t.shape, name);
      assert.deepEqual([...got.get(name)!.data], [...t.data], name);
    }
  });

  test('views of shared storages (offsets, a transpose), half precision, int64, deflated entries and another archive name', () => {
    const base = Float32Array.from({ length: 12 }, (_, i) => i + 0.25);
    const storages = new Map([
      ['0', { dtype: 'F32' as const, bytes: f32Bytes(base) }],
      ['1', { dtype: 'F16' as const, bytes: u16Bytes([0x3c00, 0xc000, 0x3555, 0x0001]) }],
      ['2', { dtype: 'BF16' as const, bytes: u16Bytes([0x3f80, 0x4049]) }],
      ['3', { dtype: 'I64' as const, bytes: i64Bytes([0n, 1n, 2n]) }],
    ]);
    const tensors = new Map([
      ['whole', { dtype: 'F32' as const, storage: '0', shape: [3, 4] }],
      ['row1', { dtype: 'F32' as const, storage: '0', shape: [4], offset: 4 }],
      ['transposed', { dtype: 'F32' as const, storage: '0', shape: [4, 3], stride: [1, 4] }],
      ['half', { dtype: 'F16' as const, storage: '1', shape: [2, 2] }],
      ['bf16', { dtype: 'BF16' as const, storage: '2', shape: [2] }],
      ['position_ids', { dtype: 'I64' as const, storage: '3', shape: [1, 3] }],
    ]);
    const plain = torchSaveRaw(tensors, storages);
    const f = openWeightsFile(write(plain));
    try {
      assert.deepEqual([...f.readFloat('whole').data], [...base]);
      assert.deepEqual([...f.readFloat('row1').data], [4.25, 5.25, 6.25, 7.25]);
      assert.deepEqual([...f.readFloat('transposed').data], [0.25, 4.25, 8.25, 1.25, 5.25, 9.25, 2.25, 6.25, 10.25, 3.25, 7.25, 11.25]);
      assert.deepEqual([...f.readFloat('half').data], [1, -2, Math.fround(0.333251953125), 2 ** -24]);
      assert.deepEqual([...f.readFloat('bf16').data], [1, 3.140625]);
      assert.deepEqual(f.info('position_ids')!.dtype, 'I64');
      assert.deepEqual([...(f.read('position_ids').data as BigInt64Array)], [0n, 1n, 2n]);
      assert.match(checkpointError(() => f.readFloat('position_ids')).message, /has dtype I64; a floating-point tensor/);
    } finally {
      f.close();
    }
    // The same state dict, its storages deflated, under the archive name torch gives a file's stem.
    const pickle = stateDictPickle(new Map([...tensors].map(([n, t]) => [n, { ...t, numel: storages.get(t.storage)!.bytes.length / (t.dtype === 'F32' ? 4 : t.dtype === 'I64' ? 8 : 2) }])));
    const deflated = zipArchive([{ name: 'pytorch_model/data.pkl', data: pickle, deflate: true }, ...[...storages].map(([k, s]) => ({ name: `pytorch_model/data/${k}`, data: s.bytes, deflate: true }))]);
    const g = openWeightsFile(write(deflated));
    try {
      assert.deepEqual([...g.readFloat('transposed').data], [0.25, 4.25, 8.25, 1.25, 5.25, 9.25, 2.25, 6.25, 10.25, 3.25, 7.25, 11.25]);
      assert.deepEqual([...g.readFloat('half').data], [1, -2, Math.fround(0.333251953125), 2 ** -24]);
    } finally {
      g.close();
    }
  });

  test('a Hugging Face folder with only pytorch_model.bin loads as its model.safetensors does', () => {
    const dims = { hiddenSize: 8, layers: 2, heads: 2, intermediateSize: 12, vocabSize: 20, maxPositions: 16, typeVocabSize: 2 };
    const weights = initModel({ dims, layerNormEps: 1e-12, adapters: undefined, head: { kind: 'classification', numLabels: 2 } }, 5);
    const config = JSON.stringify({ model_type: 'bert', hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 12, vocab_size: 20, max_position_embeddings: 16, type_vocab_size: 2, layer_norm_eps: 1e-12 });
    const stored = new Map([...weights].map(([n, t]) => [`bert.${n}`, t]));
    const safe = tempFolder();
    fs.writeFileSync(path.join(safe, 'config.json'), config);
    writeSafetensors(path.join(safe, 'model.safetensors'), stored);
    const pickled = tempFolder();
    fs.writeFileSync(path.join(pickled, 'config.json'), config);
    // Older checkpoints also hold buffers and pretraining heads, which are skipped.
    const withExtras = new Map<string, { readonly shape: readonly number[]; readonly data: Float32Array }>([...stored, ['cls.predictions.bias', { shape: [20], data: new Float32Array(20) }]]);
    fs.writeFileSync(path.join(pickled, 'pytorch_model.bin'), torchSave(withExtras));
    const a = loadHuggingFaceBert(safe);
    const b = loadHuggingFaceBert(pickled);
    assert.equal(b.source.weightsFile, path.join(pickled, 'pytorch_model.bin'));
    assert.deepEqual([...b.weights.keys()].sort(), [...a.weights.keys()].sort());
    for (const [name, t] of a.weights) assert.deepEqual([...b.weights.get(name)!.data], [...t.data], name);
    assert.deepEqual(b.source.ignored, ['cls.predictions.bias']);
  });
});

describe('PyTorch checkpoints: corrupt and hostile files', () => {
  const f32 = new Map([['w', { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }]]);
  const error = (bytes: Uint8Array) => {
    const file = write(bytes);
    const e = checkpointError(() => read(file));
    assert.equal(e.file, file);
    return e.message;
  };
  const pickleOnly = (p: Pickler) => torchArchive(p.bytes(), new Map());

  test('a pickle that calls os.system is refused with the global named, before anything runs', () => {
    const p = new Pickler().proto().global('posix', 'system').string('touch /tmp/pwned').raw(0x85, 0x52, 0x2e);
    assert.match(error(pickleOnly(p)), /data\.pkl: refuses the global posix\.system: a state dict holds only tensors/);
    const stack = new Pickler().proto().raw(0x8c, 8, ...Buffer.from('builtins'), 0x8c, 4, ...Buffer.from('eval'), 0x93).string('1').raw(0x85, 0x52, 0x2e);
    assert.match(error(pickleOnly(stack)), /refuses the global builtins\.eval/);
    const storageCall = new Pickler().proto().global('torch', 'FloatStorage').raw(0x29, 0x52, 0x2e);
    assert.match(error(pickleOnly(storageCall)), /calls the global torch\.FloatStorage; only torch\._utils\._rebuild_tensor_v2/);
    assert.match(error(pickleOnly(new Pickler().proto().global('collections', 'OrderedDict').raw(0x29, 0x81, 0x2e))), /opcode NEWOBJ at byte \d+, which a state dict does not need/);
    assert.match(error(pickleOnly(new Pickler().proto().raw(0x68, 7, 0x2e))), /memo entry 7, which it never stored/);
    assert.match(error(pickleOnly(new Pickler().proto().raw(0x4e, 0x2e))), /holds None, not a state dict/);
  });

  test('truncated archives and pickles', () => {
    const whole = torchSave(f32);
    assert.match(error(whole.subarray(0, Math.floor(whole.length / 2))), /no zip end-of-central-directory record; the archive is truncated/);
    assert.match(error(whole.subarray(0, 10)), /is 10 bytes long, too short for a zip archive/);
    // A string whose length runs past the pickle: refused before anything is allocated for it.
    const long = new Pickler().proto().raw(0x58, 0xff, 0xff, 0xff, 0x7f, 0x61);
    assert.match(error(pickleOnly(long)), /the pickle ends inside a string \(at byte \d+, 2147483647 more bytes needed\)/);
    assert.match(error(torchArchive(Uint8Array.of(0x80, 2, 0x7d), new Map())), /the pickle ends inside an opcode/);
  });

  test('sizes that lie: storages, tensors, entries, compression', () => {
    const storage = new Map([['0', { dtype: 'F32' as const, bytes: f32Bytes([1, 2, 3, 4]), numel: 1e12 }]]);
    assert.match(error(torchSaveRaw(new Map([['w', { dtype: 'F32', storage: '0', shape: [2, 2] }]]), storage)), /storage 0 should hold 1000000000000 F32 elements \(4000000000000 bytes\) but its entry has 16 bytes/);
    const honest = new Map([['0', { dtype: 'F32' as const, bytes: f32Bytes([1, 2, 3, 4]) }]]);
    assert.match(error(torchSaveRaw(new Map([['w', { dtype: 'F32', storage: '0', shape: [100000, 100000] }]]), honest)), /a tensor of size \[100000, 100000\], stride \[100000, 1\] at offset 0 reaches element 9999999999 of storage 0, which holds 4/);
    assert.match(error(torchSaveRaw(new Map([['w', { dtype: 'F32', storage: '0', shape: [2], offset: 3 }]]), honest)), /reaches element 4 of storage 0, which holds 4/);
    // The central directory claims an entry far larger than the file.
    const pickle = stateDictPickle(new Map([['w', { dtype: 'F32', storage: '0', shape: [4], numel: 4 }]]));
    const big = zipArchive([{ name: 'archive/data.pkl', data: pickle }, { name: 'archive/data/0', data: f32Bytes([1, 2, 3, 4]) }]);
    const cdStart = big.length - 22 - 2 * 46 - 'archive/data.pkl'.length - 'archive/data/0'.length;
    big.writeUInt32LE(0x7fffffff, cdStart + 46 + 'archive/data.pkl'.length + 20); // compressed size of data/0
    big.writeUInt32LE(0x7fffffff, cdStart + 46 + 'archive/data.pkl'.length + 24);
    assert.match(error(big), /entry "archive\/data\/0" \(2147483647 bytes at \d+\) runs past the start of the central directory/);
    // A deflated entry that declares more than deflate can expand to.
    const bomb = zipArchive([{ name: 'archive/data.pkl', data: pickle }, { name: 'archive/data/0', data: f32Bytes([1, 2, 3, 4]), deflate: true, declaredSize: 0x7ffffff0 }]);
    assert.match(error(bomb), /entry "archive\/data\/0" declares 2147483632 bytes from \d+ compressed, more than deflate can hold/);
    assert.match(error(zipArchive([{ name: 'archive/data.pkl', data: pickle, declaredSize: 0x7ffffff0, deflate: true }])), /entry "archive\/data\.pkl" is 2147483632 bytes, more than the 67108864 allowed/);
    const wrongSize = zipArchive([{ name: 'archive/data.pkl', data: pickle, deflate: true, declaredSize: pickle.length - 1 }, { name: 'archive/data/0', data: f32Bytes([1, 2, 3, 4]) }]);
    assert.match(error(wrongSize), /inflates to more bytes, not the \d+ its header declares/);
  });

  test('files that are not state dicts', () => {
    assert.match(error(zipArchive([{ name: 'a.txt', data: Buffer.from('hi') }])), /has no <archive>\/data\.pkl: it is a zip file but not a PyTorch checkpoint/);
    assert.match(error(Uint8Array.of(0x80, 2, 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19)), /legacy format \(before torch 1\.6\)/);
    const missingStorage = torchArchive(stateDictPickle(new Map([['w', { dtype: 'F32', storage: '9', shape: [1], numel: 1 }]])), new Map());
    assert.match(error(missingStorage), /storage 9 \(archive\/data\/9\) is missing from the archive/);
    const nested = new Pickler().proto().raw(0x7d).string('w').raw(0x7d, 0x73, 0x2e);
    assert.match(error(pickleOnly(nested)), /the state dict's entry "w" is a dict, not a tensor/);
  });
});
