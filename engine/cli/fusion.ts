/**
 * `adapter-lab fusion`: what a trained fusion attends to (average weights per site) and what
 * it keeps when pruned to its top-k adapters (one JSON document on standard output).
 */
import { fusionWeights, pruneFusion } from '../jobs/fusion';
import { failure, jobFlags, parseFlags, providerFor } from './command';

export async function fusionCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const [sub, ...rest] = args;
  const parsed = parseFlags(rest, ['threads', 'device', 'data'], ['per-layer']);
  if (typeof parsed === 'string') return usage(parsed);
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const [runDir, ...extra] = parsed.positional;
  if (!runDir || extra.length) return usage('fusion weights|prune needs one fusion run folder');
  const data = parsed.flags.get('data');
  const session = { threads: flags.threads, provider: await providerFor(flags.device) };
  try {
    if (sub === 'weights') {
      const w = await fusionWeights(runDir, typeof data === 'string' ? data : undefined, session);
      process.stdout.write(JSON.stringify(w) + '\n');
      for (const [site, weights] of Object.entries(w.weights)) process.stderr.write(`${site.padEnd(12)} ${weights.map((v, i) => `${w.adapters[i]} ${v === null ? '—' : v.toFixed(3)}`).join('  ')}\n`);
      return 0;
    }
    if (sub === 'prune') {
      if (typeof data !== 'string') return usage('fusion prune needs --data FILE: the labelled file each k is evaluated on');
      const r = await pruneFusion(runDir, data, parsed.flags.has('per-layer') ? 'layer' : 'overall', session);
      process.stdout.write(JSON.stringify(r) + '\n');
      for (const row of r.rows) process.stderr.write(`k = ${row.k}: ${r.metric} ${row.metrics[r.metric]!.toFixed(4)}, ${row.seconds.toFixed(2)} s\n`);
      return 0;
    }
    return usage('fusion needs weights or prune');
  } catch (e) {
    return failure(e);
  }
}
