/** The resolved experiment and sweep expansion: what the engine will run. */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { expandSweep, formatLayers, layersOf, validateExperiment } from '../../engine/config';
import { VALID_EXPERIMENT } from '../support/fixtures';

const FILE = path.resolve('/projects/glue/sst2.adapter.yaml');

describe('resolved experiment', () => {
  test('defaults fill what the file leaves out, and paths resolve against the file', () => {
    const v = validateExperiment('name: minimal\nmodel: ./bert\ntask:\n  kind: regression\n  train: data/train.tsv\n  text: s\n  label: y\n', { filePath: FILE });
    const e = v.experiment!;
    assert.equal(e.model, path.resolve('/projects/glue/bert'));
    assert.equal(e.task.train, path.resolve('/projects/glue/data/train.tsv'));
    assert.equal(e.task.metric, 'pearson', 'the first metric that fits the task kind');
    assert.equal(e.task.maxLength, 128);
    assert.equal(e.method, 'adapter');
    assert.deepEqual(e.adapter.sites, ['attention', 'ffn']);
    assert.deepEqual(e.adapter.layers, { kind: 'all' });
    assert.deepEqual(e.drop.layers, { kind: 'none' });
    assert.deepEqual(
      [e.adapter.size, e.adapter.initStd, e.adapter.nonLinearity, e.training.learningRate, e.training.epochs, e.training.batchSize, e.training.warmup, e.training.optimizer, e.training.seed],
      [64, 0.01, 'gelu', 3e-4, 3, 32, 0.1, 'adamw', 42],
    );
    assert.equal(e.sweep, undefined);
    assert.equal(e.runtime.device, 'auto');
  });

  test('a sweep expands grid × seeds, last axis fastest, seeds innermost', () => {
    const v = validateExperiment(VALID_EXPERIMENT, { filePath: FILE });
    const trials = expandSweep(v.plain, path.dirname(FILE));
    assert.equal(trials.length, 90);
    assert.deepEqual(trials.slice(0, 6).map((t) => [t.assignments['adapter.size'], t.seed]), [[8, 42], [8, 43], [8, 44], [8, 45], [8, 46], [64, 42]]);
    const last = trials[89]!;
    assert.deepEqual(last.assignments, { 'training.learning_rate': 3e-3, 'training.epochs': 20, 'adapter.size': 256 });
    assert.equal(last.experiment.training.learningRate, 3e-3);
    assert.equal(last.experiment.training.epochs, 20);
    assert.equal(last.experiment.adapter.size, 256);
    assert.equal(last.experiment.training.seed, 46);
    assert.equal(last.experiment.sweep, undefined, 'a trial is a single run');
    assert.deepEqual(new Set(trials.map((t) => t.index)).size, 90);
  });

  test('explicit seed lists, duplicate grid values run once, and method as a grid axis', () => {
    const text = VALID_EXPERIMENT.replace('  seeds: 5', '  seeds: [1, 7]').replace('    adapter.size: [8, 64, 256]', '    adapter.size: [8, 8]\n    method: [adapter, layernorm]');
    const v = validateExperiment(text, { filePath: FILE });
    const trials = expandSweep(v.plain, path.dirname(FILE));
    assert.equal(trials.length, 3 * 2 * 1 * 2 * 2);
    assert.deepEqual([...new Set(trials.map((t) => t.seed))], [1, 7]);
    assert.deepEqual([...new Set(trials.map((t) => t.experiment.method))], ['adapter', 'layernorm']);
    assert.equal(v.sweep!.runs, 24);
  });

  test('a grid over layer selections resolves each value', () => {
    const text = VALID_EXPERIMENT.replace('    adapter.size: [8, 64, 256]', '    drop.layers: [none, 0..2, [0, 1, 5..6]]');
    const v = validateExperiment(text, { filePath: FILE });
    const drops = expandSweep(v.plain, path.dirname(FILE)).filter((t) => t.seed === 42 && t.assignments['training.epochs'] === 3 && t.assignments['training.learning_rate'] === 3e-5);
    assert.deepEqual(drops.map((t) => formatLayers(layersOf(t.experiment.drop.layers, 12))), ['', '0..2', '0..1, 5..6']);
  });

  test('layer selections are clipped to the model and formatted compactly', () => {
    assert.deepEqual(layersOf({ kind: 'all' }, 4), [0, 1, 2, 3]);
    assert.deepEqual(formatLayers([0, 1, 2, 3, 7, 9, 10, 11]), '0..3, 7, 9..11');
  });
});
