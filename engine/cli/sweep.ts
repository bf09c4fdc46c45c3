/** `adapter-lab sweep` and `sweep-trial` (one trial, in a sweep's worker process). */
import * as os from 'node:os';
import * as path from 'node:path';
import { formatCount } from '../model/parameters';
import { defaultRunsDir } from '../runs/store';
import { runSweep, runSweepTrial, type SweepSummary } from '../jobs/sweep';
import { loadExperimentFile } from './load';
import { cancellation, emitFailure, eventWriter, failure, jobFlags, messageOf, parseFlags, reportUnloadable, sinkFor, watchStart } from './command';

/** `adapter-lab sweep-trial <sweep-folder> <index>`: one trial, run by a sweep's worker process. */
export async function sweepTrialCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['max-steps', 'threads', 'device'], []);
  if (typeof parsed === 'string') return usage(parsed);
  const [sweepDir, index, ...extra] = parsed.positional;
  if (!sweepDir || index === undefined || !/^\d+$/.test(index) || extra.length) return usage('sweep-trial needs a sweep folder and a trial index');
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { maxSteps, threads, device } = flags;
  const { signal, dispose } = cancellation();
  // A worker ends with its sweep: the IPC channel from the parent closes when it dies (SIGKILL included),
  // and writing an event then fails (EPIPE), whichever the worker notices first.
  const orphan = new AbortController();
  const orphaned = (): void => {
    if (orphan.signal.aborted) return;
    orphan.abort();
    // The trial stops after its current step; a step that hangs must not keep the worker alive.
    setTimeout(() => process.exit(130), ORPHAN_GRACE_MS).unref();
  };
  process.stdout.on('error', orphaned);
  if (process.connected) process.once('disconnect', orphaned);
  try {
    // Events only: the parent sweep prints progress.
    const record = await runSweepTrial(path.resolve(sweepDir), Number(index), { maxSteps, threads, device, emit: (e) => process.stdout.write(JSON.stringify(e) + '\n'), signal: AbortSignal.any([signal, orphan.signal]) });
    return record.status === 'completed' ? 0 : record.status === 'cancelled' ? 130 : 1;
  } catch (e) {
    return failure(e);
  } finally {
    dispose();
    process.off('disconnect', orphaned);
    // An open channel would keep this process alive after its trial.
    if (process.connected) process.disconnect();
  }
}

const ORPHAN_GRACE_MS = 3000;

export async function sweepCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['max-steps', 'runs', 'threads', 'resume', 'device', 'workers'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { maxSteps, threads, workers, device } = flags;
  const [file, ...extra] = parsed.positional;
  if (!file || extra.length) return usage('sweep needs one experiment file');
  const events = parsed.flags.has('events');
  const started = Date.now();
  const resume = parsed.flags.get('resume');
  // Failures before the sweep starts (the file, the device, a folder that cannot be resumed or is locked) are events
  // too: error, then a failed end; a new sweep has no folder yet.
  const setupFailed = (message: string): void => emitFailure(eventWriter(events), 'setup-failed', message, { run: typeof resume === 'string' ? path.basename(path.resolve(resume)) : '', started });
  const loaded = loadExperimentFile(file);
  if (!loaded.ok) {
    setupFailed(loaded.message);
    return reportUnloadable(file, loaded);
  }
  const experiment = loaded.validation.experiment!;
  if (!experiment.sweep) return usage(`${file} has no sweep section; use train`);
  // Workers are processes of this same CLI; more than the cores would only contend.
  const workerCount = Math.min(workers ?? 1, os.cpus().length);
  const runsDir = typeof parsed.flags.get('runs') === 'string' ? path.resolve(parsed.flags.get('runs') as string) : defaultRunsDir(file);
  const sink = watchStart(sinkFor(events));
  const { signal, dispose } = cancellation();
  try {
    const result = await runSweep({ experiment, plain: loaded.validation.plain, source: loaded.text, baseDir: path.dirname(path.resolve(file)), runsDir, resume: typeof resume === 'string' ? resume : undefined, maxSteps, threads, device, workers: workerCount > 1 ? { count: workerCount, command: [process.execPath, process.argv[1]!] } : undefined, emit: sink.emit, signal });
    process.stderr.write(sweepTable(result.summary));
    if (result.status === 'cancelled') process.stderr.write(`cancelled: continue with adapter-lab sweep ${file} --resume ${result.sweepDir}\n`);
    if (result.status === 'failed') process.stderr.write(`failed: every trial of ${result.sweepDir} failed\n`);
    return result.status === 'completed' ? 0 : result.status === 'failed' ? 1 : 130;
  } catch (e) {
    // A sweep that had started closed its own stream.
    if (!sink.started()) setupFailed(messageOf(e));
    process.stderr.write(`${file}: error: ${messageOf(e)}\n`);
    return 1;
  } finally {
    dispose();
  }
}

function sweepTable(s: SweepSummary): string {
  const lines = [`\nbest trial per group on validation ${s.metric}:`];
  for (const g of s.groups) {
    const name = Object.entries(g.group).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ') || '(all trials)';
    lines.push(`  ${name}: ${g.best.metrics[s.metric]!.toFixed(4)} (trial ${g.best.index}, ${Object.entries(g.best.assignments).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}, seed ${g.best.seed}; over seeds ${g.seeds.mean.toFixed(4)} ± ${g.seeds.std.toFixed(4)}, trainable ${g.best.trainable !== undefined ? formatCount(g.best.trainable) : '?'})`);
  }
  const failed = s.trials.filter((t) => t.status === 'failed');
  if (failed.length) lines.push(`  ${failed.length} trial${failed.length === 1 ? '' : 's'} failed: ${failed.map((t) => t.index).join(', ')}`);
  return lines.join('\n') + '\n';
}
