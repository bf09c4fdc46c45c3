/**
 * `npm run test:vscode`: the extension inside a real VS Code (@vscode/test-electron), on a
 * fresh workspace folder. Not part of `npm test` (its files have no `.test` suffix): it needs
 * a VS Code build, which is downloaded on first use, and a display. Where the download is
 * impossible (no network), or on Linux without a display and without xvfb-run, it reports
 * itself skipped with the reason and exits 0; on Linux without a display but with xvfb-run,
 * it runs itself again under xvfb-run.
 *
 * Environment: VSCODE_TEST_VERSION (default: the oldest version the manifest supports),
 * VSCODE_EXECUTABLE (an installed VS Code to use instead of downloading one).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { displayPlan, onPath, UNDER_XVFB } from './display';

const ROOT = path.resolve(__dirname, '..', '..', '..');

function minimumVersion(): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { vscode: string } };
  return manifest.engines.vscode.replace(/^[^\d]*/, '');
}

async function main(): Promise<number> {
  // Before any download: without a display there is nothing to run it in.
  const display = displayPlan(process.platform, process.env, onPath('xvfb-run'));
  if (display.kind === 'skip') {
    console.log(`skipped: ${display.reason}`);
    return 0;
  }
  if (display.kind === 'xvfb') {
    console.log('no display: running under xvfb-run');
    const r = spawnSync(display.xvfbRun, ['-a', process.execPath, __filename, ...process.argv.slice(2)], { stdio: 'inherit', env: { ...process.env, [UNDER_XVFB]: '1' } });
    return r.status ?? 1;
  }
  let executable = process.env.VSCODE_EXECUTABLE;
  if (!executable) {
    const version = process.env.VSCODE_TEST_VERSION ?? minimumVersion();
    try {
      executable = await downloadAndUnzipVSCode({ version, cachePath: path.join(ROOT, '.vscode-test'), timeout: 30_000 });
    } catch (e) {
      console.log(`skipped: VS Code could not be downloaded (${e instanceof Error ? e.message : String(e)})`);
      return 0;
    }
  }
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-vscode-'));
  try {
    await runTests({
      vscodeExecutablePath: executable,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(__dirname, 'suite', 'index'),
      // Trust is on by default in a fresh profile's folders; jobs need it, so the test turns the prompt off.
      launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
      extensionTestsEnv: { ADAPTER_LAB_TEST_WORKSPACE: workspace },
    });
    console.log('VS Code tests passed');
    return 0;
  } catch (e) {
    console.error(`VS Code tests failed: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
