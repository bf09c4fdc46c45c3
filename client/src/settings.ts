/**
 * The extension's settings (`adapterLab.*`, contributed in package.json) as the values the
 * engine CLI takes.
 */
import * as vscode from 'vscode';
import { resolveRunsDir } from '../../engine/config/runsFolder';
import { RUNS_DIRECTORY_KEY, SETTINGS_SECTION } from '../../server/src/protocol';
import { DEVICES, type Device, type EngineSettings } from './cliArgs';

export const SECTION = SETTINGS_SECTION;

export const Settings = {
  runsDirectory: RUNS_DIRECTORY_KEY,
  device: 'device',
  threads: 'threads',
  parallelJobs: 'parallelJobs',
  sweepWorkers: 'sweepWorkers',
  openPanelOnStart: 'openPanelOnStart',
} as const;

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

function firstFolder(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.scheme === 'file' ? folder.uri.fsPath : undefined;
}

/**
 * The runs folder the view shows and every job writes to; undefined without a workspace
 * folder or an experiment file. The language server resolves it the same way, from the
 * same setting and the first workspace folder.
 */
export function runsDirectory(experimentFile?: string): string | undefined {
  return resolveRunsDir(config().get<string>(Settings.runsDirectory, ''), firstFolder(), experimentFile);
}

export function engineSettings(runsDir: string): EngineSettings {
  const c = config();
  const threads = c.get<number>(Settings.threads, 0);
  const device = c.get<string>(Settings.device, 'auto');
  const workers = c.get<number>(Settings.sweepWorkers, 1);
  return {
    runsDir,
    threads: Number.isInteger(threads) && threads > 0 ? threads : undefined,
    device: (DEVICES as readonly string[]).includes(device) ? (device as Device) : 'auto',
    sweepWorkers: Number.isInteger(workers) && workers > 1 ? workers : 1,
  };
}

export function parallelJobs(): number {
  const n = config().get<number>(Settings.parallelJobs, 1);
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

export function openPanelOnStart(): boolean {
  return config().get<boolean>(Settings.openPanelOnStart, true);
}

export function affects(e: vscode.ConfigurationChangeEvent, key: keyof typeof Settings): boolean {
  return e.affectsConfiguration(`${SECTION}.${Settings[key]}`);
}
