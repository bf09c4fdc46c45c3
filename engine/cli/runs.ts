/** `adapter-lab runs list|show|delete`: the run store from the command line. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe as describeRun, isLive, listRuns } from '../runs/catalog';
import { lockHolder } from '../runs/lock';
import { parseFlags } from './command';

export async function runsCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['runs'], ['json', 'yes']);
  if (typeof parsed === 'string') return usage(parsed);
  const [action, target, ...extra] = parsed.positional;
  const runsDir = typeof parsed.flags.get('runs') === 'string' ? path.resolve(parsed.flags.get('runs') as string) : path.resolve('.adapter-lab', 'runs');
  const resolveTarget = (t: string) => (fs.existsSync(t) ? path.resolve(t) : path.join(runsDir, t));
  switch (action) {
    case 'list': {
      if (target || extra.length) return usage('runs list takes no arguments');
      const entries = listRuns(runsDir);
      if (parsed.flags.has('json')) process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
      else if (entries.length === 0) process.stderr.write(`no runs in ${runsDir}\n`);
      else for (const e of entries) process.stdout.write(`${e.name}  ${e.kind}  ${isLive(e) ? 'running' : e.status === 'running' ? 'interrupted' : e.status}${e.method ? `  ${e.method}` : ''}${e.trials ? `  ${e.trials} trials` : ''}${e.metric ? `  ${e.metric.name} ${e.metric.value.toFixed(4)}` : ''}\n`);
      return 0;
    }
    case 'show': {
      if (!target || extra.length) return usage('runs show needs one run');
      const entry = describeRun(resolveTarget(target));
      if (entry.kind === 'unreadable') {
        process.stderr.write(`error: ${target} is not a readable run or sweep folder\n`);
        return 2;
      }
      process.stdout.write(JSON.stringify(entry, null, 2) + '\n');
      return 0;
    }
    case 'delete': {
      if (!target || extra.length) return usage('runs delete needs one run');
      const dir = resolveTarget(target);
      const entry = describeRun(dir);
      if (entry.kind === 'unreadable' && !fs.existsSync(path.join(dir, 'status.json'))) {
        process.stderr.write(`error: ${target} is not a run or sweep folder; nothing deleted\n`);
        return 2;
      }
      if (isLive(entry)) {
        process.stderr.write(entry.slurm ? `error: ${entry.name} is running on Slurm; cancel it first (adapter-lab sweep --cancel ${dir})\n` : `error: ${entry.name} is running (pid ${entry.pid}); stop it first\n`);
        return 1;
      }
      // A finished run can still be written by another job (an ablation).
      const holder = lockHolder(dir);
      if (holder) {
        process.stderr.write(`error: ${entry.name} is in use by ${holder.job} (pid ${holder.pid}); stop it first\n`);
        return 1;
      }
      if (!parsed.flags.has('yes')) {
        process.stderr.write(`would delete ${dir}; add --yes to delete it\n`);
        return 1;
      }
      fs.rmSync(dir, { recursive: true, force: true });
      process.stderr.write(`deleted ${dir}\n`);
      return 0;
    }
    default:
      return usage('runs needs list, show or delete');
  }
}
