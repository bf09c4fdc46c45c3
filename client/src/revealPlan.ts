/**
 * How to show a run folder or an exported file to the user. "Reveal in the OS file manager"
 * only means something where the editor's UI runs on the machine that holds the file: a
 * desktop window without a remote. In a browser (code-server, vscode.dev) or a remote window
 * the file manager would open on the wrong machine, or not at all; there the Explorer shows
 * what is inside the workspace, and otherwise the folder's main file is opened. No `vscode` here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RevealEnvironment {
  /** `vscode.env.remoteName`: undefined in a local window. */
  readonly remoteName: string | undefined;
  /** `vscode.env.uiKind` is Desktop (not Web). */
  readonly desktop: boolean;
  /** The workspace folders' file paths. */
  readonly workspaceFolders: readonly string[];
}

export type RevealPlan =
  /** `revealFileInOS`. */
  | { readonly kind: 'os'; readonly path: string }
  /** `revealInExplorer`: the path is inside a workspace folder. */
  | { readonly kind: 'explorer'; readonly path: string }
  /** Open this file in an editor (a run's status.json, a sweep's sweep.json …). */
  | { readonly kind: 'open'; readonly file: string }
  /** Nothing to show it with: tell the user where it is. */
  | { readonly kind: 'message'; readonly path: string };

/** The file that best stands for a store or export folder, in this order. */
const MAIN_FILES = ['status.json', 'sweep.json', 'regimes.json', 'summary.json', 'adapter_config.json', 'config.json'];
const TEXT_FILE = /\.(json|jsonl|ya?ml|tsv|csv|txt|md)$/i;

export function planReveal(target: string, env: RevealEnvironment): RevealPlan {
  if (env.remoteName === undefined && env.desktop) return { kind: 'os', path: target };
  if (env.workspaceFolders.some((folder) => isInside(target, folder))) return { kind: 'explorer', path: target };
  const file = fileToOpen(target);
  return file ? { kind: 'open', file } : { kind: 'message', path: target };
}

export function isInside(target: string, folder: string): boolean {
  const rel = path.relative(path.resolve(folder), path.resolve(target));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function fileToOpen(target: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    return undefined;
  }
  if (!stat.isDirectory()) return TEXT_FILE.test(target) ? target : undefined;
  const main = MAIN_FILES.map((f) => path.join(target, f)).find((f) => fs.existsSync(f));
  if (main) return main;
  try {
    const json = fs.readdirSync(target).filter((f) => TEXT_FILE.test(f)).sort()[0];
    return json ? path.join(target, json) : undefined;
  } catch {
    return undefined;
  }
}
