/**
 * `adapter-lab evaluate`: a trained run (or a saved adapter) scored on a labelled data file;
 * or a model itself (`builtin:<name>` or a BertForMaskedLM folder) scored with its own
 * masked-LM head on a text file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stampAs, type EvaluateJobEvent, type PayloadOf } from '../events';
import { RUN_FILES } from '../runs/store';
import { evaluateRun } from '../jobs/evaluate';
import { evaluateMaskedLm } from '../jobs/evaluateModel';
import { BUILTIN_PREFIX } from '../model/dims';
import { ADAPTER_FILES } from '../checkpoint/adapterFolder';
import { importAdapter } from '../jobs/import';
import { emitFailure, errorCodeOf, eventWriter, failure, jobFlags, messageOf, parseFlags, providerFor } from './command';

export async function evaluateCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['threads', 'device', 'model'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const [target, dataFile, ...extra] = parsed.positional;
  if (!target || !dataFile || extra.length) return usage('evaluate needs a run folder (or a saved adapter folder) and a labelled data file');
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { threads, device } = flags;
  // A model rather than a run: a built-in name, or a Hugging Face folder (config.json with no run record beside it).
  const isModel = target.startsWith(BUILTIN_PREFIX) || (fs.existsSync(path.join(target, 'config.json')) && !fs.existsSync(path.join(target, RUN_FILES.status)) && !fs.existsSync(path.join(target, RUN_FILES.metrics)));
  if (isModel) {
    if (parsed.flags.has('model') || parsed.flags.has('events')) return usage('evaluating a model on text takes neither --model nor --events');
    try {
      const r = await evaluateMaskedLm(target.startsWith(BUILTIN_PREFIX) ? target : path.resolve(target), dataFile, { session: { threads, provider: await providerFor(device) } });
      process.stdout.write(JSON.stringify({ model: r.model, dataFile: r.textFile, sequences: r.sequences, metrics: r.metrics }) + '\n');
      process.stderr.write(`${r.model} on ${dataFile} (${r.sequences} sequences, masked-LM): ${Object.entries(r.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}\n`);
      return 0;
    } catch (e) {
      return failure(e);
    }
  }
  // A saved adapter folder (adapter_config.json, no run record) is imported into a temporary run first.
  const savedAdapter = fs.existsSync(path.join(target, ADAPTER_FILES.config)) && !fs.existsSync(path.join(target, RUN_FILES.config));
  const model = parsed.flags.get('model');
  if (model !== undefined && !savedAdapter) return usage('--model goes with a saved adapter folder (a run names its own model)');
  const events = parsed.flags.has('events');
  const write = eventWriter(events);
  const emit = (p: PayloadOf<EvaluateJobEvent>): void => write(stampAs<EvaluateJobEvent>(p));
  const started = Date.now();
  const run = path.basename(path.resolve(target));
  emit({ type: 'start', job: 'evaluate', run, runDir: path.resolve(target), data: path.resolve(dataFile) });
  const scratch = savedAdapter ? fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-evaluate-')) : undefined;
  try {
    const runDir = scratch ? (await importAdapter({ adapterDir: target, runsDir: scratch, model: typeof model === 'string' ? model : undefined, data: dataFile })).runDir : target;
    const r = await evaluateRun(runDir, dataFile, { threads, provider: await providerFor(device) });
    const result = { run: scratch ? run : r.run, dataFile: r.dataFile, examples: r.examples, metrics: r.metrics };
    if (events) {
      emit({ type: 'evaluation', step: r.trainedAt.step, epoch: r.trainedAt.epoch, split: 'data', metric: r.metric, value: r.metrics[r.metric]!, metrics: r.metrics, examples: r.examples, seconds: r.seconds, data: r.dataFile });
      emit({ type: 'end', status: 'completed', run, seconds: (Date.now() - started) / 1000, steps: r.examples, metrics: r.metrics });
    } else process.stdout.write(JSON.stringify(result) + '\n');
    process.stderr.write(`${result.run} on ${dataFile} (${result.examples} examples): ${Object.entries(result.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}\n`);
    return 0;
  } catch (e) {
    emitFailure(write, errorCodeOf(e), messageOf(e), { run, started });
    return failure(e);
  } finally {
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }
}
