/** `adapter-lab train`, `resume` and `demo`. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateExperiment } from '../config/validate';
import { builtinSentiment } from '../model/builtin';
import { loadModel } from '../checkpoint/baseModel';
import { formatCount } from '../model/parameters';
import { defaultRunsDir } from '../runs/store';
import { resumeTrainJob, runTrainJob, type TrainJobResult } from '../jobs/train';
import { loadExperimentFile } from './load';
import { cancellation, emitFailure, eventWriter, exitCodeOf, failure, jobFlags, messageOf, parseFlags, reportUnloadable, sinkFor } from './command';

export async function trainCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['max-steps', 'runs', 'threads', 'checkpoint-every', 'device'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { maxSteps, threads, checkpointEvery, device } = flags;
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
    const result = await runTrainJob({ experiment: loaded.validation.experiment!, source: loaded.text, runsDir, maxSteps, threads, checkpointEvery, device, emit: sinkFor(events), signal });
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

/**
 * The built-in demo: adapters and full fine-tuning side by side on the built-in model and a
 * task generated here, with no files of the user's.
 */
export async function demoCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['runs', 'threads', 'max-steps'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  if (parsed.positional.length) return usage('demo takes no files');
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { maxSteps, threads } = flags;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-demo-'));
  const runsDir = typeof parsed.flags.get('runs') === 'string' ? path.resolve(parsed.flags.get('runs') as string) : path.resolve('.adapter-lab', 'runs');
  const write = (name: string, rows: { sentence: string; label: number }[]): void =>
    fs.writeFileSync(path.join(dir, name), ['sentence\tlabel', ...rows.map((r) => `${r.sentence}\t${r.label}`)].join('\n') + '\n');
  write('train.tsv', builtinSentiment(800, 1));
  write('dev.tsv', builtinSentiment(200, 2));
  const model = loadModel('builtin:tiny-bert');
  process.stderr.write('Adapter Lab demo: Houlsby adapters vs full fine-tuning on a generated sentiment task.\nThe built-in model builtin:tiny-bert is generated from a fixed seed and is NOT pretrained.\n\n');
  const { signal, dispose } = cancellation();
  const results: { method: string; result: TrainJobResult }[] = [];
  const events = parsed.flags.has('events');
  const started = Date.now();
  try {
    for (const [method, lr] of [['adapter', '3.0e-3'], ['full', '1.0e-3']] as const) {
      const source = `name: demo-${method}\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  metric: accuracy\n  max_length: 32\nmethod: ${method}\n${method === 'adapter' ? 'adapter:\n  size: 16\n' : ''}training:\n  learning_rate: ${lr}\n  epochs: 3\n  batch_size: 16\n  seed: 42\n`;
      const file = path.join(dir, `demo-${method}.adapter.yaml`);
      fs.writeFileSync(file, source);
      const v = validateExperiment(source, { filePath: file });
      if (!v.ok) throw new Error(`the demo experiment is invalid: ${v.findings.map((f) => f.message).join('; ')}`);
      const result = await runTrainJob({ experiment: v.experiment!, source, runsDir, maxSteps, threads, emit: sinkFor(events), signal, model });
      results.push({ method, result });
      if (result.status !== 'completed') break;
    }
  } catch (e) {
    emitFailure(eventWriter(events), 'setup-failed', messageOf(e), { run: '', started });
    process.stderr.write(`error: ${messageOf(e)}\n`);
    return 1;
  } finally {
    dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const rows = results.map(({ method, result }) => [method, formatCount(result.parameters.trainable), `${result.parameters.percentOfBase.toFixed(2)}%`, result.metrics.accuracy !== undefined ? result.metrics.accuracy.toFixed(4) : '—', result.status, path.relative(process.cwd(), result.runDir)]);
  const header = ['method', 'trainable', '% of base', 'validation accuracy', 'status', 'run folder'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stderr.write(`\n${line(header)}\n${rows.map(line).join('\n')}\n`);
  return results.every((r) => r.result.status === 'completed') ? 0 : exitCodeOf(results[results.length - 1]!.result);
}

export async function resumeCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['threads', 'checkpoint-every', 'device'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { threads, checkpointEvery, device } = flags;
  const [runDir, ...extra] = parsed.positional;
  if (!runDir || extra.length) return usage('resume needs a run folder');
  const events = parsed.flags.has('events');
  const started = Date.now();
  const { signal, dispose } = cancellation();
  try {
    const result = await resumeTrainJob(path.resolve(runDir), { threads, checkpointEvery, device, emit: sinkFor(events), signal });
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
