/** Document symbols over the real protocol: the outline of sections and keys. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DocumentSymbol } from 'vscode-languageserver-protocol';
import { VALID_EXPERIMENT } from '../support/fixtures';
import { fileUri, rangeOf } from '../support/lspClient';
import { useServerSuite } from '../support/serverSuite';

describe('document symbols', () => {
  const s = useServerSuite();

  test('sections with their keys, values as detail, names selected on the key', async () => {
    const uri = fileUri(s.ws.path('symbols.adapter.yaml'));
    await s.client.open(uri, VALID_EXPERIMENT);
    const symbols = await s.client.documentSymbols(uri);
    assert.deepEqual(symbols.map((s) => s.name), ['name', 'model', 'task', 'method', 'adapter', 'drop', 'training', 'sweep', 'ablation', 'runtime']);
    const adapter = symbols.find((s) => s.name === 'adapter')!;
    assert.deepEqual(adapter.children!.map((c: DocumentSymbol) => [c.name, c.detail]), [
      ['size', '64'],
      ['sites', undefined],
      ['layers', 'all'],
      ['non_linearity', 'gelu'],
      ['init_std', '1.0e-2'],
      ['train_layernorm', 'true'],
    ]);
    const key = rangeOf(VALID_EXPERIMENT, 'adapter:');
    assert.deepEqual(adapter.selectionRange, { start: key.start, end: { line: key.start.line, character: 7 } });
    assert.equal(adapter.range.end.line, key.start.line + 6);
    const grid = symbols.find((s) => s.name === 'sweep')!.children!.find((c: DocumentSymbol) => c.name === 'grid')!;
    assert.deepEqual(grid.children!.map((c: DocumentSymbol) => c.name), ['training.learning_rate', 'training.epochs', 'adapter.size']);
  });

  test('a broken document still gets the symbols that parsed', async () => {
    const uri = fileUri(s.ws.path('symbols-broken.adapter.yaml'));
    await s.client.open(uri, 'name: x\nmethod: adapter\ntraining:\n  epochs: [3,\n');
    const names = (await s.client.documentSymbols(uri)).map((s) => s.name);
    assert.ok(names.includes('name') && names.includes('method'), names.join());
  });
});
