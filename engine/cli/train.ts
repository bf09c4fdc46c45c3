/** `adapter-lab train` and `resume`. */
import * as path from 'node:path';
import { defaultRunsDir } from '../runs/store';
import { resumeTrainJob, runTrainJob } from '../jobs/train';
import { loadExperimentFile } from './load';
import { cancellation, emitFailure, eventWriter, exitCodeOf, failure, jobFlags, messageOf, parseFlags, reportUnloadable, sinkFor } from './command';

export async function trainCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['max-steps', 'stop-after', 'runs', 'threads', 'checkpoint-every', 'device'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { maxSteps, stopAfter, threads, checkpointEvery, device } = flags;
  const [file, ...extra] = parsed.positional;
  if (!file || extra.length) return usage('train needs one experiment file');
  const events = parsed.flags.has('events');
  const started = Date.now();
  // Failures before the run starts (the file, the model, the data, the device) are events too: error, then a failed end.
  const setupFailed = (message: string): void => emitFailure(eventWriter(events), 'setup-failed', message, { run: '', started });
  const runsDir = typeof parsed.flags.get('runs') === 'string' ? path.resolve(parsed.flags.get('runs') as string) : defaultRunsDir(file);
  const loaded = loadExperimentFile(file, runsDir);
  if (!loaded.ok) {
    setupFailed(loaded.message);
    return reportUnloadable(file, loaded);
  }
  const { signal, dispose } = cancellation();
  try {
    const result = await runTrainJob({ experiment: loaded.validation.experiment!, source: loaded.text, runsDir, maxSteps, stopAfter, threads, checkpointEvery, device, emit: sinkFor(events), signal });
    if (result.status === 'cancelled') process.stderr.write(`continue with: adapter-lab resume ${result.runDir}\n`);
    return exitCodeOf(result);
  } catch (e) {
    setupFailed(messageOf(e));
    process.stderr.write(`${file}: error: ${messageOf(e)}\n`);
    return 1;
  } finally {
    dispose();
  }
}

export async function resumeCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['threads', 'checkpoint-every', 'stop-after', 'device'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { threads, checkpointEvery, stopAfter, device } = flags;
  const [runDir, ...extra] = parsed.positional;
  if (!runDir || extra.length) return usage('resume needs a run folder');
  const events = parsed.flags.has('events');
  const started = Date.now();
  const { signal, dispose } = cancellation();
  try {
    const result = await resumeTrainJob(path.resolve(runDir), { threads, checkpointEvery, stopAfter, device, emit: sinkFor(events), signal });
    if (result.status === 'cancelled') process.stderr.write(`continue with: adapter-lab resume ${result.runDir}\n`);
    return exitCodeOf(result);
  } catch (e) {
    // Not resumable (not a run, completed, locked, its model or data unusable): error and a failed end, nothing started.
    emitFailure(eventWriter(events), 'setup-failed', messageOf(e), { run: path.basename(path.resolve(runDir)), started });
    return failure(e);
  } finally {
    dispose();
  }
}
