/**
 * What a command acts on. Commands are called from code lenses (a document URI string), the
 * editor title (a Uri), the runs view (a node, or the node and the selection) and the
 * palette (nothing): each becomes an experiment file or run folders here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parse } from 'yaml';
import { listRuns, type RunEntry } from '../../engine/runs/catalog';
import { SWEEP_FILES } from '../../engine/runs/replay';
import { LANGUAGE_ID } from '../../server/src/protocol';
import { displayStatus, isRunNode, newestFirst, type RunNode } from './runsTree';

/** The experiment file a command's argument names, or the active editor's. */
export function experimentUri(arg: unknown): vscode.Uri | undefined {
  if (typeof arg === 'string') return vscode.Uri.parse(arg);
  if (arg instanceof vscode.Uri) return arg;
  const doc = vscode.window.activeTextEditor?.document;
  return doc && (doc.languageId === LANGUAGE_ID || /\.adapter\.ya?ml$/.test(doc.fileName)) ? doc.uri : undefined;
}

/**
 * The experiment to run, if it has no errors; otherwise the Problems view opens and the
 * count is shown. A dirty document is saved first, since the engine reads the file.
 */
export async function runnableTarget(arg: unknown): Promise<vscode.Uri | undefined> {
  const target = experimentUri(arg);
  if (!target) return void vscode.window.showWarningMessage('Open an experiment file (*.adapter.yaml) first.');
  if (target.scheme !== 'file') return void vscode.window.showWarningMessage('Save the experiment to a file first: the engine runs files on disk.');
  const errors = vscode.languages.getDiagnostics(target).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
  if (errors.length > 0) {
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    return void vscode.window.showErrorMessage(`${path.basename(target.fsPath)} has ${errors.length} error${errors.length === 1 ? '' : 's'}; fix them before running.`);
  }
  const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.toString());
  if (document?.isDirty && !(await document.save())) return void vscode.window.showWarningMessage(`${path.basename(target.fsPath)} could not be saved; not running it.`);
  return target;
}

/** The `name:` of an experiment file (the runs it made carry it), or undefined when unreadable. */
export function experimentName(file: string): string | undefined {
  try {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file);
    const value = parse(doc ? doc.getText() : fs.readFileSync(file, 'utf8')) as { name?: unknown } | null;
    return typeof value?.name === 'string' ? value.name : undefined;
  } catch {
    return undefined;
  }
}

/** Every run in the store, sweep trials included (after their sweep). */
export function allRuns(runsDir: string): RunEntry[] {
  const out: RunEntry[] = [];
  for (const e of newestFirst(listRuns(runsDir))) {
    out.push(e);
    if (e.kind === 'sweep') out.push(...listRuns(path.join(e.dir, SWEEP_FILES.runs)));
  }
  return out;
}

/** The newest completed run of an experiment (by its name), for "Run Ablation" from the experiment file. */
export function latestCompletedRun(runsDir: string, name: string): RunEntry | undefined {
  return newestFirst(listRuns(runsDir)).find((e) => e.kind === 'run' && e.status === 'completed' && e.experiment === name);
}

export interface PickOptions {
  readonly placeHolder: string;
  /** Which store entries qualify (default: completed runs). */
  readonly filter?: (e: RunEntry) => boolean;
  readonly sweeps?: boolean;
}

const completedRun = (e: RunEntry): boolean => e.kind === 'run' && e.status === 'completed';

/** A run (or sweep) folder from a view node, or picked from the store. */
export async function pickRun(arg: unknown, runsDir: string | undefined, opts: PickOptions): Promise<RunEntry | undefined> {
  if (isRunNode(arg)) return arg.entry;
  if (!runsDir) return void vscode.window.showWarningMessage('Adapter Lab: open a folder (or set adapterLab.runsDirectory) to use the run store.');
  const filter = opts.filter ?? completedRun;
  const entries = (opts.sweeps ? newestFirst(listRuns(runsDir)) : allRuns(runsDir)).filter(filter);
  if (entries.length === 0) return void vscode.window.showInformationMessage(`No ${opts.filter ? 'matching runs' : 'completed runs'} in ${runsDir}. Train an experiment first.`);
  const picked = await vscode.window.showQuickPick(
    entries.map((e) => ({ label: e.name, description: [e.kind === 'sweep' ? 'sweep' : e.method, displayStatus(e), e.metric ? `${e.metric.name} ${e.metric.value.toFixed(4)}` : ''].filter(Boolean).join(' · '), detail: path.dirname(e.dir) === runsDir ? undefined : `in ${path.basename(path.dirname(path.dirname(e.dir)))}`, entry: e })),
    { placeHolder: opts.placeHolder, matchOnDescription: true },
  );
  return picked?.entry;
}

/** The nodes a view command acts on: the selection when the clicked node is part of it. */
export function selectedNodes(arg: unknown, selection: unknown): RunNode[] {
  if (Array.isArray(selection) && selection.every(isRunNode) && selection.length > 0) return selection;
  return isRunNode(arg) ? [arg] : [];
}
