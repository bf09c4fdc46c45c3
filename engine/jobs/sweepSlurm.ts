/**
 * Sweeps on a Slurm cluster: the sweep folder is written as for a local sweep, then one job
 * array is submitted with one task per trial (the array index is the trial index). Each task
 * runs `adapter-lab sweep-trial <folder> <index> --slurm`: the trial's run folder, its run
 * lock and its atomic writes are those of a local sweep, and its record is a file of its own
 * (`records/trial-<index>.json`). Slurm schedules, retries and cancels; this module submits,
 * asks Slurm what became of each task, records the tasks that ended without a record (timed
 * out, node failure, cancelled while pending), and writes the summary once every trial has
 * ended, whoever notices first: the last task, `--status`, `--follow`, the editor.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { arrayTasks, cancel as scancel, isActive, partitions, slurmAvailable, SlurmError, submit, type TaskInfo } from '../cluster/slurm';
import { expandSweep, type Experiment, type SlurmSettings } from '../config/experiment';
import type { Device } from '../config/schema';
import { stamp, type EventPayload, type EventSink, type TrialState } from '../events';
import { bestValue, endedTaskState, listRuns, readSlurmObservation, SLURM_FILES, slurmTrialViews, TRIAL_STATES, type TrialView } from '../runs/catalog';
import { clearLockIf, slurmJobOfProcess } from '../runs/lock';
import { replayJob } from '../runs/replay';
import { createRunDir, RUN_FILES, writeAtomic, writeJson, type SlurmObservation, type SlurmSubmission, type SweepStatusRecord } from '../runs/store';
import { latestTrialRecords, removeTrialRecord, writeTrialRecord, type SweepSummary, type TrialRecord } from '../runs/trials';
import { ENGINE_VERSION } from '../version';
import { checkResumable, definitionOf, runSweepTrial, summarise, SWEEP_FILES, trialRunsOf, type SweepOptions } from './sweep';

export { SlurmError };

/** What a Slurm sweep needs besides the experiment: the engine to start on the nodes, and the flags trials run with. */
export interface SlurmSweepOptions {
  readonly experiment: Experiment;
  readonly plain: unknown;
  readonly source: string;
  readonly baseDir: string;
  readonly runsDir: string;
  readonly maxSteps?: number;
  /** Threads per trial (the CLI's --threads); default `runtime.threads`, else `cpus_per_task`, else 1. */
  readonly threads?: number;
  readonly device?: Device;
  /** The program and script that run `adapter-lab` on the nodes: this process's own. */
  readonly engine: { readonly node: string; readonly cli: string };
}

export interface Submitted {
  readonly sweepDir: string;
  readonly job: string;
  readonly trials: readonly number[];
  readonly script: string;
  /** Things the user should know before the trials run (a folder the nodes may not see). */
  readonly warnings: readonly string[];
}

/** A Slurm sweep's folder and Slurm's view of it, as `sweep --status` prints it. */
export interface SlurmSweepReport {
  readonly sweepDir: string;
  readonly name: string;
  readonly metric: string;
  readonly status: SweepStatusRecord['status'];
  readonly started: string;
  readonly ended?: string;
  readonly message?: string;
  readonly submissions: readonly SlurmSubmission[];
  readonly trials: readonly TrialView[];
  readonly counts: Readonly<Partial<Record<TrialState, number>>>;
  /** Written once every trial has ended. */
  readonly summary?: SweepSummary;
  /** Slurm could not be asked: the states are the folder's last knowledge. */
  readonly slurmError?: string;
}

/** Paths the compute nodes of most clusters do not share with the login node. */
const NODE_LOCAL = ['/tmp', '/var/tmp', '/dev/shm'];

/** A task that Slurm does not list this long after its submission is lost (squeue lists a job at once). */
const LOST_AFTER_MS = 60_000;

// ── Submitting ──────────────────────────────────────────────────────────────────────────

/**
 * A new Slurm sweep: checks that Slurm is here and the partition exists (before any folder
 * is written), writes the sweep folder and the job script, and submits one job array. A
 * refused submission leaves the folder (with its script, for reading) marked failed, and
 * throws a SlurmError quoting Slurm.
 */
export async function submitSlurmSweep(opts: SlurmSweepOptions): Promise<Submitted> {
  const e = opts.experiment;
  const settings = e.sweep?.slurm ?? { options: [] };
  await checkCluster(settings);
  const trials = expandSweep(opts.plain, opts.baseDir);
  const sweepDir = createRunDir(opts.runsDir, `${e.name}-sweep`);
  const started = new Date().toISOString();
  writeAtomic(path.join(sweepDir, SWEEP_FILES.experiment), opts.source);
  writeJson(path.join(sweepDir, SWEEP_FILES.definition), { name: e.name, baseDir: opts.baseDir, metric: e.task.metric, grid: e.sweep?.grid ?? [], seeds: e.sweep?.seeds ?? [], trials: trials.map(definitionOf) });
  const plan = trialPlan(opts, settings);
  writeJson(path.join(sweepDir, SWEEP_FILES.environment), environmentOf(opts, plan));
  const status = (s: Pick<SweepStatusRecord, 'status'> & Partial<SweepStatusRecord>): void => writeStatus(sweepDir, { started, trials: { total: trials.length, done: 0, failed: 0 }, slurm: { submissions: [] }, ...s });
  status({ status: 'running' });
  const warnings = nodeLocalWarnings(sweepDir, e);
  try {
    const submission = await submitArray(sweepDir, e.name, trials.map((t) => t.index), settings, plan, opts.engine);
    status({ status: 'running', slurm: { submissions: [submission] } });
    return { sweepDir, job: submission.job, trials: submission.trials, script: scriptPath(sweepDir), warnings };
  } catch (err) {
    status({ status: 'failed', ended: new Date().toISOString(), message: (err as Error).message });
    throw err;
  }
}

/**
 * `--resume` of a Slurm sweep: submits again, as one new job array, every trial that did not
 * complete (failed, cancelled, timed out, lost, never submitted); a trial that was stopped
 * continues from its last checkpoint in its own run folder. Refused while any task of the
 * sweep is still pending or running, and for another experiment file than the sweep's.
 * Returns undefined when every trial has completed (nothing to submit).
 */
export async function resumeSlurmSweep(sweepDir: string, opts: SlurmSweepOptions): Promise<Submitted | undefined> {
  const dir = path.resolve(sweepDir);
  const trials = expandSweep(opts.plain, opts.baseDir);
  checkResumable(dir, opts.source, trials, { slurm: true });
  const settings = opts.experiment.sweep?.slurm ?? { options: [] };
  await checkCluster(settings);
  const report = await observeSlurmSweep(dir, { requireSlurm: true });
  const active = report.trials.filter((t) => t.state === 'pending' || t.state === 'running');
  if (active.length) {
    throw new Error(`${dir} still has ${active.length} trial${active.length === 1 ? '' : 's'} on Slurm (${describeCounts(report.counts)}); wait for ${active.length === 1 ? 'it' : 'them'} to end or cancel with adapter-lab sweep --cancel ${dir}`);
  }
  const again = report.trials.filter((t) => t.state !== 'completed');
  if (again.length === 0) return undefined;
  // Every task of the sweep has ended: a run lock one of them still names was left by a task that died (its node failed).
  const jobs = new Set(report.submissions.map((s) => s.job));
  for (const run of listRuns(path.join(dir, SWEEP_FILES.runs))) clearLockIf(run.dir, (owner) => owner.slurm !== undefined && jobs.has(owner.slurm.split('_')[0]!));
  const plan = trialPlan(opts, settings);
  const previous = readStatus(dir);
  const kept = again.map((t) => t.record).filter((r): r is TrialRecord => r !== undefined);
  // Running before the records go: a task that ends meanwhile must not finish the sweep with the old status.
  writeStatus(dir, { ...previous, status: 'running', ended: undefined, message: undefined });
  for (const t of again) removeTrialRecord(dir, t.index);
  try {
    const submission = await submitArray(dir, opts.experiment.name, again.map((t) => t.index), settings, plan, opts.engine);
    writeStatus(dir, { ...readStatus(dir), status: 'running', slurm: { submissions: [...(previous.slurm?.submissions ?? []), submission] } });
    writeJson(path.join(dir, SWEEP_FILES.environment), environmentOf(opts, plan));
    return { sweepDir: dir, job: submission.job, trials: submission.trials, script: scriptPath(dir), warnings: nodeLocalWarnings(dir, opts.experiment) };
  } catch (err) {
    // Nothing was submitted: the folder is as it was.
    for (const r of kept) writeTrialRecord(dir, r, { ifAbsent: true });
    writeStatus(dir, previous);
    throw err;
  }
}

/** Slurm's commands are here, and the partition asked for exists. */
async function checkCluster(settings: SlurmSettings): Promise<void> {
  if (!slurmAvailable()) throw new SlurmError('`sbatch` was not found on the PATH: submit Slurm sweeps from a machine with Slurm\'s commands (a cluster\'s login node), or run the sweep here with --local', 'sbatch');
  if (settings.partition === undefined) return;
  const known = await partitions();
  if (!known.some((p) => p.name === settings.partition)) {
    const list = known.map((p) => `${p.name}${p.isDefault ? ' (default)' : ''}`).join(', ');
    throw new SlurmError(`partition "${settings.partition}" does not exist on this cluster${list ? `; its partitions are ${list}` : ''} (\`sweep.slurm.partition\`)`, 'sinfo');
  }
}

/** How each trial runs: its threads and CPUs, its flags. */
interface TrialPlan {
  readonly threads: number;
  readonly cpus: number;
  readonly maxSteps?: number;
  readonly device?: Device;
}

function trialPlan(opts: SlurmSweepOptions, settings: SlurmSettings): TrialPlan {
  const threads = opts.threads ?? opts.experiment.runtime.threads ?? settings.cpusPerTask ?? 1;
  return { threads, cpus: settings.cpusPerTask ?? threads, ...(opts.maxSteps ? { maxSteps: opts.maxSteps } : {}), ...(opts.device ? { device: opts.device } : {}) };
}

function environmentOf(opts: SlurmSweepOptions, plan: TrialPlan): Record<string, unknown> {
  return { engine: ENGINE_VERSION, onnxruntime: ort.env.versions.common, node: process.version, platform: `${process.platform}-${process.arch}`, os: `${os.type()} ${os.release()}`, executor: 'slurm', submitHost: os.hostname(), threadsPerTrial: plan.threads, cpusPerTask: plan.cpus, engineCommand: [opts.engine.node, opts.engine.cli] };
}

function scriptPath(sweepDir: string): string {
  return path.join(sweepDir, SLURM_FILES.folder, SLURM_FILES.script);
}

async function submitArray(sweepDir: string, name: string, indices: readonly number[], settings: SlurmSettings, plan: TrialPlan, engine: SlurmSweepOptions['engine']): Promise<SlurmSubmission> {
  const script = scriptPath(sweepDir);
  const logs = path.join(sweepDir, SLURM_FILES.folder, SLURM_FILES.logs);
  fs.mkdirSync(logs, { recursive: true });
  const array = `${arraySpec(indices)}${settings.maxParallel ? `%${settings.maxParallel}` : ''}`;
  // The output pattern is Slurm's: %4a the array index zero-padded as trial folders are, %A the array's job id.
  const output = path.join(logs.replace(/%/g, '%%'), 'trial-%4a-%A.log');
  const args = [`--array=${array}`, `--output=${output}`, `--chdir=${sweepDir}`];
  writeAtomic(script, slurmScript({ name, sweepDir, settings, plan, engine, submit: ['sbatch', ...args, script] }));
  fs.chmodSync(script, 0o755);
  const job = await submit(script, args, sweepDir);
  return { job, trials: [...indices], array, submitted: new Date().toISOString() };
}

/** Indices as Slurm's array specification: `0-3`, `1,4-6`. */
export function arraySpec(indices: readonly number[]): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j === i ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The job script: Slurm's resources as #SBATCH lines, the setup lines, then one trial of the sweep. */
export function slurmScript(p: { name: string; sweepDir: string; settings: SlurmSettings; plan: TrialPlan; engine: SlurmSweepOptions['engine']; submit: readonly string[] }): string {
  const s = p.settings;
  const gres = s.gpus === undefined || s.gpus === '0' ? undefined : `gpu:${s.gpus}`;
  const directives: [string, string][] = [
    [`--job-name=${p.name.replace(/[^A-Za-z0-9._-]+/g, '-')}-sweep`, 'how squeue shows the tasks'],
    ['--ntasks=1', 'one trial is one process'],
    [`--cpus-per-task=${p.plan.cpus}`, `the trial runs ${p.plan.threads} thread${p.plan.threads === 1 ? '' : 's'}`],
    ...(s.time !== undefined ? [[`--time=${s.time}`, 'the time limit per trial; at it, Slurm stops the trial (resume continues it)'] as [string, string]] : []),
    ...(s.memory !== undefined ? [[`--mem=${s.memory}`, 'memory per trial'] as [string, string]] : []),
    ...(gres ? [[`--gres=${gres}`, 'GPUs per trial'] as [string, string]] : []),
    ...(s.partition !== undefined ? [[`--partition=${s.partition}`, ''] as [string, string]] : []),
    ...(s.account !== undefined ? [[`--account=${s.account}`, ''] as [string, string]] : []),
    ...(s.qos !== undefined ? [[`--qos=${s.qos}`, ''] as [string, string]] : []),
    ['--open-mode=append', 'a task Slurm runs again (requeued after a node failure) adds to its log'],
    ...s.options.map((o): [string, string] => [o, 'sweep.slurm.options']),
  ];
  const flags = [...(p.plan.maxSteps ? ['--max-steps', String(p.plan.maxSteps)] : []), ...(p.plan.device ? ['--device', p.plan.device] : [])];
  const lines = [
    '#!/bin/bash',
    `# Adapter Lab sweep "${p.name}": one task of this job array per trial; the array index`,
    '# ($SLURM_ARRAY_TASK_ID) is the trial index of sweep.json. Written by adapter-lab',
    `# ${ENGINE_VERSION} and submitted (once, and again by --resume for the trials left) as`,
    `#   ${p.submit.map((a) => (/^[\w./%=,:@+-]+$/.test(a) ? a : quote(a))).join(' ')}`,
    '# where --array lists the trials (with %K, at most K at once) and each task logs to',
    '# slurm/logs/trial-<index>-<job>.log. Each trial writes its run folder under runs/ and',
    '# its record to records/; `adapter-lab sweep --status <this folder>` shows them all.',
    ...directives.map(([d, why]) => `#SBATCH ${d}${why ? `${' '.repeat(Math.max(1, 28 - d.length))}# ${why}` : ''}`),
    '',
    'set -e',
    ...(s.setup !== undefined ? ['', '# sweep.slurm.setup', ...s.setup.trimEnd().split('\n')] : []),
    '',
    '# The editor runs the engine with its own executable, which needs this to act as Node.',
    'export ELECTRON_RUN_AS_NODE=1',
    '# One trial: SIGTERM (scancel, the time limit) stops it at once, keeping its checkpoint.',
    `exec ${quote(p.engine.node)} ${quote(p.engine.cli)} sweep-trial ${quote(p.sweepDir)} "$SLURM_ARRAY_TASK_ID" --slurm --threads ${p.plan.threads}${flags.length ? ` ${flags.join(' ')}` : ''}`,
    '',
  ];
  return lines.join('\n');
}

/** The sweep folder, its experiment's folder or its data under a node-local path: the nodes will not find them. */
function nodeLocalWarnings(sweepDir: string, e: Experiment): string[] {
  const local = (p: string): boolean => NODE_LOCAL.some((root) => p === root || p.startsWith(root + path.sep));
  const paths: [string, string | undefined][] = [['the sweep folder', sweepDir], ['the training data', e.task.train], ['the validation data', e.task.validation], ['the model', e.model.startsWith('builtin:') ? undefined : e.model]];
  const under = paths.filter((p): p is [string, string] => p[1] !== undefined && local(p[1]));
  if (under.length === 0) return [];
  return [`${under.map(([what, p]) => `${what} (${p})`).join(', ')} ${under.length === 1 ? 'is' : 'are'} under ${NODE_LOCAL.join(', ')}, which on most clusters each node has for itself: the trials will not find ${under.length === 1 ? 'it' : 'them'} unless this is a single-node cluster; use a folder on a shared file system (--runs DIR)`];
}

// ── Asking Slurm ────────────────────────────────────────────────────────────────────────

function readStatus(sweepDir: string): SweepStatusRecord {
  let status: SweepStatusRecord;
  try {
    status = JSON.parse(fs.readFileSync(path.join(sweepDir, SWEEP_FILES.status), 'utf8')) as SweepStatusRecord;
  } catch {
    throw new Error(`${sweepDir} is not a sweep folder (no readable ${SWEEP_FILES.status})`);
  }
  if (status.executor !== 'slurm') throw new Error(`${sweepDir} is not a Slurm sweep: its trials ran ${status.pid ? `in process ${status.pid} on ${status.host}` : 'locally'}`);
  return status;
}

function writeStatus(sweepDir: string, s: Pick<SweepStatusRecord, 'status'> & Partial<SweepStatusRecord>): void {
  const records = [...latestTrialRecords(sweepDir).values()].filter((r) => r.status !== 'cancelled');
  const total = s.trials?.total ?? readDefinition(sweepDir).trials.length;
  const record: SweepStatusRecord = {
    status: s.status,
    started: s.started ?? new Date().toISOString(),
    ...(s.status !== 'running' ? { ended: s.ended ?? new Date().toISOString() } : {}),
    pid: s.pid ?? process.pid,
    host: s.host ?? os.hostname(),
    trials: { total, done: records.length, failed: records.filter((r) => r.status === 'failed').length },
    ...(s.message ? { message: s.message } : {}),
    executor: 'slurm',
    slurm: { submissions: s.slurm?.submissions ?? [] },
  };
  writeJson(path.join(sweepDir, SWEEP_FILES.status), record);
}

interface Definition {
  readonly name: string;
  readonly metric: string;
  readonly trials: readonly { readonly index: number; readonly assignments: Readonly<Record<string, unknown>>; readonly seed: number }[];
}

function readDefinition(sweepDir: string): Definition {
  try {
    return JSON.parse(fs.readFileSync(path.join(sweepDir, SWEEP_FILES.definition), 'utf8')) as Definition;
  } catch {
    throw new Error(`${sweepDir} is not a sweep folder (no ${SWEEP_FILES.definition})`);
  }
}

/**
 * Asks Slurm what became of the sweep's tasks and brings the folder up to date: a task that
 * ended without recording its trial (cancelled while pending, timed out, its node failed,
 * it crashed) gets a record saying so; what Slurm said is kept in slurm.json; once every
 * trial has a record the summary and the final status are written. When Slurm cannot be
 * asked the folder's last knowledge is reported, with the reason (`requireSlurm`: thrown).
 */
export async function observeSlurmSweep(sweepDir: string, opts: { readonly requireSlurm?: boolean } = {}): Promise<SlurmSweepReport> {
  const dir = path.resolve(sweepDir);
  const status = readStatus(dir);
  const definition = readDefinition(dir);
  const submissions = status.slurm?.submissions ?? [];
  let tasks: Map<string, TaskInfo> | undefined;
  let slurmError: string | undefined;
  if (status.status === 'running' || opts.requireSlurm) {
    try {
      tasks = await arrayTasks(submissions.map((s) => s.job));
    } catch (err) {
      if (opts.requireSlurm) throw err;
      slurmError = (err as Error).message;
    }
  }
  if (tasks) {
    const records = latestTrialRecords(dir);
    const previous = readSlurmObservation(dir)?.tasks ?? {};
    const seen: Record<string, SlurmObservation['tasks'][string]> = { ...previous };
    const now = Date.now();
    for (const t of definition.trials) {
      const submission = [...submissions].reverse().find((s) => s.trials.includes(t.index));
      if (!submission) continue;
      const record = records.get(t.index);
      const job = record?.slurm?.job ?? `${submission.job}_${t.index}`;
      const info = tasks.get(job);
      if (info) seen[String(t.index)] = { job, state: info.state, ...(info.reason ? { reason: info.reason } : {}), ...(info.node ? { node: info.node } : {}) };
      if (record) continue;
      if (info && isActive(info.state)) continue;
      // Ended without a record, or unknown to Slurm long after it was submitted: lost.
      if (!info && now - Date.parse(submission.submitted) < LOST_AFTER_MS) continue;
      const state = info?.state ?? 'LOST';
      if (!info) seen[String(t.index)] = { job, state };
      writeTrialRecord(dir, recordOfEndedTask(dir, t, job, state, info), { ifAbsent: true });
    }
    writeJson(path.join(dir, SLURM_FILES.observation), { observed: new Date().toISOString(), tasks: seen } satisfies SlurmObservation);
  }
  finishIfEnded(dir);
  return report(dir, slurmError);
}

/** The record of a trial whose task ended without writing one, from how Slurm says it ended. */
function recordOfEndedTask(sweepDir: string, t: Definition['trials'][number], job: string, slurmState: string, info: TaskInfo | undefined): TrialRecord {
  const runs = trialRunsOf(sweepDir, t.index);
  const base = { index: t.index, assignments: t.assignments, seed: t.seed, slurm: { job, ...(info?.node ? { node: info.node } : {}) } };
  // Its run completed before the task could record it: that is the trial's result.
  if (runs.completed) return { ...base, ...runs.completed };
  const state = endedTaskState(slurmState);
  const log = logTail(sweepDir, t.index, job);
  const why: Record<string, string> = {
    completed: 'the task ended without recording the trial',
    failed: `the task failed (Slurm ${slurmState}${info?.exitCode ? `, exit code ${info.exitCode}` : ''})${log ? `: ${log}` : ''}`,
    cancelled: 'cancelled on Slurm',
    'timed-out': 'Slurm stopped it at its time limit',
    'node-failure': `its node failed (Slurm ${slurmState})`,
    'out-of-memory': 'it ran out of memory (Slurm OUT_OF_MEMORY): raise sweep.slurm.memory',
    preempted: 'Slurm preempted it',
    lost: `Slurm no longer knows job ${job} and the trial left no record`,
  };
  const failed = state === 'failed' || state === 'completed' || state === 'out-of-memory';
  return { ...base, status: failed ? 'failed' : 'cancelled', run: runs.latest, metrics: {}, trainable: undefined, message: why[state ?? 'lost'] ?? `Slurm ${slurmState}` };
}

/** The last meaningful line of a task's log (why a task that crashed did so). */
function logTail(sweepDir: string, index: number, job: string): string | undefined {
  const file = path.join(sweepDir, SLURM_FILES.folder, SLURM_FILES.logs, `trial-${String(index).padStart(4, '0')}-${job.split('_')[0]}.log`);
  try {
    const lines = fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    return (lines.filter((l) => /error|fail|cannot|not found/i.test(l)).pop() ?? lines.pop())?.slice(0, 500);
  } catch {
    return undefined;
  }
}

/**
 * Once every trial has a record: the summary, and the sweep's final status (cancelled when a
 * trial did not finish, failed when every trial failed, else completed). Whoever calls it
 * first writes it, anyone after finds it written; a resubmission meanwhile keeps its status.
 */
export function finishIfEnded(sweepDir: string): boolean {
  const definition = readDefinition(sweepDir);
  const latest = latestTrialRecords(sweepDir);
  if (definition.trials.length === 0 || !definition.trials.every((t) => latest.has(t.index))) return false;
  const statusFile = path.join(sweepDir, SWEEP_FILES.status);
  const before = fs.readFileSync(statusFile, 'utf8');
  const status = JSON.parse(before) as SweepStatusRecord;
  if (status.status !== 'running') return false;
  const records = definition.trials.map((t) => latest.get(t.index)!);
  writeJson(path.join(sweepDir, SWEEP_FILES.summary), summarise(definition.metric, records));
  const outcome = records.some((r) => r.status === 'cancelled') ? 'cancelled' : records.every((r) => r.status === 'failed') ? 'failed' : 'completed';
  // Submitted again since it was read: that submission's status stands.
  if (fs.readFileSync(statusFile, 'utf8') !== before) return false;
  const message = outcome === 'failed' ? 'every trial failed' : outcome === 'cancelled' ? `${records.filter((r) => r.status === 'cancelled').length} trial(s) did not finish; --resume submits them again` : undefined;
  writeStatus(sweepDir, { ...status, status: outcome, ended: new Date().toISOString(), message });
  return true;
}

function report(sweepDir: string, slurmError: string | undefined): SlurmSweepReport {
  const status = readStatus(sweepDir);
  const definition = readDefinition(sweepDir);
  const trials = slurmTrialViews(sweepDir);
  const counts: Partial<Record<TrialState, number>> = {};
  for (const t of trials) counts[t.state] = (counts[t.state] ?? 0) + 1;
  let summary: SweepSummary | undefined;
  if (status.status !== 'running') {
    try {
      summary = JSON.parse(fs.readFileSync(path.join(sweepDir, SWEEP_FILES.summary), 'utf8')) as SweepSummary;
    } catch {
      summary = undefined;
    }
  }
  return {
    sweepDir,
    name: definition.name,
    metric: definition.metric,
    status: status.status,
    started: status.started,
    ...(status.ended ? { ended: status.ended } : {}),
    ...(status.message ? { message: status.message } : {}),
    submissions: status.slurm?.submissions ?? [],
    trials,
    counts,
    ...(summary ? { summary } : {}),
    ...(slurmError ? { slurmError } : {}),
  };
}

export function describeCounts(counts: SlurmSweepReport['counts']): string {
  return TRIAL_STATES.filter((s) => counts[s]).map((s) => `${counts[s]} ${s.replace(/-/g, ' ')}`).join(', ');
}

// ── Cancelling ──────────────────────────────────────────────────────────────────────────

/**
 * `scancel` of the sweep's job arrays: pending trials never start, running ones stop at once
 * (SIGTERM: each ends `cancelled` with its checkpoint, for --resume). Waits until Slurm says
 * the tasks have ended (at most `waitMs`), so that the report shows every trial ended.
 */
export async function cancelSlurmSweep(sweepDir: string, opts: { readonly waitMs?: number; readonly pollMs?: number } = {}): Promise<SlurmSweepReport> {
  const dir = path.resolve(sweepDir);
  const status = readStatus(dir);
  if (status.status !== 'running') return observeSlurmSweep(dir);
  await scancel((status.slurm?.submissions ?? []).map((s) => s.job));
  const deadline = Date.now() + (opts.waitMs ?? 90_000);
  for (;;) {
    const r = await observeSlurmSweep(dir, { requireSlurm: true });
    if (!r.trials.some((t) => t.state === 'pending' || t.state === 'running') || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, opts.pollMs ?? 500));
  }
}

// ── The task: one trial on a node ───────────────────────────────────────────────────────

/**
 * What an array task runs (`sweep-trial <folder> <index> --slurm`): the trial, exactly as a
 * local sweep runs it (continuing an earlier attempt's run from its checkpoint), then its
 * record, then the sweep's summary if this was the last trial to end.
 */
export async function runSlurmTrial(sweepDir: string, index: number, opts: Pick<SweepOptions, 'maxSteps' | 'threads' | 'device' | 'emit' | 'signal'>): Promise<TrialRecord> {
  const dir = path.resolve(sweepDir);
  const record = await runSweepTrial(dir, index, opts);
  const job = slurmJobOfProcess();
  const full: TrialRecord = { ...record, ...(job ? { slurm: { job, node: os.hostname() } } : {}) };
  writeTrialRecord(dir, full);
  try {
    finishIfEnded(dir);
  } catch (err) {
    // The record is written; whoever asks next writes the summary.
    opts.emit(stamp({ type: 'log', level: 'warning', message: `the sweep's summary could not be written: ${(err as Error).message}` }));
  }
  return full;
}

// ── Following ───────────────────────────────────────────────────────────────────────────

export interface FollowOptions {
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
  /** How often Slurm and the folder are read (default 5 s). */
  readonly intervalMs?: number;
  /** Lines for the `log` events right after the start (what the submission said). */
  readonly notes?: readonly string[];
}

/**
 * A Slurm sweep as a stream of job events, until every trial has ended: `start (sweep)`,
 * `trial-state` as Slurm moves each task (pending, running), each trial's block when it ends
 * (`trial-start`, its run's events read from its folder, `trial-end`), then the summary and
 * `end`, as a local sweep with workers writes them. Stopping (the signal) stops following
 * only: the trials go on, and the stream ends with a `log` saying so and no `end`.
 */
export async function followSlurmSweep(sweepDir: string, opts: FollowOptions): Promise<SweepStatusRecord['status'] | 'detached'> {
  const dir = path.resolve(sweepDir);
  const emit = (p: EventPayload): void => opts.emit(stamp(p));
  const definition = readDefinition(dir);
  const total = definition.trials.length;
  readStatus(dir);
  // Every trial's block comes in this stream, those of earlier submissions too: none is skipped.
  emit({ type: 'start', job: 'sweep', sweep: path.basename(dir), sweepDir: dir, trials: total, skipped: 0, metric: definition.metric, executor: 'slurm' });
  for (const note of opts.notes ?? []) emit({ type: 'log', level: /will not find|warning/i.test(note) ? 'warning' : 'info', message: note });
  const shown = new Map<number, string>();
  let lastError: string | undefined;
  for (;;) {
    const r = await observeSlurmSweep(dir).catch((err: unknown): SlurmSweepReport => ({ ...report(dir, (err as Error).message) }));
    if (r.slurmError && r.slurmError !== lastError) emit({ type: 'log', level: 'warning', message: `Slurm did not answer (${r.slurmError}); the states shown are the sweep folder's` });
    lastError = r.slurmError;
    for (const t of r.trials) {
      const key = t.record ? `record:${JSON.stringify(t.record)}:${t.state}` : `state:${t.state}:${t.job ?? ''}:${t.node ?? ''}:${t.reason ?? ''}`;
      if (shown.get(t.index) === key) continue;
      shown.set(t.index, key);
      const state = (): void => emit({ type: 'trial-state', index: t.index, total, assignments: t.assignments, seed: t.seed, state: t.state, ...(t.job ? { job: t.job } : {}), ...(t.node ? { node: t.node } : {}), ...(t.reason ? { reason: t.reason } : {}) });
      if (!t.record) {
        state();
        continue;
      }
      const rec = t.record;
      emit({ type: 'trial-start', index: t.index, total, assignments: rec.assignments, seed: rec.seed });
      // A record names a folder inside runs/: one plain name, never a path.
      if (rec.run && path.basename(rec.run) === rec.run && rec.run !== '..' && rec.run !== '.') {
        // The run as its folder has it; a run cut short (no end) is left out rather than left open.
        const events = replayJob(path.join(dir, SWEEP_FILES.runs, rec.run)).events;
        if (events[0]?.type === 'start' && events.at(-1)?.type === 'end') for (const e of events) opts.emit(e);
      }
      emit({ type: 'trial-end', index: t.index, total, status: rec.status, run: rec.run, metrics: rec.metrics, trainable: rec.trainable, ...(rec.message ? { message: rec.message } : {}) });
      if (t.state !== rec.status) state();
    }
    if (r.status !== 'running') {
      const summaryFile = path.join(dir, SWEEP_FILES.summary);
      if (fs.existsSync(summaryFile)) emit({ type: 'artifact', kind: 'sweep-summary', path: summaryFile });
      if (r.status === 'failed' && r.message && !r.summary) emit({ type: 'error', code: 'engine-error', message: r.message });
      const best = bestValue(r.metric, (r.summary?.groups ?? []).map((g) => g.best.metrics[r.metric]));
      const seconds = ((r.ended ? Date.parse(r.ended) : Date.now()) - Date.parse(r.started)) / 1000;
      emit({ type: 'end', status: r.status, run: path.basename(dir), seconds: Number.isFinite(seconds) ? seconds : 0, steps: r.trials.filter((t) => t.record).length, metrics: best !== undefined ? { [r.metric]: best } : {}, ...(r.message ? { message: r.message } : {}) });
      return r.status;
    }
    if (await sleep(opts.intervalMs ?? 5000, opts.signal)) {
      emit({ type: 'log', level: 'info', message: `stopped following ${path.basename(dir)}; its trials go on on Slurm (adapter-lab sweep --follow, --status or --cancel ${dir})` });
      return 'detached';
    }
  }
}

/** Waits, or returns true at once when the signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (aborted: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(aborted);
    };
    const onAbort = (): void => done(true);
    const timer = setTimeout(() => done(false), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Whether a folder is a Slurm sweep's. */
export function isSlurmSweep(sweepDir: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(path.join(sweepDir, RUN_FILES.status), 'utf8')) as SweepStatusRecord).executor === 'slurm';
  } catch {
    return false;
  }
}
