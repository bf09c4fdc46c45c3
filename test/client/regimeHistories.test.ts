/**
 * AdapterDrop regimes in the ablation panel: the live drop-regimes stream split into one
 * history per training regime draws the same curves as regimes.json, and as the runs in
 * the job's folder before regimes.json exists; single drop curves are labelled by regime.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobEvent } from '../../engine/events';
import { DROP_CURVE_FILE, jobLabel, REGIME_FILES, REGIMES_FILE, trainingRegime, type JobHistory } from '../../engine/runs/replay';
import { REGIMES_FILE as ENGINE_REGIMES_FILE } from '../../engine/jobs/dropRegimes';
import { cliArgs } from '../../client/src/cliArgs';
import { parseRegimeId, RegimeSplitter, regimeId, regimeIds, regimesFileOf, regimesStartOf, replayRegimes } from '../../client/src/regimeHistories';
import { dropCurvePoints, foldJob } from '../../client/webview/state';
import type { Workspace } from '../support/fixtures';
import { REPO_ROOT } from '../support/lspClient';
import { runJob, tinyExperiment, tinyWorkspace } from './support';

type Curve = readonly { n: number; value: number }[];

/** What the ablation panel draws for each history: its label and its AdapterDrop curve. */
function drawn(histories: readonly JobHistory[]): [string, Curve][] {
  return histories.map((h) => {
    const job = foldJob(h);
    const curve = job.ablations.find((a) => a.mode === 'drop-curve');
    return [h.label, curve ? dropCurvePoints(job, curve) : []];
  });
}

interface StoredRegimes {
  readonly status: string;
  readonly curves: readonly { regime: string; points: readonly { n: number; value: number }[] }[];
}

describe('regime history ids', () => {
  test('an id names the job and the regime, and nothing else parses as one', () => {
    const file = path.join('/runs', 'x-drop-regimes-20260101-000000', REGIMES_FILE);
    assert.deepEqual(regimeIds(file), [`${file}#standard`, `${file}#robust`, `${file}#specialized`]);
    assert.deepEqual(parseRegimeId(regimeId(file, 'robust')), { file, regime: 'robust' });
    assert.equal(parseRegimeId(`${file}#other`), undefined);
    assert.equal(parseRegimeId('/runs/run-1/drop-curve.json#standard'), undefined);
    assert.equal(parseRegimeId('/runs/run-1'), undefined);
    assert.equal(regimesFileOf(path.join('/runs', 'x-drop-regimes-20260101-000000', 'runs', 'standard-20260101-000000')), file);
  });

  test('the engine and the replay agree on the summary file name', () => {
    assert.equal(REGIMES_FILE, ENGINE_REGIMES_FILE);
  });
});

describe('RegimeSplitter', () => {
  /** The recorded stream: the job's own start and end around its runs and curves. */
  const fixture = (): JobEvent[] => fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'events', 'drop-regimes.jsonl'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as JobEvent);
  /** The same stream as older engines wrote it: the runs and curves one after another, without the job's own start, artifacts and end. */
  const flatten = (events: readonly JobEvent[]): JobEvent[] => {
    let depth = 0;
    const out: JobEvent[] = [];
    for (const e of events) {
      if (e.type === 'start') depth++;
      if (depth >= 2) out.push(e);
      if (e.type === 'end') depth--;
    }
    return out;
  };
  const split = (events: readonly JobEvent[], finish?: 'completed'): JobHistory[] => {
    const s = new RegimeSplitter('/r/x-drop-regimes-20260101-000000/regimes.json');
    for (const e of events) s.push(e);
    if (finish) s.finish(finish);
    return s.historyList();
  };

  test('the job\'s runs one after another, or inside its own start … end: the same histories', () => {
    const recorded = fixture();
    assert.ok(regimesStartOf(recorded[0]), 'the recording has the job\'s own start');
    assert.deepEqual(recorded.slice(-3).map((e) => (e.type === 'artifact' ? e.kind : e.type)), ['drop-curve', 'regimes', 'end'], 'and its artifacts and end');
    const flat = flatten(recorded);
    const nested = split(recorded);
    const stamped = (h: JobHistory[]) => drawn(h);
    assert.deepEqual(stamped(nested), stamped(split(flat, 'completed')));
    assert.deepEqual(nested.map((h) => h.events.length), split(flat, 'completed').map((h) => h.events.length), 'the job\'s own events belong to no regime');
    assert.equal(nested[2]!.events.at(-1)?.type, 'end', 'the job\'s end closes the specialized curve');
  });

  test('before the specialized runs the specialized history is empty; a cancelled job ends it cancelled', () => {
    const flat = flatten(fixture());
    const firstStatic = flat.findIndex((e) => e.type === 'start' && e.job === 'train' && e.experiment.startsWith('static-'));
    const early = split(flat.slice(0, firstStatic));
    assert.deepEqual(early[2]!.events.filter((e) => e.type === 'start' && e.job === 'drop-curve'), []);
    const s = new RegimeSplitter('/r/x/regimes.json');
    for (const e of flat.slice(0, firstStatic + 3)) s.push(e);
    const closed = s.finish('cancelled');
    assert.deepEqual(closed.map((r) => [r.id, r.events.map((e) => e.type === 'end' && e.status)]), [['/r/x/regimes.json#specialized', ['cancelled']]]);
    assert.deepEqual(s.finish('cancelled'), [], 'finished once');
  });
});

describe('drop-regimes, live and replayed', () => {
  let ws: Workspace;
  let events: JobEvent[];
  let regimesFile: string;
  let stored: StoredRegimes;

  before(async () => {
    ws = tinyWorkspace();
    ws.write('regimes.adapter.yaml', tinyExperiment(2));
    const args = cliArgs({ command: 'drop-regimes', file: 'regimes.adapter.yaml', specialized: [1, 2], maxSteps: 3 }, { runsDir: ws.path('runs'), threads: 1, device: 'auto' });
    const job = await runJob(args, ws.root, undefined, { composite: true });
    assert.equal(job.exit.outcome, 'completed', job.logs.join('\n'));
    events = job.events;
    const start = events.find((e) => e.type === 'start' && e.job === 'train');
    assert.ok(start?.type === 'start' && start.job === 'train');
    regimesFile = regimesFileOf(start.runDir);
    stored = JSON.parse(fs.readFileSync(regimesFile, 'utf8')) as StoredRegimes;
  });
  after(() => ws.dispose());

  const expected = (): [string, Curve][] => stored.curves.map((c) => [c.regime, c.points.map(({ n, value }) => ({ n, value }))]);

  test('the live stream split by regime draws regimes.json: one curve each, labelled standard, robust, specialized', () => {
    const splitter = new RegimeSplitter(regimesFile);
    const routed = new Map<string, JobEvent[]>();
    for (const e of events) for (const r of splitter.push(e)) routed.set(r.id, [...(routed.get(r.id) ?? []), ...r.events]);
    for (const r of splitter.finish('completed')) routed.set(r.id, [...(routed.get(r.id) ?? []), ...r.events]);
    const histories = splitter.historyList();
    assert.deepEqual(histories.map((h) => h.label), ['standard', 'robust', 'specialized']);
    // What was routed live is what the histories hold (a panel opened late starts from them).
    for (const h of histories) assert.deepEqual(routed.get(h.id), h.events, h.label);
    assert.ok(histories.every((h) => h.events.every((e) => e.type !== 'step')), 'no training steps');
    assert.deepEqual(drawn(histories), expected());
    assert.deepEqual(stored.curves.find((c) => c.regime === 'specialized')!.points.map((p) => p.n), [0, 1, 2]);
  });

  test('reopened, the three curves come from regimes.json', () => {
    const replayed = replayRegimes(regimesFile);
    assert.deepEqual(replayed.map((h) => h.id), regimeIds(regimesFile));
    assert.deepEqual(drawn(replayed), expected());
  });

  test('before regimes.json is written, the runs in the folder give the same curves', () => {
    const copy = ws.path('copy-of-job');
    fs.cpSync(path.dirname(regimesFile), copy, { recursive: true });
    fs.rmSync(path.join(copy, REGIMES_FILE));
    const replayed = drawn(replayRegimes(path.join(copy, REGIMES_FILE)));
    const want = expected();
    assert.deepEqual(replayed.slice(0, 2), want.slice(0, 2), 'standard and robust');
    // The specialized curve has no end yet: its n = 0 is the standard run's final metric.
    const [label, specialized] = replayed[2]!;
    assert.equal(label, 'specialized');
    assert.deepEqual(specialized.filter((p) => p.n > 0), want[2]![1].filter((p) => p.n > 0));
    assert.equal(specialized[0]!.n, 0);
  });

  test('a drop curve of one run is labelled with the regime the run was trained in', () => {
    const runs = fs.readdirSync(path.join(path.dirname(regimesFile), REGIME_FILES.runs)).map((r) => path.join(path.dirname(regimesFile), REGIME_FILES.runs, r));
    const runOf = (prefix: string) => runs.find((r) => path.basename(r).startsWith(prefix))!;
    assert.equal(trainingRegime(runOf('standard-')), 'standard');
    assert.equal(trainingRegime(runOf('robust-')), 'robust');
    assert.equal(trainingRegime(runOf('static-n1-')), 'static');
    assert.equal(jobLabel(path.join(runOf('standard-'), DROP_CURVE_FILE)), `standard · ${path.basename(runOf('standard-'))}`);
    assert.equal(jobLabel(path.join(runOf('robust-'), DROP_CURVE_FILE)), `robust · ${path.basename(runOf('robust-'))}`);
    assert.equal(jobLabel(path.join(path.dirname(regimesFile), REGIME_FILES.specialized, DROP_CURVE_FILE)), 'specialized');
  });
});
