/** Process-table helpers for the cancellation tests: a job's process tree, and whether a pid still runs. */
import * as fs from 'node:fs';

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly pgrp: number;
  readonly state: string;
}

/** /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses. */
function readStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid, state: rest[0]!, ppid: Number(rest[1]), pgrp: Number(rest[2]) };
  } catch {
    return undefined;
  }
}

export const HAS_PROC = fs.existsSync('/proc/self/stat');

function allStats(): ProcStat[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => readStat(Number(d))).filter((s): s is ProcStat => s !== undefined);
}

/** Processes of a process group that still run (zombies have exited: they only wait to be reaped), as "pid state". */
export function runningInGroup(pgid: number): string[] {
  return allStats().filter((s) => s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X').map((s) => `${s.pid} ${s.state}`);
}

/** Every live process below `root` (children, grandchildren …), from /proc. */
export function descendants(root: number): number[] {
  const stats = allStats();
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const parent = queue.shift()!;
    for (const s of stats) {
      if (s.ppid === parent && !out.includes(s.pid)) {
        out.push(s.pid);
        queue.push(s.pid);
      }
    }
  }
  return out;
}

/** Whether the pid is a running process (a zombie has exited: it only waits to be reaped). */
export function running(pid: number): boolean {
  if (HAS_PROC) {
    const s = readStat(pid);
    return s !== undefined && s.state !== 'Z' && s.state !== 'X';
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
