/**
 * The shipped built-in model is the pretrained one its card describes: the weights' sha256
 * matches docs/builtin-model.md, they are float16 and small enough to ship, and their
 * masked-token accuracy on the held-out sample shipped beside them reaches the card's figure
 * (a random model, such as the unpretrained twin, fails that by far).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { builtinModelFolder, loadModel } from '../../engine/checkpoint/baseModel';
import { openSafetensors } from '../../engine/checkpoint/safetensors';
import { evaluateMaskedLm } from '../../engine/jobs/evaluateModel';
import { BUILTIN_MODELS } from '../../engine/model/dims';
import { REPO_ROOT } from '../support/lspClient';

const CARD = path.join(REPO_ROOT, 'docs', 'builtin-model.md');
/** How far below the card's figure the measurement may fall (float16 rounding, thread counts). */
const MARGIN = 0.01;

interface Card {
  readonly sha256: string;
  readonly sampleAccuracy: number;
  readonly maxLength: number;
}

function readCard(): Card {
  const text = fs.readFileSync(CARD, 'utf8');
  const sha = /^\| sha256 \| `([0-9a-f]{64})` \|$/m.exec(text);
  const sample = /^\| masked accuracy on the shipped sample \| ([0-9.]+)% on `models\/english-bert\/heldout-sample\.txt` \(seed 1, (\d+)-token sequences\)/m.exec(text);
  assert.ok(sha, `${CARD} has no sha256 row`);
  assert.ok(sample, `${CARD} has no row for the masked accuracy on the shipped sample`);
  return { sha256: sha[1]!, sampleAccuracy: Number(sample[1]) / 100, maxLength: Number(sample[2]) };
}

describe('builtin:english-bert', () => {
  const folder = builtinModelFolder('english-bert');
  const weights = path.join(folder, 'model.safetensors');
  const sample = path.join(folder, 'heldout-sample.txt');

  test('the weights are the ones the card names, stored as float16 within 15 MB', () => {
    const card = readCard();
    const bytes = fs.readFileSync(weights);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), card.sha256, 'model.safetensors is not the file docs/builtin-model.md describes');
    assert.ok(bytes.length <= 15e6, `model.safetensors is ${(bytes.length / 1e6).toFixed(1)} MB`);
    const file = openSafetensors(weights);
    try {
      assert.ok(file.tensors.length > 0);
      for (const t of file.tensors) assert.equal(t.dtype, 'F16', `${t.name} is ${t.dtype}`);
    } finally {
      file.close();
    }
  });

  test('it loads as float32 with the shape the LSP counts with, and a vocabulary with the special tokens', () => {
    const model = loadModel('builtin:english-bert');
    assert.deepEqual(model.dims, BUILTIN_MODELS['english-bert']);
    assert.equal(model.pretrained, true);
    for (const t of model.weights.values()) assert.ok(t.data instanceof Float32Array);
    const vocab = model.tokenizer.vocabTokens();
    for (const special of ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']) assert.ok(vocab.includes(special), special);
    // Uncased, as trained: the same ids for both casings.
    assert.deepEqual(model.tokenizer.encode('The River').inputIds, model.tokenizer.encode('the river').inputIds);
  });

  test('its masked accuracy on the shipped held-out sample reaches the card, far above the unpretrained twin', async () => {
    const card = readCard();
    const [shipped, twin] = [
      await evaluateMaskedLm('builtin:english-bert', sample, { maxLength: card.maxLength, seed: 1 }),
      await evaluateMaskedLm('builtin:english-bert-random', sample, { maxLength: card.maxLength, seed: 1 }),
    ];
    const accuracy = shipped.metrics.masked_accuracy!;
    assert.ok(shipped.sequences > 100, `${shipped.sequences} sequences`);
    assert.ok(accuracy >= card.sampleAccuracy - MARGIN, `masked accuracy ${accuracy.toFixed(4)} < card ${card.sampleAccuracy} − ${MARGIN}`);
    assert.ok(twin.metrics.masked_accuracy! < card.sampleAccuracy / 2, `the unpretrained twin reaches ${twin.metrics.masked_accuracy}`);
    assert.ok(shipped.metrics.mlm_loss! < twin.metrics.mlm_loss! - 1, `loss ${shipped.metrics.mlm_loss} vs twin ${twin.metrics.mlm_loss}`);
  });

  test('adapter-lab evaluate scores a model itself on text, and names an unknown built-in model', () => {
    const card = readCard();
    const cli = path.join(REPO_ROOT, 'dist', 'cli.js');
    const r = spawnSync(process.execPath, [cli, 'evaluate', 'builtin:english-bert', sample, '--threads', '2'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { model: string; sequences: number; metrics: Record<string, number> };
    assert.equal(out.model, 'builtin:english-bert');
    assert.ok(Math.abs(out.metrics.masked_accuracy! - card.sampleAccuracy) < MARGIN, `${out.metrics.masked_accuracy} vs card ${card.sampleAccuracy}`);
    const bad = spawnSync(process.execPath, [cli, 'evaluate', 'builtin:no-such-model', sample], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /no-such-model/);
  });
});
