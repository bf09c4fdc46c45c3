/** `adapter-lab ablate`: the span heatmap, or AdapterDrop's curve with --drop-curve. */
import * as path from 'node:path';
import { runAblation, type AblationResult } from '../jobs/ablate';
import { cancellation, emitFailure, eventWriter, failure, jobFlags, messageOf, parseFlags, providerFor, sinkFor, watchStart } from './command';

export async function ablateCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['data', 'threads', 'device'], ['events', 'drop-curve']);
  if (typeof parsed === 'string') return usage(parsed);
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { threads, device } = flags;
  const [runDir, ...extra] = parsed.positional;
  if (!runDir || extra.length) return usage('ablate needs a run folder');
  const curve = parsed.flags.has('drop-curve');
  const data = parsed.flags.get('data');
  const events = parsed.flags.has('events');
  const started = Date.now();
  const sink = watchStart(sinkFor(events));
  const { signal, dispose } = cancellation();
  try {
    const result = await runAblation({ runDir, dataFile: typeof data === 'string' ? data : undefined, threads, provider: await providerFor(device), emit: sink.emit, signal, mode: curve ? 'drop-curve' : 'spans' });
    process.stderr.write(curve ? dropCurve(result) : heatmap(result));
    return result.status === 'completed' ? 0 : 130;
  } catch (e) {
    // After its start the job closed its own stream; before it (the device, the run folder, its lock, the data) nothing started.
    if (!sink.started()) emitFailure(eventWriter(events), 'setup-failed', messageOf(e), { run: path.basename(path.resolve(runDir)), started });
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
