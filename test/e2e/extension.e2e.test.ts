/**
 * Adapter Lab in a real VS Code (code-server) from its .vsix, driven as a user drives it:
 * an experiment with a mistake shows a squiggle and a Problems row, and Train refuses it
 * with the error count; fixing it in the editor clears the Problems count; Train from the
 * code lens opens the Run panel, which draws the loss; the Runs view lists the run as
 * completed; a long second run is stopped with "Adapter Lab: Stop Job" and listed as
 * cancelled; after a reload the Run panel comes back; in an untrusted folder diagnostics
 * work and Train runs nothing. Screenshots go to out/test-artifacts/e2e/.
 *
 * Needs `npm run e2e:setup` (code-server and Chromium); skipped with the reason otherwise,
 * unless ADAPTER_LAB_E2E=require (as in CI), which turns the reason into a failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type { Locator } from 'playwright-core';
import { builtinSentiment } from '../../engine/model/builtin';
import { REPO_ROOT } from '../support/lspClient';
import { Browser, CodeServer, editor, findFrame, missingPrerequisite, openFile, openWorkbench, problemCounts, runCommand, tempHome, waitFor } from './support/codeServer';

/** As in CI: a missing prerequisite fails instead of skipping, and the code lens must be there (no palette fallback). */
const REQUIRED = process.env.ADAPTER_LAB_E2E === 'require';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const EXPERIMENT = 'sentiment.adapter.yaml';
const RUN_NAME = 'e2e-sentiment';
const MISTAKE_LINE = 14; // `  size: -4`
const MISTAKE_MESSAGE = '`adapter.size` must be >= 1, found -4';

const experiment = (size: string, epochs: number) => `# Adapters on the built-in model, with a small generated sentiment task.
name: ${RUN_NAME}
model: builtin:tiny-bert
task:
  kind: classification
  train: ./data/train.tsv
  validation: ./data/dev.tsv
  text: sentence
  label: label
  metric: accuracy
  max_length: 32
method: adapter
adapter:
  size: ${size}
  sites: [attention, ffn]
  layers: all
training:
  learning_rate: 1.0e-3
  epochs: ${epochs}
  batch_size: 16
  seed: 42
runtime:
  device: cpu
  threads: 1
`;

/** Waits for a locator to be visible, failing with what was expected. */
async function visible(locator: Locator, what: string, timeout: number): Promise<void> {
  try {
    await locator.waitFor({ timeout });
  } catch {
    throw new Error(`${what} did not appear within ${timeout / 1000} s`);
  }
}

function tsv(file: string, count: number, seed: number): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, ['sentence\tlabel', ...builtinSentiment(count, seed).map((r) => `${r.sentence}\t${r.label}`)].join('\n') + '\n');
}

/** The packaged extension: `npm run package`'s output when it is newer than the build, else a fresh package. */
function extensionPackage(home: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const packaged = path.join(REPO_ROOT, `${manifest.name}-${manifest.version}-${process.platform}-${process.arch}.vsix`);
  const inputs = ['package.json', 'dist/extension.js', 'dist/server.js', 'dist/cli.js', 'dist/webview/panel.js', 'dist/webview/panel.css'].map((f) => path.join(REPO_ROOT, f)).filter((f) => fs.existsSync(f));
  const newest = Math.max(...inputs.map((f) => fs.statSync(f).mtimeMs));
  if (fs.existsSync(packaged) && fs.statSync(packaged).mtimeMs >= newest) return packaged;
  const out = path.join(home, path.basename(packaged));
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/package.mjs'), '--no-build', '--quiet', '--out', out], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/package.mjs failed:\n${r.stdout}\n${r.stderr}`);
  return out;
}

const missing = missingPrerequisite();
if (missing && REQUIRED) throw new Error(`end-to-end tests required (ADAPTER_LAB_E2E=require) but ${missing}`);

describe('Adapter Lab in VS Code (code-server)', { skip: missing ? `end-to-end tests skipped: ${missing}` : false, timeout: 240_000 }, () => {
  let home: string;
  let workspace: string;
  let server: CodeServer;
  let browser: Browser;
  const failed = new Set<string>();

  /** The run folders next to the experiment, and a run's status from its status.json. */
  const runFolders = () => {
    const dir = path.join(workspace, '.adapter-lab', 'runs');
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((d) => d.startsWith(RUN_NAME)) : [];
  };
  const runStatus = (run: string): string | undefined => {
    try {
      return JSON.parse(fs.readFileSync(path.join(workspace, '.adapter-lab', 'runs', run, 'status.json'), 'utf8')).status;
    } catch {
      return undefined;
    }
  };

  /**
   * Clicks the "Train" code lens above the experiment. Without the lens, a required run
   * (ADAPTER_LAB_E2E=require) fails: the lens is what is being proven; a local run falls
   * back to the command palette and says so.
   */
  const train = async (t: TestContext) => {
    const lens = browser.page.locator('.codelens-decoration a', { hasText: /\bTrain\b/ }).first();
    try {
      await lens.waitFor({ timeout: 10_000 });
    } catch {
      if (REQUIRED) throw new Error('no "Train" code lens above the experiment within 10 s (the language server\'s code lenses did not show)');
      t.diagnostic('no "Train" code lens found; using the command palette');
      await runCommand(browser.page, 'Adapter Lab: Train');
      return;
    }
    await lens.click();
  };

  /** A notification toast with this text. */
  const notification = (text: RegExp) => browser.page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();

  /** The loss chart's point count in a Run panel's webview (the one showing `run`, if given), once above 0. */
  const lossPoints = async (timeout: number, run?: string) => {
    const frame = await findFrame(browser.page, 'figure[data-chart="loss"]', timeout, run).catch(() => {
      throw new Error(`no webview with figure[data-chart="loss"] (the Run panel's loss chart)${run ? ` showing ${run}` : ''}`);
    });
    return waitFor('figure[data-chart="loss"] to have data-point-count > 0', async () => {
      const n = Number(await frame.locator('figure[data-chart="loss"]').first().getAttribute('data-point-count', { timeout: 1_000 }));
      return n > 0 ? n : undefined;
    }, timeout);
  };

  /** Shows the Runs view (view adapterLab.runs in the "Adapter Lab" activity bar container). */
  const showRunsView = async () => {
    const page = browser.page;
    try {
      await runCommand(page, 'Adapter Lab: Focus on Runs View', { timeout: 5_000 });
    } catch {
      const item = page.locator('.activitybar .action-item a[aria-label*="Adapter Lab"]').first();
      if (!(await item.isVisible().catch(() => false))) throw new Error('no Runs view: neither the command "Adapter Lab: Focus on Runs View" nor an "Adapter Lab" activity bar item exists (view adapterLab.runs not contributed)');
      await item.click();
    }
  };

  /** Runs a step; on failure saves a screenshot and remembers it for the steps that build on it. */
  const step = (name: string, needs: string[], body: (t: TestContext) => Promise<void>, timeout: number) =>
    test(name, { timeout }, async (t) => {
      const blocked = needs.filter((n) => failed.has(n));
      if (blocked.length) {
        failed.add(name);
        return t.skip(`needs the earlier step "${blocked.join('", "')}", which failed`);
      }
      try {
        await body(t);
      } catch (e) {
        failed.add(name);
        const shot = await browser?.screenshot(`failed-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`);
        (e as Error).message += `\n(screenshot: ${shot ? path.relative(REPO_ROOT, shot) : 'none'})`;
        throw e;
      }
    });

  before(async () => {
    home = tempHome();
    workspace = path.join(home, 'workspace');
    fs.mkdirSync(workspace);
    fs.writeFileSync(path.join(workspace, EXPERIMENT), experiment('-4', 1));
    tsv(path.join(workspace, 'data/train.tsv'), 64, 1);
    tsv(path.join(workspace, 'data/dev.tsv'), 32, 2);

    server = new CodeServer(path.join(home, 'code-server'));
    server.installExtension(extensionPackage(home));
    assert.ok(server.installedExtensions().some((d) => d.startsWith('adapter-lab.adapter-lab-')), `installed: ${server.installedExtensions().join(', ')}`);
    await server.start(workspace);
    browser = await Browser.launch(home);
    await openWorkbench(browser.page, server, workspace, EXPERIMENT);
    await openFile(browser.page, EXPERIMENT);
  });

  after(async () => {
    await browser?.screenshot('final');
    await browser?.close();
    await server?.stop();
    if (home) fs.rmSync(home, { recursive: true, force: true });
  });

  step('a mistake shows as a squiggle and a Problems row with its message', [], async () => {
    const page = browser.page;
    await visible(page.locator('.monaco-editor .squiggly-error').first(), 'an error squiggle in the editor', 30_000);
    await waitFor('the Problems counter to show 1 error', async () => ((await problemCounts(page)).errors === 1 ? true : undefined), 10_000);
    await page.locator('[id="status.problems"]').click();
    await visible(page.locator('.markers-panel .monaco-list-row', { hasText: MISTAKE_MESSAGE }).first(), `a Problems row with "${MISTAKE_MESSAGE}"`, 10_000);
    await browser.screenshot('1-diagnostic');
  }, 60_000);

  step('Train on the file with the mistake names the error and starts nothing', ['a mistake shows as a squiggle and a Problems row with its message'], async (t) => {
    const page = browser.page;
    await openFile(page, EXPERIMENT);
    await train(t);
    await visible(notification(/sentiment\.adapter\.yaml has 1 error; fix them before running/), 'a notification "sentiment.adapter.yaml has 1 error; fix them before running"', 10_000);
    await visible(page.locator('.markers-panel .monaco-list-row', { hasText: MISTAKE_MESSAGE }).first(), 'the Problems view with the error', 5_000);
    await browser.screenshot('1b-refused');
    // A job would have made its run folder within a moment of starting.
    await sleep(1_000);
    assert.deepEqual(runFolders(), [], 'no run was started');
    await runCommand(page, 'Notifications: Clear All Notifications');
  }, 30_000);

  step('fixing it in the editor and saving clears the Problems count', ['a mistake shows as a squiggle and a Problems row with its message'], async () => {
    const page = browser.page;
    await editor(page).locator('.view-lines').click();
    // Go to the line, select its text after the indentation and type the fix.
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input.input').fill(`:${MISTAKE_LINE}`);
    await page.keyboard.press('Enter');
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.type('size: 8');
    await page.keyboard.press('Control+S');
    await waitFor('the file on disk to hold the fix', async () => (fs.readFileSync(path.join(workspace, EXPERIMENT), 'utf8').includes('  size: 8\n') ? true : undefined), 10_000);
    const counts = await waitFor('the Problems count to reach 0', async () => {
      const c = await problemCounts(page);
      return c.errors + c.warnings + c.infos === 0 ? c : undefined;
    }, 15_000);
    // The editor's decorations and the Problems view follow the counter a moment later.
    await waitFor(`the squiggle to go (Problems counter: ${counts.label})`, async () => ((await page.locator('.monaco-editor .squiggly-error').count()) === 0 ? true : undefined), 5_000);
    await waitFor('the Problems row to go', async () => ((await page.locator('.markers-panel .monaco-list-row', { hasText: MISTAKE_MESSAGE }).count()) === 0 ? true : undefined), 5_000);
    await browser.screenshot('2-fixed');
  }, 45_000);

  step('Train from the code lens opens the Run panel, which draws the loss', ['fixing it in the editor and saving clears the Problems count'], async (t) => {
    const page = browser.page;
    await openFile(page, EXPERIMENT);
    await train(t);
    await visible(page.locator('.tabs-container .tab', { hasText: `Run: ${RUN_NAME}` }).first(), `a Run panel tab titled "Run: ${RUN_NAME}"`, 20_000);
    const points = await lossPoints(20_000);
    t.diagnostic(`loss chart: ${points} points`);
    await browser.screenshot('3-run-panel');
  }, 60_000);

  step('the Runs view lists the run as completed', ['fixing it in the editor and saving clears the Problems count'], async () => {
    await showRunsView();
    await visible(browser.page.locator('.part.sidebar .monaco-list-row', { hasText: RUN_NAME }).filter({ hasText: /completed/i }).first(), `a Runs view row with "${RUN_NAME}" and "completed"`, 20_000);
    await browser.screenshot('4-runs-view');
  }, 45_000);

  step('a long run stopped with Stop Job is listed as cancelled', ['fixing it in the editor and saving clears the Problems count', 'Train from the code lens opens the Run panel, which draws the loss'], async (t) => {
    const page = browser.page;
    // Many epochs: long enough (a minute or more) to be stopped while it runs. Monaco
    // renders spaces as no-break spaces.
    fs.writeFileSync(path.join(workspace, EXPERIMENT), experiment('8', 5000));
    await openFile(page, EXPERIMENT);
    await waitFor('the editor to show the file with 5000 epochs', async () => ((await editor(page).locator('.view-lines').innerText()).replace(/\u00a0/g, ' ').includes('epochs: 5000') ? true : undefined), 10_000);
    const earlier = new Set(runFolders());
    await train(t);
    // Running: a new run folder says so, and the Run panel draws points.
    const run = await waitFor('a new run folder with status "running"', async () => runFolders().find((d) => !earlier.has(d) && runStatus(d) === 'running'), 20_000);
    t.diagnostic(`second run: ${run}`);
    await lossPoints(20_000, run);
    await runCommand(page, 'Adapter Lab: Stop Job');
    // Stop Job may ask which job when several could be running: take the first.
    const pick = page.locator('.quick-input-widget .monaco-list-row').first();
    if (await pick.isVisible().catch(() => false)) await page.keyboard.press('Enter');
    await showRunsView();
    await visible(page.locator('.part.sidebar .monaco-list-row', { hasText: run }).filter({ hasText: /cancel+ed/i }).first(), `a Runs view row with "${run}" and "cancelled"`, 30_000);
    await browser.screenshot('5-cancelled');
    await waitFor(`${run}/status.json to say "cancelled"`, async () => (runStatus(run) === 'cancelled' ? true : undefined), 10_000);
  }, 100_000);

  step('after a window reload the Run panel is rebuilt from the run store', ['Train from the code lens opens the Run panel, which draws the loss'], async () => {
    const page = browser.page;
    const completed = runFolders().find((d) => runStatus(d) === 'completed');
    assert.ok(completed, 'the first run is completed');
    const steps = fs.readFileSync(path.join(workspace, '.adapter-lab', 'runs', completed, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"type":"step"')).length;
    // VS Code's own reload: it saves the webviews' state before the page goes.
    await runCommand(page, 'Developer: Reload Window');
    await page.waitForLoadState('domcontentloaded');
    await visible(page.locator('.monaco-workbench'), 'the workbench after the reload', 30_000);
    // A restored panel that is not in front is rebuilt when its tab is shown.
    const tab = page.locator('.tabs-container .tab', { hasText: `Run: ${completed}` }).first();
    await visible(tab, `the restored tab "Run: ${completed}"`, 30_000);
    await tab.click();
    const points = await lossPoints(30_000, completed);
    assert.equal(points, steps, 'the restored loss chart has one point per recorded step');
    await browser.screenshot('6-restored');
  }, 90_000);

  step('in an untrusted folder diagnostics work, and Train explains that it needs trust and runs nothing', [], async (t) => {
    // A second code-server with workspace trust on (the folder opens in Restricted Mode), sharing the installed extension.
    const untrusted = path.join(home, 'untrusted');
    fs.mkdirSync(untrusted);
    fs.writeFileSync(path.join(untrusted, EXPERIMENT), experiment('-4', 1));
    tsv(path.join(untrusted, 'data/train.tsv'), 16, 1);
    tsv(path.join(untrusted, 'data/dev.tsv'), 16, 2);
    const restricted = new CodeServer(path.join(home, 'code-server-trust'), { trust: true, extensions: server.extensions });
    try {
      await restricted.start(untrusted);
      const page = browser.page;
      await openWorkbench(page, restricted, untrusted, EXPERIMENT);
      await openFile(page, EXPERIMENT);
      await visible(page.locator('.monaco-editor .squiggly-error').first(), 'an error squiggle in the untrusted folder', 30_000);
      await waitFor('the Problems counter to show 1 error', async () => ((await problemCounts(page)).errors === 1 ? true : undefined), 10_000);
      await train(t);
      await visible(notification(/needs a trusted workspace/), 'a notification that training needs a trusted workspace', 10_000);
      await browser.screenshot('7-untrusted');
      await sleep(1_000);
      assert.equal(fs.existsSync(path.join(untrusted, '.adapter-lab')), false, 'no run folder in the untrusted workspace');
    } finally {
      await restricted.stop();
    }
  }, 60_000);

  test('nothing was requested from a host other than 127.0.0.1 or localhost', () => {
    assert.deepEqual(browser?.foreignRequests ?? [], []);
  });
});
