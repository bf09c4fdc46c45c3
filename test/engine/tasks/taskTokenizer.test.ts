/**
 * `task.tokenizer`: which Hugging Face tokenizer's behaviour the training inputs follow, from
 * the experiment or the model folder's tokenizer_config.json (`use_fast`).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { resolveExperiment, validateExperiment } from '../../../engine/config';
import { loadBertTokenizer } from '../../../engine/tokenizer';
import { prepareTask, taskTokenizer } from '../../../engine/tasks';
import { modelFolder, removeModelFolders, vocabTxt } from '../tokenizer/fixture';

after(removeModelFolders);

// Both texts of the pair have 7 tokens (state - of - the - art); max_length 8 leaves 5 for them,
// so both are cut and the behaviours disagree on who keeps the odd token.
const PAIR = 'state-of-the-art';

function experiment(dataDir: string, tokenizer?: string) {
  return resolveExperiment(
    {
      name: 'pairs',
      model: './model',
      task: { kind: 'classification', train: 'train.tsv', text: ['a', 'b'], label: 'label', max_length: 8, ...(tokenizer ? { tokenizer } : {}) },
    },
    dataDir,
  );
}

function tokensOf(folder: string, useFast: boolean | undefined, choice?: string): string[] {
  const tokenizer = loadBertTokenizer(path.join(folder, 'model'));
  assert.equal(tokenizer.behaviour, useFast === false ? 'slow' : 'fast');
  const inputs = prepareTask(experiment(folder, choice), tokenizer);
  return tokenizer.convertIdsToTokens(inputs.train[0]!.inputIds);
}

function project(useFast: boolean | undefined): string {
  const folder = modelFolder({ 'train.tsv': `a\tb\tlabel\n${PAIR}\t${PAIR}\tyes\n` });
  fs.mkdirSync(path.join(folder, 'model'));
  fs.writeFileSync(path.join(folder, 'model', 'vocab.txt'), vocabTxt());
  if (useFast !== undefined) fs.writeFileSync(path.join(folder, 'model', 'tokenizer_config.json'), JSON.stringify({ use_fast: useFast }));
  return folder;
}

const FAST = '[CLS] state - [SEP] state - of [SEP]';
const SLOW = '[CLS] state - of [SEP] state - [SEP]';

describe('task.tokenizer', () => {
  test("defaults to auto; fast, slow and auto are the schema's values", () => {
    assert.equal(experiment('/tmp').task.tokenizer, 'auto');
    assert.equal(experiment('/tmp', 'slow').task.tokenizer, 'slow');
    const bad = validateExperiment('name: x\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: t.tsv\n  text: s\n  label: y\n  tokenizer: quick\n');
    assert.ok(bad.findings.some((f) => f.severity === 'error' && f.message.includes('quick')), JSON.stringify(bad.findings));
  });

  test("auto follows the model folder: fast without tokenizer_config.json's use_fast, slow with use_fast: false", () => {
    assert.equal(tokensOf(project(undefined), undefined).join(' '), FAST);
    assert.equal(tokensOf(project(true), true).join(' '), FAST);
    assert.equal(tokensOf(project(false), false).join(' '), SLOW);
  });

  test("fast and slow override the model folder's choice", () => {
    assert.equal(tokensOf(project(false), false, 'fast').join(' '), FAST);
    assert.equal(tokensOf(project(undefined), undefined, 'slow').join(' '), SLOW);
  });

  test('a run recorded before the setting existed reads as auto', () => {
    const folder = project(false);
    const tokenizer = loadBertTokenizer(path.join(folder, 'model'));
    const e = experiment(folder);
    const { tokenizer: _dropped, ...oldTask } = e.task;
    assert.equal(taskTokenizer({ ...e, task: oldTask }, tokenizer), tokenizer);
  });
});
