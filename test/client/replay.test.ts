/** Replay from the run store: the same events a panel got live, rebuilt from a run's files, and never a throw. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobEvent } from '../../engine/events';
import * as replay from '../../engine/runs/replay';
import { replayJob, replayKind } from '../../engine/runs/replay';
import * as ablate from '../../engine/jobs/ablate';
import * as sweep from '../../engine/jobs/sweep';
import type { Workspace } from '../support/fixtures';
import { runJob, tinyExperiment, tinyWorkspace } from './support';

/** What replay promises to reproduce: the event types (log lines are not stored), steps and final metrics. */
function shape(events: readonly JobEvent[]) {
  const kept = events.filter((e) => e.type !== 'log');
  const end = [...kept].reverse().find((e) => e.type === 'end');
  return {
    types: kept.map((e) => (e.type === 'start' ? `start:${e.job}` : e.type)),
    steps: kept.filter((e) => e.type === 'step').map((e) => (e.type === 'step' ? [e.step, e.loss] : [])),
    final: end?.type === 'end' ? { status: end.status, steps: end.steps, metrics: end.metrics } : undefined,
  };
}

test('the store file names replay reads are the ones the engine writes', () => {
  assert.deepEqual(replay.SWEEP_FILES, sweep.SWEEP_FILES);
  assert.equal(replay.ABLATION_FILE, ablate.ABLATION_FILE);
  assert.equal(replay.DROP_CURVE_FILE, ablate.DROP_CURVE_FILE);
});

describe('replayJob', () => {
  let ws: Workspace;
  let runDir: string;
  let live: JobEvent[];
  before(async () => {
    ws = tinyWorkspace();
    ws.write('tiny.adapter.yaml', tinyExperiment());
    const r = await runJob(['train', 'tiny.adapter.yaml', '--events', '--runs', ws.path('runs')], ws.root);
    assert.equal(r.exit.outcome, 'completed');
    live = r.events;
    const start = live[0]!;
    assert.ok(start.type === 'start' && start.job === 'train');
    runDir = start.runDir;
  });
  after(() => ws.dispose());

  test('a finished run replays as its live stream (types, steps, final metrics)', () => {
    const replayed = replayJob(runDir);
    assert.equal(replayed.id, path.resolve(runDir));
    assert.equal(replayed.label, path.basename(runDir));
    assert.deepEqual(shape(replayed.events), shape(live));
    assert.equal(replayed.events.filter((e) => e.type === 'log').length, 0, 'no warnings for a complete run');
    const start = replayed.events[0]!;
    const liveStart = live[0]!;
    assert.ok(start.type === 'start' && start.job === 'train' && liveStart.type === 'start' && liveStart.job === 'train');
    assert.equal(start.steps, liveStart.steps);
    assert.equal(start.method, liveStart.method);
    assert.deepEqual(start.parameters, liveStart.parameters);
    for (const e of replayed.events) assert.equal(e.v, 1);
    // Times never go backwards.
    const times = replayed.events.map((e) => Date.parse(e.time));
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
  });

  test('a torn metrics.jsonl and a missing status.json: what can be read, plus a warning', () => {
    const copy = ws.path('torn-run');
    fs.cpSync(runDir, copy, { recursive: true });
    fs.appendFileSync(path.join(copy, 'metrics.jsonl'), '{"type":"step","step":99,"epo');
    fs.rmSync(path.join(copy, 'status.json'));
    const replayed = replayJob(copy);
    const s = shape(replayed.events);
    assert.deepEqual(s.steps, shape(live).steps, 'the torn last line is skipped');
    assert.equal(s.final, undefined, 'no end without status.json');
    assert.ok(replayed.events.some((e) => e.type === 'log' && e.level === 'warning' && /status\.json is missing/.test(e.message)));
  });

  test('torn JSON files and missing folders do not throw', () => {
    const broken = ws.path('broken-run');
    fs.mkdirSync(broken);
    fs.writeFileSync(path.join(broken, 'config.json'), '{"experiment": {');
    fs.writeFileSync(path.join(broken, 'status.json'), '{"status":"completed","started":"2026-01-01T00:00:00.000Z","step":3,"pid":1}');
    const r = replayJob(broken);
    assert.equal(r.events[0]!.type, 'start');
    assert.ok(r.events.some((e) => e.type === 'log' && /config\.json is not valid JSON/.test(e.message)));
    assert.equal(r.events[r.events.length - 1]!.type, 'end');
    for (const target of [ws.path('nowhere'), path.join(ws.path('nowhere'), 'ablation.json'), ws.path('tiny.adapter.yaml')]) {
      const none = replayJob(target);
      assert.ok(none.events.length >= 1, target);
      assert.ok(none.events.some((e) => e.type === 'log' && e.level === 'warning'), target);
    }
  });

  test('a run still marked running replays without an end', () => {
    const running = ws.path('running-run');
    fs.cpSync(runDir, running, { recursive: true });
    const status = JSON.parse(fs.readFileSync(path.join(running, 'status.json'), 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(path.join(running, 'status.json'), JSON.stringify({ ...status, status: 'running', ended: undefined }));
    assert.equal(replayJob(running).events.some((e) => e.type === 'end'), false);
  });

  test('a sweep replays as its live stream: trials with their runs inside', async () => {
    ws.write('sweep.adapter.yaml', tinyExperiment(1, 'sweep:\n  grid:\n    training.learning_rate: [1.0e-3, 3.0e-3]\n'));
    const r = await runJob(['sweep', 'sweep.adapter.yaml', '--events', '--max-steps', '3', '--runs', ws.path('sweeps')], ws.root);
    assert.equal(r.exit.outcome, 'completed', r.logs.join('\n'));
    const start = r.events[0]!;
    assert.ok(start.type === 'start' && start.job === 'sweep');
    assert.equal(replayKind(start.sweepDir), 'sweep');
    const replayed = replayJob(start.sweepDir);
    assert.deepEqual(shape(replayed.events), shape(r.events));
    // A torn trials.jsonl: the torn record's trial is still shown (from its run folder), without a trial-end.
    const copy = ws.path('torn-sweep');
    fs.cpSync(start.sweepDir, copy, { recursive: true });
    const trials = path.join(copy, 'trials.jsonl');
    const text = fs.readFileSync(trials, 'utf8');
    fs.writeFileSync(trials, text.slice(0, text.length - 20));
    const torn = replayJob(copy);
    assert.equal(torn.events.filter((e) => e.type === 'trial-start').length, 2);
    assert.equal(torn.events.filter((e) => e.type === 'trial-end').length, 1);
  });

  test('a crafted trial record cannot make a sweep replay itself or read outside its runs', () => {
    const dir = ws.path('crafted-sweep');
    fs.mkdirSync(path.join(dir, 'runs'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'sweep.json'), JSON.stringify({ name: 'x', metric: 'accuracy', trials: [] }));
    const record = (index: number, run: string) => JSON.stringify({ index, status: 'completed', assignments: {}, seed: 1, run, metrics: {}, trainable: 1 });
    fs.writeFileSync(path.join(dir, 'trials.jsonl'), [record(0, '..'), record(1, '..'), record(2, '../../x'), record(3, runDir)].join('\n') + '\n');
    const r = replayJob(dir);
    assert.equal(r.events.filter((e) => e.type === 'start' && e.job === 'train').length, 0, 'no run outside the sweep is replayed');
    assert.equal(r.events.filter((e) => e.type === 'log' && /not a run folder name/.test(e.message)).length, 4);
  });

  test('an AdapterDrop curve replays from drop-curve.json as its live ablation events', async () => {
    const r = await runJob(['ablate', runDir, '--events', '--drop-curve'], ws.root);
    assert.equal(r.exit.outcome, 'completed', r.logs.join('\n'));
    const file = path.join(runDir, 'drop-curve.json');
    assert.equal(replayKind(file), 'drop-curve');
    const replayed = replayJob(file);
    // Labelled by the regime the run was trained in (no drop settings: standard) and its name.
    assert.equal(replayed.label, `standard · ${path.basename(runDir)}`);
    assert.deepEqual(shape(replayed.events), shape(r.events));
    const cells = (events: readonly JobEvent[]) => events.filter((e) => e.type === 'ablation').map((e) => (e.type === 'ablation' ? [e.from, e.to, e.value] : []));
    assert.deepEqual(cells(replayed.events), cells(r.events));
  });
});
