/** `adapter-lab evaluate`: a trained run (or a saved adapter) scored on a labelled data file. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stampAs, type EvaluateJobEvent, type PayloadOf } from '../events';
import { RUN_FILES } from '../runs/store';
import { evaluateRun } from '../jobs/evaluate';
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
