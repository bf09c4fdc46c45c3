/** `adapter-lab multitask`: several trained adapters over one base model in one pass. */
import * as path from 'node:path';
import { stampAs, type MultitaskJobEvent, type PayloadOf } from '../events';
import { writeAtomic } from '../runs/store';
import { multiTaskPredict, type MultiTaskResult } from '../jobs/multitask';
import { trainedAt } from '../jobs/evaluate';
import { emitFailure, errorCodeOf, eventWriter, failure, messageOf, parseFlags } from './command';

export async function multitaskCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['out', 'threads'], ['compare', 'events']);
  if (typeof parsed === 'string') return usage(parsed);
  const [dataFile, ...runDirs] = parsed.positional;
  if (!dataFile || runDirs.length === 0) return usage('multitask needs a data file and one or more run folders');
  const threads = parsed.flags.get('threads');
  const n = threads === undefined ? undefined : Number(threads);
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) return usage('--threads must be a positive integer');
  const out = parsed.flags.get('out');
  const events = parsed.flags.has('events');
  if (events && typeof out !== 'string') return usage('multitask --events needs --out FILE (standard output carries the events)');
  // Keys are the run folders' names, or the paths as given when two names are the same.
  const base = runDirs.map((d) => path.basename(path.resolve(d)));
  const names = new Set(base).size === base.length ? base : runDirs;
  if (new Set(names).size !== names.length) return usage('multitask: the same run folder is given twice');
  const write = eventWriter(events);
  const emit = (p: PayloadOf<MultitaskJobEvent>): void => write(stampAs<MultitaskJobEvent>(p));
  const started = Date.now();
  const run = names.join(',');
  emit({ type: 'start', job: 'multitask', tasks: names, runDirs: runDirs.map((d) => path.resolve(d)), data: path.resolve(dataFile) });
  try {
    const result = await multiTaskPredict(runDirs, dataFile, { threads: n, compare: parsed.flags.has('compare') });
    const lines = Array.from({ length: result.examples }, (_, i) => JSON.stringify({ index: i, predictions: Object.fromEntries(result.tasks.map((t, k) => [names[k], t.predictions[i]])) }));
    const text = lines.join('\n') + (lines.length ? '\n' : '');
    if (typeof out === 'string') {
      writeAtomic(path.resolve(out), text);
      emit({ type: 'artifact', kind: 'predictions', path: path.resolve(out), bytes: Buffer.byteLength(text) });
    } else process.stdout.write(text);
    const shared = result.sharedLayers ? `embeddings and layers 0–${result.sharedLayers - 1}` : 'embeddings';
    const summary = `${result.tasks.length} tasks × ${result.examples} examples in ${result.seconds.toFixed(2)} s, sharing the ${shared}`;
    process.stderr.write(summary + '\n');
    emit({ type: 'log', level: 'info', message: summary });
    for (const line of scores(result, names)) process.stderr.write(line + '\n');
    for (const [k, t] of result.tasks.entries()) {
      if (!t.evaluation) {
        emit({ type: 'log', level: 'info', message: `${names[k]} is not scored: ${t.unscored ?? 'no labels'}` });
        continue;
      }
      const at = trainedAt(runDirs[k]!);
      const ev = t.evaluation;
      emit({ type: 'evaluation', step: at.step, epoch: at.epoch, split: 'data', metric: ev.metric, value: ev.metrics[ev.metric]!, metrics: ev.metrics, examples: ev.examples, seconds: ev.seconds, data: path.resolve(dataFile), task: names[k]! });
    }
    const c = result.comparison;
    if (c) {
      process.stderr.write(`one pass per task: ${c.separateSeconds.toFixed(2)} s; multi-task inference is ${c.speedup.toFixed(2)}× as fast (${((1 - c.sharedSeconds / c.separateSeconds) * 100).toFixed(0)}% less time)\n`);
      emit({ type: 'comparison', tasks: result.tasks.length, examples: result.examples, sharedLayers: result.sharedLayers, sharedSeconds: c.sharedSeconds, separateSeconds: c.separateSeconds, speedup: c.speedup });
    }
    // Every scored task's metrics, keyed task/metric.
    const metrics = Object.fromEntries(result.tasks.flatMap((t, k) => Object.entries(t.evaluation?.metrics ?? {}).map(([m, v]) => [`${names[k]}/${m}`, v])));
    emit({ type: 'end', status: 'completed', run, seconds: (Date.now() - started) / 1000, steps: result.examples, metrics });
    return 0;
  } catch (e) {
    emitFailure(write, errorCodeOf(e), messageOf(e), { run, started });
    return failure(e);
  }
}

/** One line per scored task: its metrics on the file. */
function scores(result: MultiTaskResult, names: readonly string[]): string[] {
  return result.tasks.flatMap((t, k) => (t.evaluation ? [`  ${names[k]}: ${Object.entries(t.evaluation.metrics).map(([m, v]) => `${m} ${v.toFixed(4)}`).join(', ')}`] : []));
}
