/**
 * Sweep expansion over methods: a setting a trial's method ignores is not a reason to run
 * it again, and the size the editor shows is the number of trials the engine runs.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { expandSweep, settingAppliesTo, validateExperiment } from '../../../engine/config';
import { DocumentStates } from '../../../server/src/documentState';
import { codeLenses } from '../../../server/src/features/codeLens';
import { REPO_ROOT } from '../../support/lspClient';

const FILE = path.resolve('/projects/glue/baselines.adapter.yaml');

/** Like examples/baselines.adapter.yaml, every method in one grid, here with a list of k and adapter sizes. */
const BASELINES = `name: baselines
model: builtin:mini-bert
task:
  kind: classification
  train: ./train.tsv
  validation: ./dev.tsv
  text: sentence
  label: label
method: adapter
adapter:
  size: 8
training:
  learning_rate: 3.0e-4
sweep:
  grid:
    method: [adapter, full, top_k, layernorm]
    top_k: [1, 2, 3]
    adapter.size: [8, 64]
  seeds: 2
`;

const expand = (text: string) => {
  const v = validateExperiment(text, { filePath: FILE });
  return { v, trials: expandSweep(v.plain, path.dirname(FILE)) };
};

describe('sweep expansion over methods', () => {
  test('method × top_k × adapter.size: each distinct configuration once per seed, indices dense, in grid order', () => {
    const { trials } = expand(BASELINES);
    const configurations = [
      { method: 'adapter', 'adapter.size': 8 },
      { method: 'adapter', 'adapter.size': 64 },
      { method: 'full' },
      { method: 'top_k', top_k: 1 },
      { method: 'top_k', top_k: 2 },
      { method: 'top_k', top_k: 3 },
      { method: 'layernorm' },
    ];
    assert.deepEqual(
      trials.map((t) => [t.index, t.assignments, t.seed]),
      configurations.flatMap((c, i) => [[2 * i, c, 42], [2 * i + 1, c, 43]]),
    );
    // Each trial runs what its assignments say.
    for (const t of trials) {
      assert.equal(t.experiment.method, t.assignments.method);
      if (t.experiment.method === 'top_k') assert.equal(t.experiment.topK, t.assignments.top_k);
      if (t.experiment.method === 'adapter') assert.equal(t.experiment.adapter.size, t.assignments['adapter.size']);
      assert.equal(t.experiment.training.seed, t.seed);
    }
    const runs = new Set(trials.map((t) => JSON.stringify([t.experiment.method, t.experiment.topK, t.experiment.adapter.size, t.seed])));
    assert.equal(runs.size, trials.length, 'no two trials run the same thing');
  });

  test('the size the editor reports (diagnostic and "Run sweep (N runs)" lens) is the number of trials', () => {
    const { v, trials } = expand(BASELINES);
    assert.equal(trials.length, 14);
    assert.deepEqual(v.sweep, { combinations: 24, configurations: 7, seeds: 2, runs: 14 });
    const size = v.findings.find((f) => f.code === 'sweep-size')!;
    assert.equal(size.message, 'The sweep expands to 14 runs (4 method × 3 top_k × 2 size = 24 combinations → 7 distinct configurations × 2 seeds)');
    const document = TextDocument.create('file:///projects/glue/baselines.adapter.yaml', 'adapter-yaml', 1, BASELINES);
    const lens = codeLenses(new DocumentStates().get(document)).find((l) => l.command?.command === 'adapterLab.runSweep');
    assert.equal(lens?.command?.title, '▶ Run sweep (14 runs)');
  });

  test('the example file: 4 methods × 2 k × 2 learning rates is 10 configurations, one seed each', () => {
    const file = path.join(REPO_ROOT, 'examples', 'baselines.adapter.yaml');
    const v = validateExperiment(fs.readFileSync(file, 'utf8'), { filePath: file });
    assert.equal(v.sweep?.runs, expandSweep(v.plain, path.dirname(file)).length);
    assert.equal(v.sweep?.runs, 10);
    assert.equal(v.findings.find((f) => f.code === 'sweep-size')?.message, 'The sweep expands to 10 runs (4 method × 2 top_k × 2 learning_rate = 16 combinations → 10 distinct configurations × 1 seed)');
  });

  test('drop.* and the frozen-prefix cache only multiply the methods that read them', () => {
    const text = BASELINES.replace(/ {4}top_k: \[1, 2, 3\]\n {4}adapter\.size: \[8, 64\]\n/, '    drop.layers: [none, 0..1]\n    training.prefix_cache.enabled: [false, true]\n').replace('top_k, layernorm', 'layernorm').replace('seeds: 2', 'seeds: 1');
    const { v, trials } = expand(text);
    assert.deepEqual(trials.map((t) => t.assignments), [
      { method: 'adapter', 'drop.layers': 'none', 'training.prefix_cache.enabled': false },
      { method: 'adapter', 'drop.layers': 'none', 'training.prefix_cache.enabled': true },
      { method: 'adapter', 'drop.layers': '0..1', 'training.prefix_cache.enabled': false },
      { method: 'adapter', 'drop.layers': '0..1', 'training.prefix_cache.enabled': true },
      // Full and layer-norm tuning train the embeddings: nothing is frozen to cache, nothing dropped.
      { method: 'full' },
      { method: 'layernorm' },
    ]);
    assert.equal(v.sweep?.runs, 6);
  });

  test('without a method axis, the file\'s method decides what applies', () => {
    const text = BASELINES.replace('method: adapter\n', 'method: full\n').replace('    method: [adapter, full, top_k, layernorm]\n', '').replace('    adapter.size: [8, 64]\n', '    training.learning_rate: [1.0e-4, 1.0e-3]\n');
    const { trials } = expand(text);
    // top_k means nothing to full fine-tuning: the learning rates × seeds remain.
    assert.deepEqual(trials.map((t) => [t.assignments, t.seed]), [
      [{ 'training.learning_rate': 1e-4 }, 42],
      [{ 'training.learning_rate': 1e-4 }, 43],
      [{ 'training.learning_rate': 1e-3 }, 42],
      [{ 'training.learning_rate': 1e-3 }, 43],
    ]);
  });

  test('which settings each method reads', () => {
    assert.deepEqual(['adapter', 'full', 'top_k', 'layernorm', 'fusion'].map((m) => ['top_k', 'adapter.size', 'drop.mode', 'fusion.config', 'training.prefix_cache.memory_mb', 'training.epochs'].filter((p) => settingAppliesTo(p, m))), [
      ['adapter.size', 'drop.mode', 'training.prefix_cache.memory_mb', 'training.epochs'],
      ['training.epochs'],
      ['top_k', 'training.prefix_cache.memory_mb', 'training.epochs'],
      ['training.epochs'],
      ['drop.mode', 'fusion.config', 'training.prefix_cache.memory_mb', 'training.epochs'],
    ]);
  });
});
