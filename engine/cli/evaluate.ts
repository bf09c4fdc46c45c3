/** `adapter-lab evaluate` and `predict`: a trained run (or a saved adapter) on a data file. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RUN_FILES } from '../runs/store';
import { evaluateRun } from '../train/evaluate';
import { ADAPTER_FILES } from '../train/adapterFolder';
import { importAdapter } from '../train/importAdapter';
import { predictFile } from '../train/predict';
import { deviceFlag, failure, parseFlags, positiveInt, providerFor } from './command';

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
