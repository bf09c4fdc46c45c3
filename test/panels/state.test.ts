/**
 * The panels' pure modules: folding events into models, sweep groups (against the
 * engine's own selection), the tables' sorting, filtering and CSV, scales and thinning.
 */
import * as assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JobEvent } from '../../engine/events';
import { HIGHER_IS_BETTER } from '../../engine/metrics';
import { GROUP_AXES as ENGINE_GROUP_AXES, summarise, type TrialRecord } from '../../engine/jobs/sweep';
import { downsample, extent, linearScale, logScale } from '../../client/webview/charts/scale';
import { formatDuration, formatNumber, safeFileName } from '../../client/webview/format';
import { bestPerGroup, GROUP_AXES, groupKey, higherIsBetter, tradeoffPoints } from '../../client/webview/groups';
import { applyEvents, createJob, dropCurvePoints, elapsedSeconds, etaSeconds, foldJob, layerCount, mainRun, spanCells, throughput, trialsOf } from '../../client/webview/state';
import { sweepTable } from '../../client/webview/sweepTable';
import { csvField, filterRows, sortRows, toCsv, type Row } from '../../client/webview/table';
import { parseCsv, readEvents } from './harness';

const ofType = <T extends JobEvent['type']>(events: readonly JobEvent[], type: T) => events.filter((e): e is Extract<JobEvent, { type: T }> => e.type === type);

describe('folding a fusion run', () => {
  test('its fusion-weights event becomes adapters × sites, in layer order, absent adapters as null', () => {
    const t = '2026-01-01T00:00:00.000Z';
    const events: JobEvent[] = [
      { v: 1, time: t, type: 'start', job: 'train', run: 'f', runDir: '/runs/f', experiment: 'f', method: 'fusion', model: 'builtin:tiny-bert', parameters: { trainable: 10, base: 100, percentOfBase: 10 }, steps: 1, epochs: 1, examples: 1, provider: 'cpu', threads: 1 },
      { v: 1, time: t, type: 'fusion-weights', adapters: ['a', 'b'], weights: { '1.ffn': [0.25, 0.75], '0.ffn': [1, null], '0.attention': [0.5, 0.5], '10.attention': [0.9, 0.1] }, tokens: 40, data: '/data/dev.tsv' },
      { v: 1, time: t, type: 'end', status: 'completed', run: 'f', seconds: 1, steps: 1, metrics: {} },
    ];
    const run = mainRun(foldJob({ id: 'f', label: 'f', events }))!;
    assert.deepEqual(run.fusion, {
      adapters: ['a', 'b'],
      sites: ['0.attention', '0.ffn', '1.ffn', '10.attention'],
      cells: [[0.5, 0.5], [1, null], [0.25, 0.75], [0.9, 0.1]],
      data: '/data/dev.tsv',
      tokens: 40,
      step: undefined,
    });
  });
  test('live weights (with their step) replace each other as evaluations come, and the finished run\'s replace them', () => {
    const events = readEvents('fusion.jsonl');
    const weights = ofType(events, 'fusion-weights');
    const job = createJob('f', 'f');
    const seen: (number | undefined)[] = [];
    let at = 0;
    for (const w of weights) {
      const upTo = events.indexOf(w) + 1;
      applyEvents(job, events.slice(at, upTo));
      at = upTo;
      const fusion = mainRun(job)!.fusion!;
      seen.push(fusion.step);
      assert.equal(fusion.cells[0]![0], w.weights['0.attention']![0]);
    }
    applyEvents(job, events.slice(at));
    assert.deepEqual(seen, [3, 6, 9, 12, 15, 18, undefined]);
    assert.equal(mainRun(job)!.fusion!.step, undefined);
    assert.equal(mainRun(job)!.status, 'completed');
  });
  test('a run without one has none', () => {
    const run = mainRun(foldJob({ id: 'r', label: 'r', events: readEvents('run.jsonl') }))!;
    assert.equal(run.fusion, undefined);
  });
});

describe('folding a training run', () => {
  const events = readEvents('run.jsonl');
  const job = foldJob({ id: 'r', label: 'quickstart', events });
  const run = mainRun(job)!;

  test('steps, evaluations, parameters and the end', () => {
    assert.equal(job.runs.length, 1);
    assert.equal(job.eventCount, events.length);
    assert.equal(run.steps.length, ofType(events, 'step').length);
    assert.deepEqual(run.evaluations.map((e) => e.value), ofType(events, 'evaluation').map((e) => e.value));
    assert.equal(run.metric, 'accuracy');
    assert.equal(run.trainable, 18178);
    assert.equal(run.base, 278080);
    assert.equal(run.plannedSteps, 30);
    assert.equal(run.status, 'completed');
    assert.deepEqual(run.finalMetrics, ofType(events, 'end')[0]!.metrics);
    assert.equal(run.logs.length, ofType(events, 'log').length);
    assert.equal(elapsedSeconds(run), ofType(events, 'end')[0]!.seconds);
    assert.equal(etaSeconds(run), 0);
  });

  test('folding in batches gives the same model as folding at once', () => {
    const live = createJob('r', 'quickstart');
    for (let i = 0; i < events.length; i += 3) applyEvents(live, events.slice(i, i + 3));
    assert.deepEqual(live, job);
  });

  test('throughput over a trailing window of steps', () => {
    const tp = throughput(run, 5);
    assert.equal(tp.length, run.steps.length);
    const last5 = run.steps.slice(-5);
    const expected = last5.reduce((a, s) => a + s.tokens, 0) / last5.reduce((a, s) => a + s.seconds, 0);
    assert.ok(Math.abs(tp[tp.length - 1]!.value - expected) < 1e-6 * expected);
  });

  test('ETA from the pace so far while running', () => {
    const live = createJob('r', 'q');
    const start = events[0]!;
    applyEvents(live, [start, ...ofType(events, 'step').slice(0, 10).map((s, i) => ({ ...s, time: new Date(Date.parse(start.time) + (i + 1) * 1000).toISOString() }))]);
    const r = mainRun(live)!;
    assert.equal(r.status, 'running');
    assert.equal(elapsedSeconds(r), 10);
    assert.equal(etaSeconds(r), 20);
  });

  test('an error fails the run and keeps its message', () => {
    const failed = createJob('f', 'f');
    applyEvents(failed, [...events.slice(0, 5), { v: 1, time: events[4]!.time, type: 'error', code: 'non-finite-loss', message: 'loss became NaN at step 3' }, { v: 1, time: events[4]!.time, type: 'end', status: 'failed', run: 'x', seconds: 1, steps: 3, metrics: {} }]);
    const r = mainRun(failed)!;
    assert.equal(r.status, 'failed');
    assert.deepEqual(r.error, { code: 'non-finite-loss', message: 'loss became NaN at step 3' });
  });

  test('unknown event types and malformed entries are ignored', () => {
    const j = createJob('u', 'u');
    applyEvents(j, [events[0]!, { v: 1, time: events[0]!.time, type: 'telemetry' } as unknown as JobEvent, null as unknown as JobEvent]);
    assert.equal(j.runs.length, 1);
    assert.equal(j.eventCount, 2);
  });

  test('a demo stream holds one run per start event', () => {
    const demo = readEvents('demo.jsonl');
    const j = foldJob({ id: 'd', label: 'demo', events: demo });
    assert.deepEqual(j.runs.map((r) => r.method), ['adapter', 'full']);
    assert.deepEqual(j.runs.map((r) => r.steps.length), [150, 150]);
  });
});

describe('folding a sweep', () => {
  const events = readEvents('sweep.jsonl');
  const job = foldJob({ id: 's', label: 'houlsby', events });
  const sweep = job.sweep!;
  const ends = ofType(events, 'trial-end');
  const starts = ofType(events, 'trial-start');

  test('trials, grid keys, their runs, the sweep end', () => {
    assert.equal(sweep.total, 36);
    assert.equal(sweep.metric, 'accuracy');
    assert.deepEqual(sweep.keys, ['training.learning_rate', 'training.epochs', 'adapter.size']);
    const trials = trialsOf(sweep);
    assert.equal(trials.length, 36);
    assert.deepEqual(trials.map((t) => t.status), ends.map((e) => e.status));
    assert.deepEqual(trials.map((t) => t.metrics.accuracy), ends.map((e) => e.metrics.accuracy));
    assert.deepEqual(trials.map((t) => t.seed), starts.map((s) => s.seed));
    assert.ok(trials.every((t) => t.run && t.run.steps.length === 10), 'each trial has its own run with its steps');
    assert.equal(job.runs.length, 36);
    assert.equal(sweep.status, 'completed');
    assert.deepEqual(sweep.finalMetrics, ofType(events, 'end').at(-1)!.metrics);
  });

  test('best per group is the engine summary’s best', () => {
    const records: TrialRecord[] = ends.map((e) => ({ index: e.index, status: e.status, assignments: starts.find((s) => s.index === e.index)!.assignments, seed: 0, run: e.run, metrics: e.metrics, trainable: e.trainable }));
    const summary = summarise('accuracy', records);
    assert.deepEqual([...bestPerGroup(sweep)].sort((a, b) => a - b), summary.groups.map((g) => g.best.index).sort((a, b) => a - b));
    // The trade-off points: the same mean ± spread over seeds as the summary.
    const points = tradeoffPoints(sweep);
    assert.equal(points.length, summary.tradeoff.length);
    for (const t of summary.tradeoff) {
      const p = points.find((q) => q.trainable === t.trainable)!;
      assert.ok(Math.abs(p.mean - t.mean) < 1e-12 && Math.abs(p.std - t.std) < 1e-12);
      assert.equal(p.series, 'adapter');
    }
  });

  test('the table lists the trials with raw values', () => {
    const table = sweepTable(sweep);
    assert.deepEqual(table.columns.map((c) => c.label), ['trial', 'training.learning_rate', 'training.epochs', 'adapter.size', 'seed', 'status', 'accuracy', 'trainable']);
    assert.equal(table.rows.length, 36);
    assert.deepEqual(table.rows[0]!.cells, [0, 3e-5, 3, 8, 42, 'completed', ends[0]!.metrics.accuracy, ends[0]!.trainable]);
  });

  test('a sweep on Slurm: trials appear as the cluster reports them (pending, running), then with their block; how a task ended shows when it says more', () => {
    const stamp = { v: 1 as const, time: '2026-01-01T00:00:00.000Z' };
    const live = createJob('s', 'on slurm');
    const state = (index: number, st: 'pending' | 'running' | 'timed-out'): JobEvent => ({ ...stamp, type: 'trial-state', index, total: 2, assignments: { 'adapter.size': 8 }, seed: 42 + index, state: st, job: `7_${index}` });
    applyEvents(live, [{ ...stamp, type: 'start', job: 'sweep', sweep: 's', sweepDir: '/s', trials: 2, skipped: 0, metric: 'accuracy', executor: 'slurm' }, state(0, 'running'), state(1, 'pending')]);
    assert.equal(live.sweep!.executor, 'slurm');
    assert.deepEqual(sweepTable(live.sweep!).rows.map((r) => [r.cells[0], r.cells[2], r.cells[3]]), [[0, 42, 'running'], [1, 43, 'pending']]);
    applyEvents(live, [
      { ...stamp, type: 'trial-start', index: 0, total: 2, assignments: { 'adapter.size': 8 }, seed: 42 },
      { ...stamp, type: 'trial-end', index: 0, total: 2, status: 'completed', run: 'trial-0000', metrics: { accuracy: 0.5 }, trainable: 10 },
      { ...stamp, type: 'trial-start', index: 1, total: 2, assignments: { 'adapter.size': 8 }, seed: 43 },
      { ...stamp, type: 'trial-end', index: 1, total: 2, status: 'cancelled', run: 'trial-0001', metrics: {}, trainable: 10 },
      state(1, 'timed-out'),
    ]);
    assert.deepEqual(sweepTable(live.sweep!).rows.map((r) => r.cells[3]), ['completed', 'timed out']);
  });

  test('a trial still running shows its best evaluation so far', () => {
    const cut = events.findIndex((e) => e.type === 'evaluation') + 1;
    const live = foldJob({ id: 's', label: 's', events: events.slice(0, cut) });
    const t = trialsOf(live.sweep!)[0]!;
    assert.equal(t.status, 'running');
    assert.equal(sweepTable(live.sweep!).rows[0]!.cells[6], ofType(events, 'evaluation')[0]!.value);
    assert.equal(bestPerGroup(live.sweep!).size, 0, 'only finished trials compete');
  });
});

describe('sweep groups', () => {
  test('the same axes as the engine', () => {
    assert.deepEqual([...GROUP_AXES], [...ENGINE_GROUP_AXES]);
  });

  test('top_k only for method top_k, adapter.size only for adapters', () => {
    assert.deepEqual(groupKey({ method: 'adapter', 'adapter.size': 8, top_k: 2, 'training.learning_rate': 1e-4 }), { method: 'adapter', 'adapter.size': 8 });
    assert.deepEqual(groupKey({ method: 'top_k', 'adapter.size': 8, top_k: 2 }), { method: 'top_k', top_k: 2 });
    assert.deepEqual(groupKey({ method: 'full', 'adapter.size': 8, top_k: 2 }), { method: 'full' });
    assert.deepEqual(groupKey({ 'adapter.size': 64, 'training.epochs': 3 }), { 'adapter.size': 64 });
    assert.deepEqual(groupKey({ 'training.epochs': 3 }), {});
    // The adapters' architecture groups adapter trials, and means nothing for the baselines.
    assert.deepEqual(groupKey({ 'adapter.preset': 'pfeiffer', 'adapter.share': 'all_layers', 'training.epochs': 3 }), { 'adapter.preset': 'pfeiffer', 'adapter.share': 'all_layers' });
    assert.deepEqual(groupKey({ method: 'full', 'adapter.preset': 'parallel', 'adapter.depth': 2 }), { method: 'full' });
  });

  test('agrees with the engine on a methods sweep, failed trials excluded', () => {
    const methods = ['adapter', 'full', 'top_k', 'layernorm'];
    const records: TrialRecord[] = [];
    const events: JobEvent[] = [{ v: 1, time: '2026-01-01T00:00:00.000Z', type: 'start', job: 'sweep', sweep: 's', sweepDir: 's', trials: 32, skipped: 0, metric: 'accuracy' }];
    let index = 0;
    for (const method of methods)
      for (const k of [1, 2, 3, 5])
        for (const seed of [42, 43]) {
          const failed = index % 7 === 3;
          const value = ((index * 37) % 11) / 11;
          const r: TrialRecord = { index, status: failed ? 'failed' : 'completed', assignments: { method, top_k: k }, seed, run: `t${index}`, metrics: failed ? {} : { accuracy: value }, trainable: 1000 * (methods.indexOf(method) + 1) * (method === 'top_k' ? k : 1) };
          records.push(r);
          events.push({ v: 1, time: '2026-01-01T00:00:00.000Z', type: 'trial-start', index, total: 32, assignments: r.assignments, seed }, { v: 1, time: '2026-01-01T00:00:00.000Z', type: 'trial-end', index, total: 32, status: r.status, run: r.run, metrics: r.metrics, trainable: r.trainable });
          index++;
        }
    const sweep = foldJob({ id: 's', label: 's', events }).sweep!;
    const summary = summarise('accuracy', records);
    assert.deepEqual([...bestPerGroup(sweep)].sort((a, b) => a - b), summary.groups.map((g) => g.best.index).sort((a, b) => a - b));
    assert.equal(summary.groups.length, 7, 'adapter, full, layernorm and four top_k depths');
    assert.deepEqual([...new Set(tradeoffPoints(sweep).map((p) => p.series))].sort(), [...methods].sort());
  });

  test('every metric the engine computes is higher-is-better here too', () => {
    for (const [metric, higher] of Object.entries(HIGHER_IS_BETTER)) assert.equal(higherIsBetter(metric), higher, metric);
  });
});

describe('ablation and AdapterDrop curve', () => {
  test('span cells and single sites', () => {
    const events = readEvents('ablate.jsonl');
    const job = foldJob({ id: 'a', label: 'a', events });
    const a = job.ablations[0]!;
    assert.equal(a.mode, 'ablate');
    assert.equal(layerCount(a), 6);
    assert.equal(spanCells(a).length, 21);
    assert.equal(a.cells.length, a.expectedCells);
    assert.equal(a.baseline, ofType(events, 'end')[0]!.metrics.accuracy);
    assert.equal(job.runs.length, 0);
  });

  test('n = to + 1 layers dropped; n = 0 is the end event’s baseline', () => {
    const events = readEvents('drop-curve-robust.jsonl');
    const job = foldJob({ id: 'd', label: 'robust', events });
    const points = dropCurvePoints(job, job.ablations[0]!);
    assert.deepEqual(points.map((p) => p.n), [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(points[0]!.value, ofType(events, 'end')[0]!.metrics.accuracy);
    assert.deepEqual(points.slice(1).map((p) => p.value), ofType(events, 'ablation').map((c) => c.value));
  });

  test('before the end event, the baseline comes from the training run in the same history', () => {
    const train = readEvents('run.jsonl');
    const curve = readEvents('drop-curve-standard.jsonl').filter((e) => e.type !== 'end');
    const job = foldJob({ id: 'd', label: 'standard', events: [...train, ...curve] });
    const points = dropCurvePoints(job, job.ablations[0]!);
    assert.equal(points[0]!.n, 0);
    assert.equal(points[0]!.value, ofType(train, 'end')[0]!.metrics.accuracy);
  });
});

describe('tables', () => {
  const rows: Row[] = [
    { id: 0, cells: [0.5, 'b'], text: ['0.5', 'b'] },
    { id: 1, cells: [undefined, 'a'], text: ['—', 'a'] },
    { id: 2, cells: [0.25, 'a,"x"'], text: ['0.25', 'a,"x"'] },
    { id: 3, cells: [0.5, 'line\nbreak'], text: ['0.5', 'line\nbreak'] },
  ];
  const columns = [{ key: 'v', label: 'value', numeric: true }, { key: 's', label: 'name, "quoted"', numeric: false }];

  test('sorting: by value, ties by id, missing values last either way', () => {
    assert.deepEqual(sortRows(rows, { column: 0, descending: false }).map((r) => r.id), [2, 0, 3, 1]);
    assert.deepEqual(sortRows(rows, { column: 0, descending: true }).map((r) => r.id), [0, 3, 2, 1]);
    assert.deepEqual(sortRows(rows, undefined).map((r) => r.id), [0, 1, 2, 3]);
  });

  test('filtering: every word, any cell, case-insensitive', () => {
    assert.deepEqual(filterRows(rows, 'A').map((r) => r.id), [1, 2, 3]);
    assert.deepEqual(filterRows(rows, 'A,').map((r) => r.id), [2]);
    assert.deepEqual(filterRows(rows, '0.5 LINE').map((r) => r.id), [3]);
    assert.equal(filterRows(rows, '   ').length, 4);
  });

  test('CSV quoting reads back', () => {
    assert.equal(csvField('a,"x"'), '"a,""x"""');
    assert.equal(csvField(undefined), '');
    assert.equal(csvField(NaN), '');
    const csv = toCsv(columns, rows);
    assert.ok(csv.endsWith('\r\n'));
    assert.deepEqual(parseCsv(csv), [['value', 'name, "quoted"'], ['0.5', 'b'], ['', 'a'], ['0.25', 'a,"x"'], ['0.5', 'line\nbreak']]);
  });
});

describe('scales, thinning and formatting', () => {
  test('linear scales are nice and map the domain onto the range', () => {
    const s = linearScale([0.13, 0.87], [0, 100]);
    assert.deepEqual(s.domain, [0.1, 0.9]);
    assert.equal(s(0.5), 50);
    assert.deepEqual(s.ticks, [0.2, 0.4, 0.6, 0.8]);
    assert.deepEqual(linearScale([0, 30], [0, 1]).ticks, [0, 5, 10, 15, 20, 25, 30]);
  });

  test('log scales span whole decades', () => {
    const s = logScale([2e4, 3e5], [0, 200]);
    assert.deepEqual(s.ticks, [1e4, 1e5, 1e6]);
    assert.equal(s(1e5), 100);
  });

  test('extent never collapses', () => {
    assert.deepEqual(extent([]), [0, 1]);
    assert.deepEqual(extent([2, 2]), [1.8, 2.2]);
    assert.deepEqual(extent([NaN, 1, Infinity, 3]), [1, 3]);
  });

  test('thinning keeps extremes, order and ends', () => {
    const pts = Array.from({ length: 10000 }, (_, i) => ({ x: i, y: i === 5000 ? 100 : Math.sin(i / 50) }));
    const d = downsample(pts, 2000);
    assert.ok(d.length <= 2000 && d.length > 1000, String(d.length));
    assert.ok(d.some((p) => p.y === 100), 'the spike survives');
    assert.equal(d[0], pts[0]);
    assert.equal(d[d.length - 1], pts[pts.length - 1]);
    assert.ok(d.every((p, i) => i === 0 || p.x > d[i - 1]!.x));
    assert.equal(downsample(pts.slice(0, 100)).length, 100);
  });

  test('formatting', () => {
    assert.equal(formatNumber(0.66), '0.66');
    assert.equal(formatNumber(18178), '18.2k');
    assert.equal(formatNumber(0.0003), '3.0e-4');
    assert.equal(formatNumber(undefined), '—');
    assert.equal(formatDuration(125), '2m 05s');
    assert.equal(safeFileName('houlsby "sweep", 1 / <x>'), 'houlsby-sweep-1-x');
  });
});
