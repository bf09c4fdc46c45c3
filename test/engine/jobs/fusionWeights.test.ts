/**
 * A fusion's weights while it trains and for one example: two small adapters trained with
 * the CLI, then a fusion over them whose evaluations (every two steps) each write the
 * current average weights as a `fusion-weights` event with its step; and `fusion weights
 * --text` for one typed example, with its errors.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readSafetensors, writeSafetensors } from '../../../engine/checkpoint/safetensors';
import type { FusionWeightsEvent, JobEvent } from '../../../engine/events';
import { exampleFusionWeights, ExampleInputError, fusionExamples } from '../../../engine/jobs/fusion';
import { RunFolderError } from '../../../engine/jobs/runModel';
import { replayJob } from '../../../engine/runs/replay';
import type { FloatTensor } from '../../../engine/tensor';
import { assertContract, loadEventContract, type StreamEvent } from '../../support/eventContract';
import { Workspace } from '../../support/fixtures';
import { REPO_ROOT } from '../../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

function adapterExperiment(name: string, seed: number): string {
  return `name: ${name}\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\nmethod: adapter\nadapter:\n  size: 8\n  train_layernorm: false\ntraining:\n  learning_rate: 1.0e-2\n  epochs: 1\n  batch_size: 8\n  seed: ${seed}\nruntime:\n  threads: 1\n`;
}

/** 48 training rows in batches of 8: 6 steps an epoch, 12 in all, evaluated every 2. */
const FUSION = `name: fused\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\nmethod: fusion\nfusion:\n  adapters: [fa, fb]\ntraining:\n  learning_rate: 3.0e-3\n  epochs: 2\n  batch_size: 8\n  seed: 3\n  evaluate_every: 2\nruntime:\n  threads: 1\n`;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], cwd: string): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const eventsOf = (r: Run): JobEvent[] => r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JobEvent);

function assertSumsToOne(weights: FusionWeightsEvent['weights'], what: string): void {
  assert.ok(Object.keys(weights).length > 0, `${what}: no sites`);
  for (const [site, w] of Object.entries(weights)) {
    const sum = w.reduce<number>((a, b) => a + (b ?? 0), 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `${what} at ${site}: the weights sum to ${sum}`);
  }
}

describe('fusion weights, live and per example', () => {
  let ws: Workspace;
  let events: JobEvent[];
  let runDir: string;
  let adapterRun: string;

  before(() => {
    ws = new Workspace('fusion-weights-');
    ws.sentiment('train.tsv', 48, 1);
    ws.sentiment('dev.tsv', 16, 2);
    ws.write('fa.adapter.yaml', adapterExperiment('fa', 1));
    ws.write('fb.adapter.yaml', adapterExperiment('fb', 2));
    ws.write('fused.adapter.yaml', FUSION);
    for (const name of ['fa', 'fb']) {
      const r = cli(['train', `${name}.adapter.yaml`, '--runs', 'runs', '--max-steps', '3', '--events'], ws.root);
      assert.equal(r.status, 0, r.stderr);
      if (name === 'fa') adapterRun = String((eventsOf(r)[0] as { runDir: string }).runDir);
    }
    const fused = cli(['train', 'fused.adapter.yaml', '--runs', 'runs', '--events'], ws.root);
    assert.equal(fused.status, 0, fused.stderr);
    events = eventsOf(fused);
    runDir = String((events[0] as { runDir: string }).runDir);
  });
  after(() => ws?.dispose());

  test('while training, each evaluation is followed by the fusion weights it measured, with its step; the stream keeps to docs/events.md', () => {
    assertContract(loadEventContract(), events as unknown as StreamEvent[], 'a fusion run');
    const evaluations = events.filter((e) => e.type === 'evaluation');
    assert.deepEqual(evaluations.map((e) => e.step), [2, 4, 6, 8, 10, 12]);
    const live = events.filter((e): e is FusionWeightsEvent => e.type === 'fusion-weights' && e.step !== undefined);
    assert.deepEqual(live.map((e) => e.step), [2, 4, 6, 8, 10, 12]);
    for (const e of live) {
      // Right after the evaluation of its step: nothing between them.
      const at = events.indexOf(e);
      assert.equal(events[at - 1]!.type, 'evaluation');
      assert.equal((events[at - 1] as { step: number }).step, e.step);
      assert.deepEqual(e.adapters, ['fa', 'fb']);
      assert.deepEqual(Object.keys(e.weights), [0, 1, 2, 3].flatMap((l) => [`${l}.attention`, `${l}.ffn`]));
      assert.equal(e.data, ws.path('dev.tsv'));
      assertSumsToOne(e.weights, `step ${e.step}`);
    }
    // The weights move as the fusion trains.
    assert.notDeepEqual(live[0]!.weights, live[live.length - 1]!.weights);
  });

  test('the last live weights are the finished run\'s (measured again on its saved fusion), which the run folder keeps as before', () => {
    const fusionEvents = events.filter((e): e is FusionWeightsEvent => e.type === 'fusion-weights');
    const final = fusionEvents[fusionEvents.length - 1]!;
    assert.equal(final.step, undefined, 'the finished run\'s weights carry no step');
    assert.equal(events.indexOf(final), events.length - 2, 'just before the end');
    const last = fusionEvents[fusionEvents.length - 2]!;
    assert.equal(last.step, 12);
    assert.equal(last.tokens, final.tokens);
    for (const [site, w] of Object.entries(final.weights)) w.forEach((v, i) => assert.ok(Math.abs(v! - last.weights[site]![i]!) < 1e-5, `${site}: ${v} vs ${last.weights[site]![i]}`));
    const { v: _v, time: _t, type: _type, ...payload } = final;
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(runDir, 'fusion-weights.json'), 'utf8')), payload);
  });

  test('metrics.jsonl keeps the live weights, so a replayed run draws the same history', () => {
    const records = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; step: number });
    assert.deepEqual(records.filter((r) => r.type === 'fusion-weights').map((r) => r.step), [2, 4, 6, 8, 10, 12]);
    const live = events.filter((e) => e.type === 'fusion-weights').map(({ v: _v, time: _t, ...rest }) => rest);
    const replayed = replayJob(runDir).events.filter((e) => e.type === 'fusion-weights').map(({ v: _v, time: _t, ...rest }) => rest);
    assert.deepEqual(replayed, live);
  });

  test('one example: a weight per adapter at every site, summing to 1, over its tokens; nothing is written to the run', async () => {
    const before = fs.readFileSync(path.join(runDir, 'fusion-weights.json'), 'utf8');
    const w = await exampleFusionWeights(runDir, { text: 'the plot is quite awful' }, { threads: 1 });
    assert.deepEqual(w.adapters, ['fa', 'fb']);
    assert.deepEqual(w.pieces, ['[CLS]', 'the', 'plot', 'is', 'quite', 'awful', '[SEP]']);
    assert.equal(w.tokens, 7);
    assert.equal(w.truncated, false);
    assertSumsToOne(w.weights, 'one example');
    assert.equal(fs.readFileSync(path.join(runDir, 'fusion-weights.json'), 'utf8'), before);
    // Another text weighs the adapters differently.
    const other = await exampleFusionWeights(runDir, { text: 'a truly wonderful and moving film' }, { threads: 1 });
    assert.notDeepEqual(other.weights, w.weights);
    // task.max_length (24) cuts a long text, and says so.
    const long = await exampleFusionWeights(runDir, { text: Array.from({ length: 40 }, () => 'film').join(' ') }, { threads: 1 });
    assert.equal(long.tokens, 24);
    assert.equal(long.truncated, true);
  });

  test('one example with the query weights zero: every adapter weighs the same (the softmax of equal scores)', async () => {
    const copy = ws.path('zero-query');
    fs.cpSync(runDir, copy, { recursive: true });
    const file = path.join(copy, 'fusion', 'model_adapter_fusion.safetensors');
    const tensors = readSafetensors(file) as Map<string, FloatTensor>;
    let zeroed = 0;
    for (const [name, t] of tensors) {
      if (!/\.query\.(weight|bias)$/.test(name)) continue;
      tensors.set(name, { ...t, data: new Float32Array(t.data.length) });
      zeroed++;
    }
    assert.equal(zeroed, 2 * 8, 'a query weight and bias at each of 8 sites (4 layers × 2)');
    writeSafetensors(file, tensors);
    const w = await exampleFusionWeights(copy, { text: 'the plot is quite awful' }, { threads: 1 });
    for (const [site, weights] of Object.entries(w.weights)) for (const v of weights) assert.ok(Math.abs(v! - 0.5) < 1e-6, `${site}: ${v}`);
  });

  test('a run that has not finished answers from its last checkpoint, and says which step; a finished one from its saved fusion', async () => {
    // Stopped after 4 of 12 steps: the run saves its fusion and its checkpoint at step 4.
    const stopped = cli(['train', 'fused.adapter.yaml', '--runs', 'runs', '--stop-after', '4', '--checkpoint-every', '2', '--events'], ws.root);
    const stoppedDir = String((eventsOf(stopped)[0] as { runDir: string }).runDir);
    assert.equal(JSON.parse(fs.readFileSync(path.join(stoppedDir, 'status.json'), 'utf8')).status, 'cancelled', stopped.stderr);
    const text = { text: 'the plot is quite awful' };
    // The stopped run has both; from its checkpoint, then (that removed, as a finished run's is) from its saved fusion.
    const running = ws.path('running');
    fs.cpSync(stoppedDir, running, { recursive: true });
    const fromCheckpoint = await exampleFusionWeights(stoppedDir, text, { threads: 1 });
    assert.equal(fromCheckpoint.checkpointStep, 4);
    fs.rmSync(path.join(stoppedDir, 'checkpoint.safetensors'));
    const saved = await exampleFusionWeights(stoppedDir, text, { threads: 1 });
    assert.equal(saved.checkpointStep, undefined);
    // Before its first save a running job has only the checkpoint.
    fs.rmSync(path.join(running, 'fusion'), { recursive: true });
    const live = await exampleFusionWeights(running, text, { threads: 1 });
    assert.equal(live.checkpointStep, 4);
    for (const other of [fromCheckpoint, live]) {
      for (const [site, w] of Object.entries(saved.weights)) w.forEach((v, i) => assert.ok(Math.abs(v! - other.weights[site]![i]!) < 1e-6, `${site}: ${v} vs ${other.weights[site]![i]}`));
    }
    // The weights moved in training: the finished run's differ from step 4's.
    assert.notDeepEqual((await exampleFusionWeights(runDir, text, { threads: 1 })).weights, saved.weights);
    const r = cli(['fusion', 'weights', running, '--text', text.text, '--threads', '1'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { checkpointStep: number }).checkpointStep, 4);
    assert.match(r.stderr, /the run has not finished: weights from its last checkpoint \(step 4\)/);
    // Neither a saved fusion nor a checkpoint: said so, by whether a process still writes the run.
    fs.rmSync(path.join(running, 'checkpoint.safetensors'));
    const status = path.join(running, 'status.json');
    const record = JSON.parse(fs.readFileSync(status, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(status, JSON.stringify({ ...record, status: 'running', pid: process.pid }));
    await assert.rejects(exampleFusionWeights(running, text), (e: unknown) => e instanceof RunFolderError && /no saved fusion and no checkpoint yet: ask again once training has written its first checkpoint/.test(e.message));
    fs.writeFileSync(status, JSON.stringify({ ...record, status: 'failed' }));
    await assert.rejects(exampleFusionWeights(running, text), (e: unknown) => e instanceof RunFolderError && /it stopped before its first checkpoint: train it again/.test(e.message));
  });

  test('errors name what is wrong: an empty text, a run that is not a fusion, a missing folder', async () => {
    await assert.rejects(exampleFusionWeights(runDir, { text: '  ' }), (e: unknown) => e instanceof ExampleInputError && /the text is empty/.test(e.message));
    await assert.rejects(exampleFusionWeights(adapterRun, { text: 'fine' }), (e: unknown) => e instanceof RunFolderError && /is not a fusion run \(method adapter\)/.test(e.message));
    await assert.rejects(exampleFusionWeights(ws.path('runs', 'nothing'), { text: 'fine' }), (e: unknown) => e instanceof RunFolderError && /no such run folder/.test(e.message));
    // The CLI: exit code 2 and the reason on standard error's last line, as the extension reads it.
    for (const [args, reason] of [
      [['fusion', 'weights', runDir, '--text', ''], /error: the text is empty/],
      [['fusion', 'weights', adapterRun, '--text', 'fine'], /error: .* is not a fusion run \(method adapter\)/],
      [['fusion', 'weights', ws.path('runs', 'nothing'), '--text', 'fine'], /error: .*no such run folder/],
    ] as const) {
      const r = cli(args, ws.root);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr.trim().split('\n').pop()!, reason);
    }
  });

  test('the CLI prints the example\'s weights as one JSON document', () => {
    const r = cli(['fusion', 'weights', runDir, '--text', 'the plot is quite awful', '--threads', '1'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    const w = JSON.parse(r.stdout) as { adapters: string[]; weights: Record<string, number[]>; tokens: number; text: string; pieces: string[] };
    assert.equal(w.text, 'the plot is quite awful');
    assert.equal(w.tokens, 7);
    assertSumsToOne(w.weights, 'the CLI');
  });

  test('the rows of the run\'s data, to pick an example from', () => {
    const rows = fusionExamples(runDir, 5);
    assert.deepEqual(rows.columns, ['sentence']);
    assert.equal(rows.train.rows.length, 5);
    assert.equal(rows.validation?.rows.length, 5);
    assert.equal(rows.validation?.file, ws.path('dev.tsv'));
    const dev = fs.readFileSync(ws.path('dev.tsv'), 'utf8').trim().split('\n').slice(1, 6).map((l) => l.split('\t'));
    assert.deepEqual(rows.validation?.rows.map((r) => [r.text, r.label]), dev);
    assert.throws(() => fusionExamples(adapterRun), /is not a fusion run/);
  });
});
