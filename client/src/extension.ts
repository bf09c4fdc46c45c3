/**
 * The Adapter Lab extension: starts the language server for experiment files and
 * answers the commands its code lenses carry.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { Commands, LANGUAGE_ID } from '../../server/src/protocol';

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

  const cli = context.asAbsolutePath(path.join('dist', 'cli.js'));
  context.subscriptions.push(
    // Training runs the bundled engine CLI in a terminal, where its progress shows.
    vscode.commands.registerCommand(Commands.train, async (uri?: string) => {
      const target = await runnableTarget(uri);
      if (!target) return;
      // The extension host's executable is Electron in desktop VS Code: it runs scripts as Node only with this set.
      const terminal = vscode.window.createTerminal({ name: `Adapter Lab: ${path.basename(target.fsPath)}`, cwd: path.dirname(target.fsPath), env: { ELECTRON_RUN_AS_NODE: '1' } });
      terminal.show();
      terminal.sendText(`${quote(process.execPath)} ${quote(cli)} train ${quote(target.fsPath)}`);
    }),
  );
  for (const [id, what] of [
    [Commands.runSweep, 'Sweeps'],
    [Commands.runAblation, 'Ablations'],
  ] as const) {
    context.subscriptions.push(
      vscode.commands.registerCommand(id, async (uri?: string) => {
        if (await runnableTarget(uri)) void vscode.window.showInformationMessage(`${what} are not part of this version of the Adapter Lab engine yet; Train runs one experiment.`);
      }),
    );
  }
  await client.start();
}

/** The experiment to run, if it has no errors; otherwise the user is shown the findings. */
async function runnableTarget(uri: string | undefined): Promise<vscode.Uri | undefined> {
  const target = uri ? vscode.Uri.parse(uri) : vscode.window.activeTextEditor?.document.uri;
  if (!target) return void vscode.window.showWarningMessage('Open an experiment file (*.adapter.yaml) first.');
  const errors = vscode.languages.getDiagnostics(target).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
  if (errors.length > 0) {
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    return void vscode.window.showErrorMessage(`${path.basename(target.fsPath)} has ${errors.length} error${errors.length === 1 ? '' : 's'}; fix them before running.`);
  }
  const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.toString());
  if (document?.isDirty) await document.save();
  return target;
}

/** POSIX shell quoting (the terminal's default shell on Linux and macOS). */
function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
