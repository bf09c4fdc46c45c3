/** `adapter-lab ablate`: every span i..j and single site removed from a trained run, without retraining. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ABLATION_FILE, DROP_CURVE_FILE, type AblationResult } from '../../../engine/jobs/ablate';
import { makeBatches } from '../../../engine/tasks';
import { loadRun } from '../../../engine/jobs/runModel';
import { prepareEvaluation } from '../../../engine/tasks/index';
import { Trainer } from '../../../engine/train/trainer';
import { Workspace } from '../../support/fixtures';
import { REPO_ROOT } from '../../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
interface Event { type: string; [k: string]: unknown }

describe('adapter-lab ablate', () => {
  let ws: Workspace;
  let runDir: string;
  let events: Event[];
  before(() => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 96, 1);
    ws.sentiment('dev.tsv', 40, 2);
    ws.write('exp.adapter.yaml', 'name: ablate-me\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\nadapter:\n  size: 8\n  init_std: 0.5\ntraining:\n  learning_rate: 1.0e-2\n  epochs: 1\n  batch_size: 16\n');
    const train = spawnSync(process.execPath, [CLI, 'train', 'exp.adapter.yaml', '--runs', 'runs'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(train.status, 0, train.stderr);
    runDir = path.join(ws.path('runs'), fs.readdirSync(ws.path('runs'))[0]!);
    const r = spawnSync(process.execPath, [CLI, 'ablate', runDir, '--events'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    events = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Event);
  });
  after(() => ws.dispose());

  test('every contiguous span i..j, then each single site, one event per cell as it completes', () => {
    const cells = events.filter((e) => e.type === 'ablation');
    // tiny-bert: 4 layers → 10 spans, and 2 sites × 4 layers.
    assert.equal(cells.length, 18);
    assert.deepEqual(cells.slice(0, 4).map((c) => [c.from, c.to, c.site]), [[0, 0, 'both'], [0, 1, 'both'], [0, 2, 'both'], [0, 3, 'both']]);
    assert.deepEqual(cells.map((c) => c.index), Array.from({ length: 18 }, (_, i) => i));
    assert.equal(events[0]!.type, 'start');
    assert.equal(events[0]!.job, 'ablate');
    assert.equal(events[events.length - 1]!.status, 'completed');
  });

  test('the baseline equals the run\'s own final evaluation', () => {
    const result = JSON.parse(fs.readFileSync(path.join(runDir, ABLATION_FILE), 'utf8')) as AblationResult;
    const metrics = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event);
    const last = metrics.filter((m) => m.type === 'evaluation').pop()!;
    assert.equal(result.baseline.accuracy, last.value);
    assert.equal(result.cells.length, 18);
  });

  test('removing every adapter equals evaluating the same weights with no adapters at all', async () => {
    const result = JSON.parse(fs.readFileSync(path.join(runDir, ABLATION_FILE), 'utf8')) as AblationResult;
    const full = result.cells.find((c) => c.site === 'both' && c.from === 0 && c.to === 3)!;
    const run = loadRun(runDir);
    const evaluation = prepareEvaluation(run.experiment, run.model.tokenizer, run.labels, run.experiment.task.validation!);
    const plain = await Trainer.create({ ...run.spec, adapters: undefined }, run.weights, [], undefined);
    const metrics = await evaluation.evaluate(plain);
    await plain.release();
    assert.equal(full.value, metrics.accuracy);
    // The adapters (init std 0.5) matter: removing them all changes the predictions.
    const gated = await Trainer.create(run.spec, run.weights, [], undefined, { gates: true });
    const [batch] = makeBatches(evaluation.inputs, 40, 0, 'classification', false);
    const on = await gated.logits(batch!, new Float32Array(8).fill(1));
    const off = await gated.logits(batch!, new Float32Array(8));
    const noAdapters = await Trainer.create({ ...run.spec, adapters: undefined }, run.weights, [], undefined);
    const none = await noAdapters.logits(batch!);
    await gated.release();
    await noAdapters.release();
    assert.ok(Math.max(...Array.from(off.data, (v, i) => Math.abs(v - none.data[i]!))) < 1e-5, 'gates of 0 equal no adapters');
    assert.ok(Math.max(...Array.from(on.data, (v, i) => Math.abs(v - none.data[i]!))) > 1e-3, 'the adapters change the logits');
  });

  test('--drop-curve: one cell per n lowest layers removed; n = L removes every adapter', () => {
    const r = spawnSync(process.execPath, [CLI, 'ablate', runDir, '--drop-curve', '--events'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const list = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Event);
    assert.equal(list[0]!.job, 'drop-curve');
    assert.deepEqual(list.filter((e) => e.type === 'ablation').map((c) => [c.from, c.to]), [[0, 0], [0, 1], [0, 2], [0, 3]]);
    const curve = JSON.parse(fs.readFileSync(path.join(runDir, DROP_CURVE_FILE), 'utf8')) as AblationResult;
    const spans = JSON.parse(fs.readFileSync(path.join(runDir, ABLATION_FILE), 'utf8')) as AblationResult;
    for (const c of curve.cells) assert.equal(c.value, spans.cells.find((s) => s.site === 'both' && s.from === 0 && s.to === c.to)!.value);
    assert.match(r.stderr, /n=4  \d\.\d{4}/);
  });

  test('a folder that is not a run: exit 2 and a clear message', () => {
    const r = spawnSync(process.execPath, [CLI, 'ablate', ws.root], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /is not a run folder/);
  });
});
