/**
 * What a trained fusion attends to, and what it keeps when pruned (AdapterDrop §5; Fig. 4 of
 * Pfeiffer et al.): the average softmax weight of each fused adapter at each fusion layer,
 * over the real tokens of a data file or of one example, and the fusion evaluated with only
 * the top-k adapters kept, for k = 1..N, either the same k adapters everywhere (`overall`) or
 * the top k of each layer (`layer`). Speed is measured on the same data, each k in a session
 * of its own.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FusionWeightsEvent } from '../events';
import type { ModelSpec } from '../model/bert';
import { FusionWeightSums, type AveragedFusionWeights } from '../model/fusionWeights';
import { Ops } from '../graph/ops';
import { loadExperimentData, textTaskOf, type TaskData } from '../data/examples';
import { EngineSession, type RunTensor, type SessionOptions } from '../runtime/session';
import { RUN_FILES, writeJson } from '../runs/store';
import { describe, isLive } from '../runs/catalog';
import { FUSION_FILES, FUSION_RUN_DIRS } from '../checkpoint/fusionFolder';
import { buildBert, makeBatches, prepareEvaluation, taskTokenizer, type IndexedBatch } from '../tasks';
import { Trainer } from '../train/trainer';
import { loadFusionCheckpoint, loadRun, RunFolderError, type LoadedRun } from './runModel';

export { siteKey } from '../model/fusionWeights';

export const FUSION_WEIGHTS_FILE = RUN_FILES.fusionWeights;
export const FUSION_PRUNING_FILE = 'fusion-pruning.json';

/**
 * Average fusion weights, as the `fusion-weights` event carries them (and fusion-weights.json
 * holds them): by site `<layer>.<site>`, one weight per adapter of `adapters`, null where
 * that adapter is absent; over `tokens` real (unpadded) tokens of `data`.
 */
export type FusionWeights = Omit<FusionWeightsEvent, 'v' | 'time' | 'type' | 'step'>;

const BATCH = 32;

/** Each adapter's average fusion weight per site, over the real tokens of `dataFile` (default: the run's training file). */
export async function fusionWeights(runDir: string, dataFile?: string, session: SessionOptions = {}): Promise<FusionWeights> {
  const run = loadFusion(runDir);
  const result = await weightsOf(run, path.resolve(dataFile ?? run.experiment.task.train), session);
  writeJson(path.join(runDir, FUSION_WEIGHTS_FILE), result);
  return result;
}

async function weightsOf(run: LoadedRun, file: string, session: SessionOptions): Promise<FusionWeights> {
  const evaluation = prepareEvaluation(run.experiment, run.model.tokenizer, run.labels, file);
  const average = await averageOver(run, makeBatches(evaluation.inputs, BATCH, 0, run.experiment.task.kind, false), session);
  return { ...average, data: file };
}

/** The fusion's weights averaged over the real tokens of `batches`, in an inference session of the run's model. */
async function averageOver(run: LoadedRun, batches: Iterable<IndexedBatch>, session: SessionOptions): Promise<AveragedFusionWeights> {
  const sums = new FusionWeightSums(run.spec.fusion!);
  const o = new Ops();
  const bert = buildBert(o, run.spec, run.weights, { trainable: new Set(), fusionWeights: true });
  o.graph.output(bert.logits, 'logits');
  const sessionRun = await EngineSession.create(o.graph.toOnnx(), session);
  try {
    for (const batch of batches) {
      const shape = [batch.batchSize, batch.sequenceLength];
      const feeds: Record<string, RunTensor> = { input_ids: { data: batch.inputIds, shape }, token_type_ids: { data: batch.tokenTypeIds, shape }, attention_mask: { data: batch.attentionMask, shape } };
      sums.add(await sessionRun.run(feeds, sums.outputs), batch.attentionMask);
    }
  } finally {
    await sessionRun.release();
  }
  return sums.average();
}

/** The text of one example, as a task's rows hold it: one text, or a pair (a span task: question and context). */
export interface ExampleText {
  readonly text: string;
  readonly pair?: string;
}

/**
 * A fusion's weights for one example: each adapter's softmax weight per site, averaged over
 * the example's real tokens ([CLS] and [SEP] included), as the data-set average is over a
 * file's, so that the two read alike. (Why the mean and not the [CLS] token: docs/engine.md,
 * *Weights and pruning*.)
 */
export interface ExampleFusionWeights extends AveragedFusionWeights, ExampleText {
  /** The tokens the model read, in order: [CLS], the word pieces, [SEP] (after truncation to task.max_length). */
  readonly pieces: readonly string[];
  /** Whether task.max_length cut the example short. */
  readonly truncated: boolean;
  /** Present while the run has not finished (it trains, or stopped): the step of the checkpoint the weights come from. */
  readonly checkpointStep?: number;
}

/** Why one example's weights cannot be computed from what was given (an empty text). */
export class ExampleInputError extends Error {}

/**
 * The fusion's weights for one example (nothing is written to the run folder): from its saved
 * fusion, or while it has not finished, from its last checkpoint.
 */
export async function exampleFusionWeights(runDir: string, example: ExampleText, session: SessionOptions = {}): Promise<ExampleFusionWeights> {
  if (!example.text.trim()) throw new ExampleInputError('the text is empty: give the text whose fusion weights to show');
  if (example.pair !== undefined && !example.pair.trim()) throw new ExampleInputError('the second text (--pair) is empty: give it, or leave --pair out');
  const run = loadFusionAsItIs(runDir);
  const tokenizer = taskTokenizer(run.experiment, run.model.tokenizer);
  const maxLength = run.experiment.task.maxLength;
  const enc = tokenizer.encode(example.text, example.pair, { maxLength });
  const whole = tokenizer.encode(example.text, example.pair, { maxLength: Number.POSITIVE_INFINITY });
  const n = enc.inputIds.length;
  const batch: IndexedBatch = {
    indices: [0],
    inputIds: BigInt64Array.from(enc.inputIds, BigInt),
    tokenTypeIds: BigInt64Array.from(enc.tokenTypeIds, BigInt),
    attentionMask: new BigInt64Array(n).fill(1n),
    batchSize: 1,
    sequenceLength: n,
    tokens: n,
  };
  const average = await averageOver(run, [batch], session);
  return { ...average, text: example.text, ...(example.pair !== undefined ? { pair: example.pair } : {}), pieces: enc.tokens, truncated: whole.inputIds.length > n, ...(run.checkpointStep !== undefined ? { checkpointStep: run.checkpointStep } : {}) };
}

/** A row of a run's data, as `fusion examples` lists it for picking. */
export interface DataRow {
  /** 0-based, among the file's rows. */
  readonly index: number;
  readonly text: string;
  readonly pair?: string;
  /** The row's label as the file writes it (a class name, or a regression target). */
  readonly label: string;
}

export interface RunDataRows {
  /** The task's text columns (one, or two for pairs). */
  readonly columns: readonly string[];
  readonly train: { readonly file: string; readonly rows: readonly DataRow[] };
  readonly validation?: { readonly file: string; readonly rows: readonly DataRow[] };
}

/**
 * The first `limit` rows of a fusion run's training and validation files, to pick an example
 * from. Classification and regression tasks only (their rows are texts and a label).
 */
export function fusionExamples(runDir: string, limit = 100): RunDataRows {
  const run = readFusionConfig(runDir);
  const kind = run.experiment.task.kind;
  if (kind !== 'classification' && kind !== 'regression') throw new ExampleInputError(`rows can be picked from classification and regression data; this run's task is ${kind}: type the example instead`);
  const task = textTaskOf(run.experiment);
  const data = loadExperimentData(run.experiment);
  const rows = (d: TaskData): { file: string; rows: DataRow[] } => ({
    file: d.file,
    rows: d.examples.slice(0, limit).map((x) => ({ index: x.index, text: x.textA, ...(x.textB !== undefined ? { pair: x.textB } : {}), label: d.labelMap ? d.labelMap.labelOf(x.label) : String(x.label) })),
  });
  return { columns: task.text, train: rows(data.train), ...(data.validation ? { validation: rows(data.validation) } : {}) };
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

/** A fusion run, loaded; refused by name when the folder is missing or holds another method's run. */
function loadFusion(runDir: string): LoadedRun {
  readFusionConfig(runDir);
  return loadRun(runDir);
}

/**
 * A fusion run as it is now: while it has a checkpoint (it is training, or stopped before it
 * finished), from that, which is never older than a saved fusion (a stop saves both at one
 * step; a resumed run checkpoints past its earlier stop's fusion); else its saved fusion.
 */
function loadFusionAsItIs(runDir: string): LoadedRun & { readonly checkpointStep?: number } {
  readFusionConfig(runDir);
  const checkpoint = loadFusionCheckpoint(runDir);
  if (checkpoint) return checkpoint;
  if (fs.existsSync(path.join(runDir, FUSION_RUN_DIRS.fusion, FUSION_FILES.config))) return loadRun(runDir);
  const why = isLive(describe(runDir)) ? 'ask again once training has written its first checkpoint' : 'it stopped before its first checkpoint: train it again';
  throw new RunFolderError(`${path.basename(runDir)} has no saved fusion and no checkpoint yet: ${why}`);
}

/** The run's config.json, when the folder exists and is a fusion run's (checked before any weights are read). */
function readFusionConfig(runDir: string): { readonly experiment: LoadedRun['experiment'] } {
  if (!fs.existsSync(runDir)) throw new RunFolderError(`${runDir}: no such run folder`);
  let config: { experiment: LoadedRun['experiment']; plan?: { spec?: ModelSpec } };
  try {
    config = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as typeof config;
  } catch (e) {
    throw new RunFolderError(`${runDir} is not a run folder: cannot read ${RUN_FILES.config} (${(e as Error).message})`);
  }
  if (!config.plan?.spec?.fusion) throw new RunFolderError(`${path.basename(runDir)} is not a fusion run (method ${config.experiment?.method ?? 'unknown'})`);
  return config;
}
