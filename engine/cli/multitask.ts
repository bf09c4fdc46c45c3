/** `adapter-lab multitask`: several trained adapters over one base model in one pass. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { multiTaskPredict, separatePredict } from '../train/multiTask';
import { failure, parseFlags } from './command';

export async function multitaskCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['out', 'threads'], ['compare']);
  if (typeof parsed === 'string') return usage(parsed);
  const [dataFile, ...runDirs] = parsed.positional;
  if (!dataFile || runDirs.length === 0) return usage('multitask needs a data file and one or more run folders');
  const threads = parsed.flags.get('threads');
  const n = threads === undefined ? undefined : Number(threads);
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) return usage('--threads must be a positive integer');
  try {
    const result = await multiTaskPredict(runDirs, dataFile, { threads: n });
    // Keys are the run folders' names, or the paths as given when two names are the same.
    const base = result.tasks.map((t) => path.basename(t.run));
    const names = new Set(base).size === base.length ? base : runDirs;
    if (new Set(names).size !== names.length) return usage('multitask: the same run folder is given twice');
    const lines = Array.from({ length: result.examples }, (_, i) => JSON.stringify({ index: i, predictions: Object.fromEntries(result.tasks.map((t, k) => [names[k], t.predictions[i]])) }));
    const text = lines.join('\n') + (lines.length ? '\n' : '');
    const out = parsed.flags.get('out');
    if (typeof out === 'string') fs.writeFileSync(out, text);
    else process.stdout.write(text);
    const shared = result.sharedLayers ? `embeddings and layers 0–${result.sharedLayers - 1}` : 'embeddings';
    process.stderr.write(`${result.tasks.length} tasks × ${result.examples} examples in ${result.seconds.toFixed(2)} s, sharing the ${shared}\n`);
    if (parsed.flags.has('compare')) {
      const separate = await separatePredict(runDirs, dataFile, { threads: n });
      process.stderr.write(`one pass per task: ${separate.seconds.toFixed(2)} s; multi-task inference is ${(separate.seconds / result.seconds).toFixed(2)}× as fast (${((1 - result.seconds / separate.seconds) * 100).toFixed(0)}% less time)\n`);
    }
    return 0;
  } catch (e) {
    return failure(e);
  }
}
