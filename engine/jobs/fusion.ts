/**
 * What a trained fusion attends to, and what it keeps when pruned (AdapterDrop §5; Fig. 4 of
 * Pfeiffer et al.): the average softmax weight of each fused adapter at each fusion layer,
 * over the real tokens of a data file, and the fusion evaluated with only the top-k adapters
 * kept, for k = 1..N, either the same k adapters everywhere (`overall`) or the top k of each
 * layer (`layer`). Speed is measured on the same data, each k in a session of its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FusionWeightsEvent } from '../events';
import type { FusedAdapter, ModelSpec } from '../model/bert';
import type { AdapterSite } from '../model/parameters';
import { Ops } from '../graph/ops';
import { EngineSession, type RunTensor, type SessionOptions } from '../runtime/session';
import { RUN_FILES, writeJson } from '../runs/store';
import { buildBert, makeBatches, prepareEvaluation } from '../tasks';
import { Trainer } from '../train/trainer';
import { loadRun, RunFolderError, type LoadedRun } from './runModel';

export const FUSION_WEIGHTS_FILE = RUN_FILES.fusionWeights;
export const FUSION_PRUNING_FILE = 'fusion-pruning.json';

/**
 * Average fusion weights, as the `fusion-weights` event carries them (and fusion-weights.json
 * holds them): by site `<layer>.<site>`, one weight per adapter of `adapters`, null where
 * that adapter is absent; over `tokens` real (unpadded) tokens of `data`.
 */
export type FusionWeights = Omit<FusionWeightsEvent, 'v' | 'time' | 'type'>;

/** The key of a site in FusionWeights.weights. */
export function siteKey(layer: number, site: AdapterSite): string {
  return `${layer}.${site}`;
}

const BATCH = 32;

/** Each adapter's average fusion weight per site, over the real tokens of `dataFile` (default: the run's training file). */
export async function fusionWeights(runDir: string, dataFile?: string, session: SessionOptions = {}): Promise<FusionWeights> {
  const run = loadFusion(runDir);
  const result = await weightsOf(run, path.resolve(dataFile ?? run.experiment.task.train), session);
  writeJson(path.join(runDir, FUSION_WEIGHTS_FILE), result);
  return result;
}

async function weightsOf(run: LoadedRun, file: string, session: SessionOptions): Promise<FusionWeights> {
  const fusion = run.spec.fusion!;
  const evaluation = prepareEvaluation(run.experiment, run.model.tokenizer, run.labels, file);
  const o = new Ops();
  const bert = buildBert(o, run.spec, run.weights, { trainable: new Set(), fusionWeights: true });
  o.graph.output(bert.logits, 'logits');
  const sites = fusion.layers.flatMap((layer) => fusion.sites.map((site) => ({ layer, site, present: presentAt(fusion.adapters, layer, site) }))).filter((s) => s.present.length > 0);
  const sums = sites.map((s) => new Float64Array(s.present.length));
  let tokens = 0;
  const sessionRun = await EngineSession.create(o.graph.toOnnx(), session);
  try {
    for (const batch of makeBatches(evaluation.inputs, BATCH, 0, run.experiment.task.kind, false)) {
      const shape = [batch.batchSize, batch.sequenceLength];
      const feeds: Record<string, RunTensor> = { input_ids: { data: batch.inputIds, shape }, token_type_ids: { data: batch.tokenTypeIds, shape }, attention_mask: { data: batch.attentionMask, shape } };
      const out = await sessionRun.run(feeds, sites.map((s) => `fusion_weights.${s.layer}.${s.site}`));
      const mask = batch.attentionMask;
      sites.forEach((s, k) => {
        const w = out[`fusion_weights.${s.layer}.${s.site}`]!.data as Float32Array;
        const n = s.present.length;
        for (let t = 0; t < mask.length; t++) if (mask[t] === 1n) for (let j = 0; j < n; j++) sums[k]![j]! += w[t * n + j]!;
      });
      for (const m of mask) if (m === 1n) tokens++;
    }
  } finally {
    await sessionRun.release();
  }
  const names = fusion.adapters.map((a) => a.name);
  return {
    adapters: names,
    data: file,
    tokens,
    weights: Object.fromEntries(sites.map((s, k) => [siteKey(s.layer, s.site), names.map((name) => (s.present.includes(name) ? sums[k]![s.present.indexOf(name)]! / Math.max(1, tokens) : null))])),
  };
}

export type PruneScope = 'overall' | 'layer';

export interface PruneRow {
  readonly k: number;
  /** The adapters kept at each layer. */
  readonly kept: Readonly<Record<number, readonly string[]>>;
  readonly metrics: Readonly<Record<string, number>>;
  /** Seconds for the evaluation's forward passes alone. */
  readonly seconds: number;
}

export interface PruneResult {
  readonly scope: PruneScope;
  readonly weights: FusionWeights;
  readonly dataFile: string;
  readonly metric: string;
  readonly rows: readonly PruneRow[];
}

/**
 * The fusion with the top-k adapters kept, for k = 1..N, evaluated on `dataFile`; the ranking
 * comes from the average weights on the run's training data (as AdapterDrop prunes).
 */
export async function pruneFusion(runDir: string, dataFile: string, scope: PruneScope, session: SessionOptions = {}): Promise<PruneResult> {
  const run = loadFusion(runDir);
  const w = await weightsOf(run, path.resolve(run.experiment.task.train), session);
  writeJson(path.join(runDir, FUSION_WEIGHTS_FILE), w);
  const evaluation = prepareEvaluation(run.experiment, run.model.tokenizer, run.labels, path.resolve(dataFile));
  const rows: PruneRow[] = [];
  for (let k = 1; k <= w.adapters.length; k++) {
    const spec = prunedSpec(run.spec, w, k, scope);
    const trainer = await Trainer.create(spec, run.weights, [], undefined, session);
    try {
      const t = performance.now();
      const metrics = await evaluation.evaluate(trainer);
      rows.push({ k, kept: keptOf(spec), metrics, seconds: (performance.now() - t) / 1000 });
    } finally {
      await trainer.release();
    }
  }
  const result: PruneResult = { scope, weights: w, dataFile: path.resolve(dataFile), metric: run.experiment.task.metric, rows };
  writeJson(path.join(runDir, FUSION_PRUNING_FILE), result);
  return result;
}

/** The spec with only the top-k adapters (by average weight) kept, overall or per layer. */
export function prunedSpec(spec: ModelSpec, w: FusionWeights, k: number, scope: PruneScope): ModelSpec {
  const fusion = spec.fusion;
  if (!fusion) throw new Error('prunedSpec: not a fusion');
  const mean = (name: string, layer?: number): number => {
    const i = w.adapters.indexOf(name);
    const values = Object.entries(w.weights)
      .filter(([key]) => layer === undefined || key.startsWith(`${layer}.`))
      .map(([, weights]) => weights[i])
      .filter((v): v is number => typeof v === 'number');
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : -Infinity;
  };
  const top = (names: readonly string[], layer?: number): Set<string> => new Set([...names].sort((a, b) => mean(b, layer) - mean(a, layer) || names.indexOf(a) - names.indexOf(b)).slice(0, k));
  const overall = top(fusion.adapters.map((a) => a.name));
  const adapters = fusion.adapters.map((a) => ({
    ...a,
    adapter: { ...a.adapter, layers: a.adapter.layers.filter((layer) => (scope === 'overall' ? overall : top(fusion.adapters.filter((b) => b.adapter.layers.includes(layer)).map((b) => b.name), layer)).has(a.name)) },
  }));
  return { ...spec, fusion: { ...fusion, adapters } };
}

function keptOf(spec: ModelSpec): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const layer of spec.fusion!.layers) out[layer] = spec.fusion!.adapters.filter((a) => a.adapter.layers.includes(layer)).map((a) => a.name);
  return out;
}

function presentAt(adapters: readonly FusedAdapter[], layer: number, site: AdapterSite): string[] {
  return adapters.filter((a) => a.adapter.layers.includes(layer) && a.adapter.sites.includes(site)).map((a) => a.name);
}

function loadFusion(runDir: string): LoadedRun {
  if (!fs.existsSync(runDir)) throw new RunFolderError(`${runDir}: no such run folder`);
  const run = loadRun(runDir);
  if (!run.spec.fusion) throw new RunFolderError(`${path.basename(runDir)} is not a fusion run (method ${run.experiment.method})`);
  return run;
}
