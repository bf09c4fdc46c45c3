/**
 * Diagnostics over the real protocol: every validation rule, each with the exact range it
 * must be reported on (marked ⟦…⟧ in the source).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { describe, test } from 'node:test';
import { fileUri, messageOf, positionOf } from '../support/lspClient';
import { useServerSuite } from '../support/serverSuite';
import { BERT_BASE, marked, VALID_EXPERIMENT, variant } from '../support/fixtures';

const ERROR = 1;
const WARNING = 2;
const INFORMATION = 3;

interface Case {
  readonly name: string;
  readonly source: string;
  readonly code: string;
  readonly severity: number;
  readonly message: RegExp;
}

const v = variant;
const CASES: Case[] = [
  { name: 'YAML syntax error', source: v('  epochs: 3\n', '  epochs: 3\n⟦ ⟧optimizer: adam\n'), code: 'yaml-syntax', severity: ERROR, message: /All mapping items must start at the same column/ },
  { name: 'duplicate key', source: v('method: adapter\n', 'method: adapter\n⟦method⟧: full\n'), code: 'yaml-syntax', severity: ERROR, message: /Map keys must be unique/ },
  { name: 'unknown key with suggestion', source: v('  learning_rate: 3.0e-4', '  ⟦learning_rat⟧: 3.0e-4'), code: 'unknown-key', severity: ERROR, message: /Unknown key "learning_rat" in `training`; did you mean "learning_rate"\?/ },
  { name: 'unknown top-level key', source: v('method: adapter', '⟦metod⟧: adapter'), code: 'unknown-key', severity: ERROR, message: /did you mean "method"/ },
  { name: 'missing required top-level key', source: v('name: sst2-adapters\nmodel', '⟦model⟧'), code: 'missing-key', severity: ERROR, message: /needs `name`/ },
  { name: 'missing required nested key', source: v('task:\n  kind: classification\n', '⟦task⟧:\n'), code: 'missing-key', severity: ERROR, message: /`task` needs `kind`/ },
  { name: 'string where an integer is expected', source: v('  epochs: 3\n', '  epochs: ⟦"three"⟧\n'), code: 'wrong-type', severity: ERROR, message: /`training.epochs` must be an integer >= 1, found the string "three"/ },
  { name: 'list where a section is expected', source: v('adapter:\n  size: 64\n  sites: [attention, ffn]\n  layers: all\n  non_linearity: gelu\n  init_std: 1.0e-2\n  train_layernorm: true\n', 'adapter: ⟦[64]⟧\n'), code: 'wrong-type', severity: ERROR, message: /`adapter` must be a mapping, found a list/ },
  { name: 'string that is not a boolean', source: v('train_layernorm: true', 'train_layernorm: ⟦yes⟧'), code: 'wrong-type', severity: ERROR, message: /must be `true` or `false`/ },
  { name: 'value outside an enum', source: v('method: adapter', 'method: ⟦adaptor⟧'), code: 'not-in-enum', severity: ERROR, message: /`method` must be one of `adapter`, `full`, `top_k`, `layernorm`, `fusion`, found "adaptor"; did you mean "adapter"\?/ },
  { name: 'list item outside an enum', source: v('sites: [attention, ffn]', 'sites: [attention, ⟦fnn⟧]'), code: 'not-in-enum', severity: ERROR, message: /did you mean "ffn"/ },
  { name: 'fraction where an integer is required', source: v('  size: 64', '  size: ⟦64.5⟧'), code: 'not-integer', severity: ERROR, message: /`adapter.size` must be an integer, found 64.5/ },
  { name: 'adapter size below 1', source: v('  size: 64', '  size: ⟦0⟧'), code: 'out-of-bounds', severity: ERROR, message: /`adapter.size` must be >= 1, found 0/ },
  { name: 'warmup of 1', source: v('warmup: 0.1', 'warmup: ⟦1⟧'), code: 'out-of-bounds', severity: ERROR, message: /`training.warmup` must be in \[0, 1\), found 1/ },
  { name: 'learning rate of 0', source: v('  learning_rate: 3.0e-4', '  learning_rate: ⟦0⟧'), code: 'out-of-bounds', severity: ERROR, message: /must be > 0, found 0/ },
  { name: 'zero epochs', source: v('  epochs: 3\n', '  epochs: ⟦0⟧\n'), code: 'out-of-bounds', severity: ERROR, message: /`training.epochs` must be >= 1/ },
  { name: 'zero batch size', source: v('batch_size: 32', 'batch_size: ⟦0⟧'), code: 'out-of-bounds', severity: ERROR, message: /`training.batch_size` must be >= 1/ },
  { name: 'empty layer range', source: v('  layers: all', '  layers: ⟦5..2⟧'), code: 'bad-range', severity: ERROR, message: /Range 5..2 is empty/ },
  { name: 'malformed layer range', source: v('  layers: all', '  layers: ⟦0-4⟧'), code: 'bad-range', severity: ERROR, message: /not a range: write a..b/ },
  { name: 'top_k without method top_k', source: v('method: adapter\n', 'method: adapter\n⟦top_k⟧: 3\n'), code: 'irrelevant-key', severity: WARNING, message: /`top_k` has no effect unless `method: top_k`/ },
  { name: 'adapter settings with method full', source: v('method: adapter\nadapter:', 'method: full\n⟦adapter⟧:'), code: 'irrelevant-key', severity: WARNING, message: /`adapter` settings are ignored with `method: full`/ },
  { name: 'prefix cache with full fine-tuning', source: v('  seed: 42\n', '  seed: 42\n  ⟦prefix_cache⟧:\n    enabled: true\n').replace('method: adapter\n', 'method: full\n'), code: 'irrelevant-key', severity: WARNING, message: /`training.prefix_cache` has no effect with `method: full`/ },
  { name: 'metric that does not fit the task', source: v('metric: accuracy', 'metric: ⟦pearson⟧'), code: 'metric-mismatch', severity: ERROR, message: /"pearson" does not fit a classification task/ },
  { name: 'method top_k without top_k', source: v('method: adapter\nadapter:\n  size: 64\n  sites: [attention, ffn]\n  layers: all\n  non_linearity: gelu\n  init_std: 1.0e-2\n  train_layernorm: true\ndrop:\n  layers: 0..4\n  mode: static\n', 'method: ⟦top_k⟧\n'), code: 'requires-key', severity: ERROR, message: /`method: top_k` needs `top_k`/ },
  { name: 'sweep without validation data', source: v('  validation: ./data/dev.tsv\n', '').replace('sweep:', '⟦sweep⟧:'), code: 'requires-key', severity: ERROR, message: /`sweep` evaluates on validation data: add `task.validation`/ },
  { name: 'binary F1 on a three-class task', source: v('train: ./data/train.tsv', 'train: ./data/pairs.tsv').replace('validation: ./data/dev.tsv', 'validation: ./data/pairs.tsv').replace('text: sentence', 'text: [sentence1, sentence2]').replace('metric: accuracy', 'metric: ⟦f1⟧'), code: 'metric-mismatch', severity: ERROR, message: /Metric "f1" is the binary F1 of class 1, but the training file has 3 classes/ },
  { name: 'classification without a label column', source: v('task:\n  kind: classification', '⟦task⟧:\n  kind: classification').replace('  label: label\n', ''), code: 'requires-key', severity: ERROR, message: /needs `task.label`/ },
  { name: 'adapter size at the hidden size', source: v('  size: 64', '  size: ⟦768⟧'), code: 'not-bottleneck', severity: WARNING, message: /Adapter size 768 is not a bottleneck: the model's hidden size is 768/ },
  { name: 'layer range past the last layer', source: v('  layers: all', '  layers: ⟦0..12⟧'), code: 'layer-out-of-range', severity: ERROR, message: /Range 0..12 is outside the model's layers 0..11/ },
  { name: 'layer index past the last layer', source: v('  layers: all', '  layers: [0, 3, ⟦12⟧]'), code: 'layer-out-of-range', severity: ERROR, message: /Layer 12 is outside the model's layers 0..11/ },
  { name: 'top_k larger than the model', source: v('method: adapter\n', 'method: top_k\ntop_k: ⟦13⟧\n'), code: 'top-k-too-large', severity: ERROR, message: /top_k is 13 but the model has 12 layers/ },
  { name: 'max_length past the position embeddings', source: v('max_length: 128', 'max_length: ⟦1024⟧'), code: 'max-length-too-large', severity: ERROR, message: /exceeds the model's 512 position embeddings/ },
  { name: 'drop range that leaves no adapter', source: v('  layers: all', '  layers: 0..4').replace('  layers: 0..4\n  mode', '  layers: ⟦0..4⟧\n  mode'), code: 'no-trainable-adapter', severity: ERROR, message: /leaves no adapter to train/ },
  { name: 'drop range not at the bottom', source: v('  layers: 0..4\n  mode', '  layers: ⟦3..5⟧\n  mode'), code: 'drop-not-lowest', severity: WARNING, message: /not the lowest layers: backpropagation still reaches the adapter in layer 0/ },
  { name: 'missing data file', source: v('train: ./data/train.tsv', 'train: ⟦./data/missing.tsv⟧'), code: 'missing-file', severity: ERROR, message: /Data file not found/ },
  { name: 'missing model folder', source: v('model: ./models/bert', 'model: ⟦./models/none⟧'), code: 'missing-file', severity: ERROR, message: /Model folder not found/ },
  { name: 'model folder without config.json', source: v('model: ./models/bert', 'model: ⟦./models/empty⟧'), code: 'bad-model', severity: ERROR, message: /No config.json in the model folder/ },
  { name: 'model config.json that is not JSON', source: v('model: ./models/bert', 'model: ⟦./models/broken⟧'), code: 'bad-model', severity: ERROR, message: /config.json is not valid JSON/ },
  { name: 'model that is not BERT', source: v('model: ./models/bert', 'model: ⟦./models/roberta⟧'), code: 'bad-model', severity: ERROR, message: /model_type is "roberta"/ },
  { name: 'model with an approximate GELU', source: v('model: ./models/bert', 'model: ⟦./models/gelu-new⟧'), code: 'bad-model', severity: ERROR, message: /hidden_act is "gelu_new"; Adapter Lab runs BERT's exact GELU/ },
  { name: 'unknown built-in model', source: v('model: ./models/bert', 'model: ⟦builtin:huge-bert⟧'), code: 'bad-model', severity: ERROR, message: /Unknown built-in model "huge-bert"; built-in models are builtin:english-bert, builtin:english-bert-random, builtin:tiny-bert/ },
  { name: 'unsupported data format', source: v('train: ./data/train.tsv', 'train: ⟦./data/notes.txt⟧'), code: 'bad-data', severity: ERROR, message: /Unsupported data format ".txt"/ },
  { name: 'span task with a TSV file', source: v('kind: classification', 'kind: span').replace('train: ./data/train.tsv', 'train: ⟦./data/train.tsv⟧').replace('metric: accuracy', 'metric: span_f1'), code: 'bad-data', severity: ERROR, message: /A span task reads SQuAD v1.1 .json files/ },
  { name: 'text column not in the header', source: v('text: sentence', 'text: ⟦sentense⟧'), code: 'unknown-column', severity: ERROR, message: /Column "sentense" is not in the train file; its columns are "sentence", "label"; did you mean "sentence"\?/ },
  { name: 'label column not in the header', source: v('label: label', 'label: ⟦labels⟧'), code: 'unknown-column', severity: ERROR, message: /Column "labels"/ },
  { name: 'second column of a pair not in the header', source: v('train: ./data/train.tsv', 'train: ./data/pairs.tsv').replace('validation: ./data/dev.tsv', 'validation: ./data/pairs.tsv').replace('text: sentence', 'text: [sentence1, ⟦sentence3⟧]'), code: 'unknown-column', severity: ERROR, message: /Column "sentence3"/ },
  { name: 'unknown grid path', source: v('    adapter.size: [8, 64, 256]', '    ⟦adapter.sizes⟧: [8, 64, 256]'), code: 'unknown-grid-path', severity: ERROR, message: /"adapter.sizes" is not a setting that can be swept; did you mean "adapter.size"\?/ },
  { name: 'empty grid axis', source: v('adapter.size: [8, 64, 256]', 'adapter.size: ⟦[]⟧'), code: 'empty-grid-axis', severity: ERROR, message: /Grid axis "adapter.size" has no values/ },
  { name: 'duplicate grid value', source: v('adapter.size: [8, 64, 256]', 'adapter.size: [8, 64, ⟦8⟧]'), code: 'duplicate-value', severity: WARNING, message: /Grid axis "adapter.size" lists 8 more than once/ },
  { name: 'grid value out of bounds at its own position', source: v('training.learning_rate: [3.0e-5, 3.0e-4, 3.0e-3]', 'training.learning_rate: [3.0e-5, ⟦-1⟧, 3.0e-3]'), code: 'out-of-bounds', severity: ERROR, message: /`training.learning_rate` must be > 0, found -1/ },
  { name: 'grid value of the wrong type', source: v('training.epochs: [3, 20]', 'training.epochs: [3, ⟦2.5⟧]'), code: 'not-integer', severity: ERROR, message: /must be an integer, found 2.5/ },
  { name: 'grid value checked against the model', source: v('adapter.size: [8, 64, 256]', 'adapter.size: [8, 64, ⟦1024⟧]'), code: 'not-bottleneck', severity: WARNING, message: /Adapter size 1024 is not a bottleneck/ },
  { name: 'grid enum value', source: v('    adapter.size: [8, 64, 256]', '    method: [adapter, ⟦ful⟧]'), code: 'not-in-enum', severity: ERROR, message: /did you mean "full"/ },
  { name: 'sweep size', source: v('sweep:', '⟦sweep⟧:'), code: 'sweep-size', severity: INFORMATION, message: /The sweep expands to 90 runs \(3 learning_rate × 2 epochs × 3 size = 18 configurations × 5 seeds\)/ },
  { name: 'suppression naming an error', source: v('method: adapter\n', 'method: adapter\n⟦# adapter-lab-disable-next-line missing-file⟧\n'), code: 'bad-suppression', severity: WARNING, message: /"missing-file" is an error and cannot be silenced/ },
  { name: 'suppression naming no finding', source: v('method: adapter\n', 'method: adapter\n⟦# adapter-lab-disable-next-line⟧\n'), code: 'bad-suppression', severity: WARNING, message: /Name the finding to silence/ },
  { name: 'seed count of zero', source: v('seeds: 5', 'seeds: ⟦0⟧'), code: 'out-of-bounds', severity: ERROR, message: /a seed count must be >= 1/ },
  { name: 'ablation span past the last layer', source: v('spans: contiguous', 'spans: [0..4, ⟦10..14⟧]'), code: 'layer-out-of-range', severity: ERROR, message: /Range 10..14 is outside the model's layers 0..11/ },
  // A Slurm sweep: sweep.slurm's values, its sbatch options, and the threads each trial runs against the CPUs it gets.
  { name: 'executor with a typo', source: v('  select: validation\n', '  select: validation\n  executor: ⟦slrum⟧\n'), code: 'not-in-enum', severity: ERROR, message: /`sweep.executor` must be one of `local`, `slurm`, found "slrum"; did you mean "slurm"\?/ },
  { name: 'Slurm time limit in a format Slurm does not read', source: v('  select: validation\n', '  select: validation\n  executor: slurm\n  slurm:\n    time: ⟦1h⟧\n'), code: 'bad-format', severity: ERROR, message: /`sweep.slurm.time` must be a Slurm time limit: minutes, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS` or `UNLIMITED`, found "1h"/ },
  { name: 'Slurm time limit with 60 minutes', source: v('  select: validation\n', '  select: validation\n  slurm:\n    time: ⟦"1:60:00"⟧\n'), code: 'bad-format', severity: ERROR, message: /found "1:60:00"/ },
  { name: 'Slurm memory with an unknown unit', source: v('  select: validation\n', '  select: validation\n  slurm:\n    memory: ⟦4GB⟧\n'), code: 'bad-format', severity: ERROR, message: /`sweep.slurm.memory` must be a memory size/ },
  { name: 'Slurm GPUs that are not a count', source: v('  select: validation\n', '  select: validation\n  slurm:\n    gpus: ⟦a100⟧\n'), code: 'bad-format', severity: ERROR, message: /`sweep.slurm.gpus` must be a number of GPUs, or `type:count`/ },
  { name: 'zero CPUs per task', source: v('  select: validation\n', '  select: validation\n  slurm:\n    cpus_per_task: ⟦0⟧\n'), code: 'out-of-bounds', severity: ERROR, message: /`sweep.slurm.cpus_per_task` must be >= 1, found 0/ },
  { name: 'zero trials at once', source: v('  select: validation\n', '  select: validation\n  slurm:\n    max_parallel: ⟦0⟧\n'), code: 'out-of-bounds', severity: ERROR, message: /`sweep.slurm.max_parallel` must be >= 1, found 0/ },
  { name: 'more threads than CPUs per task', source: v('  select: validation\n', '  select: validation\n  executor: slurm\n  slurm:\n    cpus_per_task: ⟦1⟧\n'), code: 'threads-exceed-cpus', severity: WARNING, message: /Each trial runs 2 threads \(`runtime.threads`\) on 1 CPU: .*set cpus_per_task to 2/ },
  { name: 'an sbatch option without its dashes', source: v('  select: validation\n', '  select: validation\n  slurm:\n    options: [--exclusive, ⟦constraint=v100⟧]\n'), code: 'bad-format', severity: ERROR, message: /"constraint=v100" is not an sbatch option: write it as on the command line, such as `--constraint=v100`/ },
  { name: 'an sbatch option Adapter Lab sets', source: v('  select: validation\n', '  select: validation\n  slurm:\n    options: [⟦--array=0-9⟧]\n'), code: 'bad-format', severity: ERROR, message: /`--array` is set by Adapter Lab/ },
  { name: 'GPUs for trials that run on the CPU', source: v('  device: auto', '  device: cpu').replace('  select: validation\n', '  select: validation\n  slurm:\n    gpus: ⟦1⟧\n'), code: 'irrelevant-key', severity: WARNING, message: /`sweep.slurm.gpus` asks for GPUs the trials do not use: `runtime.device` is cpu/ },
];

describe('diagnostics', () => {
  const s = useServerSuite((w) => {
    w.write('models/empty/.keep', '');
    w.write('models/broken/config.json', '{ "hidden_size": 768,');
    w.model('models/roberta', { ...BERT_BASE, model_type: 'roberta' });
    w.model('models/gelu-new', { ...BERT_BASE, hidden_act: 'gelu_new' });
    w.write('data/notes.txt', 'sentence\tlabel\n');
  });

  test('the reference experiment has no errors or warnings, only the sweep size', async () => {
    const p = await s.client.open(fileUri(s.ws.path('valid.adapter.yaml')), VALID_EXPERIMENT);
    assert.deepEqual(
      p.diagnostics.map((d) => [d.code, d.severity]),
      [['sweep-size', INFORMATION]],
    );
  });

  CASES.forEach((c, i) => {
    test(`${c.code}: ${c.name}`, async () => {
      const { text, range } = marked(c.source);
      const p = await s.client.open(fileUri(s.ws.path(`case-${i}.adapter.yaml`)), text);
      const matching = p.diagnostics.filter((d) => d.code === c.code);
      assert.ok(matching.length > 0, `no ${c.code} among ${JSON.stringify(p.diagnostics.map((d) => [d.code, d.message]))}`);
      const hit = matching.find((d) => JSON.stringify(d.range) === JSON.stringify(range));
      assert.ok(hit, `${c.code} at ${JSON.stringify(matching.map((d) => d.range))}, expected ${JSON.stringify(range)}`);
      assert.equal(hit.severity, c.severity);
      assert.match(messageOf(hit), c.message);
      assert.equal(hit.source, 'adapter-lab');
    });
  });

  test('a suppression comment silences the named warning on the next line only', async () => {
    const text = variant('  size: 64', '  # adapter-lab-disable-next-line not-bottleneck\n  size: 768').replace('adapter.size: [8, 64, 256]', 'adapter.size: [8, 64, 1024]');
    const p = await s.client.open(fileUri(s.ws.path('suppressed.adapter.yaml')), text);
    const codes = p.diagnostics.map((d) => `${d.code}@${d.range.start.line}`);
    const sizeLine = positionOf(text, 'size: 768').line;
    const gridLine = positionOf(text, 'adapter.size: [8, 64, 1024]').line;
    assert.ok(!codes.includes(`not-bottleneck@${sizeLine}`), codes.join(', '));
    assert.ok(codes.includes(`not-bottleneck@${gridLine}`), 'the grid value on another line is still reported: ' + codes.join(', '));
  });

  test('values merged from an anchor are reported where the anchor defines them', async () => {
    const { text, range } = marked(`x-protocol: &protocol
  learning_rate: ⟦-3.0e-4⟧
  epochs: 3
${VALID_EXPERIMENT.replace('training:\n  learning_rate: 3.0e-4\n  epochs: 3\n', 'training:\n  <<: *protocol\n')}`);
    const p = await s.client.open(fileUri(s.ws.path('anchors.adapter.yaml')), text);
    const bad = p.diagnostics.filter((d) => d.code === 'out-of-bounds');
    assert.deepEqual(bad.map((d) => d.range), [range]);
    assert.match(messageOf(bad[0]!), /`training.learning_rate` must be > 0/);
  });

  test('explicit keys override merged ones', async () => {
    const text = `x-protocol: &protocol
  learning_rate: -1
${VALID_EXPERIMENT.replace('training:\n  learning_rate: 3.0e-4\n', 'training:\n  <<: *protocol\n  learning_rate: 3.0e-4\n')}`;
    const p = await s.client.open(fileUri(s.ws.path('override.adapter.yaml')), text);
    assert.deepEqual(p.diagnostics.filter((d) => d.severity === ERROR), []);
  });

  test('a change to the model config.json is picked up when the file watcher reports it', async () => {
    const folder = s.ws.model('models/changing');
    const uri = fileUri(s.ws.path('watch.adapter.yaml'));
    const text = variant('model: ./models/bert', 'model: ./models/changing');
    const first = await s.client.open(uri, text);
    assert.deepEqual(first.diagnostics.filter((d) => d.code === 'layer-out-of-range'), []);
    fs.writeFileSync(`${folder}/config.json`, JSON.stringify({ ...BERT_BASE, num_hidden_layers: 4 }));
    const next = s.client.nextDiagnostics(uri);
    await s.client.filesChanged([fileUri(`${folder}/config.json`)]);
    const second = await next;
    const out = second.diagnostics.filter((d) => d.code === 'layer-out-of-range' || d.code === 'no-trainable-adapter');
    assert.ok(out.some((d) => /outside the model's layers 0..3/.test(messageOf(d))), JSON.stringify(out.map(messageOf)));
  });

  test('an unsaved document is validated without touching the disk', async () => {
    const p = await s.client.open('untitled:Untitled-1', variant('  size: 64', '  size: 0'));
    assert.deepEqual(p.diagnostics.filter((d) => d.severity === ERROR).map((d) => d.code), ['out-of-bounds']);
  });
});
