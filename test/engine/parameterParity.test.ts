/**
 * The trainable count the editor shows (validateExperiment, as the language server's hover and
 * code lens read it) is the count the run then trains: for models with and without a pooler,
 * whose head draws one when missing (train/plan.ts withCreatedHead), and for every method.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeSafetensors } from '../../engine/checkpoint/safetensors';
import { validateExperiment } from '../../engine/config';
import { parameterShapes } from '../../engine/model/bert';
import { builtinVocab } from '../../engine/model/builtin';
import { initModel } from '../../engine/model/init';
import type { FloatTensor } from '../../engine/tensor';
import { Workspace } from '../support/fixtures';
import { REPO_ROOT } from '../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const DIMS = { hiddenSize: 32, layers: 2, heads: 4, intermediateSize: 64, vocabSize: 200, maxPositions: 64, typeVocabSize: 2 };
const SPEC = { dims: DIMS, layerNormEps: 1e-12, adapters: undefined, head: { kind: 'classification' as const, numLabels: 2 } };

function experiment(model: string, method: string): string {
  const extra = method === 'adapter' ? 'adapter:\n  size: 8\n' : method === 'top_k' ? 'top_k: 1\n' : '';
  return `name: parity\nmodel: ${model}\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 16\nmethod: ${method}\n${extra}training:\n  learning_rate: 1.0e-3\n  epochs: 1\n  batch_size: 8\n  seed: 1\n`;
}

/** A BERT folder as Hugging Face saves it, with or without the pooler (a masked-LM checkpoint has none). */
function modelFolder(ws: Workspace, name: string, pooler: boolean): string {
  ws.write(`${name}/vocab.txt`, builtinVocab(DIMS).join('\n') + '\n');
  ws.write(`${name}/config.json`, JSON.stringify({ model_type: 'bert', hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, vocab_size: 200, max_position_embeddings: 64, type_vocab_size: 2, hidden_act: 'gelu', layer_norm_eps: 1e-12 }));
  const shapes = parameterShapes(SPEC);
  const weights = initModel(SPEC, 5);
  const kept = [...weights].filter(([n]) => shapes.has(n) && !n.startsWith('classifier') && (pooler || !n.startsWith('pooler.')));
  writeSafetensors(ws.path(`${name}/model.safetensors`), new Map<string, FloatTensor>(kept));
  return ws.path(name);
}

describe('the editor\'s trainable count is the run\'s', () => {
  let ws: Workspace;
  before(() => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 16, 1);
    ws.sentiment('dev.tsv', 8, 2);
    modelFolder(ws, 'with-pooler', true);
    modelFolder(ws, 'mlm-only', false);
  });
  after(() => ws.dispose());

  const cases: [model: string, method: string][] = [];
  for (const model of ['./with-pooler', './mlm-only', 'builtin:tiny-bert', 'builtin:english-bert-random']) for (const method of ['adapter', 'layernorm', 'top_k', 'full']) cases.push([model, method]);

  for (const [model, method] of cases) {
    test(`${model}, method ${method}`, () => {
      const file = ws.write(`${method}-${path.basename(model).replace(':', '-')}.adapter.yaml`, experiment(model, method));
      const v = validateExperiment(fs.readFileSync(file, 'utf8'), { filePath: file });
      assert.ok(v.ok, v.findings.map((f) => f.message).join('; '));
      const shown = v.parameters?.trainable;
      assert.ok(shown !== undefined);
      const runs = ws.path(`runs-${method}-${path.basename(model).replace(':', '-')}`);
      const r = spawnSync(process.execPath, [CLI, 'train', file, '--max-steps', '1', '--runs', runs], { cwd: ws.root, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const [dir] = fs.readdirSync(runs);
      const config = JSON.parse(fs.readFileSync(path.join(runs, dir!, 'config.json'), 'utf8')) as { parameters: { trainable: number } };
      assert.equal(shown, config.parameters.trainable);
    });
  }

  test('a model without a pooler counts the pooler its head draws (d² + d) for adapters, not for full fine-tuning', () => {
    const count = (model: string, method: string): number => {
      const file = ws.write(`count-${method}.adapter.yaml`, experiment(model, method));
      return validateExperiment(fs.readFileSync(file, 'utf8'), { filePath: file }).parameters!.trainable;
    };
    assert.equal(count('./mlm-only', 'adapter') - count('./with-pooler', 'adapter'), 32 * 32 + 32);
    assert.equal(count('./mlm-only', 'full'), count('./with-pooler', 'full'));
  });
});
