/**
 * `adapter-lab fusion`: what a trained fusion attends to (average weights per site, over a
 * data file or for one example), what it keeps when pruned to its top-k adapters, and the
 * rows of its data to pick an example from (one JSON document on standard output).
 */
import { exampleFusionWeights, fusionExamples, fusionWeights, pruneFusion, type FusionWeights } from '../jobs/fusion';
import { failure, jobFlags, parseFlags, providerFor } from './command';

export async function fusionCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const [sub, ...all] = args;
  const verbatim = takeVerbatim(all, ['text', 'pair']);
  if (typeof verbatim === 'string') return usage(verbatim);
  const { taken, rest } = verbatim;
  const parsed = parseFlags(rest, ['threads', 'device', 'data', 'limit'], ['per-layer']);
  if (typeof parsed === 'string') return usage(parsed);
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const [runDir, ...extra] = parsed.positional;
  if (!runDir || extra.length) return usage('fusion weights|prune|examples needs one fusion run folder');
  const value = (name: string): string | undefined => {
    const v = parsed.flags.get(name);
    return typeof v === 'string' ? v : undefined;
  };
  const data = value('data');
  const text = taken.get('text');
  const pair = taken.get('pair');
  try {
    if (sub === 'weights') {
      if (text !== undefined && data !== undefined) return usage('fusion weights takes --data FILE or --text TEXT, not both');
      if (pair !== undefined && text === undefined) return usage('--pair needs --text: the pair is the example\'s second text');
      const session = { threads: flags.threads, provider: await providerFor(flags.device) };
      if (text !== undefined) {
        const w = await exampleFusionWeights(runDir, { text, ...(pair !== undefined ? { pair } : {}) }, session);
        process.stdout.write(JSON.stringify(w) + '\n');
        if (w.checkpointStep !== undefined) process.stderr.write(`the run has not finished: weights from its last checkpoint (step ${w.checkpointStep})\n`);
        process.stderr.write(`${w.tokens} tokens${w.truncated ? ' (cut at task.max_length)' : ''}: ${w.pieces.join(' ')}\n`);
        printWeights(w);
        return 0;
      }
      const w = await fusionWeights(runDir, data, session);
      process.stdout.write(JSON.stringify(w) + '\n');
      printWeights(w);
      return 0;
    }
    if (sub === 'prune') {
      if (typeof data !== 'string') return usage('fusion prune needs --data FILE: the labelled file each k is evaluated on');
      const session = { threads: flags.threads, provider: await providerFor(flags.device) };
      const r = await pruneFusion(runDir, data, parsed.flags.has('per-layer') ? 'layer' : 'overall', session);
      process.stdout.write(JSON.stringify(r) + '\n');
      for (const row of r.rows) process.stderr.write(`k = ${row.k}: ${r.metric} ${row.metrics[r.metric]!.toFixed(4)}, ${row.seconds.toFixed(2)} s\n`);
      return 0;
    }
    if (sub === 'examples') {
      const limit = value('limit');
      const n = limit === undefined ? undefined : Number(limit);
      if (n !== undefined && !(Number.isInteger(n) && n >= 1)) return usage('--limit must be a positive integer');
      process.stdout.write(JSON.stringify(fusionExamples(runDir, n)) + '\n');
      return 0;
    }
    return usage('fusion needs weights, prune or examples');
  } catch (e) {
    return failure(e);
  }
}

/** The weights for people, one site a line, on standard error. */
function printWeights(w: Pick<FusionWeights, 'adapters' | 'weights'>): void {
  for (const [site, weights] of Object.entries(w.weights)) process.stderr.write(`${site.padEnd(12)} ${weights.map((v, i) => `${w.adapters[i]} ${v === null ? '—' : v.toFixed(3)}`).join('  ')}\n`);
}

/**
 * Flags whose value is free text (an example typed by the user), taken as they are: a text
 * may start with `--`, which parseFlags would read as a missing value.
 */
function takeVerbatim(args: readonly string[], names: readonly string[]): { readonly taken: Map<string, string>; readonly rest: string[] } | string {
  const taken = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const name = args[i]!.startsWith('--') ? args[i]!.slice(2) : undefined;
    if (name === undefined || !names.includes(name)) {
      rest.push(args[i]!);
      continue;
    }
    const v = args[++i];
    if (v === undefined) return `--${name} needs a value`;
    taken.set(name, v);
  }
  return { taken, rest };
}
