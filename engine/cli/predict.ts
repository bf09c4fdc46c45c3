/** `adapter-lab predict`: a trained run's predictions for every example of a data file, as JSON lines. */
import * as path from 'node:path';
import { stampAs, type PayloadOf, type PredictJobEvent } from '../events';
import { writeAtomic } from '../runs/store';
import { predictFile } from '../jobs/predict';
import { emitFailure, errorCodeOf, eventWriter, failure, jobFlags, messageOf, parseFlags } from './command';

export async function predictCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['out', 'threads'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const [runDir, dataFile, ...extra] = parsed.positional;
  if (!runDir || !dataFile || extra.length) return usage('predict needs a run folder and a data file');
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { threads } = flags;
  const out = parsed.flags.get('out');
  const events = parsed.flags.has('events');
  // Standard output carries either the predictions or the events.
  if (events && typeof out !== 'string') return usage('predict --events needs --out FILE (standard output carries the events)');
  const write = eventWriter(events);
  const emit = (p: PayloadOf<PredictJobEvent>): void => write(stampAs<PredictJobEvent>(p));
  const started = Date.now();
  const run = path.basename(path.resolve(runDir));
  emit({ type: 'start', job: 'predict', run, runDir: path.resolve(runDir), data: path.resolve(dataFile) });
  try {
    const predictions = await predictFile(runDir, dataFile, threads);
    const text = predictions.map((p) => JSON.stringify(p)).join('\n') + (predictions.length ? '\n' : '');
    if (typeof out === 'string') {
      writeAtomic(path.resolve(out), text);
      emit({ type: 'artifact', kind: 'predictions', path: path.resolve(out), bytes: Buffer.byteLength(text) });
    } else process.stdout.write(text);
    emit({ type: 'end', status: 'completed', run, seconds: (Date.now() - started) / 1000, steps: predictions.length, metrics: {} });
    return 0;
  } catch (e) {
    emitFailure(write, errorCodeOf(e), messageOf(e), { run, started });
    return failure(e);
  }
}
