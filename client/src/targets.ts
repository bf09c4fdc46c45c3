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
import { chooseExperiment, isExperimentDocument, type OpenDocument } from './experimentChoice';
import { displayStatus, isRunNode, newestFirst, ofExperiment, type RunNode } from './runNodes';
import { runsDirectory } from './settings';

const EXPERIMENT_GLOB = '**/*.{adapter.yaml,adapter.yml}';
const NOT_EXPERIMENTS = '**/{node_modules,.adapter-lab,.git}/**';
const EXAMPLE_KEY = 'adapterLab.example';
const CREATE_EXAMPLE = 'Create Example Experiment';

const openDocument = (d: vscode.TextDocument): OpenDocument => ({ uri: d.uri.toString(), languageId: d.languageId, fileName: d.fileName });

/** The experiment file a command's argument names, or the active editor's. */
export function experimentUri(arg: unknown): vscode.Uri | undefined {
  if (typeof arg === 'string') return vscode.Uri.parse(arg);
  if (arg instanceof vscode.Uri) return arg;
  const doc = vscode.window.activeTextEditor?.document;
  return doc && isExperimentDocument(openDocument(doc)) ? doc.uri : undefined;
}

/** Remembers the example the walkthrough created, so its "Train" step finds it without an editor. */
export function rememberExample(state: vscode.Memento, uri: vscode.Uri): Thenable<void> {
  return state.update(EXAMPLE_KEY, uri.toString());
}

function rememberedExample(state: vscode.Memento | undefined): string | undefined {
  const value = state?.get<string>(EXAMPLE_KEY);
  if (typeof value !== 'string') return undefined;
  const uri = vscode.Uri.parse(value);
  return uri.scheme === 'file' && fs.existsSync(uri.fsPath) ? value : undefined;
}

/**
 * The experiment a command acts on: the one its argument names, else the active editor's,
 * a visible experiment editor's, the example just created, or one picked from the
 * workspace (experimentChoice.ts has the order). Undefined (after saying why) when there is none.
 */
export async function resolveExperiment(arg: unknown, state?: vscode.Memento): Promise<vscode.Uri | undefined> {
  if (typeof arg === 'string' || arg instanceof vscode.Uri) return experimentUri(arg);
  const workspaceFiles = async (): Promise<string[]> => (vscode.workspace.workspaceFolders?.length ? (await vscode.workspace.findFiles(EXPERIMENT_GLOB, NOT_EXPERIMENTS, 500)).map((u) => u.toString()) : []);
  const active = vscode.window.activeTextEditor?.document;
  const visible = vscode.window.visibleTextEditors.map((e) => openDocument(e.document));
  const example = rememberedExample(state);
  // The file search only when nothing on screen decides.
  const quick = chooseExperiment({ active: active && openDocument(active), visible, example, workspaceFiles: [] });
  const choice = quick.kind === 'none' ? chooseExperiment({ active: undefined, visible: [], example: undefined, workspaceFiles: await workspaceFiles() }) : quick;
  switch (choice.kind) {
    case 'file':
      return vscode.Uri.parse(choice.uri);
    case 'pick': {
      const items = choice.uris.map((u) => {
        const uri = vscode.Uri.parse(u);
        return { label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri, true), uri };
      });
      const picked = await vscode.window.showQuickPick(items, { placeHolder: 'Which experiment?', matchOnDescription: true });
      return picked?.uri;
    }
    case 'none': {
      const create = await vscode.window.showWarningMessage('There is no experiment file (*.adapter.yaml) in this workspace to run. Open one, or create the example experiment.', CREATE_EXAMPLE);
      if (create === CREATE_EXAMPLE) await vscode.commands.executeCommand('adapterLab.createExample');
      return undefined;
    }
  }
}

/**
 * The experiment to run, if it has no errors; otherwise the Problems view opens and the
 * count is shown. A dirty document is saved first, since the engine reads the file.
 */
export async function runnableTarget(arg: unknown, state?: vscode.Memento): Promise<vscode.Uri | undefined> {
  const target = await resolveExperiment(arg, state);
  if (!target) return undefined;
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

/**
 * The run store a run command works in, and the experiment it was asked from: a code lens or
 * the editor title passes the experiment file, whose runs are then the only ones offered.
 */
export function runScope(arg: unknown): { readonly runsDir: string | undefined; readonly experiment?: string } {
  const file = arg === undefined || isRunNode(arg) ? undefined : experimentUri(arg);
  const name = file ? experimentName(file.fsPath) : undefined;
  return { runsDir: runsDirectory(file?.fsPath), ...(name !== undefined ? { experiment: name } : {}) };
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
  /** Asked from an experiment file (its code lens or editor title): offer only what that experiment made. */
  readonly experiment?: string;
}

const completedRun = (e: RunEntry): boolean => e.kind === 'run' && e.status === 'completed';

/** A run (or sweep) folder from a view node, or picked from the store. */
export async function pickRun(arg: unknown, runsDir: string | undefined, opts: PickOptions): Promise<RunEntry | undefined> {
  if (isRunNode(arg)) return arg.entry;
  if (!runsDir) return void vscode.window.showWarningMessage('Adapter Lab: open a folder (or set adapterLab.runsDirectory) to use the run store.');
  const filter = opts.filter ?? completedRun;
  const stored = opts.sweeps ? newestFirst(listRuns(runsDir)) : allRuns(runsDir);
  const entries = (opts.experiment !== undefined ? ofExperiment(stored, opts.experiment) : stored).filter(filter);
  if (entries.length === 0) {
    const whose = opts.experiment !== undefined ? ` of "${opts.experiment}"` : '';
    return void vscode.window.showInformationMessage(`No ${opts.filter ? 'matching runs' : 'completed runs'}${whose} in ${runsDir}. Train ${whose ? 'it' : 'an experiment'} first.`);
  }
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
