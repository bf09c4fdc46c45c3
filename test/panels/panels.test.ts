/**
 * The result panels in a real browser (Chromium through playwright-core), drawn from
 * recorded event streams (test/fixtures/events, recorded with the engine CLI). Each test
 * also fails on any request beyond the page's own files, on a script error and on a dialog.
 * Screenshots go to out/test-artifacts/panels/.
 */
import * as assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FusionWeightsEvent, JobEvent, StartEvent, TrialEndEvent } from '../../engine/events';
import { summarise, type TrialRecord } from '../../engine/jobs/sweep';
import type { FusionExample, FusionRows, JobHistory, PanelKind, PanelToHost } from '../../client/src/panelProtocol';
import { RegimeSplitter, type RoutedEvents } from '../../client/src/regimeHistories';
import { hasChromium, launch, NO_CHROMIUM, openPanel, parseCsv, readEvents, replay, ROOT, splitRuns, startServer, type PanelPage, type Server } from './harness';

const XSS = '<img src=x onerror=alert(1)>';

let browser: Browser | undefined;
let server: Server | undefined;

before(async () => {
  if (!hasChromium()) return;
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens a panel (or skips the test without Chromium), runs the body, then checks what every panel must hold. */
async function withPanel(t: TestContext, kind: PanelKind, title: string, body: (p: PanelPage) => Promise<void>, theme?: string): Promise<void> {
  if (!browser || !server) {
    t.skip(NO_CHROMIUM);
    return;
  }
  const p = await openPanel(browser, server, kind, title, theme);
  try {
    await body(p);
    assert.deepEqual(p.foreign, [], 'the page requested something beyond its own files');
    assert.deepEqual(p.errors, [], 'the page threw');
    assert.deepEqual(p.dialogs, [], 'a dialog opened');
  } finally {
    await p.close();
  }
}

async function init(p: PanelPage, kind: PanelKind, title: string, jobs: readonly JobHistory[]): Promise<void> {
  await p.send({ type: 'init', kind, title, jobs });
  await p.drawn(jobs.reduce((n, j) => n + j.events.length, 0));
}

const pointCount = (p: PanelPage, chart: string, nth = 0) => p.evaluate<number>(`Number(document.querySelectorAll('figure[data-chart="${chart}"]')[${nth}].getAttribute('data-point-count'))`);
const count = (p: PanelPage, selector: string) => p.evaluate<number>(`document.querySelectorAll(${JSON.stringify(selector)}).length`);
const text = (p: PanelPage) => p.evaluate<string>('document.body.innerText');

/** What a drawing consists of: every chart's point count and path geometry, every table cell. */
const SNAPSHOT = `JSON.stringify({
  charts: [...document.querySelectorAll('figure.chart')].map((f) => [f.dataset.chart, f.dataset.pointCount, [...f.querySelectorAll('path, circle, rect')].map((e) => e.getAttribute('d') ?? e.getAttribute('cy') ?? e.getAttribute('data-value')).join('|')]),
  cells: [...document.querySelectorAll('td, dd')].map((c) => c.textContent),
})`;

const run = (): JobHistory => ({ id: '.adapter-lab/runs/quickstart', label: 'quickstart', events: readEvents('run.jsonl') });
const sweep = (): JobHistory => ({ id: '.adapter-lab/runs/houlsby-sweep', label: 'houlsby-sweep', events: readEvents('sweep.jsonl') });
const ablate = (): JobHistory => ({ id: '.adapter-lab/runs/adapterdrop-robust', label: 'robust (AdapterDrop)', events: readEvents('ablate.jsonl') });
const curves = (): JobHistory[] => [
  { id: '.adapter-lab/runs/adapterdrop-standard', label: 'standard training', events: readEvents('drop-curve-standard.jsonl') },
  { id: '.adapter-lab/runs/adapterdrop-robust', label: 'robust training', events: readEvents('drop-curve-robust.jsonl') },
];
const fusionRun = (): JobHistory => ({ id: '.adapter-lab/runs/fusion-20261207-104307', label: 'fusion', events: readEvents('fusion.jsonl') });
/** What the engine printed for the recorded fusion run (`fusion weights --text`, `fusion examples`), as the host forwards it. */
const readFusionFixture = <T>(name: string): T => JSON.parse(fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'fusion', name), 'utf8')) as T;
const ofType = <T extends JobEvent['type']>(events: readonly JobEvent[], type: T) => events.filter((e): e is Extract<JobEvent, { type: T }> => e.type === type);

describe('run panel', () => {
  test('draws the curves, parameters and status from the events', async (t) => {
    await withPanel(t, 'run', 'quickstart', async (p) => {
      const job = run();
      await init(p, 'run', 'quickstart', [job]);
      const steps = ofType(job.events, 'step');
      const evals = ofType(job.events, 'evaluation');
      assert.equal(steps.length, 30);
      assert.equal(await pointCount(p, 'loss'), steps.length);
      assert.equal(await pointCount(p, 'lr'), steps.length);
      assert.equal(await pointCount(p, 'metric'), evals.length);
      assert.equal(await pointCount(p, 'throughput'), steps.length);
      assert.equal(await count(p, 'figure[data-chart="metric"] circle.marker'), evals.length);
      const body = await text(p);
      assert.match(body, /18,178 \(6\.54% of base\)/);
      assert.match(body, /30 \/ 30/);
      assert.equal(await p.evaluate('document.querySelector(".panel-header .badge").dataset.status'), 'completed');
      // The host's serializer restores the panel from this.
      assert.deepEqual((await p.recorded()).state, { kind: 'run', title: 'quickstart', ids: [job.id] });
      await p.screenshot('run');
    });
  });

  test('a fusion run: the fusion weights as adapters × layers, and no such chart for other runs', async (t) => {
    await withPanel(t, 'run', 'fusion', async (p) => {
      const time = '2026-01-01T00:00:00.000Z';
      const events: JobEvent[] = [
        { v: 1, time, type: 'start', job: 'train', run: 'fusion-1', runDir: '/runs/fusion-1', experiment: 'fusion', method: 'fusion', model: 'builtin:tiny-bert', parameters: { trainable: 99458, base: 278080, percentOfBase: 35.8 }, steps: 1, epochs: 1, examples: 16, provider: 'cpu', threads: 1 },
        { v: 1, time, type: 'step', step: 1, epoch: 1, loss: 0.7, lr: 0.001, gradNorm: 1, examples: 16, tokens: 100, seconds: 0.01 },
        { v: 1, time, type: 'fusion-weights', adapters: ['sst', 'mnli', XSS], weights: { '0.attention': [0.7, 0.2, 0.1], '0.ffn': [0.5, null, 0.5], '1.attention': [0.1, 0.1, 0.8] }, tokens: 500, data: '/data/dev.tsv' },
        { v: 1, time, type: 'end', status: 'completed', run: 'fusion-1', seconds: 1, steps: 1, metrics: {} },
      ];
      await init(p, 'run', 'fusion', [{ id: '/runs/fusion-1', label: 'fusion', events }]);
      assert.equal(await p.evaluate<boolean>(`document.querySelector('figure[data-chart="fusion-weights"]').hidden`), false);
      assert.equal(await pointCount(p, 'fusion-weights'), 8);
      assert.equal(await count(p, 'figure[data-chart="fusion-weights"] rect.cell'), 8);
      assert.equal(await count(p, 'figure[data-chart="fusion-weights"] rect.slot'), 1);
      assert.equal(await p.evaluate<string>(`document.querySelector('figure[data-chart="fusion-weights"] rect[data-adapter="sst"][data-site="0.attention"]').getAttribute('data-value')`), '0.7');
      await p.screenshot('run-fusion');
    });
    await withPanel(t, 'run', 'quickstart', async (p) => {
      await init(p, 'run', 'quickstart', [run()]);
      assert.equal(await p.evaluate<boolean>(`document.querySelector('figure[data-chart="fusion-weights"]').hidden`), true);
      assert.equal(await p.evaluate<boolean>('document.querySelector("[data-fusion-example]").hidden'), true);
      assert.ok(!(await p.recorded()).posted.some((m) => m.type === 'fusion-rows'), 'no rows asked for a run that is not a fusion');
    });
  });

  test('a fusion run training: the heatmap follows each evaluation live, then shows the finished run\'s weights', async (t) => {
    await withPanel(t, 'run', 'fusion', async (p) => {
      const job = fusionRun();
      const planned = (job.events[0] as StartEvent).steps;
      await p.send({ type: 'init', kind: 'run', title: 'fusion', jobs: [{ ...job, events: [] }] });
      const cell = (adapter: string, site: string) => p.evaluate<string | null>(`document.querySelector('figure[data-chart="fusion-weights"] rect[data-adapter="${adapter}"][data-site="${site}"]')?.getAttribute('data-value') ?? null`);
      const source = () => p.evaluate<{ step: string; text: string }>('({ step: document.querySelector("[data-fusion-source]").dataset.step, text: document.querySelector("[data-fusion-source]").textContent })');
      // Batches that end at each fusion-weights event, as the host forwards a live job's stream.
      const cuts = job.events.flatMap((e, i) => (e.type === 'fusion-weights' ? [i + 1] : []));
      const live = ofType(job.events, 'fusion-weights').filter((e) => e.step !== undefined);
      assert.deepEqual(live.map((e) => e.step), [3, 6, 9, 12, 15, 18]);
      let sent = 0;
      // Before the first evaluation: the chart is there, empty, and says when it fills.
      const first = job.events.findIndex((e) => e.type === 'evaluation');
      await p.send({ type: 'events', id: job.id, events: job.events.slice(0, first) });
      sent = first;
      await p.drawn(sent);
      assert.equal(await pointCount(p, 'fusion-weights'), 0);
      assert.match(await p.evaluate<string>(`document.querySelector('figure[data-chart="fusion-weights"] .empty-note').textContent`), /after the first evaluation/);
      for (const [k, cut] of cuts.entries()) {
        await p.send({ type: 'events', id: job.id, events: job.events.slice(sent, cut) });
        sent = cut;
        await p.drawn(sent);
        const w = job.events[cut - 1] as FusionWeightsEvent;
        assert.equal(await pointCount(p, 'fusion-weights'), 16, 'two adapters at 8 sites');
        for (const site of ['0.attention', '1.ffn', '3.ffn']) assert.equal(Number(await cell('sentiment', site)), w.weights[site]![0], `${site} after event ${k + 1}`);
        if (w.step !== undefined) {
          assert.deepEqual(await source(), { step: String(w.step), text: `Live: at step ${w.step} of ${planned}, measured by its evaluation on dev.tsv, ${w.tokens} tokens.` });
          // While the run trains, an example can be asked about (the host answers from the run's last checkpoint).
          assert.equal(await p.evaluate<boolean>('document.querySelector("[data-fusion-weigh]").disabled'), false);
          if (w.step === 9) await p.screenshot('run-fusion-live');
        }
      }
      await p.send({ type: 'events', id: job.id, events: job.events.slice(sent) });
      await p.drawn(job.events.length);
      assert.deepEqual(await source(), { step: '', text: "The finished run's fusion on dev.tsv, 112 tokens." });
      assert.equal(await p.evaluate<boolean>('document.querySelector("[data-fusion-weigh]").disabled'), false);
      // The same drawing as the whole stream at once (a panel reopened from the run store).
      const whole = await openPanel(browser!, server!, 'run', 'fusion');
      try {
        await init(whole, 'run', 'fusion', [job]);
        const charts = `JSON.stringify([...document.querySelectorAll('figure[data-chart="fusion-weights"] rect, [data-fusion-source]')].map((e) => e.getAttribute('data-value') ?? e.textContent))`;
        assert.equal(await p.evaluate<string>(charts), await whole.evaluate<string>(charts));
      } finally {
        await whole.close();
      }
    });
  });

  test('a finished fusion run: the weights for one example, typed or picked from its data, drawn from the host\'s answer', async (t) => {
    await withPanel(t, 'run', 'fusion', async (p) => {
      const job = fusionRun();
      await init(p, 'run', 'fusion', [job]);
      assert.equal(await p.evaluate<boolean>('document.querySelector("[data-fusion-example]").hidden'), false);
      assert.equal(await pointCount(p, 'fusion-example'), 0);
      // The page asks for the data rows once the run has started; the host answers with what `fusion examples` printed.
      await p.until('window.__panelTest.posted.some((m) => m.type === "fusion-rows")');
      const posted = async <T extends PanelToHost['type']>(type: T) => (await p.recorded()).posted.filter((m): m is Extract<PanelToHost, { type: T }> => m.type === type);
      const rowsAsk = (await posted('fusion-rows'))[0]!;
      const rows = readFusionFixture<FusionRows>('rows.json');
      await p.send({ type: 'fusion-rows', request: rowsAsk.request, rows });
      await p.until('!document.querySelector("[data-fusion-rows]").disabled');
      assert.equal(await count(p, '[data-fusion-rows] option[value^="validation:"]'), rows.validation!.rows.length);
      assert.equal(await count(p, '[data-fusion-rows] option[value^="train:"]'), 0, 'training rows are keyed by their split');
      assert.equal(await count(p, '[data-fusion-rows] option[value^="training:"]'), rows.train.rows.length);
      assert.equal(await p.evaluate<boolean>('document.querySelector("input[name=pair]").hidden'), true, 'one text column: no second box');

      // An empty text is refused on the page, without asking the engine.
      await p.page.click('[data-fusion-weigh]');
      assert.match(await p.evaluate<string>('document.querySelector("[data-fusion-error]").textContent'), /Type a text first/);
      assert.equal((await posted('fusion-example')).length, 0);

      // A typed text: the request carries it; the answer (recorded from `fusion weights --text`) is drawn.
      const example = readFusionFixture<FusionExample>('example.json');
      await p.page.fill('input[name=text]', example.text);
      await p.page.click('[data-fusion-weigh]');
      await p.until('window.__panelTest.posted.some((m) => m.type === "fusion-example")');
      const ask = (await posted('fusion-example'))[0]!;
      assert.deepEqual({ text: ask.text, pair: ask.pair }, { text: example.text, pair: undefined });
      await p.send({ type: 'fusion-example', request: ask.request, example });
      await p.until('document.querySelector(\'figure[data-chart="fusion-example"]\').dataset.pointCount === "16"');
      for (const [site, w] of Object.entries(example.weights)) {
        for (const [i, name] of example.adapters.entries()) {
          const v = await p.evaluate<string>(`document.querySelector('figure[data-chart="fusion-example"] rect[data-adapter="${name}"][data-site="${site}"]').getAttribute('data-value')`);
          assert.equal(Number(v), w[i], `${name} at ${site}`);
        }
      }
      assert.equal(await p.evaluate('document.querySelector("[data-fusion-tokens]").textContent'), `${example.tokens} tokens: ${example.pieces.join(' ')}`);
      assert.equal(await p.evaluate<boolean>('document.querySelector("[data-fusion-error]").hidden'), true);
      await p.screenshot('run-fusion-example');

      // A row picked from the data asks for that row's text at once.
      const row = rows.validation!.rows[2]!;
      await p.page.selectOption('[data-fusion-rows]', `validation:${row.index}`);
      await p.until('window.__panelTest.posted.filter((m) => m.type === "fusion-example").length === 2');
      const picked = (await posted('fusion-example'))[1]!;
      assert.equal(picked.text, row.text);
      assert.equal(await p.evaluate('document.querySelector("input[name=text]").value'), row.text);
      // An answer to the older request is not drawn; the engine's refusal of the newer one is shown, as text.
      await p.send({ type: 'fusion-example', request: ask.request, error: 'stale' });
      await p.send({ type: 'fusion-example', request: picked.request, error: `fusion-1 is not a fusion run ${XSS}` });
      await p.until('!document.querySelector("[data-fusion-error]").hidden');
      assert.equal(await p.evaluate('document.querySelector("[data-fusion-error]").textContent'), `fusion-1 is not a fusion run ${XSS}`);
      assert.equal(await pointCount(p, 'fusion-example'), 0);
      assert.equal(await count(p, 'img'), 0);
    });
  });

  test('a fusion run still training: the example\'s weights come from its last checkpoint, and the panel says which step', async (t) => {
    await withPanel(t, 'run', 'fusion', async (p) => {
      const job = fusionRun();
      // The stream as it stands mid-run: no end, and none of what the end brings.
      const end = job.events.findIndex((e) => e.type === 'artifact' || e.type === 'end');
      await init(p, 'run', 'fusion', [{ ...job, events: job.events.slice(0, end) }]);
      assert.equal(await p.evaluate<boolean>('document.querySelector("[data-fusion-weigh]").disabled'), false);
      const example = readFusionFixture<FusionExample>('example.json');
      await p.page.fill('input[name=text]', example.text);
      await p.page.click('[data-fusion-weigh]');
      await p.until('window.__panelTest.posted.some((m) => m.type === "fusion-example")');
      const ask = (await p.recorded()).posted.find((m): m is Extract<PanelToHost, { type: 'fusion-example' }> => m.type === 'fusion-example')!;
      await p.send({ type: 'fusion-example', request: ask.request, example: { ...example, checkpointStep: 1200 } });
      await p.until('document.querySelector(\'figure[data-chart="fusion-example"]\').dataset.pointCount === "16"');
      assert.equal(await p.evaluate('document.querySelector("[data-fusion-status]").textContent'), `Weights for “${example.text}”, averaged over its tokens. From its last checkpoint (step 1,200): the run has not finished.`);
    });
  });

  test('a pair task\'s rows: the second text has its own box, and both are sent', async (t) => {
    await withPanel(t, 'run', 'fusion', async (p) => {
      await init(p, 'run', 'fusion', [fusionRun()]);
      await p.until('window.__panelTest.posted.some((m) => m.type === "fusion-rows")');
      const ask = (await p.recorded()).posted.find((m): m is Extract<PanelToHost, { type: 'fusion-rows' }> => m.type === 'fusion-rows')!;
      const rows: FusionRows = { columns: ['premise', 'hypothesis'], train: { file: 'train.tsv', rows: [{ index: 0, text: 'a man sleeps', pair: 'a person rests', label: 'entailment' }] } };
      await p.send({ type: 'fusion-rows', request: ask.request, rows });
      await p.until('!document.querySelector("input[name=pair]").hidden');
      assert.match(await p.evaluate<string>('document.querySelector("input[name=pair]").placeholder'), /hypothesis/);
      await p.page.selectOption('[data-fusion-rows]', 'training:0');
      await p.until('window.__panelTest.posted.some((m) => m.type === "fusion-example")');
      const sent = (await p.recorded()).posted.find((m): m is Extract<PanelToHost, { type: 'fusion-example' }> => m.type === 'fusion-example')!;
      assert.deepEqual({ text: sent.text, pair: sent.pair }, { text: 'a man sleeps', pair: 'a person rests' });
    });
  });

  test('live replay in batches ends with the same drawing as one init', async (t) => {
    if (!browser || !server) return t.skip(NO_CHROMIUM);
    const job = run();
    const live = await openPanel(browser, server, 'run', 'quickstart');
    const whole = await openPanel(browser, server, 'run', 'quickstart');
    try {
      await replay(live, 'run', 'quickstart', [job], 4);
      await init(whole, 'run', 'quickstart', [job]);
      assert.equal(await live.evaluate<string>(SNAPSHOT), await whole.evaluate<string>(SNAPSHOT));
      assert.deepEqual(live.errors, []);
    } finally {
      await live.close();
      await whole.close();
    }
  });

  test('thousands of steps: every point counted, the drawing thinned', async (t) => {
    await withPanel(t, 'run', 'long run', async (p) => {
      const events = run().events;
      const start = events[0]!;
      const n = 6000;
      const steps: JobEvent[] = Array.from({ length: n }, (_, i) => ({ v: 1, time: new Date(Date.parse(start.time) + i * 10).toISOString(), type: 'step', step: i + 1, epoch: 1, loss: 1 / (1 + i / 500) + 0.05 * Math.sin(i), lr: 1e-3, gradNorm: 1, examples: 16, tokens: 120, seconds: 0.01 }));
      const job: JobHistory = { id: 'long', label: 'long run', events: [{ ...start, steps: n } as JobEvent] };
      await init(p, 'run', 'long run', [job]);
      for (let i = 0; i < n; i += 200) await p.send({ type: 'events', id: 'long', events: steps.slice(i, i + 200) });
      await p.drawn(n + 1);
      assert.equal(await pointCount(p, 'loss'), n);
      const drawn = await p.evaluate<number>(`document.querySelector('figure[data-chart="loss"] path.line').getAttribute('d').split(/[ML]/).length - 1`);
      assert.ok(drawn <= 2100 && drawn > 500, `drew ${drawn} points`);
    });
  });

  test('an error message and a label with markup render as text', async (t) => {
    await withPanel(t, 'run', XSS, async (p) => {
      const events = run().events.slice(0, 8);
      const failing: JobEvent[] = [...events, { v: 1, time: events[7]!.time, type: 'error', code: 'engine-error', message: XSS }, { v: 1, time: events[7]!.time, type: 'end', status: 'failed', run: XSS, seconds: 1, steps: 6, metrics: {} }];
      await init(p, 'run', XSS, [{ id: 'x', label: XSS, events: failing }]);
      assert.equal(await p.evaluate('document.querySelector(".error-message").textContent'), `engine-error: ${XSS}`);
      assert.ok(await p.evaluate<boolean>('!document.querySelector(".error-message").hidden'));
      assert.equal(await p.evaluate('document.querySelector("h1").textContent'), XSS);
      assert.ok((await text(p)).includes(XSS), 'the markup is visible as text');
      assert.equal(await count(p, 'img'), 0);
      assert.equal(await p.evaluate('document.querySelector(".panel-header .badge").dataset.status'), 'failed');
      await p.evaluate('new Promise((r) => setTimeout(r, 100))');
    });
  });

  test('follows the theme classes', async (t) => {
    if (!browser || !server) return t.skip(NO_CHROMIUM);
    const colours: string[] = [];
    for (const theme of ['vscode-light', 'vscode-dark', 'vscode-high-contrast']) {
      await withPanel(t, 'run', 'theme', async (p) => {
        await init(p, 'run', 'theme', [run()]);
        colours.push(await p.evaluate<string>('getComputedStyle(document.body).backgroundColor + " " + getComputedStyle(document.querySelector("svg text")).fill'));
        if (theme === 'vscode-dark') await p.screenshot('run-dark');
      }, theme);
    }
    assert.equal(new Set(colours).size, 3, colours.join(' / '));
  });
});

describe('sweep panel', () => {
  const metricOf = (e: TrialEndEvent) => e.metrics.accuracy;

  test('table, sorting, filtering, best per group, trade-off and parallel coordinates', async (t) => {
    await withPanel(t, 'sweep', 'houlsby-sweep', async (p) => {
      const job = sweep();
      await init(p, 'sweep', 'houlsby-sweep', [job]);
      const ends = ofType(job.events, 'trial-end');
      assert.equal(ends.length, 36);
      const order = () => p.evaluate<number[]>('[...document.querySelectorAll("tr[data-trial-index]")].map((r) => Number(r.dataset.trialIndex))');
      assert.deepEqual(await order(), ends.map((e) => e.index));

      // Sort by the metric: ascending, then descending (ties by trial index).
      const byMetric = (dir: number) => [...ends].sort((a, b) => (metricOf(a)! - metricOf(b)!) * dir || a.index - b.index).map((e) => e.index);
      await p.page.click('th button[data-column="metric"]');
      await p.drawn(job.events.length);
      assert.deepEqual(await order(), byMetric(1));
      assert.equal(await p.evaluate('document.querySelector("th:has(button[data-column=metric])").getAttribute("aria-sort")'), 'ascending');
      await p.page.click('th button[data-column="metric"]');
      assert.deepEqual(await order(), byMetric(-1));
      assert.equal(await p.evaluate('document.querySelector("th:has(button[data-column=metric])").getAttribute("aria-sort")'), 'descending');

      // Best per group, as the engine's summarise() selects it.
      const records: TrialRecord[] = ends.map((e) => ({ index: e.index, status: e.status, assignments: ofType(job.events, 'trial-start').find((s) => s.index === e.index)!.assignments, seed: 0, run: e.run, metrics: e.metrics, trainable: e.trainable }));
      const expected = summarise('accuracy', records).groups.map((g) => g.best.index).sort((a, b) => a - b);
      const marked = await p.evaluate<number[]>('[...document.querySelectorAll("tr[data-best=true]")].map((r) => Number(r.dataset.trialIndex)).sort((a, b) => a - b)');
      assert.deepEqual(marked, expected);
      assert.equal(await count(p, 'tr.marked'), expected.length);

      // Filter: the learning-rate value 0.003 is in 12 trials.
      await p.page.fill('input[data-filter="trials"]', '0.003');
      assert.equal(await count(p, 'tr[data-trial-index]'), 12);
      await p.page.fill('input[data-filter="trials"]', '');
      assert.equal(await count(p, 'tr[data-trial-index]'), 36);

      assert.equal(await pointCount(p, 'tradeoff'), expected.length);
      assert.equal(await count(p, 'figure[data-chart="tradeoff"] path.error-bar'), expected.length);
      assert.equal(await pointCount(p, 'parallel'), 36);
      assert.equal(await count(p, 'figure[data-chart="parallel"] path.pc-line.best'), expected.length);
      await p.screenshot('sweep');

      // A trial's run opens in its own panel.
      await p.page.click('tr[data-trial-index="3"] button.link');
      const posted = (await p.recorded()).posted;
      const open = posted.find((m): m is Extract<PanelToHost, { type: 'open' }> => m.type === 'open');
      const trialStart = job.events[job.events.findIndex((e) => e.type === 'trial-start' && e.index === 3) + 1]!;
      assert.equal(open?.id, 'runDir' in trialStart ? trialStart.runDir : undefined);
    });
  });

  test('exports: CSV parses back to the table, SVG is well-formed, PNG is a PNG', async (t) => {
    await withPanel(t, 'sweep', 'houlsby "sweep", 1', async (p) => {
      await init(p, 'sweep', 'houlsby "sweep", 1', [sweep()]);
      await p.page.click('th button[data-column="metric"]');
      await p.page.fill('input[data-filter="trials"]', '64');
      await p.page.click('[data-export="csv"]');
      await p.page.click('figure[data-chart="tradeoff"] [data-export="svg"]');
      await p.page.click('figure[data-chart="tradeoff"] [data-export="png"]');
      await p.until('window.__panelTest.posted.filter((m) => m.type === "export").length === 3');
      const exports = (await p.recorded()).posted.filter((m): m is Extract<PanelToHost, { type: 'export' }> => m.type === 'export');
      const csv = exports.find((m) => m.format === 'csv')!;
      assert.match(csv.suggestedName, /^[A-Za-z0-9._-]+\.csv$/);
      const rows = parseCsv(csv.data);
      const headers = await p.evaluate<string[]>('[...document.querySelectorAll("thead th button.sort")].map((b) => b.textContent)');
      assert.deepEqual(rows[0], headers);
      const table = await p.evaluate<string[]>('[...document.querySelectorAll("tr[data-trial-index]")].map((r) => r.dataset.trialIndex)');
      assert.equal(rows.length - 1, table.length);
      assert.deepEqual(rows.slice(1).map((r) => r[0]), table);
      // Raw values: the metric and trainable columns read back as the events' numbers.
      const ends = new Map(ofType(sweep().events, 'trial-end').map((e) => [String(e.index), e]));
      for (const r of rows.slice(1)) {
        const e = ends.get(r[0]!)!;
        assert.equal(Number(r[headers.indexOf('accuracy')]), e.metrics.accuracy);
        assert.equal(Number(r[headers.indexOf('trainable')]), e.trainable);
        assert.equal(r[headers.indexOf('adapter.size')], '64');
      }
      const svg = exports.find((m) => m.format === 'svg')!;
      assert.match(svg.suggestedName, /tradeoff\.svg$/);
      const parsed = await p.page.evaluate((s) => {
        const doc = new (globalThis as unknown as { DOMParser: new () => { parseFromString(s: string, t: string): { documentElement: { nodeName: string; getAttribute(n: string): string | null }; getElementsByTagName(n: string): { length: number } } } }).DOMParser().parseFromString(s, 'image/svg+xml');
        return { root: doc.documentElement.nodeName, errors: doc.getElementsByTagName('parsererror').length, xmlns: doc.documentElement.getAttribute('xmlns'), circles: doc.getElementsByTagName('circle').length };
      }, svg.data);
      assert.deepEqual(parsed, { root: 'svg', errors: 0, xmlns: 'http://www.w3.org/2000/svg', circles: 2 });
      const png = Buffer.from(exports.find((m) => m.format === 'png')!.data, 'base64');
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.equal(png.readUInt32BE(16), 1280, 'width: the chart at twice its size');
    });
  });

  test('assignment values, labels and failure messages with markup render as text', async (t) => {
    await withPanel(t, 'sweep', XSS, async (p) => {
      const events = sweep().events;
      const cut = events.findIndex((e) => e.type === 'trial-end') + 1;
      const hostile: JobEvent[] = events.slice(0, cut).map((e): JobEvent => (e.type === 'trial-start' ? { ...e, assignments: { ...e.assignments, 'adapter.size': XSS, [XSS]: XSS } } : e));
      hostile.push({ v: 1, time: events[0]!.time, type: 'trial-start', index: 1, total: 36, assignments: { method: XSS }, seed: 43 }, { v: 1, time: events[0]!.time, type: 'trial-end', index: 1, total: 36, status: 'failed', run: undefined, metrics: {}, trainable: undefined, message: XSS });
      await init(p, 'sweep', XSS, [{ id: 's', label: XSS, events: hostile }]);
      assert.equal(await count(p, 'tr[data-trial-index]'), 2);
      const body = await text(p);
      assert.ok(body.includes(XSS));
      assert.ok(body.includes(`trial 1: ${XSS}`));
      assert.equal(await count(p, 'img'), 0);
      assert.ok(await p.evaluate<boolean>(`[...document.querySelectorAll('th button.sort')].some((b) => b.textContent === ${JSON.stringify(XSS)})`));
      await p.evaluate('new Promise((r) => setTimeout(r, 100))');
    });
  });
});

describe('ablation panel', () => {
  test('heatmap of every span, the diagonal marked, single sites, and the AdapterDrop curves', async (t) => {
    await withPanel(t, 'ablation', 'adapterdrop', async (p) => {
      const jobs = [ablate(), ...curves()];
      await init(p, 'ablation', 'adapterdrop', jobs);
      const cells = ofType(jobs[0]!.events, 'ablation');
      const spans = cells.filter((c) => c.site === 'both');
      const L = 6;
      assert.equal(spans.length, (L * (L + 1)) / 2);
      const drawn = await p.evaluate<{ from: number; to: number; value: number; diagonal: boolean; title: string }[]>(
        `[...document.querySelectorAll('figure[data-chart="heatmap"] rect[data-from]')].map((r) => ({ from: Number(r.dataset.from), to: Number(r.dataset.to), value: Number(r.dataset.value), diagonal: r.dataset.diagonal === 'true', title: r.querySelector('title').textContent }))`,
      );
      assert.equal(drawn.length, L * (L + 1) / 2);
      assert.equal(await pointCount(p, 'heatmap'), spans.length);
      assert.deepEqual(drawn.map(({ from, to, value }) => ({ from, to, value })), spans.map(({ from, to, value }) => ({ from, to, value })));
      assert.ok(drawn.every((c) => c.to >= c.from));
      assert.deepEqual(drawn.filter((c) => c.diagonal).map((c) => c.from), [0, 1, 2, 3, 4, 5]);
      assert.ok(drawn.filter((c) => c.diagonal).every((c) => c.from === c.to));
      assert.match(drawn[1]!.title, /^layers 0–1 removed: accuracy /);
      assert.equal(await count(p, '.heat-legend stop'), 5);
      assert.equal(await count(p, 'table[data-table="single-sites"] tbody tr'), cells.length - spans.length);

      // Drop curve: n = 0 (every adapter) and n = 1..L for each regime.
      assert.equal(await pointCount(p, 'drop-curve'), 2 * (L + 1));
      assert.equal(await count(p, 'figure[data-chart="drop-curve"] g.series'), 2 + 2);
      const robust = await p.evaluate<string[]>(`[...document.querySelectorAll('figure[data-chart="drop-curve"] g[data-series="1"] circle title')].map((t) => t.textContent)`);
      const end = ofType(curves()[1]!.events, 'end')[0]!;
      assert.equal(robust.length, L + 1);
      assert.ok(robust[0]!.startsWith(`robust training: layers dropped (lowest first) 0, accuracy ${end.metrics.accuracy}`), robust[0]);
      await p.screenshot('ablation');
    });
  });

  test('AdapterDrop regimes: one line per training regime, labelled with it, live as when reopened', async (t) => {
    const title = 'AdapterDrop regimes: adapterdrop';
    await withPanel(t, 'ablation', title, async (p) => {
      // The drop-regimes stream (builtin:tiny-bert, L = 4; specialized runs at n = 1 and 3) as the host routes it.
      const splitter = new RegimeSplitter('.adapter-lab/runs/adapterdrop-drop-regimes-20261206-035224/regimes.json');
      const live: RoutedEvents[] = [];
      for (const e of readEvents('drop-regimes.jsonl')) live.push(...splitter.push(e));
      live.push(...splitter.finish('completed'));
      const jobs = splitter.historyList();
      await p.send({ type: 'init', kind: 'ablation', title, jobs: jobs.map((j) => ({ ...j, events: [] })) });
      for (const r of live) await p.send({ type: 'events', id: r.id, events: r.events });
      await p.drawn(jobs.reduce((n, j) => n + j.events.length, 0));

      const legend = await p.evaluate<string[]>(`[...document.querySelectorAll('figure[data-chart="drop-curve"] g.legend .legend-label')].map((t) => t.textContent)`);
      assert.deepEqual(legend, ['standard', 'robust', 'specialized']);
      const series = await p.evaluate<string[]>(`[...document.querySelectorAll('figure[data-chart="drop-curve"] g[data-series] > title')].map((t) => t.textContent)`);
      assert.deepEqual(series, ['standard', 'robust', 'specialized']);
      const L = 4;
      assert.equal(await pointCount(p, 'drop-curve'), 2 * (L + 1) + 3);
      const specialized = await p.evaluate<string[]>(`[...document.querySelectorAll('figure[data-chart="drop-curve"] g[data-series="2"] circle title')].map((t) => t.textContent)`);
      assert.deepEqual(specialized.map((s) => /dropped \(lowest first\) (\d+),/.exec(s)?.[1]), ['0', '1', '3']);
      assert.ok(specialized.every((s) => s.startsWith('specialized: ')), specialized.join('\n'));
      // n = 0 of the specialized line is the standard adapter.
      const standardFirst = await p.evaluate<string>(`document.querySelector('figure[data-chart="drop-curve"] g[data-series="0"] circle title').textContent`);
      assert.equal(specialized[0]!.replace(/^specialized/, ''), standardFirst.replace(/^standard/, ''));
      assert.equal(await count(p, 'figure[data-chart="heatmap"]:not([hidden]) rect[data-from]'), 0, 'no heatmap: these are curves only');
      await p.screenshot('ablation-regimes');

      // Reopened: the same histories in one init draw the same.
      const fresh = await openPanel(browser!, server!, 'ablation', title);
      try {
        await init(fresh, 'ablation', title, jobs);
        assert.equal(await p.evaluate<string>(SNAPSHOT), await fresh.evaluate<string>(SNAPSHOT));
      } finally {
        await fresh.close();
      }
    });
  });

  test('cells appear as the events arrive', async (t) => {
    await withPanel(t, 'ablation', 'live ablation', async (p) => {
      const job = ablate();
      await p.send({ type: 'init', kind: 'ablation', title: 'live ablation', jobs: [{ ...job, events: job.events.slice(0, 6) }] });
      await p.drawn(6);
      const before = await count(p, 'rect[data-from]');
      assert.equal(before, ofType(job.events.slice(0, 6), 'ablation').length);
      await p.send({ type: 'events', id: job.id, events: job.events.slice(6) });
      await p.drawn(job.events.length);
      assert.equal(await count(p, 'rect[data-from]'), 21);
      const fresh = await openPanel(browser!, server!, 'ablation', 'live ablation');
      try {
        await init(fresh, 'ablation', 'live ablation', [job]);
        assert.equal(await p.evaluate<string>(SNAPSHOT), await fresh.evaluate<string>(SNAPSHOT));
      } finally {
        await fresh.close();
      }
    });
  });
});

describe('compare panel', () => {
  test('overlays the runs and lists their final metrics', async (t) => {
    await withPanel(t, 'compare', 'demo', async (p) => {
      const events = readEvents('demo.jsonl');
      const jobs = splitRuns(events, (i) => (i === 0 ? 'adapters' : 'full fine-tuning'));
      assert.equal(jobs.length, 2);
      await init(p, 'compare', 'demo', jobs);
      assert.equal(await pointCount(p, 'loss'), ofType(events, 'step').length);
      assert.equal(await pointCount(p, 'metric'), ofType(events, 'evaluation').length);
      assert.equal(await count(p, 'figure[data-chart="loss"] path.line'), 2);
      assert.equal(await p.evaluate('document.querySelector("[data-run-count]").dataset.runCount'), '2');
      const rows = await p.evaluate<string[][]>('[...document.querySelectorAll("table[data-table=final-metrics] tbody tr")].map((r) => [...r.cells].map((c) => c.textContent))');
      assert.deepEqual(rows.map((r) => [r[0], r[1], r.at(-1)]), ofType(events, 'end').map((e, i) => [jobs[i]!.label, i === 0 ? 'adapter' : 'full', String(e.metrics.accuracy)]));
      await p.screenshot('compare');
    });
  });
});

describe('page security', () => {
  test('the CSP refuses an inline script without the nonce, and the page needs no network', async (t) => {
    await withPanel(t, 'run', 'csp', async (p) => {
      await init(p, 'run', 'csp', [run()]);
      await p.evaluate(`(() => { const s = document.createElement('script'); s.textContent = 'window.__inlineRan = true'; document.body.appendChild(s); })()`);
      await p.evaluate(`(() => { const d = document.createElement('div'); d.setAttribute('onclick', 'window.__handlerRan = true'); document.body.appendChild(d); d.click(); })()`);
      await p.until('window.__panelTest.violations.length >= 2');
      assert.equal(await p.evaluate('window.__inlineRan'), undefined);
      assert.equal(await p.evaluate('window.__handlerRan'), undefined);
      const v = (await p.recorded()).violations;
      assert.ok(v.every((x) => x.directive.startsWith('script-src')), JSON.stringify(v));
      assert.ok(v.some((x) => x.blocked === 'inline'), JSON.stringify(v));
      const csp = await p.evaluate<string>(`document.querySelector('meta[http-equiv="Content-Security-Policy"]').content`);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    });
  });
});
