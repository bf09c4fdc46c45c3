/**
 * "Create Example Experiment" (the walkthrough's first step): the quickstart experiment
 * (`examples/quickstart.adapter.yaml`: Houlsby adapters on the pretrained built-in
 * `builtin:english-bert`) with the WordNet noun supersense task it trains on, copied from the
 * files that ship with the extension, so the first run needs no downloads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

export const EXAMPLE_FILE = 'quickstart.adapter.yaml';

/** The task's folder, under `data/` in the extension's examples and in the user's folder. */
export const EXAMPLE_DATA = 'wordnet-supersense';

/** What is copied from the shipped task folder: the splits and WordNet's licence, which must travel with them. */
export const EXAMPLE_DATA_FILES: readonly string[] = ['train.tsv', 'dev.tsv', 'test.tsv', 'LICENSE'];

/** Writes the example from the extension's `examples/` into `folder` (data files are left alone when present); returns the experiment file. */
export function writeExample(folder: string, extensionRoot: string): string {
  const shipped = (relative: string): string => {
    const file = path.join(extensionRoot, 'examples', relative);
    if (!fs.existsSync(file)) throw new Error(`examples/${relative} is missing from the extension`);
    return file;
  };
  const data = path.join(folder, 'data', EXAMPLE_DATA);
  fs.mkdirSync(data, { recursive: true });
  for (const name of EXAMPLE_DATA_FILES) {
    const target = path.join(data, name);
    if (!fs.existsSync(target)) fs.copyFileSync(shipped(path.join('data', EXAMPLE_DATA, name)), target);
  }
  const file = path.join(folder, EXAMPLE_FILE);
  fs.copyFileSync(shipped(EXAMPLE_FILE), file);
  return file;
}

export async function createExample(extensionRoot: string): Promise<vscode.Uri | undefined> {
  let folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file')?.uri.fsPath;
  if (!folder) {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Create Example Here' });
    folder = picked?.[0]?.fsPath;
    if (!folder) return undefined;
  }
  const existing = path.join(folder, EXAMPLE_FILE);
  if (fs.existsSync(existing)) {
    const choice = await vscode.window.showInformationMessage(`${EXAMPLE_FILE} already exists.`, 'Open It', 'Replace It');
    if (choice === undefined) return undefined;
    if (choice === 'Open It') return show(vscode.Uri.file(existing));
  }
  try {
    return show(vscode.Uri.file(writeExample(folder, extensionRoot)));
  } catch (e) {
    void vscode.window.showErrorMessage(`Could not write the example: ${(e as Error).message}`);
    return undefined;
  }
}

async function show(uri: vscode.Uri): Promise<vscode.Uri> {
  await vscode.window.showTextDocument(uri, { preview: false });
  return uri;
}
