/**
 * A real VS Code for end-to-end tests: code-server (VS Code's workbench served to a
 * browser, extensions in a normal Node extension host) installed by scripts/e2e-setup.sh,
 * with every bit of state in a fresh temporary folder, driven by playwright-core in
 * Debian's Chromium. Nothing may be requested from a host other than 127.0.0.1/localhost.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Frame, type Locator, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../support/lspClient';

export const E2E_DIR = process.env.ADAPTER_LAB_E2E_DIR || path.join(REPO_ROOT, '.e2e');
export const CODE_SERVER_VERSION = '4.100.3';
export const CODE_SERVER = path.join(E2E_DIR, 'code-server', 'node_modules', '.bin', 'code-server');
export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.join(REPO_ROOT, 'out', 'test-artifacts', 'e2e');

/** Why the end-to-end tests cannot run here, or undefined when they can. */
export function missingPrerequisite(): string | undefined {
  const pkg = path.join(E2E_DIR, 'code-server', 'node_modules', 'code-server', 'package.json');
  const where = E2E_DIR.startsWith(REPO_ROOT + path.sep) ? path.relative(REPO_ROOT, E2E_DIR) : E2E_DIR;
  if (!fs.existsSync(CODE_SERVER) || !fs.existsSync(pkg)) return `code-server is not installed in ${where}/ (run npm run e2e:setup)`;
  const version = JSON.parse(fs.readFileSync(pkg, 'utf8')).version;
  if (version !== CODE_SERVER_VERSION) return `code-server ${version} is installed, the tests need ${CODE_SERVER_VERSION} (run npm run e2e:setup)`;
  if (!fs.existsSync(CHROMIUM)) return `${CHROMIUM} is missing (run npm run e2e:setup, or apt-get install chromium)`;
  return undefined;
}

const SETTINGS = {
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'git.enabled': false,
  'chat.disableAIFeatures': true,
  'workbench.enableExperiments': false,
  'editor.accessibilitySupport': 'off',
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Workspace trust as a user who has it on sees it: folders are untrusted until trusted, without a startup prompt. */
const TRUST_SETTINGS = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.untrustedFiles': 'open',
};

export interface CodeServerOptions {
  /** Workspace trust on (folders open in Restricted Mode); off by default, as jobs need trust. */
  readonly trust?: boolean;
  /** An extensions folder to share (an extension installed once serves several servers run one after another). */
  readonly extensions?: string;
}

/** One code-server with its own user data, extensions, configuration and XDG folders. */
export class CodeServer {
  private process: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  port = 0;
  readonly userData: string;
  readonly extensions: string;
  readonly logFile: string;
  private readonly config: string;
  private readonly env: NodeJS.ProcessEnv;

  private readonly trust: boolean;

  constructor(
    readonly home: string,
    options: CodeServerOptions = {},
  ) {
    this.trust = options.trust ?? false;
    this.userData = path.join(home, 'user-data');
    this.extensions = options.extensions ?? path.join(home, 'extensions');
    this.config = path.join(home, 'config.yaml');
    this.logFile = path.join(home, 'code-server.log');
    fs.mkdirSync(path.join(this.userData, 'User'), { recursive: true });
    fs.mkdirSync(this.extensions, { recursive: true });
    fs.writeFileSync(path.join(this.userData, 'User', 'settings.json'), JSON.stringify({ ...SETTINGS, ...(this.trust ? TRUST_SETTINGS : {}) }, null, 2));
    fs.writeFileSync(this.config, 'bind-addr: 127.0.0.1:0\nauth: none\ncert: false\n');
    const xdg = (name: string) => {
      const dir = path.join(home, 'xdg', name);
      fs.mkdirSync(dir, { recursive: true });
      return dir;
    };
    this.env = { ...process.env, XDG_CONFIG_HOME: xdg('config'), XDG_DATA_HOME: xdg('data'), XDG_CACHE_HOME: xdg('cache') };
    delete this.env.NODE_OPTIONS;
    delete this.env.VSCODE_IPC_HOOK_CLI;
  }

  private dirArgs(): string[] {
    return ['--config', this.config, '--user-data-dir', this.userData, '--extensions-dir', this.extensions];
  }

  /** Installs a .vsix the way a user does (`--install-extension`). */
  installExtension(vsix: string): void {
    const r = spawnSync(CODE_SERVER, [...this.dirArgs(), '--install-extension', vsix], { env: this.env, encoding: 'utf8', timeout: 60_000 });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (r.status !== 0 || !/successfully installed/i.test(out)) throw new Error(`code-server --install-extension ${vsix} failed (${r.status}):\n${out}`);
  }

  /** The installed extensions' folder names. */
  installedExtensions(): string[] {
    return fs.readdirSync(this.extensions).filter((d) => !d.startsWith('.') && fs.statSync(path.join(this.extensions, d)).isDirectory());
  }

  async start(workspace: string): Promise<void> {
    this.port = await freePort();
    const log = fs.openSync(this.logFile, 'a');
    const args = [
      ...this.dirArgs(),
      '--bind-addr', `127.0.0.1:${this.port}`,
      '--auth', 'none',
      '--disable-telemetry',
      '--disable-update-check',
      ...(this.trust ? [] : ['--disable-workspace-trust']),
      '--disable-getting-started-override',
      '--ignore-last-opened',
      workspace,
    ];
    // Its own process group (setsid): stop() ends the file watcher and extension host with it.
    const child = spawn(CODE_SERVER, args, { env: this.env, detached: true, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.process = child;
    // If the test process ends without stop() (killed by a timeout), take the group with it.
    const orphan = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.once('exit', orphan);
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        process.removeListener('exit', orphan);
        resolve();
      }),
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${this.log()}`);
      try {
        const res = await fetch(`${this.origin}/healthz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`code-server did not answer /healthz within 30 s:\n${this.log()}`);
      await sleep(200);
    }
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(folder: string): string {
    return `${this.origin}/?folder=${encodeURIComponent(folder)}`;
  }

  log(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-40).join('\n');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child?.pid) return;
    this.process = undefined;
    const group = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    group('SIGTERM');
    const done = await Promise.race([this.exited!.then(() => true), sleep(5_000).then(() => false)]);
    await sleep(done ? 300 : 0);
    group('SIGKILL');
  }
}

/** A headless Chromium with a fresh profile, recording every request that would leave this machine. */
export class Browser {
  readonly foreignRequests: string[] = [];
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly profile: string,
  ) {}

  static async launch(home: string): Promise<Browser> {
    const profile = fs.mkdtempSync(path.join(home, 'chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1600, height: 1000 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const browser = new Browser(context, page, profile);
    context.on('request', (request) => {
      const url = request.url();
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        return;
      }
      if (!/^(https?|wss?):$/.test(parsed.protocol)) return;
      if (isLocal(parsed.hostname)) return;
      // Webview resources use a reserved host that the webview's service worker answers
      // from the workbench; only a request that really reaches the network counts.
      if (parsed.hostname.endsWith('.vscode-resource.vscode-cdn.net')) {
        void request.response().then((response) => {
          if (!response?.fromServiceWorker()) browser.foreignRequests.push(url);
        });
        return;
      }
      browser.foreignRequests.push(url);
    });
    return browser;
  }

  async close(): Promise<void> {
    await this.context.close().catch(() => undefined);
    fs.rmSync(this.profile, { recursive: true, force: true });
  }

  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${name}.png`);
    await this.page.screenshot({ path: file }).catch(() => undefined);
    return file;
  }
}

function isLocal(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
}

/** Opens the workbench on a folder; ready when the Explorer lists `fileName`. */
export async function openWorkbench(page: Page, server: CodeServer, folder: string, fileName: string): Promise<void> {
  await page.goto(server.url(folder));
  await page.locator('.monaco-workbench').waitFor({ timeout: 30_000 });
  await page.locator(`.explorer-folders-view .monaco-list-row[aria-label*="${fileName}"]`).first().waitFor({ timeout: 30_000 });
}

/**
 * Opens a file with Quick Open (Ctrl+P). Right after load the file-search provider may not
 * be registered yet and the list stays empty: close and reopen, a few times.
 */
export async function openFile(page: Page, fileName: string): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  for (let attempt = 0; attempt < 8; attempt++) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    await input.waitFor({ state: 'visible', timeout: 5_000 });
    await input.fill(fileName);
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: fileName }).first();
    try {
      await row.waitFor({ timeout: 2_000 });
    } catch {
      await sleep(500);
      continue;
    }
    await page.keyboard.press('Enter');
    const tab = page.locator(`.tabs-container .tab.active[aria-label*="${fileName}"]`);
    try {
      await tab.waitFor({ timeout: 5_000 });
      await editor(page).waitFor({ timeout: 5_000 });
      return;
    } catch {
      // try again
    }
  }
  throw new Error(`Quick Open did not open ${fileName}`);
}

/** The active text editor. */
export function editor(page: Page): Locator {
  return page.locator('.editor-group-container.active .monaco-editor[data-uri]').first();
}

/** Runs a command by its title from the command palette (F1). */
export async function runCommand(page: Page, title: string, options: { timeout?: number } = {}): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  const deadline = Date.now() + (options.timeout ?? 15_000);
  for (;;) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: 5_000 });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ timeout: 2_000 });
      await page.keyboard.press('Enter');
      return;
    } catch {
      if (Date.now() > deadline) {
        await page.keyboard.press('Escape');
        throw new Error(`the command palette has no command "${title}"`);
      }
      await sleep(500);
    }
  }
}

export interface ProblemCounts {
  errors: number;
  warnings: number;
  infos: number;
  label: string;
}

/** The status bar's Problems counter (its aria-label reads e.g. "Errors: 1, Warnings: 0"). */
export async function problemCounts(page: Page): Promise<ProblemCounts> {
  const item = page.locator('[id="status.problems"]');
  const label = ((await item.getAttribute('aria-label', { timeout: 5_000 })) ?? (await item.innerText())).trim();
  const count = (re: RegExp) => Number(re.exec(label)?.[1] ?? 0);
  if (/no problems/i.test(label)) return { errors: 0, warnings: 0, infos: 0, label };
  return { errors: count(/errors?:?\s*(\d+)/i), warnings: count(/warnings?:?\s*(\d+)/i), infos: count(/infos?:?\s*(\d+)/i), label };
}

/** Polls until `check` returns a value other than undefined, or throws with `what` after `timeout` ms. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeout: number, interval = 250): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}${last ? ` (last error: ${(last as Error).message.split('\n')[0]})` : ''}`);
    await sleep(interval);
  }
}

/** The first frame (a webview's inner frame, for instance) in which `selector` matches, and whose text holds `hasText` if given. */
export async function findFrame(page: Page, selector: string, timeout = 20_000, hasText?: string): Promise<Frame> {
  return waitFor(
    `a frame with ${selector}${hasText ? ` and the text "${hasText}"` : ''}`,
    async () => {
      for (const frame of page.frames()) {
        if (frame === page.mainFrame()) continue;
        if ((await frame.locator(selector).count().catch(() => 0)) === 0) continue;
        if (hasText && (await frame.locator('body', { hasText }).count().catch(() => 0)) === 0) continue;
        return frame;
      }
      return undefined;
    },
    timeout,
  );
}

/** Temporary folder for one end-to-end session. */
export function tempHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-e2e-'));
}
