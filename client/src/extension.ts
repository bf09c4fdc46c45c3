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

  // Jobs run from these commands once the engine's training commands exist; until then
  // they check the file and say so, rather than failing as unknown commands.
  for (const [id, what] of [
    [Commands.train, 'Training'],
    [Commands.runSweep, 'Sweeps'],
    [Commands.runAblation, 'Ablations'],
  ] as const) {
    context.subscriptions.push(vscode.commands.registerCommand(id, (uri?: string) => runPending(what, uri)));
  }
  await client.start();
}

async function runPending(what: string, uri: string | undefined): Promise<void> {
  const target = uri ? vscode.Uri.parse(uri) : vscode.window.activeTextEditor?.document.uri;
  if (!target) return void vscode.window.showWarningMessage('Open an experiment file (*.adapter.yaml) first.');
  const errors = vscode.languages.getDiagnostics(target).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
  if (errors.length > 0) {
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    return void vscode.window.showErrorMessage(`${path.basename(target.fsPath)} has ${errors.length} error${errors.length === 1 ? '' : 's'}; fix them before running.`);
  }
  void vscode.window.showInformationMessage(`${what} run in the Adapter Lab engine, which this version of the extension does not include yet. The experiment file is valid.`);
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
