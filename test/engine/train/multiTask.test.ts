/** Multi-task inference: several adapters over one base model, the shared lower layers computed once, the same predictions as one pass per run. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveExperiment } from '../../../engine/config/experiment';
import { runTrainJob } from '../../../engine/train/job';
import { multiTaskPredict, separatePredict } from '../../../engine/train/multiTask';
import { predictFile } from '../../../engine/train/predict';
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

  test('adapter-lab multitask prints one line per example with every task, and refuses a run of another base model', () => {
    const cli = path.join(REPO_ROOT, 'dist', 'cli.js');
    const r = spawnSync(process.execPath, [cli, 'multitask', 'test.tsv', ...runs, '--threads', '1', '--compare'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { index: number; predictions: Record<string, unknown> });
    assert.equal(lines.length, 21);
    assert.deepEqual(Object.keys(lines[0]!.predictions), runs.map((d) => path.basename(d)));
    assert.match(r.stderr, /sharing the embeddings and layers 0–0/);
    assert.match(r.stderr, /one pass per task: .* as fast/);
    const missing = spawnSync(process.execPath, [cli, 'multitask', 'test.tsv', runs[0]!, ws.path('nope')], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /nope/);
  });
});
