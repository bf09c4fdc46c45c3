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
import type { EventSink } from '../events';
import { loadModel } from '../model/load';
import { createRunDir, writeJson } from '../runs/store';
import { DROP_CURVE_FILE, runAblation, type AblationCell, type AblationResult } from './ablate';
import { runTrainJob } from './job';

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
  readonly device?: 'auto' | 'cpu' | 'webgpu' | 'cuda';
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
}

const range = (from: number, to: number): LayerSelection => ({ kind: 'layers', parts: [{ from, to, range: { start: 0, end: 0 }, text: `${from}..${to}` }] });

export async function runDropRegimes(opts: DropRegimesOptions): Promise<DropRegimesResult> {
  const e = opts.experiment;
  if (!e.task.validation) throw new Error('the AdapterDrop regimes are compared on validation data: add task.validation');
  const model = loadModel(e.model);
  const L = model.dims.layers;
  const ns = [...new Set(opts.specialized ?? Array.from({ length: L - 1 }, (_, i) => i + 1))].sort((a, b) => a - b);
  const bad = ns.find((n) => !Number.isInteger(n) || n < 1 || n > L - 1);
  if (bad !== undefined) throw new Error(`specialized n must be between 1 and ${L - 1} (the model has ${L} layers; at least one must keep its adapter), got ${bad}`);
  const dir = createRunDir(opts.runsDir, `${e.name}-drop-regimes`);
  const runs = path.join(dir, 'runs');
  const metric = e.task.metric;

  const train = async (name: string, drop: Experiment['drop']): Promise<{ runDir: string; value: number | undefined; status: string; message?: string }> => {
    const r = await runTrainJob({ experiment: { ...e, name, method: 'adapter', drop }, source: opts.source, runsDir: runs, maxSteps: opts.maxSteps, threads: opts.threads, device: opts.device, emit: opts.emit, signal: opts.signal, model });
    return { runDir: r.runDir, value: r.metrics[metric], status: r.status, ...(r.message ? { message: r.message } : {}) };
  };
  const curveOf = (regime: Regime, a: AblationResult): RegimeCurve => ({ regime, points: [{ n: 0, value: a.baseline[metric]! }, ...a.cells.map((c) => ({ n: c.to + 1, value: c.value }))] });
  const curves: RegimeCurve[] = [];
  const finish = (status: DropRegimesResult['status'], message?: string): DropRegimesResult => {
    const result: DropRegimesResult = { dir, metric, layers: L, curves, status, ...(message ? { message } : {}) };
    writeJson(path.join(dir, REGIMES_FILE), result);
    return result;
  };

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
  writeJson(path.join(dir, 'specialized', DROP_CURVE_FILE), specialized);
  return finish('completed');
}
