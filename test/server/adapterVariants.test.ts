/** The adapter variants in the editor, over the real protocol: validation, hover with the papers' context, completion and parameter counts. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CompletionItem, Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { variant, VALID_EXPERIMENT } from '../support/fixtures';
import { fileUri, positionOf } from '../support/lspClient';
import { useServerSuite } from '../support/serverSuite';

const markdown = (h: Hover | null): string => (h ? (h.contents as MarkupContent).value : '');
const messageOf = (m: string | MarkupContent): string => (typeof m === 'string' ? m : m.value);
const labels = (items: CompletionItem[]) => items.map((i) => i.label);

/** VALID_EXPERIMENT with these adapter settings in place of `size: 64`. */
const withAdapter = (lines: string): string => variant('  size: 64\n', lines.replace(/^/gm, '  ') + '\n');

describe('adapter variants in the editor', () => {
  const s = useServerSuite();
  let n = 0;
  const open = async (text: string) => {
    const uri = fileUri(s.ws.path(`variants-${n++}.adapter.yaml`));
    const diagnostics = (await s.client.open(uri, text)).diagnostics;
    return { uri, diagnostics, text };
  };

  test('valid variants validate; wrong values are named with their choices', async () => {
    const ok = await open(withAdapter('preset: parallel\nscaling: learned\ninner_norm: layernorm\ndepth: 2\nshare: all_layers'));
    assert.deepEqual(ok.diagnostics.filter((d) => d.severity === 1), []);
    const bad = await open(withAdapter('placement: paralel\nscaling: learnt\ndepth: 0\npreset: adapterhub'));
    const messages = bad.diagnostics.map((d) => messageOf(d.message));
    assert.ok(messages.some((m) => /`adapter.placement` must be one of `serial`, `parallel`, found "paralel"; did you mean "parallel"\?/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /`adapter.scaling` must be a number > 0 or `learned`, found "learnt"; did you mean "learned"\?/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /`adapter.depth` must be >= 1, found 0/.test(m)), messages.join('\n'));
    assert.ok(messages.some((m) => /`adapter.preset` must be one of `houlsby`, `pfeiffer`, `parallel`/.test(m)), messages.join('\n'));
    const irrelevant = await open(withAdapter('size: 64\nplacement: parallel\ninput: normalized'));
    assert.ok(irrelevant.diagnostics.some((d) => d.code === 'irrelevant-key' && /`adapter.input` has no effect with `placement: parallel`/.test(messageOf(d.message))));
  });

  test('hover: a preset field by field, the variants with the papers, counts with the variant\'s shape', async () => {
    const { uri, text } = await open(withAdapter('preset: pfeiffer\ndepth: 2\nshare: all_layers'));
    const preset = markdown(await s.client.hover(uri, positionOf(text, 'preset: pfeiffer', 10)));
    assert.match(preset, /`pfeiffer`: AdapterHub's `seq_bn` \(SeqBnConfig\): sites: \[ffn\], placement: serial, input: normalized, non_linearity: relu, size: hidden \/\/ 16, scaling: 1\.0/);
    assert.match(preset, /LN\(f\(LN\(h \+ x\)\) \+ h \+ x\)/);
    const share = markdown(await s.client.hover(uri, positionOf(text, 'share: all_layers', 2)));
    assert.match(share, /AdapterDrop \(Rücklé et al\., 2021\), appendix/);
    // m = 768 // 16 = 48; one more 48×48 layer; shared: one adapter per site (the file's sites win over the preset's), counted once.
    const per = 2 * 48 * 768 + 768 + 48 + (48 * 48 + 48);
    assert.match(share, new RegExp(`Parameters per adapter: .* = \\*\\*${per.toLocaleString('en-US')}\\*\\* .*\\(m = 768 // 16, the preset's reduction factor\\)`));
    assert.match(share, new RegExp(`All adapters: 2 × ${per.toLocaleString('en-US')} = ${(2 * per).toLocaleString('en-US')} .*\\(shared across layers: counted once per site\\)`));
    const placement = markdown(await s.client.hover(uri, positionOf(text, 'preset', 1)));
    assert.match(placement, /He et al\. \(2022\)/);
  });

  test('completion: the new keys, presets, and `learned` beside numbers for scaling', async () => {
    const at = async (withCursor: string) => {
      const offset = withCursor.indexOf('|');
      const text = withCursor.slice(0, offset) + withCursor.slice(offset + 1);
      const { uri } = await open(text);
      const before = text.slice(0, offset);
      return s.client.completion(uri, { line: before.split('\n').length - 1, character: offset - (before.lastIndexOf('\n') + 1) });
    };
    const scaling = await at(withAdapter('scaling: |'));
    assert.ok(labels(scaling).includes('learned') && labels(scaling).includes('4.0'), labels(scaling).join());
    const preset = await at(withAdapter('preset: |'));
    assert.deepEqual(labels(preset).sort(), ['houlsby', 'parallel', 'pfeiffer']);
    assert.match(String(preset.find((i) => i.label === 'parallel')!.documentation), /par_bn/);
  });

  test('inlay hints: the preset\'s size and the shared count', async () => {
    const text = VALID_EXPERIMENT.replace('  size: 64\n', '  preset: parallel\n  share: all_layers\n');
    const { uri } = await open(text);
    const hints = await s.client.inlayHints(uri, { start: { line: 0, character: 0 }, end: { line: 100, character: 0 } });
    // par_bn on BERT-base: m = 768 // 2 = 384; the file's two sites, one adapter each for every layer.
    const per = 2 * 384 * 768 + 768 + 384;
    assert.deepEqual(hints.map((h) => h.label), [`m = 384: ${(per / 1e3).toFixed(1)}k params/adapter × 2 (shared) = ${((2 * per) / 1e6).toFixed(2)}M`]);
  });
});
