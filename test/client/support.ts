/** Shared by the client tests: the built CLI, a tiny experiment on the built-in model, and a job run to its end. */
import * as path from 'node:path';
import type { JobEvent } from '../../engine/events';
import { JobProcess } from '../../client/src/jobProcess';
import { Workspace } from '../support/fixtures';
import { REPO_ROOT } from '../support/lspClient';

export const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

/** A tiny experiment on the built-in model (fast: a step takes milliseconds). */
export function tinyExperiment(epochs = 2, extra = ''): string {
  return `name: client-test\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\nmethod: adapter\nadapter:\n  size: 8\ntraining:\n  learning_rate: 3.0e-3\n  epochs: ${epochs}\n  batch_size: 8\n  seed: 3\n${extra}`;
}

export function tinyWorkspace(): Workspace {
  const ws = new Workspace('adapter-lab-client-');
  ws.sentiment('train.tsv', 64, 1);
  ws.sentiment('dev.tsv', 20, 2);
  return ws;
}

export interface RunJobOptions {
  /** The script to run (default: the built CLI). */
  readonly cli?: string;
  readonly killAfterMs?: number;
  readonly composite?: boolean;
}

/** Runs a job to the end, collecting what it reports. */
export async function runJob(args: string[], cwd: string, onEvent?: (e: JobEvent, job: JobProcess) => void, options: RunJobOptions = {}) {
  const events: JobEvent[] = [];
  const logs: string[] = [];
  const data: unknown[] = [];
  const job: JobProcess = JobProcess.start(
    { cli: options.cli ?? CLI, args, cwd, killAfterMs: options.killAfterMs ?? 30_000, composite: options.composite ?? false },
    {
      onEvent: (e) => {
        events.push(e);
        onEvent?.(e, job);
      },
      onLog: (line) => logs.push(line),
      onData: (v) => data.push(v),
    },
  );
  const exit = await job.exited;
  return { job, exit, events, logs, data };
}

