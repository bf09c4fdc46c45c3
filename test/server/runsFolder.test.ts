/**
 * The runs folder `fusion.adapters` names are looked up in is the extension's: the
 * `adapterLab.runsDirectory` setting, else `.adapter-lab/runs` in the first workspace
 * folder, wherever the experiment file is. Diagnostics, completion and hover all use it,
 * and follow changes of the setting and of the workspace folders.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import type { CompletionItem, Diagnostic } from 'vscode-languageserver-protocol';
import { Workspace } from '../support/fixtures';
import { fileUri, LspClient, messageOf, positionOf, type LspClientOptions } from '../support/lspClient';

const RUNS_SETTING = 'adapterLab.runsDirectory';

const FUSION = `name: fused
model: builtin:tiny-bert
task:
  kind: classification
  train: ./data/train.tsv
  text: sentence
  label: label
method: fusion
fusion:
  adapters: [rte, sst]
`;

/** Cursor after the list's opening bracket: where an experiment name is completed. */
const COMPLETE_AT = positionOf(FUSION, 'adapters: [', 'adapters: ['.length);

/** A completed run of `experiment` with its adapter (builtin:tiny-bert's shape), as training leaves it; `config` overrides AdapterHub's fields. */
function completedRun(ws: Workspace, runsDir: string, experiment: string, stamp = '20260101-100000', config: Record<string, unknown> = {}): string {
  const run = path.join(runsDir, `${experiment}-${stamp}`);
  const rel = path.relative(ws.root, run);
  ws.write(path.join(rel, 'status.json'), JSON.stringify({ status: 'completed' }));
  ws.write(path.join(rel, 'config.json'), '{}');
  ws.write(
    path.join(rel, 'adapter', 'adapter_config.json'),
    JSON.stringify({ config: { mh_adapter: true, output_adapter: true, reduction_factor: 4, non_linearity: 'gelu', leave_out: [], ...config }, hidden_size: 64, name: experiment, model_name: 'builtin:tiny-bert', adapter_lab: { method: 'adapter', model: 'builtin:tiny-bert', bottleneck_size: 16 } }),
  );
  return run;
}

/** A workspace with the experiment in a subfolder (`examples/`) and runs of rte and sst in the workspace's runs folder. */
function fusionWorkspace(ws: Workspace): { ws: Workspace; file: string; uri: string } {
  ws.tsv('examples/data/train.tsv', ['sentence', 'label'], [['good', 1], ['bad', 0]]);
  const file = ws.write('examples/fusion.adapter.yaml', FUSION);
  for (const name of ['rte', 'sst']) completedRun(ws, ws.path('.adapter-lab', 'runs'), name);
  return { ws, file, uri: fileUri(file) };
}

const missingRuns = (list: readonly Diagnostic[]) => list.filter((d) => /no completed run of an experiment named/.test(messageOf(d)));
const labels = (items: CompletionItem[]) => items.map((i) => String(i.label)).sort();

describe('the runs folder the language server reads', () => {
  const clients: LspClient[] = [];
  const workspaces: Workspace[] = [];
  after(async () => {
    for (const c of clients) await c.stop();
    for (const w of workspaces) w.dispose();
  });
  async function start(options: LspClientOptions): Promise<LspClient> {
    const client = await LspClient.start(options);
    clients.push(client);
    return client;
  }
  function workspace(): Workspace {
    const ws = new Workspace();
    workspaces.push(ws);
    return ws;
  }
  /**
   * Does `action` (a settings, folder or file change) and waits for diagnostics that
   * `expected` accepts. Opening a document publishes twice (at once, then after the change
   * delay), so the first diagnostics after the action may still be the old ones.
   */
  async function republished(client: LspClient, uri: string, action: () => Promise<void>, expected: (list: Diagnostic[]) => boolean): Promise<Diagnostic[]> {
    let next = client.nextDiagnostics(uri);
    await action();
    let last: Diagnostic[] = [];
    try {
      for (;;) {
        last = (await next).diagnostics;
        if (expected(last)) return last;
        next = client.nextDiagnostics(uri);
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}\nlast diagnostics:\n${last.map(messageOf).join('\n')}`);
    }
  }
  const missing = (n: number) => (list: Diagnostic[]) => missingRuns(list).length === n;

  test('an experiment in a subfolder finds the runs in the workspace folder: no diagnostic, names completed, hover resolved', async () => {
    const { ws, uri } = fusionWorkspace(workspace());
    const client = await start({ folders: [ws.root], settings: { mode: 'pull', values: { [RUNS_SETTING]: '' } } });
    const { diagnostics } = await client.open(uri, FUSION);
    assert.deepEqual(diagnostics.map((d) => `${String(d.code)}: ${messageOf(d)}`), []);
    assert.deepEqual(labels(await client.completion(uri, COMPLETE_AT)), ['rte', 'sst']);
    const hover = await client.hover(uri, positionOf(FUSION, 'rte', 1));
    const text = hover && typeof hover.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
    assert.ok(text.includes(`from run \`${ws.path('.adapter-lab', 'runs', 'rte-20260101-100000')}\``), text);
    // The server asked to hear about changes of the extension's settings.
    assert.ok([...client.registrations.values()].some((r) => r.method === 'workspace/didChangeConfiguration' && (r.registerOptions as { section?: string }).section === 'adapterLab'));
  });

  test('a change of adapterLab.runsDirectory re-validates open documents against the new folder', async () => {
    const { ws, uri } = fusionWorkspace(workspace());
    const shared = ws.path('shared-runs');
    completedRun(ws, shared, 'rte', '20260201-100000');
    completedRun(ws, shared, 'mnli', '20260201-100000');
    const client = await start({ folders: [ws.root], settings: { mode: 'pull', values: { [RUNS_SETTING]: '' } } });
    assert.deepEqual(missingRuns((await client.open(uri, FUSION)).diagnostics), []);

    // Relative to the workspace folder, as the extension resolves it.
    const moved = await republished(client, uri, () => client.changeSettings({ [RUNS_SETTING]: 'shared-runs' }, 'pull'), missing(1));
    const gone = missingRuns(moved);
    assert.equal(gone.length, 1, moved.map(messageOf).join('\n'));
    assert.match(messageOf(gone[0]!), /named "sst" in .*shared-runs/);
    assert.deepEqual(gone[0]!.range.start, positionOf(FUSION, 'sst', 0));
    assert.deepEqual(labels(await client.completion(uri, COMPLETE_AT)), ['mnli', 'rte']);

    // Back to the default: the workspace's runs folder again.
    const back = await republished(client, uri, () => client.changeSettings({ [RUNS_SETTING]: '' }, 'pull'), missing(0));
    assert.deepEqual(missingRuns(back), []);
    assert.deepEqual(labels(await client.completion(uri, COMPLETE_AT)), ['rte', 'sst']);
  });

  test('the setting given at start applies to the first diagnostics', async () => {
    const { ws, uri } = fusionWorkspace(workspace());
    const elsewhere = workspace();
    const client = await start({ folders: [ws.root], settings: { mode: 'pull', values: { [RUNS_SETTING]: elsewhere.path('runs') } } });
    const gone = missingRuns((await client.open(uri, FUSION)).diagnostics);
    assert.deepEqual(gone.map((d) => messageOf(d).includes(elsewhere.path('runs'))), [true, true]);
    assert.deepEqual(labels(await client.completion(uri, COMPLETE_AT)), []);
  });

  test('a client that pushes its settings (no workspace/configuration) is followed too', async () => {
    const { ws, uri } = fusionWorkspace(workspace());
    const client = await start({ folders: [ws.root], settings: { mode: 'push', values: { [RUNS_SETTING]: '' } } });
    assert.deepEqual(missingRuns((await client.open(uri, FUSION)).diagnostics), []);
    const moved = await republished(client, uri, () => client.changeSettings({ [RUNS_SETTING]: ws.path('nowhere') }, 'push'), missing(2));
    assert.equal(missingRuns(moved).length, 2);
  });

  test('a runs folder outside the workspace is watched: a run completed there clears the finding', async () => {
    const { ws, uri } = fusionWorkspace(workspace());
    const outside = workspace();
    const runsDir = outside.path('runs');
    completedRun(outside, runsDir, 'rte');
    const client = await start({ folders: [ws.root], relativeWatchers: true, settings: { mode: 'pull', values: { [RUNS_SETTING]: '' } } });
    await client.open(uri, FUSION);
    const moved = await republished(client, uri, () => client.changeSettings({ [RUNS_SETTING]: runsDir }, 'pull'), missing(1));
    assert.equal(missingRuns(moved).length, 1);
    const watchers = [...client.registrations.values()].filter((r) => r.method === 'workspace/didChangeWatchedFiles').flatMap((r) => (r.registerOptions as { watchers: { globPattern: unknown }[] }).watchers.map((w) => w.globPattern));
    assert.ok(watchers.some((g) => typeof g === 'object' && g !== null && (g as { baseUri?: string }).baseUri === fileUri(runsDir)), JSON.stringify(watchers));
    const run = completedRun(outside, runsDir, 'sst');
    const cleared = await republished(client, uri, () => client.filesChanged([fileUri(path.join(run, 'status.json'))]), missing(0));
    assert.deepEqual(missingRuns(cleared), []);
  });

  test('the runs folder follows the first workspace folder when folders change', async () => {
    const { ws, uri } = fusionWorkspace(workspace());
    const other = workspace();
    const client = await start({ folders: [ws.root], settings: { mode: 'pull', values: { [RUNS_SETTING]: '' } } });
    assert.deepEqual(missingRuns((await client.open(uri, FUSION)).diagnostics), []);
    const moved = await republished(client, uri, () => client.changeFolders([other.root, ws.root]), missing(2));
    assert.deepEqual(missingRuns(moved).map((d) => messageOf(d).includes(other.path('.adapter-lab', 'runs'))), [true, true]);
  });

  test("fused runs of two placements: the entry that differs gets a located diagnostic naming both placements", async () => {
    const ws = workspace();
    ws.tsv('examples/data/train.tsv', ['sentence', 'label'], [['good', 1], ['bad', 0]]);
    const file = ws.write('examples/fusion.adapter.yaml', FUSION);
    const runsDir = ws.path('.adapter-lab', 'runs');
    // Both after the feed-forward sub-layer only: rte in Houlsby's placement, sst in Pfeiffer's (AdapterHub's seq_bn).
    completedRun(ws, runsDir, 'rte', undefined, { mh_adapter: false });
    completedRun(ws, runsDir, 'sst', undefined, { mh_adapter: false, original_ln_before: true, residual_before_ln: true, original_ln_after: true });
    const client = await start({ folders: [ws.root], settings: { mode: 'pull', values: { [RUNS_SETTING]: '' } } });
    const { diagnostics } = await client.open(fileUri(file), FUSION);
    const mismatch = diagnostics.filter((d) => d.code === 'adapter-mismatch');
    assert.equal(mismatch.length, 1, diagnostics.map(messageOf).join('\n'));
    assert.deepEqual(mismatch[0]!.range.start, positionOf(FUSION, 'sst', 0));
    assert.match(messageOf(mismatch[0]!), /^sst: it reads the layer's normalised sum LN\(x \+ h\) \(Pfeiffer's placement, original_ln_before: true\), but rte reads the sub-layer's output h \(Houlsby's placement, original_ln_before: false\): fused adapters need one placement/);
  });

  test('without a workspace folder, runs are looked up beside the experiment file (as the CLI keeps them)', async () => {
    const { ws, uri } = fusionWorkspace(workspace());
    const client = await start({});
    assert.equal(missingRuns((await client.open(uri, FUSION)).diagnostics).length, 2);
    completedRun(ws, ws.path('examples', '.adapter-lab', 'runs'), 'rte');
    completedRun(ws, ws.path('examples', '.adapter-lab', 'runs'), 'sst');
    const cleared = await republished(client, uri, () => client.filesChanged([fileUri(ws.path('examples', '.adapter-lab', 'runs'))]), missing(0));
    assert.deepEqual(missingRuns(cleared), []);
  });
});
