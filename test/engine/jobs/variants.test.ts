/**
 * The jobs after training keep working for the adapter variants: runs of a parallel, a shared
 * Pfeiffer and a deeper Houlsby adapter train (two through the frozen-prefix cache, one with
 * robust AdapterDrop), record the counts the editor shows, ablate, predict together in one
 * multi-task pass, export to ONNX, and go out and back in AdapterHub's layout with the same
 * numbers.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportAdapterFolder } from '../../../engine/checkpoint/adapterFolder';
import { openWeightsFile } from '../../../engine/checkpoint/weightsFile';
import { resolveExperiment } from '../../../engine/config/experiment';
import { validateExperiment } from '../../../engine/config/validate';
import type { JobEvent } from '../../../engine/events';
import { runAblation } from '../../../engine/jobs/ablate';
import { evaluateRun } from '../../../engine/jobs/evaluate';
import { exportOnnx } from '../../../engine/jobs/export';
import { importAdapter } from '../../../engine/jobs/import';
import { multiTaskPredict } from '../../../engine/jobs/multitask';
import { predictFile } from '../../../engine/jobs/predict';
import { runTrainJob, type TrainJobResult } from '../../../engine/jobs/train';
import { stringify } from 'yaml';
import { Workspace } from '../../support/fixtures';

describe('adapter variants through the jobs', () => {
  let ws: Workspace;
  const runs: Record<string, TrainJobResult & { events: JobEvent[]; plain: Record<string, unknown> }> = {};
  const settings: Record<string, Record<string, unknown>> = {
    parallel: { adapter: { preset: 'parallel', size: 8 }, drop: { layers: '0..0' }, training: { prefix_cache: { enabled: true } } },
    shared: { adapter: { preset: 'pfeiffer', size: 6, share: 'all_layers', scaling: 'learned' }, drop: { layers: '0..0' }, training: { prefix_cache: { enabled: true } } },
    deep: { adapter: { preset: 'houlsby', size: 8, inner_norm: 'layernorm', depth: 2 }, drop: { layers: '0..2', mode: 'robust' } },
  };

  before(async () => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 32, 1);
    ws.sentiment('dev.tsv', 16, 5);
    for (const [name, extra] of Object.entries(settings)) {
      const plain = {
        name,
        model: 'builtin:tiny-bert',
        task: { kind: 'classification', train: './train.tsv', validation: './dev.tsv', text: 'sentence', label: 'label', max_length: 24 },
        ...extra,
        training: { epochs: 2, batch_size: 8, learning_rate: 1e-2, ...(extra.training as object | undefined) },
      };
      const events: JobEvent[] = [];
      const r = await runTrainJob({ experiment: resolveExperiment(plain, ws.root), source: '', runsDir: ws.path('runs'), threads: 1, emit: (e) => events.push(e) });
      assert.equal(r.status, 'completed', r.message);
      runs[name] = { ...r, events, plain };
    }
  });
  after(() => ws.dispose());

  test('the frozen-prefix cache serves the variants below their lowest adapter (a shared one too)', () => {
    for (const name of ['parallel', 'shared']) {
      const end = runs[name]!.events.find((e) => e.type === 'end') as Extract<JobEvent, { type: 'end' }>;
      assert.equal(end.prefixCache?.layers, 1, name);
      assert.equal(end.prefixCache?.hits, 4, `${name}: the second epoch reads the cache`);
    }
  });

  test('the run records the counts the editor shows, shared weights once', () => {
    for (const [name, r] of Object.entries(runs)) {
      const file = ws.write(`${name}.adapter.yaml`, stringify(r.plain));
      const shown = validateExperiment(fs.readFileSync(file, 'utf8'), { filePath: file }).parameters!;
      assert.equal(r.parameters.trainable, shown.trainable, name);
      assert.equal(r.parameters.adapters, shown.adapters, name);
      const recorded = JSON.parse(fs.readFileSync(path.join(r.runDir, 'config.json'), 'utf8')) as { parameters: { trainable: number } };
      assert.equal(recorded.parameters.trainable, r.parameters.trainable);
    }
    const d = 64;
    assert.equal(runs.shared!.parameters.adapters, 2 * 6 * d + d + 6 + 1, 'one ffn adapter for every layer, with its learned scaling');
    assert.equal(runs.parallel!.parameters.adapters, 3 * (2 * 8 * d + d + 8), 'ffn adapters in layers 1..3');
  });

  test('ablation removes a parallel branch and a deeper adapter; the baseline is the run\'s evaluation', async () => {
    for (const name of ['parallel', 'deep']) {
      const r = runs[name]!;
      const result = await runAblation({ runDir: r.runDir, threads: 1, emit: () => undefined, mode: 'drop-curve' });
      const own = await evaluateRun(r.runDir, ws.path('dev.tsv'), { threads: 1 });
      assert.deepEqual(result.baseline, own.metrics, name);
      assert.equal(result.cells.length, 4);
    }
  });

  test('one multi-task pass over different variants predicts what each predicts alone', async () => {
    const dirs = [runs.parallel!.runDir, runs.shared!.runDir];
    const result = await multiTaskPredict(dirs, ws.path('dev.tsv'), { threads: 1 });
    assert.equal(result.sharedLayers, 1);
    for (const [k, dir] of dirs.entries()) {
      const alone = await predictFile(dir, ws.path('dev.tsv'), 1);
      for (const [i, p] of alone.entries()) for (const [j, v] of p.logits.entries()) assert.ok(Math.abs(result.tasks[k]!.logits[i]![j]! - v) < 1e-5);
    }
  });

  test('ONNX export of a shared adapter holds its weights once and matches the engine', async () => {
    const file = ws.path('shared.onnx');
    const result = await exportOnnx(runs.shared!.runDir, file, { threads: 1 });
    assert.ok(result.maxDifference < 1e-4);
    const deep = await exportOnnx(runs.deep!.runDir, ws.path('deep.onnx'), { threads: 1 });
    assert.ok(deep.maxDifference < 1e-4);
    const bytes = fs.readFileSync(file);
    // The shared weights are one initializer that every adapter layer reads, not a copy per layer
    // (a second initializer of a name would be renamed `…_1`).
    assert.equal(bytes.indexOf(Buffer.from('encoder.layer.2.output.adapter.')), -1);
    assert.ok(bytes.indexOf(Buffer.from('encoder.layer.1.output.adapter.up.weight')) >= 0);
    assert.equal(bytes.indexOf(Buffer.from('encoder.layer.1.output.adapter.up.weight_1')), -1);
  });

  test('out in AdapterHub\'s layout (a shared adapter copied per layer) and back in, with the same numbers', async () => {
    for (const [name, r] of Object.entries(runs)) {
      const out = ws.path(`export-${name}`);
      exportAdapterFolder(path.join(r.runDir, 'adapter'), out);
      if (name === 'shared') {
        const f = openWeightsFile(path.join(out, 'pytorch_adapter.bin'));
        const ups = f.tensors.filter((t) => t.name.endsWith('adapter_up.weight'));
        assert.deepEqual(ups.map((t) => t.name.split('.')[3]), ['1', '2', '3'], 'a copy at every adapter layer (layer 0 is dropped)');
        assert.deepEqual([...f.readFloat(ups[2]!.name).data], [...f.readFloat(ups[0]!.name).data]);
        f.close();
      }
      const { runDir } = await importAdapter({ adapterDir: out, runsDir: ws.path('imported'), data: ws.path('dev.tsv') });
      const again = await evaluateRun(runDir, ws.path('dev.tsv'), { threads: 1 });
      const own = await evaluateRun(r.runDir, ws.path('dev.tsv'), { threads: 1 });
      assert.deepEqual(again.metrics, own.metrics, name);
      const p1 = await predictFile(runDir, ws.path('dev.tsv'), 1);
      const p0 = await predictFile(r.runDir, ws.path('dev.tsv'), 1);
      assert.deepEqual(p1.map((p) => p.logits), p0.map((p) => p.logits), name);
    }
  });
});
