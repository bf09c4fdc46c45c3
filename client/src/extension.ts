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
import { runningSlurmSweeps, sbatchFound } from './slurm';
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
  // No `synchronize` option: the server asks for adapterLab.runsDirectory itself
  // (workspace/configuration) and registers for its changes, so it looks experiment names up
  // in the runs folder the jobs below write to.
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: LANGUAGE_ID },
      { scheme: 'untitled', language: LANGUAGE_ID },
    ],
    outputChannel: output,
  };
  client = new LanguageClient('adapterLab', 'Adapter Lab', serverOptions, clientOptions);
  context.subscriptions.push(output);

  const cli = context.asAbsolutePath(path.join('dist', 'cli.js'));
  const jobs = new JobService(cli, parallelJobs());
  const runsDir = (): string | undefined => runsDirectory();
  const tree = new RunsTreeProvider(runsDir);
  const panels = new PanelHost(context.extensionUri, jobs, runsDir, cli);
  const view = vscode.window.createTreeView(RUNS_VIEW, { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
  const commands = registerCommands({ jobs, panels, tree, state: context.workspaceState, extensionPath: context.extensionPath });
  // On a cluster's login node (sbatch on the PATH): Run Sweep on Slurm, and Slurm sweeps of the store followed while they run.
  const slurm = sbatchFound();
  void vscode.commands.executeCommand('setContext', 'adapterLab.slurmAvailable', slurm);
  const followFailed = new Set<string>();
  const followClusterSweeps = (): void => {
    const dir = runsDir();
    if (!slurm || !dir || !vscode.workspace.isTrusted) return;
    for (const sweepDir of runningSlurmSweeps(dir)) {
      if (jobs.follows(sweepDir) || followFailed.has(sweepDir)) continue;
      void commands.followSweep(sweepDir, dir).then((r) => {
        // One that cannot be followed is not tried again and again as the view refreshes.
        if (r?.exit.outcome === 'failed') followFailed.add(sweepDir);
      });
    }
  };
  context.subscriptions.push(
    jobs,
    tree,
    panels,
    view,
    ...commands.disposables,
    jobs.onDidStartJob((started) => {
      tree.refresh();
      if (openPanelOnStart() && !started.background) panels.open(started.kind, started.ids);
    }),
    jobs.onDidChangeJobs(() => tree.refresh()),
    // A new evaluation changes a run's headline metric in the view; a Slurm sweep's trials move between pending and running.
    jobs.onDidEmit(({ events }) => {
      if (events.some((e) => e.type === 'evaluation' || e.type === 'trial-end' || e.type === 'trial-state')) tree.refresh(1000);
    }),
    // A Slurm sweep submitted elsewhere (a terminal, another window) appears in the store: follow it too.
    tree.onDidChangeTreeData(() => followClusterSweeps()),
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
  // Sweeps left running on the cluster when the window last closed (or reloaded) are followed again.
  followClusterSweeps();
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
