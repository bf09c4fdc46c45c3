/** Code lenses and inlay hints over the real protocol: actions with the client's command ids, and parameter counts. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countParameters } from '../../engine/model/parameters';
import { BUILTIN_MODELS } from '../../engine/model/dims';
import { VALID_EXPERIMENT, variant } from '../support/fixtures';
import { fileUri, positionOf, rangeOf } from '../support/lspClient';
import { useServerSuite } from '../support/serverSuite';

describe('code lenses and inlay hints', () => {
  const s = useServerSuite();

  test('Train, Run sweep (N runs) and Run ablation carry the extension command ids and the document', async () => {
    const uri = fileUri(s.ws.path('lens.adapter.yaml'));
    await s.client.open(uri, VALID_EXPERIMENT);
    const lenses = await s.client.codeLenses(uri);
    const actions = lenses.filter((l) => l.command?.command);
    assert.deepEqual(
      actions.map((l) => [l.command!.title, l.command!.command, l.range.start.line, l.command!.arguments]),
      [
        ['▶ Train', 'adapterLab.train', 0, [uri]],
        ['▶ Run sweep (90 runs)', 'adapterLab.runSweep', positionOf(VALID_EXPERIMENT, 'sweep:').line, [uri]],
        ['▶ Run ablation', 'adapterLab.runAblation', positionOf(VALID_EXPERIMENT, 'ablation:').line, [uri]],
      ],
    );
  });

  test('a fusion: Train Fusion on its block, and the fusion layers beside the frozen adapters in the count', async () => {
    const hub = (name: string) =>
      s.ws.write(`hub/${name}/adapter_config.json`, JSON.stringify({ config: { mh_adapter: true, output_adapter: true, reduction_factor: 4, non_linearity: 'gelu', leave_out: [] }, hidden_size: 64, name, adapter_lab: { method: 'adapter', model: 'builtin:tiny-bert', bottleneck_size: 16 } }));
    hub('a');
    hub('b');
    s.ws.write('fusion-data.tsv', 'sentence\tlabel\ngood\t1\nbad\t0\n');
    const text = 'name: fused\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: fusion-data.tsv\n  text: sentence\n  label: label\nmethod: fusion\nfusion:\n  adapters: [hub/a, hub/b]\n';
    const uri = fileUri(s.ws.path('lens-fusion.adapter.yaml'));
    await s.client.open(uri, text);
    const lenses = await s.client.codeLenses(uri);
    const train = lenses.find((l) => l.command?.title.startsWith('▶ Train Fusion'))!;
    assert.deepEqual([train.command!.title, train.command!.command, train.range.start.line], ['▶ Train Fusion (2 adapters)', 'adapterLab.train', positionOf(text, 'fusion:').line]);
    const count = lenses.find((l) => l.command?.title.startsWith('Trainable'))!;
    // 8 sites × (3·64² + 2·64) = 99,328 trained, the head 64·2 + 2 + pooler 64·64 + 64; adapters 16 × (2·16·64 + 64 + 16) frozen.
    assert.match(count.command!.title, /fusion 99\.3k · head [\d,.k]+ · fused adapters 34\.0k frozen$/);
  });

  test('the trainable-parameter lens above method, computed by the engine\'s counting code', async () => {
    const uri = fileUri(s.ws.path('lens-count.adapter.yaml'));
    await s.client.open(uri, VALID_EXPERIMENT);
    const lens = (await s.client.codeLenses(uri)).find((l) => l.command?.title.startsWith('Trainable'))!;
    assert.deepEqual(lens.range, rangeOf(VALID_EXPERIMENT, 'method'));
    // 14 adapters of 99,136 + the 7 adapter layers' 2 layer norms of 2·768 + head 768·2 + 2.
    const expected = 14 * 99_136 + 7 * 2 * 2 * 768 + (768 * 2 + 2);
    assert.match(lens.command!.title, new RegExp(`^Trainable: ${expected.toLocaleString('en-US')} \\(1\\.29% of 109\\.48M\\) — adapters 1\\.39M · layer norms 21\\.5k · head 1,538$`));
  });

  test('method top_k: fine-tuned layers instead of adapters', async () => {
    const uri = fileUri(s.ws.path('lens-topk.adapter.yaml'));
    const text = variant('method: adapter\nadapter:', 'method: top_k\ntop_k: 3\nadapter:').replace(/adapter:\n(  .*\n)+drop:\n(  .*\n)+/, '');
    await s.client.open(uri, text);
    const lens = (await s.client.codeLenses(uri)).find((l) => l.command?.title.startsWith('Trainable'))!;
    // 3 layers × 7,087,872 + pooler 590,592 + head 1,538.
    assert.match(lens.command!.title, /^Trainable: 21,855,746 .* fine-tuned 21\.85M · head 1,538$/);
  });

  test('no run lenses for an empty document; no sweep lens without a sweep', async () => {
    const empty = fileUri(s.ws.path('lens-empty.adapter.yaml'));
    await s.client.open(empty, '');
    assert.deepEqual(await s.client.codeLenses(empty), []);
    const uri = fileUri(s.ws.path('lens-nosweep.adapter.yaml'));
    await s.client.open(uri, VALID_EXPERIMENT.replace(/sweep:\n(  .*\n)+/, ''));
    const titles = (await s.client.codeLenses(uri)).map((l) => l.command?.title ?? '');
    assert.ok(!titles.some((t) => t.includes('sweep')), titles.join());
  });

  test('an inlay hint after adapter.size: parameters per adapter and in total', async () => {
    const uri = fileUri(s.ws.path('hints.adapter.yaml'));
    await s.client.open(uri, VALID_EXPERIMENT);
    const hints = await s.client.inlayHints(uri, { start: { line: 0, character: 0 }, end: { line: 100, character: 0 } });
    assert.deepEqual(
      hints.map((h) => [h.position, h.label]),
      [[positionOf(VALID_EXPERIMENT, '  size: 64', 10), '99.1k params/adapter × 14 = 1.39M']],
    );
    const outside = await s.client.inlayHints(uri, { start: { line: 0, character: 0 }, end: { line: 2, character: 0 } });
    assert.deepEqual(outside, []);
  });

  test('built-in models are counted without files on disk', () => {
    const p = countParameters(BUILTIN_MODELS['tiny-bert']!, { method: 'adapter', adapterSize: 16, sites: ['attention', 'ffn'], adapterLayers: [0, 1, 2, 3], trainLayerNorm: true, topK: 1, head: 'classification', numLabels: 2 });
    assert.equal(p.perAdapter, 2 * 16 * 64 + 64 + 16);
    assert.equal(p.adapters, 8 * p.perAdapter);
  });
});
