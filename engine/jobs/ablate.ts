/**
 * Ablation of a trained adapter (Houlsby et al., Fig. 6): remove the adapters of every
 * contiguous span of layers i..j, and of each single site, without retraining, and evaluate.
 * No graph is built per cell: the adapters' gates are inputs of per-layer graphs, and the
 * layer-by-layer model reuses the states below layer i across the cells of row i (and the
 * state left by cell (i, j−1) for cell (i, j)), see layerwise.ts.
 */
import * as path from 'node:path';
import { layersOf } from '../config/layers';
import { stamp, type EventPayload, type EventSink } from '../events';
import { withRunLock } from '../runs/lock';
import { writeJson } from '../runs/store';
import { loadRun, type LoadedRun } from './runModel';
import { prepareEvaluation } from '../tasks/index';
import { LayerwiseModel } from './layerwise';

export interface AblationCell {
  readonly from: number;
  readonly to: number;
  readonly site: 'both' | 'attention' | 'ffn';
  readonly value: number;
  readonly metrics: Readonly<Record<string, number>>;
}

export interface AblationResult {
  readonly metric: string;
  readonly dataFile: string;
  readonly layers: number;
  /** With every adapter in place. */
  readonly baseline: Readonly<Record<string, number>>;
  readonly cells: readonly AblationCell[];
  readonly status: 'completed' | 'cancelled';
}

export const ABLATION_FILE = 'ablation.json';
/** The AdapterDrop curve: cell n removes the adapters of layers 0..n-1. */
export const DROP_CURVE_FILE = 'drop-curve.json';

export interface AblationOptions {
  readonly runDir: string;
  /** Defaults to the run's validation file. */
  readonly dataFile?: string;
  readonly threads?: number;
  readonly provider?: 'cpu' | 'webgpu' | 'cuda';
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
  /** `spans` (the heatmap, default) or `drop-curve` (n lowest layers removed, n = 1..L). */
  readonly mode?: 'spans' | 'drop-curve';
}

export async function runAblation(opts: AblationOptions): Promise<AblationResult> {
  const run = loadRun(opts.runDir);
  // One writer per run folder: no second ablation, and no training still writing the run, at the same time.
  return withRunLock(opts.runDir, opts.mode === 'drop-curve' ? 'drop-curve' : 'ablate', () => ablateLocked(opts, run));
}

async function ablateLocked(opts: AblationOptions, run: LoadedRun): Promise<AblationResult> {
  const started = Date.now();
  const emit = (p: EventPayload): void => opts.emit(stamp(p));
  const e = run.experiment;
  const L = run.spec.dims.layers;
  const dataFile = opts.dataFile ?? e.task.validation;
  if (!dataFile) throw new Error('the run has no validation file: give one with --data');
  const evaluation = prepareEvaluation(e, run.model.tokenizer, run.labels, path.resolve(dataFile));
  const curve = opts.mode === 'drop-curve';
  const cells = curve ? Array.from({ length: L }, (_, n): Cell => ({ from: 0, to: n, site: 'both' })) : cellsToRun(e.ablation.spans, run.spec.adapters?.sites ?? [], L);
  const runName = path.basename(opts.runDir);
  emit({ type: 'start', job: curve ? 'drop-curve' : 'ablate', run: runName, runDir: opts.runDir, metric: e.task.metric, cells: cells.length, examples: evaluation.inputs.length });

  const done: AblationCell[] = [];
  let baseline: Record<string, number> = {};
  // After the start the job's stream is this function's to close: a failure is an error and a failed end, then thrown on.
  const failed = (code: 'engine-error' | 'save-failed', err: unknown): never => {
    const message = err instanceof Error ? err.message : String(err);
    emit({ type: 'error', code, message });
    emit({ type: 'end', status: 'failed', run: runName, seconds: (Date.now() - started) / 1000, steps: done.length, metrics: baseline, message });
    throw err;
  };
  let status: AblationResult['status'] = 'completed';
  try {
    const model = await LayerwiseModel.create(run.spec, run.weights, { threads: opts.threads, provider: opts.provider });
    try {
      baseline = await evaluation.evaluate(model, gatesFor(L, undefined));
      for (const [index, cell] of cells.entries()) {
        if (opts.signal?.aborted) {
          status = 'cancelled';
          break;
        }
        const t = performance.now();
        const metrics = await evaluation.evaluate(model, gatesFor(L, cell));
        const result = { ...cell, value: metrics[e.task.metric]!, metrics };
        done.push(result);
        emit({ type: 'ablation', index, total: cells.length, from: cell.from, to: cell.to, site: cell.site, metric: e.task.metric, value: result.value, metrics, seconds: (performance.now() - t) / 1000 });
      }
    } finally {
      emit({ type: 'log', level: 'info', message: `reusing lower-layer states ran ${model.layersRun} encoder layers instead of ${model.batches * L}` });
      await model.release();
    }
  } catch (err) {
    return failed('engine-error', err);
  }
  const result: AblationResult = { metric: e.task.metric, dataFile: path.resolve(dataFile), layers: L, baseline, cells: done, status };
  const file = path.join(opts.runDir, curve ? DROP_CURVE_FILE : ABLATION_FILE);
  try {
    writeJson(file, result);
  } catch (err) {
    return failed('save-failed', err);
  }
  // A curve is a drop curve wherever it comes from: the same kind as drop-regimes' specialized curve.
  emit({ type: 'artifact', kind: curve ? 'drop-curve' : 'ablation', path: file });
  emit({ type: 'end', status, run: runName, seconds: (Date.now() - started) / 1000, steps: done.length, metrics: baseline });
  return result;
}

type Cell = Pick<AblationCell, 'from' | 'to' | 'site'>;

/** Every span i..j (or the listed ranges) with both sites removed, then each single site of each layer. */
function cellsToRun(spans: 'contiguous' | readonly { from: number; to: number }[], sites: readonly ('attention' | 'ffn')[], layers: number): Cell[] {
  const cells: Cell[] = [];
  if (spans === 'contiguous') {
    for (let i = 0; i < layers; i++) for (let j = i; j < layers; j++) cells.push({ from: i, to: j, site: 'both' });
  } else {
    for (const s of spans) cells.push({ from: s.from, to: Math.min(s.to, layers - 1), site: 'both' });
  }
  if (sites.length > 1) for (let l = 0; l < layers; l++) for (const site of sites) cells.push({ from: l, to: l, site });
  return cells;
}

/** Gates [layer × (attention, ffn)]: 0 removes that adapter's branch. */
function gatesFor(layers: number, cell: Cell | undefined): Float32Array {
  const gates = new Float32Array(layers * 2).fill(1);
  if (!cell) return gates;
  for (const l of layersOf({ kind: 'layers', parts: [{ from: cell.from, to: cell.to, range: { start: 0, end: 0 }, text: '' }] }, layers)) {
    if (cell.site !== 'ffn') gates[l * 2] = 0;
    if (cell.site !== 'attention') gates[l * 2 + 1] = 0;
  }
  return gates;
}
