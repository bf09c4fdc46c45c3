/**
 * AdapterDrop's evaluation curve for three training regimes side by side (Rücklé et al.):
 *  - standard: adapters in every layer, trained as usual, then the n lowest removed at inference;
 *  - robust: trained with a random number of the lowest layers' adapters dropped at each step,
 *    then evaluated the same way;
 *  - specialized: one adapter trained per n with layers 0..n−1 statically dropped, each
 *    evaluated as trained (the point at n is that run's own validation metric).
 * Each regime is a run in the job's folder; the curves of the first two are their runs'
 * `drop-curve.json`; the third is written in the same format to `specialized/drop-curve.json`,
 * so anything that reads a drop curve reads all three. `regimes.json` summarises.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Experiment } from '../config/experiment';
import type { LayerSelection } from '../config/layers';
import { stampAs, type DropRegimesJobEvent, type EventSink, type PayloadOf } from '../events';
import { loadModel } from '../checkpoint/baseModel';
import { createRunDir, writeJson } from '../runs/store';
import { DROP_CURVE_FILE, runAblation, type AblationCell, type AblationResult } from './ablate';
import { runTrainJob } from './train';
import type { Device } from '../config/schema';

export const REGIMES_FILE = 'regimes.json';

export type Regime = 'standard' | 'robust' | 'specialized';

export interface RegimeCurve {
  readonly regime: Regime;
  /** (n layers dropped, metric); n = 0 is every adapter in place. */
  readonly points: readonly { readonly n: number; readonly value: number; readonly run?: string }[];
}

export interface DropRegimesResult {
  readonly dir: string;
  readonly metric: string;
  readonly layers: number;
  readonly curves: readonly RegimeCurve[];
  readonly status: 'completed' | 'failed' | 'cancelled';
  readonly message?: string;
}

export interface DropRegimesOptions {
  readonly experiment: Experiment;
  readonly source: string;
  readonly runsDir: string;
  /** The n of the specialized runs (default: every n from 1 to L−1). */
  readonly specialized?: readonly number[];
  readonly maxSteps?: number;
  readonly threads?: number;
  readonly device?: Device;
  readonly emit: EventSink<DropRegimesJobEvent>;
  readonly signal?: AbortSignal;
}

const range = (from: number, to: number): LayerSelection => ({ kind: 'layers', parts: [{ from, to, range: { start: 0, end: 0 }, text: `${from}..${to}` }] });

export async function runDropRegimes(opts: DropRegimesOptions): Promise<DropRegimesResult> {
  const e = opts.experiment;
  const started = Date.now();
  const emit = (p: PayloadOf<DropRegimesJobEvent>): void => opts.emit(stampAs<DropRegimesJobEvent>(p));
  // Refused before anything exists (the command reports these).
  if (!e.task.validation) throw new Error('the AdapterDrop regimes are compared on validation data: add task.validation');
  const model = loadModel(e.model);
  const L = model.dims.layers;
  const ns = [...new Set(opts.specialized ?? Array.from({ length: L - 1 }, (_, i) => i + 1))].sort((a, b) => a - b);
  const bad = ns.find((n) => !Number.isInteger(n) || n < 1 || n > L - 1);
  if (bad !== undefined) throw new Error(`specialized n must be between 1 and ${L - 1} (the model has ${L} layers; at least one must keep its adapter), got ${bad}`);
  const dir = createRunDir(opts.runsDir, `${e.name}-drop-regimes`);
  const name = path.basename(dir);
  const runs = path.join(dir, 'runs');
  const metric = e.task.metric;
  emit({ type: 'start', job: 'drop-regimes', run: name, runDir: dir, metric, layers: L, specialized: ns, runs: 2 + ns.length });

  let trainedRuns = 0;
  const train = async (runName: string, drop: Experiment['drop']): Promise<{ runDir: string; value: number | undefined; status: string; message?: string }> => {
    const r = await runTrainJob({ experiment: { ...e, name: runName, method: 'adapter', drop }, source: opts.source, runsDir: runs, maxSteps: opts.maxSteps, threads: opts.threads, device: opts.device, emit: opts.emit, signal: opts.signal, model });
    trainedRuns++;
    return { runDir: r.runDir, value: r.metrics[metric], status: r.status, ...(r.message ? { message: r.message } : {}) };
  };
  const curveOf = (regime: Regime, a: AblationResult): RegimeCurve => ({ regime, points: [{ n: 0, value: a.baseline[metric]! }, ...a.cells.map((c) => ({ n: c.to + 1, value: c.value }))] });
  const curves: RegimeCurve[] = [];
  const finish = (status: DropRegimesResult['status'], message?: string): DropRegimesResult => {
    const result: DropRegimesResult = { dir, metric, layers: L, curves, status, ...(message ? { message } : {}) };
    const file = path.join(dir, REGIMES_FILE);
    writeJson(file, result);
    emit({ type: 'artifact', kind: 'regimes', path: file });
    const standard = curves.find((c) => c.regime === 'standard')?.points[0]?.value;
    emit({ type: 'end', status, run: name, seconds: (Date.now() - started) / 1000, steps: trainedRuns, metrics: standard !== undefined ? { [metric]: standard } : {}, ...(message ? { message } : {}) });
    return result;
  };

  try {
    // Standard and robust: train, then the curve with the n lowest layers' adapters removed.
    const robustLayers = e.drop.layers.kind === 'layers' ? e.drop.layers : range(0, L - 2);
    const trained: Record<'standard' | 'robust', string> = { standard: '', robust: '' };
    for (const [regime, drop] of [['standard', { layers: { kind: 'none' }, mode: 'static' }], ['robust', { layers: robustLayers, mode: 'robust' }]] as const) {
      const r = await train(regime, drop);
      if (r.status !== 'completed') return finish(r.status === 'cancelled' ? 'cancelled' : 'failed', `the ${regime} run ${r.status}${r.message ? `: ${r.message}` : ''}`);
      trained[regime] = r.runDir;
      const a = await runAblation({ runDir: r.runDir, mode: 'drop-curve', threads: opts.threads, emit: opts.emit, signal: opts.signal });
      if (a.status !== 'completed') return finish('cancelled', `the ${regime} curve was cancelled`);
      curves.push(curveOf(regime, a));
    }

    // Specialized: one run per n; its point is its own validation metric.
    const standardBaseline = curves[0]!.points[0]!.value;
    const cells: AblationCell[] = [];
    const points: { n: number; value: number; run?: string }[] = [{ n: 0, value: standardBaseline, run: path.basename(trained.standard) }];
    for (const n of ns) {
      const r = await train(`static-n${n}`, { layers: range(0, n - 1), mode: 'static' });
      if (r.status === 'cancelled') return finish('cancelled', `the run with ${n} layers dropped was cancelled`);
      if (r.status !== 'completed' || r.value === undefined) continue; // recorded by the run itself; the curve skips it
      points.push({ n, value: r.value, run: path.basename(r.runDir) });
      cells.push({ from: 0, to: n - 1, site: 'both', value: r.value, metrics: { [metric]: r.value } });
    }
    curves.push({ regime: 'specialized', points });
    const specialized: AblationResult = { metric, dataFile: e.task.validation, layers: L, baseline: { [metric]: standardBaseline }, cells, status: 'completed' };
    fs.mkdirSync(path.join(dir, 'specialized'), { recursive: true });
    const curveFile = path.join(dir, 'specialized', DROP_CURVE_FILE);
    writeJson(curveFile, specialized);
    emit({ type: 'artifact', kind: 'drop-curve', path: curveFile });
    return finish('completed');
  } catch (err) {
    // A run or curve that could not even start (its model, its data): the job fails with why, and says so in regimes.json.
    const message = (err as Error).message;
    emit({ type: 'error', code: 'engine-error', message });
    return finish('failed', message);
  }
}
