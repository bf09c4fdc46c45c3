/**
 * Where runs are kept. Two defaults exist on purpose: the engine CLI, given no `--runs`,
 * keeps runs beside the experiment file (`defaultRunsDir` in engine/runs/store.ts), while
 * the editor keeps every run of a workspace in one folder (`resolveRunsDir`), which the
 * extension passes to each job as `--runs` and the language server looks experiment names
 * up in. Both sides call `resolveRunsDir`, so they cannot disagree.
 */
import * as path from 'node:path';

/** The runs folder inside its base folder (the workspace folder, or the experiment file's folder). */
export const DEFAULT_RUNS_FOLDER = path.join('.adapter-lab', 'runs');

/**
 * The editor's runs folder, from the `adapterLab.runsDirectory` setting: the setting when
 * given (absolute, or relative to the first workspace folder), else `.adapter-lab/runs` in
 * the first workspace folder; without a workspace folder, the experiment file's folder
 * stands in for it (what the CLI does on its own). Undefined when there is neither.
 */
export function resolveRunsDir(setting: string, workspaceFolder: string | undefined, experimentFile: string | undefined): string | undefined {
  const configured = setting.trim();
  const base = workspaceFolder !== undefined ? path.resolve(workspaceFolder) : experimentFile !== undefined ? path.dirname(path.resolve(experimentFile)) : undefined;
  if (configured) {
    if (path.isAbsolute(configured)) return path.resolve(configured);
    return base !== undefined ? path.resolve(base, configured) : undefined;
  }
  return base !== undefined ? path.join(base, DEFAULT_RUNS_FOLDER) : undefined;
}
