/**
 * "Create Example Experiment" (the walkthrough's first step): a quickstart experiment on
 * the engine's built-in model with a small generated sentiment data set beside it, so the
 * first run needs no downloads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { builtinSentiment } from '../../engine/model/builtin';

export const EXAMPLE_FILE = 'quickstart.adapter.yaml';

export const EXAMPLE_EXPERIMENT = `# Houlsby adapters on the engine's built-in BERT (small, generated from a fixed seed,
# not pretrained) and a generated sentiment task: runs in a minute, no downloads.
name: quickstart
model: builtin:tiny-bert
task:
  kind: classification
  train: ./data/sentiment/train.tsv
  validation: ./data/sentiment/dev.tsv
  text: sentence
  label: label
  metric: accuracy
  max_length: 32
method: adapter
adapter:
  size: 16
  sites: [attention, ffn]
  layers: all
  non_linearity: gelu
  init_std: 1.0e-2
  train_layernorm: true
training:
  learning_rate: 1.0e-3
  epochs: 3
  batch_size: 16
  warmup: 0.1
  seed: 42
runtime:
  device: cpu
`;

function tsv(rows: readonly { sentence: string; label: number }[]): string {
  return ['sentence\tlabel', ...rows.map((r) => `${r.sentence}\t${r.label}`)].join('\n') + '\n';
}

/** Writes the example into `folder` (data files are left alone when present); returns the experiment file. */
export function writeExample(folder: string): string {
  const data = path.join(folder, 'data', 'sentiment');
  fs.mkdirSync(data, { recursive: true });
  const write = (file: string, text: string): void => {
    if (!fs.existsSync(file)) fs.writeFileSync(file, text);
  };
  write(path.join(data, 'train.tsv'), tsv(builtinSentiment(400, 1)));
  write(path.join(data, 'dev.tsv'), tsv(builtinSentiment(100, 2)));
  const file = path.join(folder, EXAMPLE_FILE);
  fs.writeFileSync(file, EXAMPLE_EXPERIMENT);
  return file;
}

export async function createExample(): Promise<vscode.Uri | undefined> {
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
    return show(vscode.Uri.file(writeExample(folder)));
  } catch (e) {
    void vscode.window.showErrorMessage(`Could not write the example: ${(e as Error).message}`);
    return undefined;
  }
}

async function show(uri: vscode.Uri): Promise<vscode.Uri> {
  await vscode.window.showTextDocument(uri, { preview: false });
  return uri;
}
