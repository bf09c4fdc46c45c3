/**
 * The documentation figure renderer (bench/figures): a log-x line chart with error bars and
 * markers and a span-ablation heatmap, drawn by the panels' chart code in Chromium, written
 * as SVG files and read back with the browser's strict XML parser. Without Chromium the
 * browser tests skip, except in CI (ADAPTER_LAB_E2E=require), which installs it.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, figureMarkdown, renderFigures, writeFigures, type FigureSpec } from '../../bench/figures/render';

const REQUIRED = process.env.ADAPTER_LAB_E2E === 'require';
const NO_CHROMIUM = `${CHROMIUM} is not installed: the figure tests need Chromium (apt-get install chromium)`;
const MISSING = '/nonexistent/chromium';

const curve: FigureSpec = {
  kind: 'line',
  name: 'drop-curve',
  caption: 'Accuracy against training examples',
  series: [
    { label: 'all adapters', points: [10, 30, 100, 300, 1000].map((x, i) => ({ x, y: 0.6 + i * 0.06 })), errors: [0.05, 0.04, 0.03, 0.02, 0.01], markers: true },
    { label: 'drop 0-5', points: [10, 30, 100, 300, 1000].map((x, i) => ({ x, y: 0.55 + i * 0.05 })), errors: [0.06, 0.05, 0.04, 0.03, 0.02], markers: true },
  ],
  options: { xLabel: 'training examples', yLabel: 'accuracy', logX: true, pointTitle: (s, i) => `${s.label} #${i}` },
};

const LAYERS = 4;
const cells = Array.from({ length: LAYERS }, (_, from) => Array.from({ length: LAYERS - from }, (_, k) => ({ from, to: from + k, value: 0.92 - 0.02 * (from + k) - 0.01 * k }))).flat();
const heatmap: FigureSpec = { kind: 'heatmap', name: 'span-ablation', caption: 'Adapters removed from layers i..j', data: { layers: LAYERS, cells, metric: 'accuracy', baseline: 0.9 } };

interface Parsed {
  readonly error: string | null;
  readonly root: string;
  readonly ns: string | null;
  readonly elements: readonly { readonly tag: string; readonly attrs: Readonly<Record<string, string>>; readonly text: string }[];
}

/** The SVG through Chromium's XML parser (strict: any malformed markup is a parsererror). */
const PARSE = `(text) => {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const err = doc.querySelector('parsererror');
  const root = doc.documentElement;
  return {
    error: err ? err.textContent : null,
    root: root.localName,
    ns: root.namespaceURI,
    elements: [root, ...root.querySelectorAll('*')].map((e) => ({ tag: e.localName, attrs: Object.fromEntries([...e.attributes].map((a) => [a.name, a.value])), text: e.textContent })),
  };
}`;

let browser: Browser | undefined;
let page: Page | undefined;

before(async () => {
  if (!fs.existsSync(CHROMIUM)) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  page = await browser.newPage();
});

after(async () => {
  await browser?.close();
});

function chromiumOrSkip(t: TestContext): Page | undefined {
  if (page) return page;
  if (REQUIRED) assert.fail(`ADAPTER_LAB_E2E=require, but ${NO_CHROMIUM}`);
  t.skip(NO_CHROMIUM);
  return undefined;
}

const parse = (p: Page, svg: string) => p.evaluate(`(${PARSE})(${JSON.stringify(svg)})`) as Promise<Parsed>;
const all = (d: Parsed, tag: string) => d.elements.filter((e) => e.tag === tag);
const texts = (d: Parsed) => all(d, 'text').map((e) => e.text);

/** What every figure must be: one well-formed, self-contained SVG document. */
function assertSelfContained(svg: string, d: Parsed, width: number, height: number): void {
  assert.equal(d.error, null, 'the SVG is not well-formed XML');
  assert.ok(svg.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg '), 'an XML declaration, then the svg root');
  assert.equal(d.root, 'svg');
  assert.equal(d.ns, 'http://www.w3.org/2000/svg');
  const root = d.elements[0]!.attrs;
  assert.equal(root.xmlns, 'http://www.w3.org/2000/svg');
  assert.equal(root.width, String(width));
  assert.equal(root.height, String(height));
  assert.equal(root.viewBox, `0 0 ${width} ${height}`);
  // (assert.ok, not doesNotMatch: a failure should not print the whole file.)
  assert.ok(!/\sclass=/.test(svg), 'a class attribute was left: the file would depend on a stylesheet');
  // Only references inside the file: url(#id), quoted or not (an attribute quotes " as &quot;).
  const outside = /\sstyle=|<style|href=|url\((?!(&quot;|")?#)/.exec(svg);
  assert.equal(outside?.[0], undefined, 'the file must not depend on anything outside it');
  // The white background, first, and every text with its colour and a portable font.
  assert.deepEqual([d.elements[1]!.tag, d.elements[1]!.attrs.fill], ['rect', 'rgb(255, 255, 255)']);
  for (const t of all(d, 'text')) {
    assert.match(t.attrs.fill ?? '', /^rgb\(/, `text "${t.text}" has no inlined fill`);
    assert.match(t.attrs['font-family'] ?? '', /Helvetica, Arial, sans-serif/);
  }
}

describe('documentation figures', () => {
  test('a log-x line chart with error bars and a heatmap, written as SVG files', async (t) => {
    const p = chromiumOrSkip(t);
    if (!p) return;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'figures-test-'));
    try {
      const files = await writeFigures(path.join(dir, 'figs'), [curve, heatmap]);
      assert.deepEqual(files, [path.join(dir, 'figs', 'drop-curve.svg'), path.join(dir, 'figs', 'span-ablation.svg')]);
      assert.deepEqual(fs.readdirSync(path.join(dir, 'figs')).sort(), ['drop-curve.svg', 'span-ablation.svg'], 'no temporary file left');

      const lineSvg = fs.readFileSync(files[0]!, 'utf8');
      const line = await parse(p, lineSvg);
      assertSelfContained(lineSvg, line, 640, 280);
      // Two series of five points: a line and five error bars each, a marker per point.
      const paths = all(line, 'path');
      assert.equal(paths.length, 12);
      assert.equal(paths.filter((e) => /^M[^L]*V.*H/.test(e.attrs.d ?? '')).length, 10, 'ten error bars');
      assert.equal(paths.filter((e) => e.attrs.d?.includes('L')).length, 2, 'two lines');
      const markers = all(line, 'circle');
      assert.equal(markers.length, 10);
      // The panel's light palette, inlined: series 0 blue, series 1 orange; lines unfilled.
      assert.deepEqual([...new Set(markers.map((m) => m.attrs.fill))], ['rgb(55, 148, 255)', 'rgb(209, 134, 22)']);
      assert.deepEqual([...new Set(markers.map((m) => m.attrs.stroke))], ['rgb(255, 255, 255)']);
      for (const e of paths) assert.equal(e.attrs.fill, 'none');
      assert.deepEqual([...new Set(paths.map((e) => e.attrs.stroke))], ['rgb(55, 148, 255)', 'rgb(209, 134, 22)']);
      // Axis labels, the log axis's decades, the legend, and the point titles computed in Node.
      const lt = texts(line);
      for (const s of ['training examples (log)', 'accuracy', '10', '100', '1000', 'all adapters', 'drop 0-5']) assert.ok(lt.includes(s), `text "${s}" in ${JSON.stringify(lt)}`);
      assert.deepEqual(markers.slice(0, 2).map((m) => m.text), ['all adapters #0', 'all adapters #1']);
      assert.equal(line.elements[0]!.attrs['aria-label'], curve.caption);

      const heatSvg = fs.readFileSync(files[1]!, 'utf8');
      const heat = await parse(p, heatSvg);
      assertSelfContained(heatSvg, heat, 640, 360);
      const cellRects = all(heat, 'rect').filter((r) => r.attrs['data-value'] !== undefined);
      assert.equal(cellRects.length, 10, 'one cell per span i ≤ j of four layers');
      assert.equal(cellRects.filter((r) => r.attrs['data-diagonal'] === 'true').length, 4);
      // Background, 10 empty slots, 10 cells, 4 diagonal outlines, the ramp, the legend's diagonal swatch.
      assert.equal(all(heat, 'rect').length, 1 + 10 + 10 + 4 + 1 + 1);
      for (const r of cellRects) assert.match(r.attrs.fill ?? '', /^rgb\(\d+, \d+, \d+\)$/);
      // The best cell is the top of the ramp (viridis yellow), the worst its bottom (purple).
      const byValue = [...cellRects].sort((a, b) => Number(a.attrs['data-value']) - Number(b.attrs['data-value']));
      assert.equal(byValue[0]!.attrs.fill, 'rgb(68, 1, 84)');
      assert.equal(byValue[byValue.length - 1]!.attrs.fill, 'rgb(253, 231, 37)');
      // The legend's gradient is referenced inside the file.
      const ramp = all(heat, 'rect').find((r) => r.attrs.fill?.startsWith('url('));
      const id = /^url\("?#([^")]+)"?\)$/.exec(ramp?.attrs.fill ?? '')?.[1];
      assert.ok(id && all(heat, 'linearGradient').some((g) => g.attrs.id === id), `the ramp's gradient is in the file (${ramp?.attrs.fill})`);
      const ht = texts(heat);
      for (const s of ['to layer (j)', 'from layer (i)', 'accuracy', 'all adapters 0.9', 'one layer (diagonal)', '0', '3']) assert.ok(ht.includes(s), `text "${s}" in ${JSON.stringify(ht)}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the legend's baseline label takes the place of an end tick it would overlap", async (t) => {
    const p = chromiumOrSkip(t);
    if (!p) return;
    // The legend's labels: the texts beside the ramp, where the baseline's label is.
    const legendTexts = async (baseline: number): Promise<string[]> => {
      const doc = await parse(p, (await renderFigures([{ ...heatmap, data: { ...heatmap.data, baseline } }])).get('span-ablation')!);
      const label = all(doc, 'text').find((e) => e.text.startsWith('all adapters'));
      assert.ok(label, 'the baseline has its label');
      return all(doc, 'text').filter((e) => e.attrs.x === label.attrs.x).map((e) => e.text);
    };
    // Cells run 0.83..0.92: a baseline of 0.95 is the top of the ramp, 0.875 inside it.
    assert.deepEqual(await legendTexts(0.95), ['0.83', 'all adapters 0.95']);
    assert.deepEqual(await legendTexts(0.875), ['0.92', '0.83', 'all adapters 0.875']);
  });

  test('the same figures render to the same text (docs diffs show only real changes)', async (t) => {
    if (!chromiumOrSkip(t)) return;
    const a = await renderFigures([curve, heatmap]);
    const b = await renderFigures([curve, heatmap]);
    assert.deepEqual([...a.keys()], ['drop-curve', 'span-ablation']);
    assert.equal(a.get('drop-curve'), b.get('drop-curve'));
    assert.equal(a.get('span-ablation'), b.get('span-ablation'));
  });

  test('a line chart without data says so, not "waiting for events"', async (t) => {
    const p = chromiumOrSkip(t);
    if (!p) return;
    const svg = (await renderFigures([{ kind: 'line', name: 'empty', caption: 'Nothing', series: [{ label: 'a', points: [] }], options: { xLabel: 'x', yLabel: 'y' } }])).get('empty')!;
    assert.deepEqual(texts(await parse(p, svg)), ['No data']);
  });

  test('without Chromium the error names the package to install', async () => {
    await assert.rejects(renderFigures([curve], { chromium: MISSING }), (e: Error) => {
      assert.match(e.message, /Chromium is not installed \(\/nonexistent\/chromium is missing\)/);
      assert.match(e.message, /apt-get install chromium/);
      return true;
    });
  });

  test('names must be file names, once each; a heatmap needs cells (checked before any browser starts)', async () => {
    await assert.rejects(renderFigures([{ ...curve, name: '../escape' }], { chromium: MISSING }), /figure name "\.\.\/escape"/);
    await assert.rejects(renderFigures([curve, { ...curve }], { chromium: MISSING }), /figure name drop-curve is used twice/);
    await assert.rejects(renderFigures([{ ...heatmap, data: { layers: 4, cells: [], metric: 'accuracy', baseline: undefined } }], { chromium: MISSING }), /span-ablation: the heatmap has no cells/);
    assert.equal((await renderFigures([], { chromium: MISSING })).size, 0);
  });

  test('figureMarkdown', () => {
    assert.equal(figureMarkdown({ caption: 'Accuracy [dev]' }, 'figures/drop curve.svg'), '![Accuracy \\[dev\\]](figures/drop%20curve.svg)');
  });
});
