/**
 * Runs inside VS Code's extension host (loaded by runTests.ts): activates the extension,
 * checks diagnostics on a broken file and that Train refuses it, then trains the example
 * experiment and checks that a completed run folder appears, and trains it again with no
 * editor open, as the walkthrough's Train step does. Plain node:assert, no test
 * framework: `run()` resolving is a pass, throwing a failure.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

const EXTENSION_ID = 'adapter-lab.adapter-lab';

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const tests: [string, () => Promise<void>][] = [];
const test = (name: string, fn: () => Promise<void>): void => void tests.push([name, fn]);

function workspaceFolder(): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.env.ADAPTER_LAB_TEST_WORKSPACE;
  assert.ok(folder, 'the test opens a workspace folder');
  return folder;
}

test('the extension activates and registers its commands', async () => {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed`);
  await ext.activate();
  const commands = new Set(await vscode.commands.getCommands(true));
  for (const id of ['adapterLab.train', 'adapterLab.runSweep', 'adapterLab.evaluate', 'adapterLab.runAblation', 'adapterLab.dropCurve', 'adapterLab.dropRegimes', 'adapterLab.exportOnnx', 'adapterLab.exportAdapter', 'adapterLab.stopJob', 'adapterLab.openResults', 'adapterLab.compareRuns', 'adapterLab.createExample']) {
    assert.ok(commands.has(id), id);
  }
});

test('a file with errors gets diagnostics, and Train refuses it', async () => {
  const folder = workspaceFolder();
  const bad = path.join(folder, 'bad.adapter.yaml');
  fs.writeFileSync(bad, 'name: bad\nmodel: builtin:tiny-bert\nmethod: adapter\nadapter:\n  size: 0\n');
  const uri = vscode.Uri.file(bad);
  await vscode.window.showTextDocument(uri);
  const errors = await until('diagnostics', () => {
    const list = vscode.languages.getDiagnostics(uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
    return list.length ? list : undefined;
  });
  assert.ok(errors.some((d) => /size/.test(d.message)), errors.map((d) => d.message).join('\n'));
  await vscode.commands.executeCommand('adapterLab.train', uri.toString());
  assert.equal(fs.existsSync(path.join(folder, '.adapter-lab', 'runs')), false, 'no run was started');
});

test('Train on the example experiment writes a completed run to the runs folder', async () => {
  const folder = workspaceFolder();
  await vscode.workspace.getConfiguration('adapterLab').update('openPanelOnStart', false, vscode.ConfigurationTarget.Global);
  const uri = await vscode.commands.executeCommand<vscode.Uri | undefined>('adapterLab.createExample');
  assert.ok(uri, 'the example was created');
  assert.equal(path.dirname(uri.fsPath), folder);
  // The quickstart: adapters on the pretrained built-in BERT and the WordNet task, copied with its licence.
  const text = fs.readFileSync(uri.fsPath, 'utf8');
  assert.match(text, /^model: builtin:english-bert$/m);
  assert.match(text, /^ {2}train: \.\/data\/wordnet-supersense\/train\.tsv$/m);
  assert.match(text, /^ {2}validation: \.\/data\/wordnet-supersense\/dev\.tsv$/m);
  const data = path.join(folder, 'data', 'wordnet-supersense');
  for (const name of ['train.tsv', 'dev.tsv', 'test.tsv']) assert.match(fs.readFileSync(path.join(data, name), 'utf8'), /^text\tlabel\n.+\tnoun\.\w+\n/, name);
  assert.match(fs.readFileSync(path.join(data, 'LICENSE'), 'utf8'), /WordNet 3\.0 Copyright 2006 by Princeton University/);
  // One epoch over the whole task takes minutes: the test trains on its first rows (and
  // validates on dev rows whose classes those hold).
  const rows = (name: string): string[] => fs.readFileSync(path.join(data, name), 'utf8').trimEnd().split('\n');
  const train = rows('train.tsv').slice(0, 201);
  const classes = new Set(train.slice(1).map((r) => r.split('\t')[1]));
  const dev = [rows('dev.tsv')[0]!, ...rows('dev.tsv').slice(1).filter((r) => classes.has(r.split('\t')[1])).slice(0, 40)];
  fs.writeFileSync(path.join(data, 'train.tsv'), train.join('\n') + '\n');
  fs.writeFileSync(path.join(data, 'dev.tsv'), dev.join('\n') + '\n');
  // The server publishes (empty) diagnostics once it has validated the file; none may be errors.
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(vscode.languages.getDiagnostics(uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error).map((d) => d.message), []);
  // The command resolves when the job has ended.
  await vscode.commands.executeCommand('adapterLab.train', uri.toString());
  const runs = path.join(folder, '.adapter-lab', 'runs');
  const dirs = fs.readdirSync(runs).filter((d) => d.startsWith('quickstart-'));
  assert.equal(dirs.length, 1, `one run in ${runs}`);
  const status = JSON.parse(fs.readFileSync(path.join(runs, dirs[0]!, 'status.json'), 'utf8')) as { status: string };
  assert.equal(status.status, 'completed');
});

test('Train with no editor open (the walkthrough\'s step) trains the example just created', async () => {
  const folder = workspaceFolder();
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  assert.equal(vscode.window.activeTextEditor, undefined);
  const runs = path.join(folder, '.adapter-lab', 'runs');
  const before = fs.readdirSync(runs).filter((d) => d.startsWith('quickstart-')).length;
  await vscode.commands.executeCommand('adapterLab.train');
  assert.equal(fs.readdirSync(runs).filter((d) => d.startsWith('quickstart-')).length, before + 1, 'one more quickstart run');
});

export async function run(): Promise<void> {
  const failures: string[] = [];
  for (const [name, fn] of tests) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (e) {
      failures.push(name);
      console.error(`not ok - ${name}\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }
  console.log(`${tests.length - failures.length}/${tests.length} passed`);
  if (failures.length) throw new Error(`${failures.length} failed: ${failures.join('; ')}`);
}
