/**
 * Documentation figures (SVG files) drawn by the result panels' own chart code in a real
 * Chromium, so that the figures in docs/ look like the panels and change with them. The
 * page script (page.ts) is bundled on the fly; the page loads nothing from anywhere.
 *
 *   const svgs = await renderFigures([{ kind: 'line', name: 'drop-curve', caption: '…', series, options }]);
 *   await writeFigures('docs/figures', figures); // docs/figures/drop-curve.svg
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeAtomic } from '../../engine/runs/store';
import type { FigurePage, FigureSpec, PageFigure } from './spec';

export type { FigureSpec, HeatmapData, HeatmapFigure, LineChartOptions, LineFigure, Series } from './spec';

/** Compiled to out/bench/figures, so the repository is three folders up. */
const ROOT = path.resolve(__dirname, '..', '..', '..');
const PAGE_SCRIPT = path.join(ROOT, 'bench', 'figures', 'page.ts');
const STYLESHEETS = [path.join(ROOT, 'client', 'webview', 'panel.css'), path.join(ROOT, 'bench', 'figures', 'figures.css')];

export const CHROMIUM = '/usr/bin/chromium';

export interface RenderOptions {
  /** The Chromium binary; /usr/bin/chromium (Debian's chromium package) by default. */
  readonly chromium?: string;
}

/** Names become file names, so they are kept to characters every file system accepts. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function check(figures: readonly FigureSpec[]): void {
  const seen = new Set<string>();
  for (const f of figures) {
    if (!NAME.test(f.name)) throw new Error(`figure name ${JSON.stringify(f.name)}: use letters, digits, '.', '_' and '-' (it becomes <name>.svg)`);
    if (seen.has(f.name)) throw new Error(`figure name ${f.name} is used twice`);
    seen.add(f.name);
    // The chart would draw its "waiting" note, which means nothing in a document.
    if (f.kind === 'heatmap' && (!f.data.cells.length || f.data.layers <= 0)) throw new Error(`figure ${f.name}: the heatmap has no cells`);
    if (f.kind !== 'line' && f.kind !== 'heatmap') throw new Error(`figure ${(f as { name: string }).name}: unknown kind ${JSON.stringify((f as { kind: unknown }).kind)}`);
  }
}

/** Functions cannot enter the page: point titles are computed here, as the chart would ask for them. */
function toPage(f: FigureSpec): PageFigure {
  if (f.kind === 'heatmap') return f;
  const { pointTitle, ...options } = f.options;
  const page = { ...f, options: { ...options, empty: options.empty ?? 'No data' } };
  return pointTitle ? { ...page, titles: f.series.map((s) => s.points.map((_, i) => pointTitle(s, i))) } : page;
}

let bundle: Promise<string> | undefined;

/** The page script, bundled once per process. */
function pageScript(): Promise<string> {
  // Read from the source tree: the renderer runs from out/bench in a checkout.
  if (!fs.existsSync(PAGE_SCRIPT)) return Promise.reject(new Error(`${PAGE_SCRIPT} is missing: the figure renderer runs from a checkout (compiled to out/bench/figures)`));
  bundle ??= build({ entryPoints: [PAGE_SCRIPT], bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2020', logLevel: 'silent', absWorkingDir: ROOT }).then((r) => {
    const out = r.outputFiles[0];
    if (!out) throw new Error(`esbuild produced no bundle for ${PAGE_SCRIPT}`);
    return out.text;
  });
  bundle.catch(() => (bundle = undefined));
  return bundle;
}

async function launch(executable: string): Promise<Browser> {
  if (!fs.existsSync(executable)) {
    throw new Error(`Chromium is not installed (${executable} is missing): figures are drawn in a real browser. Install it with: apt-get install chromium (or npm run e2e:setup)`);
  }
  try {
    return await chromium.launch({ executablePath: executable, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  } catch (e) {
    throw new Error(`Chromium (${executable}) did not start: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function openPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const [script, ...css] = await Promise.all([pageScript(), ...STYLESHEETS.map((f) => fs.promises.readFile(f, 'utf8'))]);
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  const page = await context.newPage();
  // Nothing may be fetched: a figure that needed the network would not be self-contained.
  await page.route('**/*', (route) => route.abort());
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setContent(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>${css.join('\n')}</style></head><body></body></html>`);
  await page.addScriptTag({ content: script });
  if (errors.length) throw new Error(`the figure page failed to load: ${errors.join('; ')}`);
  return { page, errors };
}

/** Each figure's SVG document (with its XML declaration), by name, in the order given. */
export async function renderFigures(figures: readonly FigureSpec[], options: RenderOptions = {}): Promise<Map<string, string>> {
  check(figures);
  const out = new Map<string, string>();
  if (!figures.length) return out;
  const browser = await launch(options.chromium ?? CHROMIUM);
  try {
    const { page, errors } = await openPage(browser);
    for (const f of figures) {
      let svg: string;
      try {
        svg = await page.evaluate((pf) => (globalThis as unknown as FigurePage).renderFigure(pf), toPage(f));
      } catch (e) {
        throw new Error(`figure ${f.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (errors.length) throw new Error(`figure ${f.name}: ${errors.join('; ')}`);
      out.set(f.name, svg.endsWith('\n') ? svg : `${svg}\n`);
    }
  } finally {
    await browser.close();
  }
  return out;
}

/**
 * Renders every figure, then writes each to `<dir>/<name>.svg` atomically (a reader sees
 * the old file or the new, never a part). Nothing is written unless every figure rendered.
 * Returns the files written.
 */
export async function writeFigures(dir: string, figures: readonly FigureSpec[], options: RenderOptions = {}): Promise<string[]> {
  const svgs = await renderFigures(figures, options);
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const [name, svg] of svgs) {
    const file = path.join(dir, `${name}.svg`);
    writeAtomic(file, svg);
    files.push(file);
  }
  return files;
}

/** The Markdown that shows a figure: `![caption](href)`, href being where its SVG is. */
export function figureMarkdown(figure: Pick<FigureSpec, 'caption'>, href: string): string {
  const alt = figure.caption.replace(/[[\]\\]/g, (c) => `\\${c}`).replace(/\s+/g, ' ');
  return `![${alt}](${href.replace(/[ ()]/g, (c) => encodeURIComponent(c))})`;
}
