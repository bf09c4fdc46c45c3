/**
 * Which experiment file a command that runs one (Train, Run Sweep, AdapterDrop Regimes)
 * acts on when it is given none. It may be run from the palette, the walkthrough (which has
 * the focus, so there is no active editor) or a keybinding: the active editor's file if it
 * is an experiment, else the one experiment editor on screen, else the example the
 * walkthrough just created, else the user picks one of the workspace's experiment files.
 * No `vscode` here: the caller passes what the window shows.
 */

/** An open document, as far as the choice needs it. */
export interface OpenDocument {
  /** The document's URI as a string (file or untitled). */
  readonly uri: string;
  readonly languageId: string;
  readonly fileName: string;
}

export interface ExperimentCandidates {
  /** The active text editor's document, if any. */
  readonly active: OpenDocument | undefined;
  /** The documents of the visible text editors (split editors), the active one included. */
  readonly visible: readonly OpenDocument[];
  /** The example experiment created in this workspace, when its file still exists. */
  readonly example: string | undefined;
  /** The workspace's experiment files (URIs), as a file search found them. */
  readonly workspaceFiles: readonly string[];
}

export type ExperimentChoice =
  /** Run this one. */
  | { readonly kind: 'file'; readonly uri: string; readonly from: 'active' | 'visible' | 'example' }
  /** Ask: several candidates, none clearly meant. */
  | { readonly kind: 'pick'; readonly uris: readonly string[]; readonly from: 'visible' | 'workspace' }
  /** Nothing to run: say so. */
  | { readonly kind: 'none' };

export const EXPERIMENT_LANGUAGE = 'adapter-yaml';
const EXPERIMENT_NAME = /\.adapter\.ya?ml$/i;

export function isExperimentDocument(doc: OpenDocument): boolean {
  return doc.languageId === EXPERIMENT_LANGUAGE || EXPERIMENT_NAME.test(doc.fileName);
}

export function chooseExperiment(c: ExperimentCandidates): ExperimentChoice {
  if (c.active && isExperimentDocument(c.active)) return { kind: 'file', uri: c.active.uri, from: 'active' };
  // The same document may be visible in two editor groups.
  const visible = [...new Set(c.visible.filter(isExperimentDocument).map((d) => d.uri))];
  if (visible.length === 1) return { kind: 'file', uri: visible[0]!, from: 'visible' };
  if (visible.length > 1) return { kind: 'pick', uris: visible, from: 'visible' };
  if (c.example) return { kind: 'file', uri: c.example, from: 'example' };
  const files = [...new Set(c.workspaceFiles)].sort();
  // Even a single file is confirmed with a pick: a command run from nowhere in particular should not start hours of training unasked.
  return files.length ? { kind: 'pick', uris: files, from: 'workspace' } : { kind: 'none' };
}
