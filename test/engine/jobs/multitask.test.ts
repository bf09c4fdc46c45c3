/** Multi-task inference: several adapters over one base model, the shared lower layers computed once, the same predictions as one pass per run. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveExperiment } from '../../../engine/config/experiment';
import { evaluateRun } from '../../../engine/jobs/evaluate';
import { runTrainJob } from '../../../engine/jobs/train';
import { multiTaskPredict, separatePredict } from '../../../engine/jobs/multitask';
import { predictFile } from '../../../engine/jobs/predict';
import { Workspace } from '../../support/fixtures';
import { REPO_ROOT } from '../../support/lspClient';

describe('multi-task inference', () => {
  let ws: Workspace;
  const runs: string[] = [];
  before(async () => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 32, 1);
    ws.sentiment('test.tsv', 21, 5);
    // Three tasks: two drop the adapters of layers 0–1, one of layer 0 only: layer 0 is shared by all.
    for (const [i, drop] of ['0..1', '0..1', '0..0'].entries()) {
      const e = resolveExperiment({ name: `task${i}`, model: 'builtin:tiny-bert', task: { kind: 'classification', train: './train.tsv', text: 'sentence', label: 'label', max_length: 24 }, adapter: { size: 4 + i }, drop: { layers: drop }, training: { epochs: 1, batch_size: 8, learning_rate: 1e-2, seed: i } }, ws.root);
      const r = await runTrainJob({ experiment: e, source: '', runsDir: ws.path('runs'), threads: 1, emit: () => undefined });
      assert.equal(r.status, 'completed');
      runs.push(r.runDir);
    }
  });
  after(() => ws.dispose());

  test('shares the layers no run adapts and predicts what each run predicts on its own', async () => {
    const result = await multiTaskPredict(runs, ws.path('test.tsv'), { threads: 1 });
    assert.equal(result.sharedLayers, 1);
    assert.equal(result.examples, 21);
    for (const [k, run] of runs.entries()) {
      const alone = await predictFile(run, ws.path('test.tsv'), 1);
      const task = result.tasks[k]!;
      assert.deepEqual(task.predictions, alone.map((p) => p.prediction));
      for (const [i, p] of alone.entries()) for (const [j, v] of p.logits.entries()) assert.ok(Math.abs(task.logits[i]![j]! - v) < 1e-5);
    }
    const separate = await separatePredict(runs, ws.path('test.tsv'), { threads: 1 });
    assert.deepEqual(separate.tasks.map((t) => t.predictions), result.tasks.map((t) => t.predictions));
  });

  test('each task is scored as evaluate scores it when the file has its labels; the speed comparison is part of the result', async () => {
    const result = await multiTaskPredict(runs, ws.path('test.tsv'), { threads: 1, compare: true });
    for (const [k, run] of runs.entries()) {
      const alone = await evaluateRun(run, ws.path('test.tsv'), { threads: 1 });
      assert.equal(result.tasks[k]!.evaluation?.metric, 'accuracy');
      assert.deepEqual(result.tasks[k]!.evaluation?.metrics, alone.metrics);
      assert.equal(result.tasks[k]!.evaluation?.examples, 21);
    }
    const c = result.comparison!;
    assert.ok(c.sharedSeconds > 0 && c.separateSeconds > 0);
    assert.equal(c.sharedSeconds, result.seconds);
    assert.ok(Math.abs(c.speedup - c.separateSeconds / c.sharedSeconds) < 1e-12);
    // Without the label column the tasks are predicted, not scored, and say why.
    ws.tsv('unlabelled.tsv', ['sentence'], [['a fine film'], ['a dull film']]);
    const bare = await multiTaskPredict(runs, ws.path('unlabelled.tsv'), { threads: 1 });
    assert.equal(bare.comparison, undefined);
    for (const t of bare.tasks) {
      assert.equal(t.evaluation, undefined);
      assert.match(t.unscored ?? '', /no "label" column/);
      assert.equal(t.predictions.length, 2);
    }
  });

  test('adapter-lab multitask prints one line per example with every task, and refuses a run of another base model', () => {
    const cli = path.join(REPO_ROOT, 'dist', 'cli.js');
    const r = spawnSync(process.execPath, [cli, 'multitask', 'test.tsv', ...runs, '--threads', '1', '--compare'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { index: number; predictions: Record<string, unknown> });
    assert.equal(lines.length, 21);
    assert.deepEqual(Object.keys(lines[0]!.predictions), runs.map((d) => path.basename(d)));
    assert.match(r.stderr, /sharing the embeddings and layers 0–0/);
    assert.match(r.stderr, /one pass per task: .* as fast/);
    assert.match(r.stderr, /task0-\d{8}-\d{6}: accuracy 0\.\d{4}/, 'each task is scored on the file');
    // With --events: one evaluation per task and the comparison, the predictions in --out.
    const ev = spawnSync(process.execPath, [cli, 'multitask', 'test.tsv', ...runs, '--threads', '1', '--compare', '--events', '--out', 'multi.jsonl'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(ev.status, 0, ev.stderr);
    const events = ev.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; task?: string; speedup?: number; kind?: string });
    assert.deepEqual(events.filter((e) => e.type === 'evaluation').map((e) => e.task), runs.map((d) => path.basename(d)));
    assert.ok(events.some((e) => e.type === 'comparison' && typeof e.speedup === 'number'));
    assert.ok(events.some((e) => e.type === 'artifact' && e.kind === 'predictions'));
    assert.equal(fs.readFileSync(ws.path('multi.jsonl'), 'utf8'), r.stdout);
    const usage = spawnSync(process.execPath, [cli, 'multitask', 'test.tsv', ...runs, '--events'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(usage.status, 2, 'standard output cannot carry both');
    const missing = spawnSync(process.execPath, [cli, 'multitask', 'test.tsv', runs[0]!, ws.path('nope')], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope/);
  });
});
