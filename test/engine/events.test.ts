/**
 * docs/events.md is the contract of the `--events` streams: real streams of the commands
 * (train, resume, evaluate, predict, export, multitask, ablate, sweep, drop-regimes, import,
 * and jobs that fail, before they start and after) are checked against its tables event by event, and against its stream rules
 * (one start … end per job, nested jobs inside, nothing after the end).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { validateExperiment } from '../../engine/config/validate';
import { ARTIFACT_KINDS, ERROR_CODES, type JobEvent } from '../../engine/events';
import { LOCK_FILE, type LockOwner } from '../../engine/runs/lock';
import { replayJob } from '../../engine/runs/replay';
import type { SweepStatusRecord } from '../../engine/runs/store';
import { runSweep, SWEEP_FILES } from '../../engine/jobs/sweep';
import { assertContract, loadEventContract, type EventContract } from '../support/eventContract';
import { Workspace } from '../support/fixtures';
import { REPO_ROOT } from '../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
interface Event { type: string; job?: string; [k: string]: unknown }

/** A small adapter experiment; `extra` adds top-level sections, `training` settings of its own. */
function experiment(name: string, extra = '', training = ''): string {
  return `name: ${name}\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\nmethod: adapter\nadapter:\n  size: 8\ntraining:\n  learning_rate: 3.0e-3\n  epochs: 2\n  batch_size: 8\n  seed: 3\n${training}runtime:\n  threads: 1\n${extra}`;
}

/** Runs a command with --events: its exit code and its events (every standard output line must be one). */
function stream(args: string[], cwd: string): { status: number | null; events: Event[]; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  const events = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
  return { status: r.status, events, stderr: r.stderr };
}

/** Each event as `type:code-or-status-or-kind`, for comparing the shape of a stream's end. */
const shape = (events: readonly Event[]): string[] => events.map((e) => `${e.type}${e.type === 'error' ? `:${String(e.code)}` : e.type === 'end' ? `:${String(e.status)}` : e.type === 'artifact' ? `:${String(e.kind)}` : ''}`);

describe('the event contract (docs/events.md)', () => {
  let ws: Workspace;
  let contract: EventContract;
  let runA: string;
  let runB: string;
  const seen = new Set<string>();
  const check = (events: readonly Event[], what: string): void => {
    assertContract(contract, events, what);
    for (const e of events) seen.add(e.type === 'start' ? `start:${e.job}` : e.type === 'artifact' ? `artifact:${String(e.kind)}` : e.type === 'error' ? `error:${String(e.code)}` : e.type);
  };

  before(() => {
    contract = loadEventContract();
    ws = new Workspace();
    ws.sentiment('train.tsv', 48, 1);
    ws.sentiment('dev.tsv', 16, 2);
    ws.write('cached.adapter.yaml', experiment('cached', 'drop:\n  layers: 0..0\n', '  prefix_cache:\n    enabled: true\n'));
    ws.write('robust.adapter.yaml', experiment('robust', 'drop:\n  layers: 0..1\n  mode: robust\n'));
  });
  after(() => ws.dispose());

  test('the page lists exactly the artifact kinds and error codes the engine has, and its example is a valid stream', () => {
    assert.deepEqual([...contract.artifactKinds].sort(), [...ARTIFACT_KINDS].sort());
    assert.deepEqual([...contract.errorCodes].sort(), [...ERROR_CODES].sort());
    assert.deepEqual([...contract.startJobs].sort(), ['ablate', 'drop-curve', 'drop-regimes', 'evaluate', 'export', 'import', 'multitask', 'predict', 'sweep', 'train']);
    assertContract(contract, contract.example.map((l) => JSON.parse(l) as Event), 'the example');
    // A checker that catches drift: an undocumented field, a missing one, a wrong type.
    const step = { v: 1, time: '2026-01-01T00:00:00.000Z', type: 'step', step: 1, epoch: 1, loss: 0.5, lr: 0.1, gradNorm: 1, examples: 8, tokens: 80, seconds: 0.1 };
    assert.deepEqual(contract.check(step), []);
    assert.match(contract.check({ ...step, extra: 1 }).join(), /extra is not documented/);
    assert.match(contract.check({ ...step, loss: undefined }).join(), /required field loss is missing/);
    assert.match(contract.check({ ...step, step: 1.5 }).join(), /step should be integer/);
  });

  test('train, with the prefix cache and with robust AdapterDrop', () => {
    const a = stream(['train', 'cached.adapter.yaml', '--events', '--max-steps', '8', '--runs', 'runs'], ws.root);
    assert.equal(a.status, 0, a.stderr);
    check(a.events, 'train');
    const end = a.events[a.events.length - 1]!;
    assert.ok(end.prefixCache, 'the prefix cache is reported');
    runA = String(a.events[0]!.runDir);

    const b = stream(['train', 'robust.adapter.yaml', '--events', '--max-steps', '3', '--runs', 'runs'], ws.root);
    assert.equal(b.status, 0, b.stderr);
    check(b.events, 'train (robust)');
    runB = String(b.events[0]!.runDir);
  });

  test('evaluate, predict, export and multitask on finished runs', () => {
    const evaluated = stream(['evaluate', runA, 'dev.tsv', '--events'], ws.root);
    assert.equal(evaluated.status, 0, evaluated.stderr);
    check(evaluated.events, 'evaluate');
    assert.deepEqual(evaluated.events.map((e) => e.type), ['start', 'evaluation', 'end']);

    const predicted = stream(['predict', runA, 'dev.tsv', '--events', '--out', 'predictions.jsonl'], ws.root);
    assert.equal(predicted.status, 0, predicted.stderr);
    check(predicted.events, 'predict');
    assert.equal(fs.readFileSync(ws.path('predictions.jsonl'), 'utf8').trim().split('\n').length, 16);

    const exported = stream(['export', runA, '--onnx', 'model.onnx', '--adapter', 'saved', '--events'], ws.root);
    assert.equal(exported.status, 0, exported.stderr);
    check(exported.events, 'export');
    assert.deepEqual(exported.events.filter((e) => e.type === 'artifact').map((e) => e.kind), ['adapter-folder', 'onnx']);

    const multi = stream(['multitask', 'dev.tsv', runA, runB, '--compare', '--events', '--out', 'multi.jsonl', '--threads', '1'], ws.root);
    assert.equal(multi.status, 0, multi.stderr);
    check(multi.events, 'multitask');

    const imported = stream(['import', 'saved', '--model', 'builtin:tiny-bert', '--data', 'dev.tsv', '--runs', 'runs-import', '--events'], ws.root);
    assert.equal(imported.status, 0, imported.stderr);
    check(imported.events, 'import');
  });

  test('ablate and ablate --drop-curve: the heatmap is an ablation artifact, the curve a drop-curve one', () => {
    const spans = stream(['ablate', runA, '--events'], ws.root);
    assert.equal(spans.status, 0, spans.stderr);
    check(spans.events, 'ablate');
    assert.deepEqual(shape(spans.events).slice(-2), ['artifact:ablation', 'end:completed']);
    assert.equal(spans.events.at(-2)!.path, path.join(runA, 'ablation.json'));

    const curve = stream(['ablate', runA, '--drop-curve', '--events'], ws.root);
    assert.equal(curve.status, 0, curve.stderr);
    check(curve.events, 'ablate --drop-curve');
    assert.deepEqual(shape(curve.events).slice(-2), ['artifact:drop-curve', 'end:completed']);
    assert.equal(curve.events.at(-2)!.path, path.join(runA, 'drop-curve.json'));
    // Rebuilt from the run folder (a panel reopened), each says the same kind.
    for (const [file, kind] of [['ablation.json', 'ablation'], ['drop-curve.json', 'drop-curve']] as const) {
      const replayed = replayJob(path.join(runA, file)).events.map((e) => JSON.parse(JSON.stringify(e)) as Event);
      check(replayed, `replayed ${file}`);
      assert.deepEqual(replayed.filter((e) => e.type === 'artifact').map((e) => e.kind), [kind]);
    }
  });

  test('sweep: its start and end around each trial and its run; one that cannot start is an error and a failed end', () => {
    ws.write('grid.adapter.yaml', experiment('grid', 'sweep:\n  grid:\n    adapter.size: [4, 8]\n  seeds: 1\n'));
    const r = stream(['sweep', 'grid.adapter.yaml', '--events', '--max-steps', '2', '--runs', 'runs-sweep'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    check(r.events, 'sweep');
    assert.deepEqual(r.events.filter((e) => e.type === 'start').map((e) => e.job), ['sweep', 'train', 'train']);
    assert.deepEqual(shape(r.events).slice(-2), ['artifact:sweep-summary', 'end:completed']);
    assert.equal(r.events.at(-1)!.steps, 2, 'two trials recorded');

    const missing = stream(['sweep', 'missing.adapter.yaml', '--events'], ws.root);
    assert.equal(missing.status, 2, missing.stderr);
    check(missing.events, 'sweep, no such file');
    assert.deepEqual(shape(missing.events), ['error:setup-failed', 'end:failed']);

    // A run folder is not a sweep to resume: refused before the sweep starts, named as the folder given.
    const notSweep = stream(['sweep', 'grid.adapter.yaml', '--resume', runA, '--events'], ws.root);
    assert.equal(notSweep.status, 1, notSweep.stderr);
    check(notSweep.events, 'sweep --resume, not a sweep folder');
    assert.deepEqual(shape(notSweep.events), ['error:setup-failed', 'end:failed']);
    assert.equal(notSweep.events[1]!.run, path.basename(runA));
  });

  test('drop-regimes: its own start and end around the nested runs and curves', () => {
    const r = stream(['drop-regimes', 'robust.adapter.yaml', '--n', '1', '--max-steps', '2', '--runs', 'runs-regimes', '--events'], ws.root);
    assert.equal(r.status, 0, r.stderr);
    check(r.events, 'drop-regimes');
    const starts = r.events.filter((e) => e.type === 'start').map((e) => e.job);
    assert.deepEqual(starts, ['drop-regimes', 'train', 'drop-curve', 'train', 'drop-curve', 'train']);
    assert.deepEqual(r.events.slice(-3).map((e) => `${e.type}:${String(e.kind ?? e.status)}`), ['artifact:drop-curve', 'artifact:regimes', 'end:completed']);
    assert.equal(r.events[r.events.length - 1]!.steps, 3, 'three training runs');
  });

  test('jobs that fail: before they start, and after', () => {
    // A model folder whose weights cannot be read: refused before any run folder exists.
    ws.model('models/broken', { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, vocab_size: 6, max_position_embeddings: 32 });
    ws.write('broken.adapter.yaml', experiment('broken').replace('builtin:tiny-bert', './models/broken'));
    const broken = stream(['train', 'broken.adapter.yaml', '--events', '--runs', 'runs-broken'], ws.root);
    assert.equal(broken.status, 1, broken.stderr);
    check(broken.events, 'train, unreadable model');
    assert.deepEqual(broken.events.map((e) => `${e.type}:${String(e.code ?? e.status)}`), ['error:setup-failed', 'end:failed']);
    assert.equal(fs.existsSync(ws.path('runs-broken')) && fs.readdirSync(ws.path('runs-broken')).length > 0, false);

    const notRun = stream(['resume', ws.root, '--events'], ws.root);
    assert.equal(notRun.status, 2);
    check(notRun.events, 'resume, not a run');
    assert.equal(notRun.events[0]!.code, 'setup-failed');

    const noData = stream(['evaluate', runA, 'nope.tsv', '--events'], ws.root);
    assert.equal(noData.status, 2);
    check(noData.events, 'evaluate, missing data');
    assert.deepEqual(noData.events.map((e) => e.type), ['start', 'error', 'end']);

    const notAdapter = stream(['import', 'dev.tsv', '--events', '--runs', 'runs-import'], ws.root);
    assert.equal(notAdapter.status, 2);
    check(notAdapter.events, 'import, not an adapter folder');
    assert.equal(notAdapter.events[0]!.code, 'import-failed');

    ws.write('nan.adapter.yaml', experiment('nan').replace('3.0e-3', '1.0e+30'));
    const nan = stream(['train', 'nan.adapter.yaml', '--events', '--runs', 'runs-nan'], ws.root);
    assert.equal(nan.status, 1);
    check(nan.events, 'train, infinite loss');
  });

  test('an ablation that fails after it started closes its stream: an error and a failed end', () => {
    // A folder where the ablation's result goes: every cell is evaluated, then the result cannot be written.
    const inTheWay = path.join(runB, 'ablation.json');
    fs.mkdirSync(path.join(inTheWay, 'kept'), { recursive: true });
    const unsaved = stream(['ablate', runB, '--events'], ws.root);
    fs.rmSync(inTheWay, { recursive: true, force: true });
    assert.equal(unsaved.status, 1, unsaved.stderr);
    check(unsaved.events, 'ablate, result not written');
    assert.deepEqual(shape(unsaved.events).slice(-3), ['log', 'error:save-failed', 'end:failed']);
    const end = unsaved.events.at(-1)!;
    assert.equal(end.steps, unsaved.events[0]!.cells, 'every cell was done');
    assert.equal(typeof (end.metrics as Record<string, unknown>)[String(unsaved.events[0]!.metric)], 'number', 'the baseline');
    assert.equal(typeof end.message, 'string');
  });

  test('a sweep that fails mid-way closes its stream (an error and a failed end) and its status.json says failed', async () => {
    // Its records stop being writable after the first trial (trials.jsonl replaced by a folder).
    const source = experiment('midway', 'sweep:\n  grid:\n    adapter.size: [4, 8]\n  seeds: 1\n');
    const file = ws.write('midway.adapter.yaml', source);
    const v = validateExperiment(source, { filePath: file });
    assert.ok(v.ok && v.experiment, 'the sweep file validates');
    const events: Event[] = [];
    let sweepDir = '';
    const emit = (e: JobEvent): void => {
      events.push(JSON.parse(JSON.stringify(e)) as Event);
      if (e.type === 'start' && e.job === 'sweep') sweepDir = e.sweepDir;
      const trials = path.join(sweepDir, SWEEP_FILES.trials);
      if (e.type === 'trial-end' && !fs.statSync(trials).isDirectory()) {
        fs.rmSync(trials);
        fs.mkdirSync(trials);
      }
    };
    await assert.rejects(runSweep({ experiment: v.experiment, plain: v.plain, source, baseDir: ws.root, runsDir: ws.path('runs-midway'), maxSteps: 2, threads: 1, emit }), /EISDIR/);
    check(events, 'sweep, failing mid-way');
    assert.deepEqual(shape(events).slice(-2), ['error:engine-error', 'end:failed']);
    assert.equal(events.filter((e) => e.type === 'trial-start').length, 2, 'it failed recording the second trial');
    const sweepEnd = events.at(-1)!;
    assert.equal(sweepEnd.run, path.basename(sweepDir));
    assert.equal(sweepEnd.steps, 1, 'one trial recorded');
    assert.deepEqual(sweepEnd.metrics, {});
    assert.match(String(sweepEnd.message), /EISDIR/);
    const status = JSON.parse(fs.readFileSync(path.join(sweepDir, SWEEP_FILES.status), 'utf8')) as SweepStatusRecord;
    assert.equal(status.status, 'failed');
    assert.match(status.message ?? '', /EISDIR/);
  });

  test('ablate on a run another job holds, or on a folder that is not a run, with --events: an error and a failed end', () => {
    const lock = path.join(runA, LOCK_FILE);
    // This test process holds it, as a training job would: alive, and not the ablation's own process.
    const owner: LockOwner = { pid: process.pid, host: os.hostname(), started: new Date().toISOString(), job: 'train', token: 'held-by-test' };
    fs.writeFileSync(lock, JSON.stringify(owner) + '\n');
    const locked = stream(['ablate', runA, '--events'], ws.root);
    fs.rmSync(lock, { force: true });
    assert.equal(locked.status, 1, locked.stderr);
    check(locked.events, 'ablate, locked run');
    assert.deepEqual(shape(locked.events), ['error:setup-failed', 'end:failed']);
    assert.match(String(locked.events[0]!.message), /in use by another job \(train/);
    assert.equal(locked.events[1]!.run, path.basename(runA));

    const notRun = stream(['ablate', ws.root, '--drop-curve', '--events'], ws.root);
    assert.equal(notRun.status, 2, notRun.stderr);
    check(notRun.events, 'ablate, not a run');
    assert.deepEqual(shape(notRun.events), ['error:setup-failed', 'end:failed']);
  });

  test('between them, the streams use every kind of event the engine writes', () => {
    for (const key of ['start:train', 'start:evaluate', 'start:predict', 'start:export', 'start:multitask', 'start:import', 'start:ablate', 'start:sweep', 'start:drop-regimes', 'start:drop-curve', 'step', 'evaluation', 'ablation', 'trial-start', 'trial-end', 'comparison', 'log', 'end', 'artifact:adapter', 'artifact:adapter-folder', 'artifact:onnx', 'artifact:predictions', 'artifact:ablation', 'artifact:drop-curve', 'artifact:regimes', 'artifact:sweep-summary', 'error:setup-failed', 'error:engine-error', 'error:save-failed', 'error:import-failed', 'error:non-finite-loss']) {
      assert.ok(seen.has(key), `no stream had ${key}`);
    }
  });
});

describe('the recorded event fixtures (test/fixtures/events) keep to the contract', () => {
  const contract = loadEventContract();
  const dir = path.join(REPO_ROOT, 'test', 'fixtures', 'events');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();

  test('there are recorded streams to check', () => {
    assert.ok(files.length >= 5, `found ${files.length} fixture files in ${dir}`);
  });

  for (const file of files) {
    test(file, () => {
      const events = fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
      // A recording may hold jobs run one after another (the demo's): each is a stream of its own.
      const streams: Event[][] = [[]];
      let depth = 0;
      for (const e of events) {
        streams[streams.length - 1]!.push(e);
        if (e.type === 'start') depth++;
        if (e.type === 'end' && --depth === 0) streams.push([]);
      }
      const complete = streams.filter((x) => x.length > 0);
      complete.forEach((x, i) => assertContract(contract, x, `${file}, stream ${i + 1} of ${complete.length}`));
    });
  }
});
