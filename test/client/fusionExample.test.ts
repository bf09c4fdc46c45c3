/**
 * What the run panel asks of a finished fusion run, as the host runs it: the engine's
 * `fusion weights --text` and `fusion examples` through the job runner, against the real
 * CLI; their JSON read back, and the engine's refusals turned into the message shown.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ExampleFusionWeights, RunDataRows } from '../../engine/jobs/fusion';
import { exampleSettings, fusionExampleArgs, fusionRowsArgs, parseFusionExample, parseFusionRows, runFusionQuery, type QueryResult } from '../../client/src/fusionExample';
import type { FusionExample, FusionRows } from '../../client/src/panelProtocol';
import type { Workspace } from '../support/fixtures';
import { CLI, runJob, tinyExperiment, tinyWorkspace } from './support';

// The panel's types are the engine's output as it prints it (checked when this file compiles).
const exampleFits = (w: ExampleFusionWeights): FusionExample => w;
const rowsFit = (r: RunDataRows): FusionRows => r;
void exampleFits;
void rowsFit;

const SETTINGS = { threads: 1, device: 'auto' } as const;

function ok<T>(r: QueryResult<T>): T {
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.value;
}

function refused<T>(r: QueryResult<T>): string {
  assert.ok(!r.ok, 'the query should fail');
  return r.message;
}

describe('a fusion run\'s weights for one example, through the job runner', () => {
  let ws: Workspace;
  let fusionDir: string;
  let adapterDir: string;

  before(async () => {
    ws = tinyWorkspace();
    for (const name of ['ca', 'cb']) {
      ws.write(`${name}.adapter.yaml`, tinyExperiment(1).replace('name: client-test', `name: ${name}`).replace('  seed: 3', `  seed: ${name === 'ca' ? 1 : 2}`));
      const r = await runJob(['train', `${name}.adapter.yaml`, '--runs', 'runs', '--events', '--max-steps', '2', '--threads', '1'], ws.root);
      assert.equal(r.exit.outcome, 'completed', r.logs.join('\n'));
      if (name === 'ca') adapterDir = String((r.events[0] as { runDir: string }).runDir);
    }
    ws.write('fused.adapter.yaml', tinyExperiment(1).replace('name: client-test', 'name: fused').replace('method: adapter\nadapter:\n  size: 8\n', 'method: fusion\nfusion:\n  adapters: [ca, cb]\n'));
    const r = await runJob(['train', 'fused.adapter.yaml', '--runs', 'runs', '--events', '--max-steps', '2', '--threads', '1'], ws.root);
    assert.equal(r.exit.outcome, 'completed', r.logs.join('\n'));
    fusionDir = String((r.events[0] as { runDir: string }).runDir);
  });
  after(() => ws?.dispose());

  test('a typed text: the weights per site, a weight per adapter summing to 1, and the tokens', async () => {
    const w = ok(await runFusionQuery({ cli: CLI, args: fusionExampleArgs(fusionDir, { text: 'a fine film' }, SETTINGS), cwd: ws.root }, parseFusionExample).result);
    assert.deepEqual(w.adapters, ['ca', 'cb']);
    assert.equal(w.text, 'a fine film');
    assert.deepEqual(w.pieces.slice(0, 1), ['[CLS]']);
    assert.equal(w.tokens, w.pieces.length);
    for (const [site, weights] of Object.entries(w.weights)) assert.ok(Math.abs(weights.reduce<number>((a, b) => a + (b ?? 0), 0) - 1) < 1e-5, site);
  });

  test('a running run\'s answer keeps the step of the checkpoint it came from; a malformed step is dropped', () => {
    const answer = { adapters: ['a', 'b'], weights: { '0.ffn': [0.4, 0.6] }, tokens: 3, text: 'x', pieces: ['[CLS]', 'x', '[SEP]'], truncated: false };
    assert.equal(parseFusionExample({ ...answer, checkpointStep: 400 })?.checkpointStep, 400);
    assert.equal(parseFusionExample({ ...answer, checkpointStep: 'soon' })?.checkpointStep, undefined);
    assert.equal(parseFusionExample(answer)?.checkpointStep, undefined);
  });

  test('beside a run still training, the query runs on one CPU thread; otherwise with the user\'s settings', () => {
    const settings = { threads: 8, device: 'webgpu' } as const;
    assert.deepEqual(fusionExampleArgs('run', { text: 'x' }, exampleSettings(settings, { training: true })).slice(-4), ['--threads', '1', '--device', 'cpu']);
    assert.deepEqual(exampleSettings(settings, { training: false }), settings);
  });

  test('a text that looks like an option is still the text', async () => {
    const w = ok(await runFusionQuery({ cli: CLI, args: fusionExampleArgs(fusionDir, { text: '--threads 3' }, SETTINGS), cwd: ws.root }, parseFusionExample).result);
    assert.equal(w.text, '--threads 3');
  });

  test('the rows of its data, to pick from', async () => {
    const rows = ok(await runFusionQuery({ cli: CLI, args: fusionRowsArgs(fusionDir, 3), cwd: ws.root }, parseFusionRows).result);
    assert.deepEqual(rows.columns, ['sentence']);
    assert.equal(rows.train.rows.length, 3);
    assert.equal(rows.validation?.rows.length, 3);
  });

  test('the engine\'s refusals are the messages: an empty text, a run that is not a fusion, a missing folder', async () => {
    assert.match(refused(await runFusionQuery({ cli: CLI, args: fusionExampleArgs(fusionDir, { text: ' ' }, SETTINGS), cwd: ws.root }, parseFusionExample).result), /^the text is empty/);
    assert.match(refused(await runFusionQuery({ cli: CLI, args: fusionExampleArgs(adapterDir, { text: 'fine' }, SETTINGS), cwd: ws.root }, parseFusionExample).result), /is not a fusion run \(method adapter\)$/);
    assert.match(refused(await runFusionQuery({ cli: CLI, args: fusionExampleArgs(ws.path('runs', 'gone'), { text: 'fine' }, SETTINGS), cwd: ws.root }, parseFusionExample).result), /no such run folder$/);
    assert.match(refused(await runFusionQuery({ cli: CLI, args: fusionRowsArgs(adapterDir), cwd: ws.root }, parseFusionRows).result), /is not a fusion run/);
  });

  test('a query replaced by a newer one stops', async () => {
    const q = runFusionQuery({ cli: CLI, args: fusionExampleArgs(fusionDir, { text: 'a fine film' }, SETTINGS), cwd: ws.root }, parseFusionExample);
    q.cancel();
    assert.equal(refused(await q.result), 'replaced by a newer request');
  });

  test('output that is not the expected document is not taken for weights', () => {
    assert.equal(parseFusionExample({ adapters: ['a'], weights: { '0.ffn': [1, 2] }, tokens: 1, text: 'x', pieces: [], truncated: false }), undefined, 'a row longer than the adapters');
    assert.equal(parseFusionExample({ adapters: ['a'], weights: { '0.ffn': ['1'] }, tokens: 1, text: 'x', pieces: [], truncated: false }), undefined);
    assert.equal(parseFusionRows({ columns: ['s'], train: { file: 'f', rows: [{ index: 0, text: 1, label: 'x' }] } }), undefined);
    assert.deepEqual(parseFusionRows({ columns: ['s'], train: { file: 'f', rows: [] } }), { columns: ['s'], train: { file: 'f', rows: [] } });
  });
});
