/**
 * Runs the real panel page in Chromium: the HTML from panelHtml(), the built
 * dist/webview/panel.js and panel.css, served from a temporary folder on 127.0.0.1, with a
 * stand-in for VS Code's acquireVsCodeApi injected before the page's script runs. The
 * stand-in records posted messages and saved state; tests drive the page with the same
 * `init` and `events` messages the extension host sends.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { JobEvent } from '../../engine/events';
import { makeNonce, panelHtml } from '../../client/src/panelHtml';
import type { HostToPanel, JobHistory, PanelKind, PanelToHost } from '../../client/src/panelProtocol';

/** out/test/panels → the repository. */
export const ROOT = path.join(__dirname, '..', '..', '..');
export const CHROMIUM = '/usr/bin/chromium';
export const NO_CHROMIUM = `${CHROMIUM} is not installed: the panel browser tests need Chromium (apt-get install chromium)`;
export const ARTIFACTS = path.join(ROOT, 'out', 'test-artifacts', 'panels');

export function hasChromium(): boolean {
  return fs.existsSync(CHROMIUM);
}

export function readEvents(name: string): JobEvent[] {
  const text = fs.readFileSync(path.join(ROOT, 'test', 'fixtures', 'events', name), 'utf8');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as JobEvent);
}

/** Splits a stream holding several training runs (the demo) into one history per run. */
export function splitRuns(events: readonly JobEvent[], label: (i: number) => string): JobHistory[] {
  const out: { id: string; label: string; events: JobEvent[] }[] = [];
  for (const e of events) {
    if (e.type === 'start') out.push({ id: `${'runDir' in e ? e.runDir : out.length}`, label: label(out.length), events: [] });
    out[out.length - 1]?.events.push(e);
  }
  return out;
}

export interface Server {
  readonly origin: string;
  readonly dir: string;
  /** Every path the page asked the server for. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves the page's own files, and nothing else, from a fresh temporary folder. */
export async function startServer(): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'panel-test-'));
  for (const f of ['panel.js', 'panel.css']) {
    const src = path.join(ROOT, 'dist', 'webview', f);
    if (!fs.existsSync(src)) throw new Error(`${src} is missing: run node scripts/build.mjs first`);
    fs.copyFileSync(src, path.join(dir, f));
  }
  const requests: string[] = [];
  const types: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push(url.pathname);
    const name = path.basename(url.pathname);
    const file = path.join(dir, name);
    if (url.pathname !== `/${name}` || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(name)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(fs.readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    dir,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        fs.rmSync(dir, { recursive: true, force: true });
      }),
  };
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}

/** What the stand-in for acquireVsCodeApi recorded. */
export interface Recorded {
  readonly posted: PanelToHost[];
  readonly state: unknown;
  readonly violations: { directive: string; blocked: string }[];
}

/** Injected before the page's script: the webview API stand-in and a CSP violation log. */
const STAND_IN = `(() => {
  const rec = { posted: [], state: undefined, violations: [] };
  Object.defineProperty(window, '__panelTest', { value: rec });
  document.addEventListener('securitypolicyviolation', (e) => rec.violations.push({ directive: e.violatedDirective, blocked: e.blockedURI }));
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi may be called once');
    acquired = true;
    return {
      postMessage: (m) => rec.posted.push(JSON.parse(JSON.stringify(m))),
      getState: () => rec.state,
      setState: (s) => { rec.state = JSON.parse(JSON.stringify(s)); },
    };
  };
})();`;

export interface PanelPage {
  readonly page: Page;
  /** Requests for anything but the page's own three files (each one fails the test). */
  readonly foreign: string[];
  readonly dialogs: string[];
  readonly errors: string[];
  send(message: HostToPanel): Promise<void>;
  /** Waits until the drawing reflects this many events in all. */
  drawn(events: number): Promise<void>;
  /** Polls a page expression until it is truthy (waitForFunction's string form needs eval, which the CSP refuses). */
  until(expression: string, timeoutMs?: number): Promise<void>;
  recorded(): Promise<Recorded>;
  evaluate<T>(expression: string): Promise<T>;
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

export async function openPanel(browser: Browser, server: Server, kind: PanelKind, title: string, theme = 'vscode-light'): Promise<PanelPage> {
  const file = `${kind}-${Math.random().toString(36).slice(2, 8)}.html`;
  const html = panelHtml({ scriptUri: `${server.origin}/panel.js`, styleUri: `${server.origin}/panel.css`, cspSource: server.origin, nonce: makeNonce(), kind, title });
  // The body's theme class, as VS Code sets it.
  fs.writeFileSync(path.join(server.dir, file), html.replace('<body ', `<body class="${theme}" `));
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  const foreign: string[] = [];
  const dialogs: string[] = [];
  const errors: string[] = [];
  const own = new Set([`${server.origin}/${file}`, `${server.origin}/panel.js`, `${server.origin}/panel.css`]);
  // No network: anything but the page's own files is recorded and refused.
  await page.route('**/*', async (route) => {
    const url = route.request().url();
    if (own.has(url)) await route.continue();
    else {
      foreign.push(url);
      await route.abort();
    }
  });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(STAND_IN);
  await page.goto(`${server.origin}/${file}`);
  const evaluate = <T>(expression: string) => page.evaluate(expression) as Promise<T>;
  const until = async (expression: string, timeoutMs = 10_000) => {
    const end = Date.now() + timeoutMs;
    while (!(await evaluate<unknown>(expression))) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${expression}`);
      await new Promise((r) => setTimeout(r, 15));
    }
  };
  await until('window.__panelTest.posted.some((m) => m.type === "ready")');
  return {
    page,
    foreign,
    dialogs,
    errors,
    async send(message) {
      await page.evaluate((m) => (globalThis as unknown as { postMessage(m: unknown, o: string): void }).postMessage(m, '*'), message);
    },
    until,
    async drawn(events) {
      await until(`document.getElementById('app').dataset.events === '${events}'`);
      // One more frame: the drawing happened in the frame that set the count.
      await page.evaluate('new Promise((r) => requestAnimationFrame(() => r(undefined)))');
    },
    recorded: () => evaluate<Recorded>('window.__panelTest'),
    evaluate,
    async screenshot(name) {
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
    },
    close: () => context.close(),
  };
}

/** Sends a job's events in batches after an empty init, as the host does for a live job. */
export async function replay(p: PanelPage, kind: PanelKind, title: string, jobs: readonly JobHistory[], batch: number): Promise<void> {
  await p.send({ type: 'init', kind, title, jobs: jobs.map((j) => ({ ...j, events: [] })) });
  let total = 0;
  for (const j of jobs) {
    for (let i = 0; i < j.events.length; i += batch) {
      await p.send({ type: 'events', id: j.id, events: j.events.slice(i, i + batch) });
      total += Math.min(batch, j.events.length - i);
    }
  }
  await p.drawn(total);
}

/** A parser for the CSV the panels export (RFC 4180), to read it back. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
