/**
 * Slurm as the editor sees it: whether this machine submits to a cluster (`sbatch` on the
 * extension host's PATH: a login node, where Remote-SSH runs the extension), the Slurm
 * sweeps of the run store that are still running (followed again after a window reload),
 * and where an experiment file says its sweep runs. No `vscode` here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { listRuns } from '../../engine/runs/catalog';

/** Whether `sbatch` is on the PATH. */
export function sbatchFound(env: NodeJS.ProcessEnv = process.env): boolean {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      const file = path.join(dir, 'sbatch');
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** The sweep folders of the store whose trials run on Slurm and have not all ended. */
export function runningSlurmSweeps(runsDir: string): string[] {
  return listRuns(runsDir).filter((e) => e.kind === 'sweep' && e.slurm !== undefined && e.status === 'running').map((e) => e.dir);
}

/** `sweep.executor` of an experiment's text: `slurm`, or `local` (also when it cannot be read). */
export function sweepExecutor(text: string): 'local' | 'slurm' {
  try {
    const value = parse(text, { merge: true }) as { sweep?: { executor?: unknown } } | null;
    return value?.sweep?.executor === 'slurm' ? 'slurm' : 'local';
  } catch {
    return 'local';
  }
}
