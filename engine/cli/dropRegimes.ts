/** `adapter-lab drop-regimes`: AdapterDrop's curve for the standard, robust and specialized training regimes. */
import * as path from 'node:path';
import { defaultRunsDir } from '../runs/store';
import { runDropRegimes, type DropRegimesResult } from '../jobs/dropRegimes';
import { loadExperimentFile } from './load';
import { cancellation, emitFailure, eventWriter, failure, jobFlags, messageOf, parseFlags, reportUnloadable, sinkFor } from './command';

export async function dropRegimesCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['n', 'max-steps', 'threads', 'device', 'runs'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const [file, ...extra] = parsed.positional;
  if (!file || extra.length) return usage('drop-regimes needs one experiment file');
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { maxSteps, threads, device } = flags;
  const nFlag = parsed.flags.get('n');
  const specialized = typeof nFlag === 'string' ? nFlag.split(',').map((s) => Number(s.trim())) : undefined;
  if (specialized?.some((n) => !Number.isInteger(n))) return usage('--n takes layer counts such as 2,4,6');
  const events = parsed.flags.has('events');
  const started = Date.now();
  // Failures before the job starts (the file, the model, an n out of range) are events too: error, then a failed end.
  const setupFailed = (message: string): void => emitFailure(eventWriter(events), 'setup-failed', message, { run: '', started });
  const loaded = loadExperimentFile(file);
  if (!loaded.ok) {
    setupFailed(loaded.message);
    return reportUnloadable(file, loaded);
  }
  const runsDir = typeof parsed.flags.get('runs') === 'string' ? path.resolve(parsed.flags.get('runs') as string) : defaultRunsDir(file);
  const { signal, dispose } = cancellation();
  try {
    const result = await runDropRegimes({ experiment: loaded.validation.experiment!, source: loaded.text, runsDir, specialized, maxSteps, threads, device, emit: sinkFor(events), signal });
    process.stderr.write(table(result));
    return result.status === 'completed' ? 0 : result.status === 'cancelled' ? 130 : 1;
  } catch (e) {
    setupFailed(messageOf(e));
    return failure(e);
  } finally {
    dispose();
  }
}

/** n down, one column per regime. */
function table(r: DropRegimesResult): string {
  const width = 13;
  const lines = [`${r.metric} with the n lowest layers' adapters dropped (${r.dir})`, ['n'.padEnd(4), ...r.curves.map((c) => c.regime.padStart(width))].join('')];
  for (let n = 0; n <= r.layers; n++) {
    const cells = r.curves.map((c) => c.points.find((p) => p.n === n)?.value);
    if (cells.every((v) => v === undefined)) continue;
    lines.push([String(n).padEnd(4), ...cells.map((v) => (v === undefined ? '—' : v.toFixed(4)).padStart(width))].join(''));
  }
  if (r.status !== 'completed') lines.push(`${r.status}: ${r.message ?? ''}`);
  return lines.join('\n') + '\n';
}
