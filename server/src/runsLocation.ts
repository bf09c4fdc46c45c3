/**
 * The runs folder as the extension resolves it: the `adapterLab.runsDirectory` setting and
 * the first workspace folder, through the resolution the extension uses for its jobs
 * (engine/config/runsFolder.ts). Experiment names in `fusion.adapters` are looked up there,
 * so the server finds the runs the extension's jobs wrote.
 */
import { fileURLToPath } from 'node:url';
import type { WorkspaceFolder } from 'vscode-languageserver';
import { resolveRunsDir } from '../../engine/config/runsFolder';
import { RUNS_DIRECTORY_KEY, SETTINGS_SECTION } from './protocol';

export class RunsLocation {
  private workspaceFolder: string | undefined;
  private setting = '';

  /** The folders in the client's order; returns whether the first (file) folder changed. */
  setWorkspaceFolders(folders: readonly WorkspaceFolder[] | null | undefined): boolean {
    // Only the first folder counts, and only on disk: the extension ignores others too.
    const first = folders?.[0];
    const next = first?.uri.startsWith('file:') ? filePathOf(first.uri) : undefined;
    const changed = next !== this.workspaceFolder;
    this.workspaceFolder = next;
    return changed;
  }

  /** The setting's value (anything but a string counts as unset); returns whether it changed. */
  setRunsDirectory(value: unknown): boolean {
    const next = typeof value === 'string' ? value : '';
    const changed = next !== this.setting;
    this.setting = next;
    return changed;
  }

  /** The runs folder for an experiment file (undefined: an unsaved document). */
  runsDirFor(filePath: string | undefined): string | undefined {
    return resolveRunsDir(this.setting, this.workspaceFolder, filePath);
  }
}

/** The setting's full name, as `workspace/configuration` asks for it. */
export const RUNS_DIRECTORY_SETTING = `${SETTINGS_SECTION}.${RUNS_DIRECTORY_KEY}`;

/**
 * The setting out of pushed settings (`workspace/didChangeConfiguration` from a client that
 * cannot be asked): `{ adapterLab: { runsDirectory } }`. A section without the key means
 * unset (clients leave empty values out); no section at all says nothing.
 */
export function runsDirectoryOfPushed(settings: unknown): { readonly value: string } | undefined {
  if (typeof settings !== 'object' || settings === null) return undefined;
  const section = (settings as Record<string, unknown>)[SETTINGS_SECTION];
  if (typeof section !== 'object' || section === null) return undefined;
  const value = (section as Record<string, unknown>)[RUNS_DIRECTORY_KEY];
  return { value: typeof value === 'string' ? value : '' };
}

function filePathOf(uri: string): string | undefined {
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}
