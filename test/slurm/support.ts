/**
 * The Slurm tests' cluster: a real one (scripts/slurm-up.sh starts a single-node cluster;
 * a login node's works too). Where Slurm's commands are missing the tests skip, saying why,
 * unless ADAPTER_LAB_SLURM=require (as in CI), which makes that a failure.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { findOnPath } from '../../engine/cluster/slurm';

export const SLURM_REQUIRED = process.env.ADAPTER_LAB_SLURM === 'require';

const COMMANDS = ['sbatch', 'squeue', 'sinfo', 'scancel', 'scontrol'];

/** Why the Slurm tests cannot run here, or undefined when Slurm's commands are here and its controller answers. */
export function missingSlurm(): string | undefined {
  const absent = COMMANDS.filter((c) => !findOnPath(c));
  if (absent.length) return `${absent.join(', ')} not on the PATH (scripts/slurm-up.sh starts a single-node cluster)`;
  const r = sh('sinfo', ['--noheader', '--format=%P']);
  if (r.status !== 0) return `sinfo fails: ${(r.stderr || r.stdout).trim()} (is slurmctld running? scripts/slurm-up.sh starts it)`;
  return undefined;
}

export function sh(program: string, args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(program, args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The partition jobs go to when none is named. */
export function defaultPartition(): string {
  const names = sh('sinfo', ['--noheader', '--format=%P']).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  const name = names.find((n) => n.endsWith('*')) ?? names[0];
  if (!name) throw new Error('sinfo lists no partition');
  return name.replace(/\*$/, '');
}

/** The node of a single-node cluster (this machine's, as slurmd names it). */
export function nodeName(): string {
  return sh('sinfo', ['--noheader', '--Node', '--format=%N']).stdout.split('\n')[0]?.trim() || os.hostname().split('.')[0]!;
}

export function nodeState(node: string): string {
  return sh('sinfo', ['--noheader', '--Node', `--nodes=${node}`, '--format=%T']).stdout.trim();
}

export async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Waits until the node takes jobs (idle): a cluster just started, or a node just back from a failure, is not there yet. */
export async function nodeIdle(node: string, timeoutMs = 60_000): Promise<void> {
  await until(`node ${node} to be idle (it is ${nodeState(node) || 'not listed'})`, () => (nodeState(node) === 'idle' ? true : undefined), timeoutMs, 250);
}
