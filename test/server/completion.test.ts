/** Completion over the real protocol: keys, enum values, paths, columns, grid paths, layer ranges. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CompletionItem, TextEdit } from 'vscode-languageserver-protocol';
import { BERT_BASE, VALID_EXPERIMENT } from '../support/fixtures';
import { fileUri } from '../support/lspClient';
import { useServerSuite } from '../support/serverSuite';

const labels = (items: CompletionItem[]) => items.map((i) => i.label);

describe('completion', () => {
  let n = 0;
  const s = useServerSuite((w) => {
    w.model('models/six', { ...BERT_BASE, num_hidden_layers: 6 });
  });

  /** Opens `text` (cursor marked with |) and asks for completion there. */
  async function complete(withCursor: string): Promise<{ items: CompletionItem[]; text: string }> {
    const offset = withCursor.indexOf('|');
    const text = withCursor.slice(0, offset) + withCursor.slice(offset + 1);
    const uri = fileUri(s.ws.path(`completion-${n++}.adapter.yaml`));
    await s.client.open(uri, text);
    const before = text.slice(0, offset);
    const position = { line: before.split('\n').length - 1, character: offset - (before.lastIndexOf('\n') + 1) };
    return { items: await s.client.completion(uri, position), text };
  }

  test('keys valid in a section, without the ones already there', async () => {
    const { items } = await complete(VALID_EXPERIMENT.replace('  size: 64\n', '  size: 64\n  |\n').replace('  non_linearity: gelu\n', ''));
    assert.deepEqual(labels(items).sort(), ['depth', 'inner_norm', 'input', 'non_linearity', 'placement', 'preset', 'scaling', 'share']);
  });

  test('top-level keys, required ones first, with snippets that open sections', async () => {
    const { items } = await complete('|\n');
    const names = labels(items);
    assert.deepEqual(names.slice(0, 3).sort(), ['model', 'name', 'task'].sort());
    for (const key of ['method', 'adapter', 'drop', 'training', 'sweep', 'ablation', 'runtime', 'top_k']) assert.ok(names.includes(key), key);
    const adapter = items.find((i) => i.label === 'adapter')!;
    assert.equal((adapter.textEdit as TextEdit).newText, 'adapter:\n  $0');
    const method = items.find((i) => i.label === 'method')!;
    assert.equal((method.textEdit as TextEdit).newText, 'method: $0');
  });

  test('a partly typed key is replaced as a whole', async () => {
    const { items } = await complete('name: x\ntraining:\n  learn|\n');
    const lr = items.find((i) => i.label === 'learning_rate')!;
    assert.deepEqual((lr.textEdit as TextEdit).range, { start: { line: 2, character: 2 }, end: { line: 2, character: 7 } });
  });

  test('enum values after a key', async () => {
    const { items } = await complete('name: x\nmethod: |\n');
    assert.deepEqual(labels(items), ['adapter', 'full', 'top_k', 'layernorm', 'fusion']);
    assert.match(String(items[0]!.documentation), /Bottleneck adapters/);
  });

  test('enum values inside a flow list', async () => {
    const { items } = await complete('name: x\nadapter:\n  sites: [attention, |]\n');
    assert.deepEqual(labels(items), ['attention', 'ffn']);
  });

  test('enum values in a block list item', async () => {
    const { items } = await complete('name: x\nadapter:\n  sites:\n    - attention\n    - |\n');
    assert.deepEqual(labels(items), ['attention', 'ffn']);
  });

  test('data file paths relative to the experiment file', async () => {
    const { items } = await complete('name: x\ntask:\n  train: ./data/|\n');
    assert.deepEqual(labels(items).sort(), ['./data/dev.tsv', './data/pairs.tsv', './data/squad.json', './data/train.tsv']);
    const edit = items[0]!.textEdit as TextEdit;
    assert.deepEqual(edit.range.start, { line: 2, character: 9 });
  });

  test('model folders and built-in models', async () => {
    const { items } = await complete('name: x\nmodel: |\n');
    const names = labels(items);
    assert.ok(names.includes('builtin:tiny-bert') && names.includes('builtin:mini-bert'), names.join());
    assert.ok(names.includes('./models/'), names.join());
    assert.ok(!names.some((n) => n.endsWith('.adapter.yaml')), 'experiment files are not model folders');
  });

  test('columns from the training file header', async () => {
    const text = VALID_EXPERIMENT.replace('  text: sentence\n', '  text: |\n');
    const { items } = await complete(text);
    assert.deepEqual(labels(items), ['sentence', 'label']);
  });

  test('grid paths under sweep.grid', async () => {
    const { items } = await complete(VALID_EXPERIMENT.replace('    adapter.size: [8, 64, 256]\n', '    |\n'));
    const names = labels(items);
    assert.ok(names.includes('adapter.size') && names.includes('method') && names.includes('drop.layers'), names.join());
    assert.ok(!names.includes('training.learning_rate'), 'an axis already present is not offered again');
    assert.ok(!names.some((n) => n.startsWith('sweep.') || n === 'name'));
    assert.equal((items.find((i) => i.label === 'adapter.size')!.textEdit as TextEdit).newText, 'adapter.size: [$0]');
  });

  test('values of a grid axis are those of the setting it sweeps', async () => {
    const { items } = await complete(VALID_EXPERIMENT.replace('adapter.size: [8, 64, 256]', 'adapter.non_linearity: [gelu, |]'));
    assert.deepEqual(labels(items), ['gelu', 'relu', 'swish', 'tanh']);
  });

  test('layer ranges sized to the model', async () => {
    const text = VALID_EXPERIMENT.replace('model: ./models/bert', 'model: ./models/six').replace('  layers: all\n', '  layers: |\n');
    const { items } = await complete(text);
    assert.deepEqual(labels(items), ['all', '0..5', '3..5']);
    const drop = await complete(VALID_EXPERIMENT.replace('model: ./models/bert', 'model: ./models/six').replace('  layers: 0..4\n', '  layers: |\n'));
    assert.deepEqual(labels(drop.items), ['none', '0..5', '0..4', '0..2']);
  });

  test("the papers' values for swept numbers", async () => {
    const { items } = await complete('name: x\ntraining:\n  learning_rate: |\n');
    assert.deepEqual(labels(items).slice(0, 3), ['3.0e-5', '3.0e-4', '3.0e-3']);
  });

  test('nothing inside comments, and nothing for unknown sections', async () => {
    assert.deepEqual((await complete('name: x # a comm|ent\n')).items, []);
    assert.deepEqual((await complete('name: x\nunknown:\n  |\n')).items, []);
  });

  test('completion works in a document that does not parse', async () => {
    const { items, text } = await complete('name: [x\nmethod: |\ntask: {');
    assert.ok(text.length > 0);
    assert.deepEqual(labels(items), ['adapter', 'full', 'top_k', 'layernorm', 'fusion']);
  });

  test('positions are computed on the document the server holds after an edit', async () => {
    const uri = fileUri(s.ws.path('edited.adapter.yaml'));
    await s.client.open(uri, 'name: x\n');
    await s.client.change(uri, [{ range: { start: { line: 1, character: 0 }, end: { line: 1, character: 0 } }, text: 'runtime:\n  device: ' }]);
    const items = await s.client.completion(uri, { line: 2, character: 10 });
    assert.deepEqual(labels(items), ['auto', 'cpu', 'webgpu', 'cuda']);
  });

  test('fusion.adapters: the experiments with a completed run in the runs folder', async () => {
    const run = (folder: string, status: string) => {
      s.ws.write(`.adapter-lab/runs/${folder}/status.json`, JSON.stringify({ status }));
      s.ws.write(`.adapter-lab/runs/${folder}/adapter/adapter_config.json`, '{}');
    };
    run('rte-20260101-100000', 'completed');
    run('rte-20260102-100000', 'completed');
    run('mnli-20260101-100000', 'failed');
    run('sst-20260101-100000', 'completed');
    const { items } = await complete('name: f\nmodel: builtin:tiny-bert\nmethod: fusion\nfusion:\n  adapters:\n    - |\n');
    assert.deepEqual(labels(items), ['rte', 'sst']);
  });
});
