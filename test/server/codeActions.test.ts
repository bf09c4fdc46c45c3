/** Quick fixes over the real protocol: apply the suggestion, clamp a range, round, silence a warning. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CodeAction, TextEdit } from 'vscode-languageserver-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { VALID_EXPERIMENT, variant } from '../support/fixtures';
import { fileUri } from '../support/lspClient';
import { useServerSuite } from '../support/serverSuite';

describe('code actions', () => {
  let n = 0;
  const s = useServerSuite();

  /** Opens the text, asks for fixes of the `code` diagnostic, and returns the actions and the text each one produces. */
  async function fixesFor(text: string, code: string): Promise<{ action: CodeAction; result: string }[]> {
    const uri = fileUri(s.ws.path(`actions-${n++}.adapter.yaml`));
    const p = await s.client.open(uri, text);
    const diagnostic = p.diagnostics.find((d) => d.code === code);
    assert.ok(diagnostic, `no ${code} diagnostic`);
    const actions = await s.client.codeActions(uri, diagnostic.range, [diagnostic]);
    return actions.map((action) => {
      const edits = (action.edit?.changes?.[uri] ?? []) as TextEdit[];
      return { action, result: TextDocument.applyEdits(TextDocument.create(uri, 'adapter-yaml', 1, text), edits) };
    });
  }

  test('a did-you-mean key is replaced, and the result validates', async () => {
    const fixes = await fixesFor(variant('  learning_rate: 3.0e-4', '  learning_rat: 3.0e-4'), 'unknown-key');
    const fix = fixes.find((f) => f.action.title === 'Change to "learning_rate"')!;
    assert.equal(fix.action.isPreferred, true);
    assert.equal(fix.action.diagnostics?.[0]?.code, 'unknown-key');
    assert.equal(fix.result, VALID_EXPERIMENT);
  });

  test('a layer range is clamped to the model', async () => {
    const fixes = await fixesFor(variant('  layers: all', '  layers: 0..12'), 'layer-out-of-range');
    assert.equal(fixes[0]!.action.title, 'Clamp to 0..11');
    assert.equal(fixes[0]!.result, variant('  layers: all', '  layers: 0..11'));
  });

  test('a fractional integer is rounded', async () => {
    const fixes = await fixesFor(variant('  epochs: 3\n', '  epochs: 2.6\n'), 'not-integer');
    assert.equal(fixes[0]!.result, VALID_EXPERIMENT);
  });

  test('a quoted number is unquoted', async () => {
    const fixes = await fixesFor(variant('batch_size: 32', 'batch_size: "32"'), 'wrong-type');
    assert.equal(fixes[0]!.action.title, 'Remove the quotes');
    assert.equal(fixes[0]!.result, VALID_EXPERIMENT);
  });

  test('an irrelevant top_k is removed with its line', async () => {
    const fixes = await fixesFor(variant('method: adapter\n', 'method: adapter\ntop_k: 3\n'), 'irrelevant-key');
    assert.equal(fixes.find((f) => f.action.title === 'Remove `top_k`')!.result, VALID_EXPERIMENT);
  });

  test('a metric that fits the task kind', async () => {
    const fixes = await fixesFor(variant('metric: accuracy', 'metric: pearson'), 'metric-mismatch');
    assert.deepEqual(fixes.map((f) => f.action.title), ['Change to "accuracy"', 'Change to "f1"', 'Change to "mcc"']);
    assert.equal(fixes[0]!.result, VALID_EXPERIMENT);
  });

  test('a warning can be silenced with a comment, which then silences it', async () => {
    const text = variant('  size: 64', '  size: 768');
    const fixes = await fixesFor(text, 'not-bottleneck');
    const silence = fixes.find((f) => f.action.title === 'Silence "not-bottleneck" on this line')!;
    assert.equal(silence.result, variant('  size: 64', '  # adapter-lab-disable-next-line not-bottleneck\n  size: 768'));
    const p = await s.client.open(fileUri(s.ws.path(`actions-${n++}.adapter.yaml`)), silence.result);
    assert.deepEqual(p.diagnostics.filter((d) => d.code === 'not-bottleneck'), []);
  });

  test('errors are never offered a silencing comment', async () => {
    const fixes = await fixesFor(variant('  size: 64', '  size: 0'), 'out-of-bounds');
    assert.ok(!fixes.some((f) => f.action.title.startsWith('Silence')));
  });
});
