/** Hover over the real protocol: key docs with the paper's context, value docs, parameter counts. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Hover, MarkupContent } from 'vscode-languageserver-protocol';
import { VALID_EXPERIMENT } from '../support/fixtures';
import { fileUri, positionOf, rangeOf } from '../support/lspClient';
import { useServerSuite } from '../support/serverSuite';

const markdown = (h: Hover | null): string => (h ? (h.contents as MarkupContent).value : '');

describe('hover', () => {
  const s = useServerSuite();
  let uri: string;
  before(async () => {
    uri = fileUri(s.ws.path('hover.adapter.yaml'));
    await s.client.open(uri, VALID_EXPERIMENT);
  });

  test('on adapter.size: the parameter count 2md + d + m with the model\'s d', async () => {
    const h = await s.client.hover(uri, positionOf(VALID_EXPERIMENT, '  size: 64', 3));
    const text = markdown(h);
    assert.match(text, /\*\*adapter.size\*\*/);
    assert.match(text, /2·m·d \+ d \+ m = 2·64·768 \+ 768 \+ 64 = \*\*99,136\*\*/);
    // 12 layers × 2 sites, minus the 5 dropped layers (0..4): 14 adapters.
    assert.match(text, /All adapters: 14 × 99,136 = 1,387,904/);
    assert.match(text, /Paper:.*8, 64, 256/);
    assert.deepEqual(h!.range, rangeOf(VALID_EXPERIMENT, 'size', 1));
  });

  test('on a grid value: the doc of the setting it sweeps, counted with that value', async () => {
    const h = await s.client.hover(uri, positionOf(VALID_EXPERIMENT, '256]', 1));
    const text = markdown(h);
    assert.match(text, /\*\*adapter.size\*\*/);
    assert.match(text, /2·256·768 \+ 768 \+ 256 = \*\*394,240\*\*/);
  });

  test('on an entry of fusion.adapters: the adapter it resolves to and where it came from', async () => {
    s.ws.write('.adapter-lab/runs/rte-20260101-100000/status.json', JSON.stringify({ status: 'completed' }));
    s.ws.write('.adapter-lab/runs/rte-20260101-100000/config.json', '{}');
    s.ws.write('.adapter-lab/runs/rte-20260101-100000/adapter/adapter_config.json', JSON.stringify({ config: { mh_adapter: true, output_adapter: true, reduction_factor: 4, non_linearity: 'gelu' }, hidden_size: 64, name: 'rte', adapter_lab: { method: 'adapter', model: 'builtin:tiny-bert', bottleneck_size: 16 } }));
    s.ws.write('hub/sst/adapter_config.json', JSON.stringify({ config: { mh_adapter: true, output_adapter: true, reduction_factor: 4, non_linearity: 'gelu' }, hidden_size: 64, name: 'sst', model_name: 'bert-base-uncased' }));
    const text = 'name: f\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: t.tsv\n  text: s\n  label: l\nmethod: fusion\nfusion:\n  adapters: [rte, hub/sst]\n';
    const fusionUri = fileUri(s.ws.path('hover-fusion.adapter.yaml'));
    await s.client.open(fusionUri, text);
    const run = markdown(await s.client.hover(fusionUri, positionOf(text, 'rte,', 1)));
    assert.match(run, /`rte` → adapter \*\*rte\*\* from run `[^`]*rte-20260101-100000`: sites attention, ffn, bottleneck 16, Houlsby's placement \(reads the sub-layer output h\), trained on `builtin:tiny-bert`/);
    const folder = markdown(await s.client.hover(fusionUri, positionOf(text, 'hub/sst', 2)));
    assert.match(folder, /`hub\/sst` → adapter \*\*sst\*\* from adapter folder `[^`]*hub\/sst`: sites attention, ffn, Houlsby's placement \(reads the sub-layer output h\), trained on `bert-base-uncased`/);
  });

  test("on an entry of fusion.adapters: Pfeiffer's placement, which the adapters' query and residual follow", async () => {
    for (const name of ['qnli', 'mnli']) s.ws.write(`hub/${name}/adapter_config.json`, JSON.stringify({ config: { mh_adapter: false, output_adapter: true, original_ln_before: true, reduction_factor: 16, non_linearity: 'relu' }, hidden_size: 64, name, model_name: 'bert-base-uncased' }));
    const text = 'name: p\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: t.tsv\n  text: s\n  label: l\nmethod: fusion\nfusion:\n  adapters: [hub/qnli, hub/mnli]\n';
    const fusionUri = fileUri(s.ws.path('hover-pfeiffer.adapter.yaml'));
    await s.client.open(fusionUri, text);
    const got = markdown(await s.client.hover(fusionUri, positionOf(text, 'hub/mnli', 2)));
    assert.match(got, /`hub\/mnli` → adapter \*\*mnli\*\* from adapter folder `[^`]*hub\/mnli`: sites ffn, Pfeiffer's placement \(reads LN\(x \+ h\)\), trained on `bert-base-uncased`/);
  });

  test('on an enum value: what that value means', async () => {
    const h = await s.client.hover(uri, positionOf(VALID_EXPERIMENT, 'method: adapter', 9));
    assert.match(markdown(h), /`adapter`: Bottleneck adapters \(and layer norms, and the head\) are trained/);
  });

  test('on a section key: its doc', async () => {
    const h = await s.client.hover(uri, positionOf(VALID_EXPERIMENT, 'drop:', 1));
    assert.match(markdown(h), /AdapterDrop/);
    assert.match(markdown(h), /Rücklé et al/);
  });

  test('on init_std: the initialisation advice from the paper', async () => {
    const h = await s.client.hover(uri, positionOf(VALID_EXPERIMENT, 'init_std', 2));
    assert.match(markdown(h), /truncated at two std/);
    assert.match(markdown(h), /robust for std <= 1e-2/);
  });

  test('nothing on blank space or unknown keys', async () => {
    const other = fileUri(s.ws.path('hover-unknown.adapter.yaml'));
    await s.client.open(other, 'name: x\n\nmystery: 3\n');
    assert.equal(await s.client.hover(other, { line: 1, character: 0 }), null);
    assert.equal(await s.client.hover(other, { line: 2, character: 2 }), null);
    assert.match(markdown(await s.client.hover(other, { line: 0, character: 1 })), /\*\*name\*\*/);
  });
});
