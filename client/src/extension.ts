/**
 * The Adapter Lab extension: starts the language server for experiment files, runs
 * experiments as engine jobs (child processes of the bundled CLI), shows the run store in
 * the "Runs" view and results in webview panels.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { LANGUAGE_ID } from '../../server/src/protocol';
import { registerCommands } from './commands';
import { JobService } from './jobs';
import { PanelHost } from './panels';
import { RunsTreeProvider } from './runsTree';
import { affects, openPanelOnStart, parallelJobs, runsDirectory } from './settings';

export const RUNS_VIEW = 'adapterLab.runs';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const serverModule = context.asAbsolutePath(path.join('dist', 'server.js'));
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.stdio },
    debug: { module: serverModule, transport: TransportKind.stdio, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
  };
  const output = vscode.window.createOutputChannel('Adapter Lab Language Server', { log: true });
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: LANGUAGE_ID },
      { scheme: 'untitled', language: LANGUAGE_ID },
    ],
    outputChannel: output,
  };
  client = new LanguageClient('adapterLab', 'Adapter Lab', serverOptions, clientOptions);
  context.subscriptions.push(output);

  const jobs = new JobService(context.asAbsolutePath(path.join('dist', 'cli.js')), parallelJobs());
  const runsDir = (): string | undefined => runsDirectory();
  const tree = new RunsTreeProvider(runsDir);
  const panels = new PanelHost(context.extensionUri, jobs, runsDir);
  const view = vscode.window.createTreeView(RUNS_VIEW, { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
  context.subscriptions.push(
    jobs,
    tree,
    panels,
    view,
    ...registerCommands({ jobs, panels, tree, state: context.workspaceState }),
    jobs.onDidStartJob((started) => {
      tree.refresh();
      if (openPanelOnStart()) panels.open(started.kind, started.ids);
    }),
    jobs.onDidChangeJobs(() => tree.refresh()),
    // A new evaluation changes a run's headline metric in the view.
    jobs.onDidEmit(({ events }) => {
      if (events.some((e) => e.type === 'evaluation' || e.type === 'trial-end')) tree.refresh(1000);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (affects(e, 'parallelJobs')) jobs.setParallelJobs(parallelJobs());
      if (affects(e, 'runsDirectory')) tree.refresh(0);
    }),
    vscode.workspace.onDidChangeWorkspaceFolders(() => tree.refresh(0)),
    // Granting trust needs no reload: the job commands check trust each time they run.
    vscode.workspace.onDidGrantWorkspaceTrust(() => tree.refresh(0)),
  );
  view.message = vscode.workspace.isTrusted ? undefined : 'This workspace is not trusted: runs are listed, but jobs do not run here.';
  context.subscriptions.push(vscode.workspace.onDidGrantWorkspaceTrust(() => (view.message = undefined)));
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
