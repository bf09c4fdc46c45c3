/** `adapter-lab train`, `predict` and `demo`. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateExperiment } from '../config/validate';
import { resolveProvider } from '../runtime/provider';
import { DataError } from '../data/errors';
import type { JobEvent } from '../events';
import { builtinSentiment } from '../model/builtin';
import { loadModel } from '../model/load';
import { formatCount } from '../model/parameters';
import { describe as describeRun, isLive, listRuns } from '../runs/catalog';
import { defaultRunsDir, RUN_FILES } from '../runs/store';
import { resumeTrainJob, runTrainJob, type TrainJobResult } from '../train/job';
import { runAblation, type AblationResult } from '../train/ablate';
import { evaluateRun } from '../train/evaluate';
import { exportOnnx } from '../train/export';
import { ADAPTER_FILES, AdapterFolderError, exportAdapterFolder } from '../train/adapterFolder';
import { importAdapter } from '../train/importAdapter';
import { runSweep, runSweepTrial, type SweepSummary } from '../train/sweep';
import { predictFile, RunFolderError } from '../train/predict';
import { findingLines, loadExperimentFile, type Loaded } from './load';
import { progressPrinter } from './progress';

export interface ParsedFlags {
  readonly positional: string[];
  readonly flags: Map<string, string | true>;
}

export function parseFlags(args: readonly string[], withValue: readonly string[], boolean: readonly string[]): ParsedFlags | string {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const name = a.slice(2);
    if (boolean.includes(name)) flags.set(name, true);
    else if (withValue.includes(name)) {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) return `--${name} needs a value`;
      flags.set(name, v);
    } else return `unknown option ${a}`;
  }
  return { positional, flags };
}

/** `--device`: overrides the file's `runtime.device`; null when the value is not a device. */
export function deviceFlag(parsed: ParsedFlags): 'auto' | 'cpu' | 'webgpu' | 'cuda' | undefined | null {
  const v = parsed.flags.get('device');
  if (v === undefined) return undefined;
  return v === 'auto' || v === 'cpu' || v === 'webgpu' || v === 'cuda' ? v : null;
}

/** The provider for a job on a finished run: the CPU unless --device asks for another (refused with the reason when it cannot run). */
async function providerFor(device: 'auto' | 'cpu' | 'webgpu' | 'cuda' | undefined): Promise<'cpu' | 'webgpu' | 'cuda'> {
  return device ? (await resolveProvider(device)).provider : 'cpu';
}

export function positiveInt(v: string | true | undefined, name: string): number | undefined | string {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : `--${name} must be a positive integer`;
}

/** Cancels on SIGINT/SIGTERM: the job stops after the current step and the run ends `cancelled`. */
export function cancellation(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { signal: controller.signal, dispose: () => (process.off('SIGINT', onSignal), process.off('SIGTERM', onSignal)) };
}

export function sinkFor(events: boolean): (e: JobEvent) => void {
  const human = progressPrinter();
  return (e) => {
    if (events) process.stdout.write(JSON.stringify(e) + '\n');
    human(e);
  };
}

export function exitCodeOf(r: TrainJobResult): number {
  return r.status === 'completed' ? 0 : r.status === 'cancelled' ? 130 : 1;
}

export async function trainCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['max-steps', 'runs', 'threads', 'checkpoint-every', 'device'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const device = deviceFlag(parsed);
  if (device === null) return usage('--device must be auto, cpu, webgpu or cuda');
  const [file, ...extra] = parsed.positional;
  if (!file || extra.length) return usage('train needs one experiment file');
  const checkpointEvery = positiveInt(parsed.flags.get('checkpoint-every'), 'checkpoint-every');
  if (typeof checkpointEvery === 'string') return usage(checkpointEvery);
  const maxSteps = positiveInt(parsed.flags.get('max-steps'), 'max-steps');
  const threads = positiveInt(parsed.flags.get('threads'), 'threads');
  if (typeof maxSteps === 'string') return usage(maxSteps);
  if (typeof threads === 'string') return usage(threads);
  const loaded = loadExperimentFile(file);
  if (!loaded.ok) return reportUnloadable(file, loaded);
  const runsDir = typeof parsed.flags.get('runs') === 'string' ? path.resolve(parsed.flags.get('runs') as string) : defaultRunsDir(file);
  const { signal, dispose } = cancellation();
  try {
    const result = await runTrainJob({ experiment: loaded.validation.experiment!, source: loaded.text, runsDir, maxSteps, threads, checkpointEvery, device, emit: sinkFor(parsed.flags.has('events')), signal });
    if (result.status === 'cancelled') process.stderr.write(`continue with: adapter-lab resume ${result.runDir}\n`);
    return exitCodeOf(result);
  } catch (e) {
    process.stderr.write(`${file}: error: ${messageOf(e)}\n`);
    return 1;
  } finally {
    dispose();
  }
}

export async function predictCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['out', 'threads'], []);
  if (typeof parsed === 'string') return usage(parsed);
  const [runDir, dataFile, ...extra] = parsed.positional;
  if (!runDir || !dataFile || extra.length) return usage('predict needs a run folder and a data file');
  const threads = positiveInt(parsed.flags.get('threads'), 'threads');
  if (typeof threads === 'string') return usage(threads);
  try {
    const predictions = await predictFile(runDir, dataFile, threads);
    const text = predictions.map((p) => JSON.stringify(p)).join('\n') + (predictions.length ? '\n' : '');
    const out = parsed.flags.get('out');
    if (typeof out === 'string') fs.writeFileSync(out, text);
    else process.stdout.write(text);
    return 0;
  } catch (e) {
    return failure(e);
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
  const threads = positiveInt(parsed.flags.get('threads'), 'threads');
  const maxSteps = positiveInt(parsed.flags.get('max-steps'), 'max-steps');
  if (typeof threads === 'string') return usage(threads);
  if (typeof maxSteps === 'string') return usage(maxSteps);
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
  try {
    for (const [method, lr] of [['adapter', '3.0e-3'], ['full', '1.0e-3']] as const) {
      const source = `name: demo-${method}\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  metric: accuracy\n  max_length: 32\nmethod: ${method}\n${method === 'adapter' ? 'adapter:\n  size: 16\n' : ''}training:\n  learning_rate: ${lr}\n  epochs: 3\n  batch_size: 16\n  seed: 42\n`;
      const file = path.join(dir, `demo-${method}.adapter.yaml`);
      fs.writeFileSync(file, source);
      const v = validateExperiment(source, { filePath: file });
      if (!v.ok) throw new Error(`the demo experiment is invalid: ${v.findings.map((f) => f.message).join('; ')}`);
      const result = await runTrainJob({ experiment: v.experiment!, source, runsDir, maxSteps, threads, emit: sinkFor(parsed.flags.has('events')), signal, model });
      results.push({ method, result });
      if (result.status !== 'completed') break;
    }
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
  const device = deviceFlag(parsed);
  if (device === null) return usage('--device must be auto, cpu, webgpu or cuda');
  const [runDir, ...extra] = parsed.positional;
  if (!runDir || extra.length) return usage('resume needs a run folder');
  const threads = positiveInt(parsed.flags.get('threads'), 'threads');
  const checkpointEvery = positiveInt(parsed.flags.get('checkpoint-every'), 'checkpoint-every');
  if (typeof threads === 'string') return usage(threads);
  if (typeof checkpointEvery === 'string') return usage(checkpointEvery);
  const { signal, dispose } = cancellation();
  try {
    return exitCodeOf(await resumeTrainJob(path.resolve(runDir), { threads, checkpointEvery, device, emit: sinkFor(parsed.flags.has('events')), signal }));
  } catch (e) {
    return failure(e);
  } finally {
    dispose();
  }
}

/** `adapter-lab sweep-trial <sweep-folder> <index>`: one trial, run by a sweep's worker process. */
export async function sweepTrialCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['max-steps', 'threads', 'device'], []);
  if (typeof parsed === 'string') return usage(parsed);
  const [sweepDir, index, ...extra] = parsed.positional;
  if (!sweepDir || index === undefined || !/^\d+$/.test(index) || extra.length) return usage('sweep-trial needs a sweep folder and a trial index');
  const maxSteps = positiveInt(parsed.flags.get('max-steps'), 'max-steps');
  const threads = positiveInt(parsed.flags.get('threads'), 'threads');
  const device = deviceFlag(parsed);
  if (typeof maxSteps === 'string') return usage(maxSteps);
  if (typeof threads === 'string') return usage(threads);
  if (device === null) return usage('--device must be auto, cpu, webgpu or cuda');
  const { signal, dispose } = cancellation();
  try {
    // Events only: the parent sweep prints progress.
    const record = await runSweepTrial(path.resolve(sweepDir), Number(index), { maxSteps, threads, device, emit: (e) => process.stdout.write(JSON.stringify(e) + '\n'), signal });
    return record.status === 'completed' ? 0 : record.status === 'cancelled' ? 130 : 1;
  } catch (e) {
    return failure(e);
  } finally {
    dispose();
  }
}

export async function sweepCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['max-steps', 'runs', 'threads', 'resume', 'device', 'workers'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const device = deviceFlag(parsed);
  if (device === null) return usage('--device must be auto, cpu, webgpu or cuda');
  const [file, ...extra] = parsed.positional;
  if (!file || extra.length) return usage('sweep needs one experiment file');
  const maxSteps = positiveInt(parsed.flags.get('max-steps'), 'max-steps');
  const threads = positiveInt(parsed.flags.get('threads'), 'threads');
  if (typeof maxSteps === 'string') return usage(maxSteps);
  if (typeof threads === 'string') return usage(threads);
  const loaded = loadExperimentFile(file);
  if (!loaded.ok) return reportUnloadable(file, loaded);
  const experiment = loaded.validation.experiment!;
  if (!experiment.sweep) return usage(`${file} has no sweep section; use train`);
  const workers = positiveInt(parsed.flags.get('workers'), 'workers');
  if (typeof workers === 'string') return usage(workers);
  // Workers are processes of this same CLI; more than the cores would only contend.
  const workerCount = Math.min(workers ?? 1, os.cpus().length);
  const runsDir = typeof parsed.flags.get('runs') === 'string' ? path.resolve(parsed.flags.get('runs') as string) : defaultRunsDir(file);
  const resume = parsed.flags.get('resume');
  const { signal, dispose } = cancellation();
  try {
    const result = await runSweep({ experiment, plain: loaded.validation.plain, source: loaded.text, baseDir: path.dirname(path.resolve(file)), runsDir, resume: typeof resume === 'string' ? resume : undefined, maxSteps, threads, device, workers: workerCount > 1 ? { count: workerCount, command: [process.execPath, process.argv[1]!] } : undefined, emit: sinkFor(parsed.flags.has('events')), signal });
    process.stderr.write(sweepTable(result.summary));
    if (result.status === 'cancelled') process.stderr.write(`cancelled: continue with adapter-lab sweep ${file} --resume ${result.sweepDir}\n`);
    return result.status === 'completed' ? 0 : 130;
  } catch (e) {
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
        process.stderr.write(`error: ${entry.name} is running (pid ${entry.pid}); stop it first\n`);
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

export async function evaluateCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['threads', 'device', 'model'], []);
  if (typeof parsed === 'string') return usage(parsed);
  const [target, dataFile, ...extra] = parsed.positional;
  if (!target || !dataFile || extra.length) return usage('evaluate needs a run folder (or a saved adapter folder) and a labelled data file');
  const threads = positiveInt(parsed.flags.get('threads'), 'threads');
  if (typeof threads === 'string') return usage(threads);
  const device = deviceFlag(parsed);
  if (device === null) return usage('--device must be auto, cpu, webgpu or cuda');
  // A saved adapter folder (adapter_config.json, no run record) is imported into a temporary run first.
  const savedAdapter = fs.existsSync(path.join(target, ADAPTER_FILES.config)) && !fs.existsSync(path.join(target, RUN_FILES.config));
  const model = parsed.flags.get('model');
  if (model !== undefined && !savedAdapter) return usage('--model goes with a saved adapter folder (a run names its own model)');
  const scratch = savedAdapter ? fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-evaluate-')) : undefined;
  try {
    const runDir = scratch ? (await importAdapter({ adapterDir: target, runsDir: scratch, model: typeof model === 'string' ? model : undefined, data: dataFile })).runDir : target;
    const evaluated = await evaluateRun(runDir, dataFile, { threads, provider: await providerFor(device) });
    const result = scratch ? { ...evaluated, run: path.basename(path.resolve(target)) } : evaluated;
    process.stdout.write(JSON.stringify(result) + '\n');
    process.stderr.write(`${result.run} on ${dataFile} (${result.examples} examples): ${Object.entries(result.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}\n`);
    return 0;
  } catch (e) {
    return failure(e);
  } finally {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
}

export async function exportCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['onnx', 'adapter', 'threads', 'device'], ['force']);
  if (typeof parsed === 'string') return usage(parsed);
  const [runDir, ...extra] = parsed.positional;
  const onnx = parsed.flags.get('onnx');
  const adapter = parsed.flags.get('adapter');
  if (!runDir || extra.length || (typeof onnx !== 'string' && typeof adapter !== 'string')) return usage('export needs a run folder and --onnx FILE, --adapter DIR or both');
  if (parsed.flags.has('force') && typeof adapter !== 'string') return usage('--force goes with --adapter DIR');
  const threads = positiveInt(parsed.flags.get('threads'), 'threads');
  if (typeof threads === 'string') return usage(threads);
  const device = deviceFlag(parsed);
  if (device === null) return usage('--device must be auto, cpu, webgpu or cuda');
  try {
    if (typeof adapter === 'string') {
      const r = exportAdapterFolder(path.join(runDir, RUN_FILES.adapterDir), adapter, { force: parsed.flags.has('force') });
      process.stderr.write(`wrote ${r.dir} (${Object.keys(ADAPTER_FILES).length} files, ${(r.bytes / 2 ** 20).toFixed(2)} MiB)\n`);
    }
    if (typeof onnx === 'string') {
      if (importedWithoutData(runDir)) throw new RunFolderError(`${runDir} was imported without data, and --onnx checks the exported model on the run's validation examples: import it again with --data FILE`);
      const r = await exportOnnx(runDir, onnx, { threads, provider: await providerFor(device) });
      process.stderr.write(`wrote ${r.file} (${(r.bytes / 2 ** 20).toFixed(1)} MiB); its logits match the engine's to ${r.maxDifference.toExponential(1)} on ${r.checked} examples\n`);
    }
    return 0;
  } catch (e) {
    return failure(e);
  }
}

/** Whether a run came from `import` with no data file (its experiment names none). */
function importedWithoutData(runDir: string): boolean {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as { experiment?: { task?: { train?: string; validation?: string } } };
    const task = config.experiment?.task;
    return task !== undefined && !task.train && !task.validation;
  } catch {
    return false; // exportOnnx reports an unreadable run folder itself
  }
}

/** `adapter-lab import`: a saved adapter folder becomes a new, completed run in the run store. */
export async function importCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['model', 'runs', 'name', 'data'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const [adapterDir, ...extra] = parsed.positional;
  if (!adapterDir || extra.length) return usage('import needs one adapter folder');
  const flag = (name: string) => (typeof parsed.flags.get(name) === 'string' ? (parsed.flags.get(name) as string) : undefined);
  const runsDir = path.resolve(flag('runs') ?? path.join('.adapter-lab', 'runs'));
  try {
    const r = await importAdapter({ adapterDir, runsDir, model: flag('model'), name: flag('name'), data: flag('data'), emit: parsed.flags.has('events') ? (e) => process.stdout.write(JSON.stringify(e) + '\n') : undefined });
    process.stderr.write(`imported ${path.resolve(adapterDir)} (${r.experiment.method}, ${formatCount(r.parameters.trainable)} trained parameters) on ${r.experiment.model}\n  run folder ${r.runDir}\n`);
    return 0;
  } catch (e) {
    return failure(e);
  }
}

export async function ablateCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['data', 'threads', 'device'], ['events', 'drop-curve']);
  if (typeof parsed === 'string') return usage(parsed);
  const device = deviceFlag(parsed);
  if (device === null) return usage('--device must be auto, cpu, webgpu or cuda');
  const [runDir, ...extra] = parsed.positional;
  if (!runDir || extra.length) return usage('ablate needs a run folder');
  const curve = parsed.flags.has('drop-curve');
  const threads = positiveInt(parsed.flags.get('threads'), 'threads');
  if (typeof threads === 'string') return usage(threads);
  const data = parsed.flags.get('data');
  const { signal, dispose } = cancellation();
  try {
    const result = await runAblation({ runDir, dataFile: typeof data === 'string' ? data : undefined, threads, provider: await providerFor(device), emit: sinkFor(parsed.flags.has('events')), signal, mode: curve ? 'drop-curve' : 'spans' });
    process.stderr.write(curve ? dropCurve(result) : heatmap(result));
    return result.status === 'completed' ? 0 : 130;
  } catch (e) {
    return failure(e);
  } finally {
    dispose();
  }
}

/** The AdapterDrop curve as text: n lowest layers without adapters → metric. */
function dropCurve(r: AblationResult): string {
  const rows = [`  n=0  ${r.baseline[r.metric]?.toFixed(4)}`, ...r.cells.map((c) => `  n=${c.to + 1}  ${c.value.toFixed(4)}`)];
  return `\n${r.metric} with the adapters of the n lowest layers removed at inference:\n${rows.join('\n')}\n`;
}

/** The span heatmap as text: row i, column j = the metric with layers i..j removed. */
function heatmap(r: AblationResult): string {
  const cell = (i: number, j: number) => r.cells.find((c) => c.site === 'both' && c.from === i && c.to === j);
  const lines = [`\n${r.metric} with the adapters of layers i..j removed (baseline ${r.baseline[r.metric]?.toFixed(4)}):`, `  i\\j ${Array.from({ length: r.layers }, (_, j) => String(j).padStart(6)).join('')}`];
  for (let i = 0; i < r.layers; i++) {
    lines.push(`  ${String(i).padStart(3)} ${Array.from({ length: r.layers }, (_, j) => (j < i ? '' : (cell(i, j)?.value.toFixed(3) ?? '')).padStart(6)).join('')}`);
  }
  return lines.join('\n') + '\n';
}

/** Prints why an experiment file cannot run (its findings, or why it cannot be read) and gives the exit code. */
export function reportUnloadable(file: string, loaded: Loaded & { ok: false }): number {
  if (loaded.validation && loaded.text !== undefined) for (const line of findingLines(file, loaded.text, loaded.validation)) process.stderr.write(line + '\n');
  process.stderr.write(loaded.message + '\n');
  return loaded.validation ? 1 : 2;
}

/** Reports a command's failure: exit 2 for a missing or unusable run folder, adapter folder or data file, else 1. */
export function failure(e: unknown): number {
  process.stderr.write(`error: ${messageOf(e)}\n`);
  return e instanceof RunFolderError || e instanceof DataError || e instanceof AdapterFolderError ? 2 : 1;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
