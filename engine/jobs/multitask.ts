/**
 * Multi-task inference (AdapterDrop, Rücklé et al.): several trained adapters over one base
 * model in one pass. The lowest layers that none of the runs adapts (their AdapterDrop
 * range) are computed once per batch and shared; above them each run's adapters and head
 * run from that shared state. Runs with the same shapes share one graph, their trained
 * weights fed as inputs, so the frozen base weights are held once per group, not per run.
 */
import { DataError } from '../data/errors';
import { readTable } from '../data/table';
import { Ops } from '../graph/ops';
import { buildBertSegment } from '../tasks';
import { EngineSession, type RunTensor, type SessionOptions } from '../runtime/session';
import { type EncodedExample } from '../tasks/batches';
import { makeBatches } from '../tasks';
import { frozenPrefixLayers } from '../train/plan';
import { loadRun, RunFolderError, type LoadedRun } from './runModel';
import { predictAll, prepareEvaluation, taskTokenizer, type Evaluation, type LogitsSource } from '../tasks/index';
import { Trainer } from '../train/trainer';

export interface TaskPredictions {
  readonly run: string;
  /** Per example, in file order: the label (classification) or value (regression). */
  readonly predictions: readonly (string | number)[];
  readonly logits: readonly (readonly number[])[];
}

/** A task's metrics on the file, when it holds that task's labels. */
export interface TaskEvaluation {
  readonly metric: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly examples: number;
  readonly seconds: number;
}

export type ScoredTask = TaskPredictions & {
  /** Present when the file has the task's label column and every label is one the task knows. */
  readonly evaluation?: TaskEvaluation;
  /** Why the task was not scored (no label column, or labels it does not know). */
  readonly unscored?: string;
};

/** The shared pass against one full pass per task over the same examples. */
export interface SpeedComparison {
  readonly sharedSeconds: number;
  readonly separateSeconds: number;
  /** separateSeconds / sharedSeconds. */
  readonly speedup: number;
}

export interface MultiTaskResult {
  readonly tasks: readonly ScoredTask[];
  /** The shared prefix: embeddings and layers 0..sharedLayers−1. */
  readonly sharedLayers: number;
  readonly examples: number;
  /** The shared pass alone (not the scoring). */
  readonly seconds: number;
  /** With `compare`: the same predictions made one full pass per task, timed. */
  readonly comparison?: SpeedComparison;
}

export interface MultiTaskOptions extends SessionOptions {
  /** Also time one full pass per task (AdapterDrop's comparison). */
  readonly compare?: boolean;
}

export async function multiTaskPredict(runDirs: readonly string[], dataFile: string, options: MultiTaskOptions = {}): Promise<MultiTaskResult> {
  const { compare, ...session } = options;
  const runs = runDirs.map((dir) => loadRun(dir));
  const examples = encodeFor(runs, dataFile);
  const t0 = performance.now();
  const shared = sharedPrefix(runs);
  const logits = await sharedLogits(runs, shared, examples, session);
  const seconds = (performance.now() - t0) / 1000;
  const columns = readTable(dataFile).columns;
  const tasks: ScoredTask[] = [];
  for (const [t, r] of runs.entries()) tasks.push({ ...decode(r, logits[t]!), ...(await scoreTask(r, logits[t]!, dataFile, columns)) });
  let comparison: SpeedComparison | undefined;
  if (compare) {
    const separate = await separatePredict(runDirs, dataFile, session);
    comparison = { sharedSeconds: seconds, separateSeconds: separate.seconds, speedup: separate.seconds / seconds };
  }
  return { tasks, sharedLayers: shared, examples: examples.length, seconds, ...(comparison ? { comparison } : {}) };
}

/**
 * A task's metrics from the logits of the shared pass: the same evaluation `evaluate` runs
 * (the run's label map and metric), fed the logits already computed.
 */
async function scoreTask(run: LoadedRun, logits: readonly (readonly number[])[], dataFile: string, columns: readonly string[]): Promise<Pick<ScoredTask, 'evaluation' | 'unscored'>> {
  const label = run.experiment.task.label;
  if (label === undefined || !columns.includes(label)) return { unscored: `the file has no "${label ?? 'label'}" column` };
  const t = performance.now();
  let evaluation: Evaluation;
  try {
    evaluation = prepareEvaluation(run.experiment, run.model.tokenizer, run.labels, dataFile);
  } catch (e) {
    if (e instanceof DataError) return { unscored: e.message };
    throw e;
  }
  // The evaluation's examples are the file's rows in order, as the shared pass's are.
  const computed: LogitsSource = {
    logits: async (batch) => {
      const width = logits[0]?.length ?? 0;
      const data = new Float32Array(batch.batchSize * width);
      batch.indices.forEach((index, row) => data.set(logits[index]!, row * width));
      return { data, shape: [batch.batchSize, width] };
    },
  };
  const metrics = await evaluation.evaluate(computed);
  return { evaluation: { metric: run.experiment.task.metric, metrics, examples: evaluation.inputs.length, seconds: (performance.now() - t) / 1000 } };
}

/** What a task brings: its model shape, its trainable names and its weights (base + trained). */
export type TaskModel = Pick<LoadedRun, 'runDir' | 'spec' | 'trainable' | 'weights'>;

/** The layers no task trains anything in: the embeddings and layers 0..n−1. */
export function sharedPrefix(tasks: readonly TaskModel[]): number {
  return Math.min(
    ...tasks.map((r) => {
      const n = frozenPrefixLayers(r.trainable, r.spec.dims.layers);
      if (n === undefined) throw new RunFolderError(`${r.runDir} trains the embeddings: it shares no layer with the other runs`);
      return n;
    }),
  );
}

/** Every task's logits per example: the prefix once per batch, then each task above it. */
export async function sharedLogits(tasks: readonly TaskModel[], shared: number, examples: readonly EncodedExample[], options: SessionOptions = {}): Promise<number[][][]> {
  const first = tasks[0]!;
  const prefix = await segmentSession(first, new Set(), undefined, shared, options);
  // One suffix graph per distinct model shape and trainable set.
  const groups = new Map<string, EngineSession>();
  const sessionOf = new Map<TaskModel, EngineSession>();
  const logits = tasks.map(() => new Array<number[]>(examples.length));
  try {
    for (const r of tasks) {
      const key = JSON.stringify([r.spec, r.trainable]);
      let s = groups.get(key);
      if (!s) {
        s = await segmentSession(r, new Set(r.trainable), shared, undefined, options);
        groups.set(key, s);
      }
      sessionOf.set(r, s);
    }
    const d = first.spec.dims.hiddenSize;
    for (const batch of makeBatches(examples, 32, 0, 'classification', false)) {
      const shape = [batch.batchSize, batch.sequenceLength];
      const mask: RunTensor = { data: batch.attentionMask, shape };
      const hidden = (await prefix.run({ input_ids: { data: batch.inputIds, shape }, token_type_ids: { data: batch.tokenTypeIds, shape }, attention_mask: mask }, ['out'])).out!.data as Float32Array;
      for (const [t, r] of tasks.entries()) {
        const feeds: Record<string, RunTensor> = { hidden_in: { data: hidden, shape: [batch.batchSize * batch.sequenceLength, d] }, attention_mask: mask };
        for (const name of r.trainable) {
          const w = r.weights.get(name)!;
          feeds[name] = { data: w.data, shape: w.shape };
        }
        const out = (await sessionOf.get(r)!.run(feeds, ['out'])).out!;
        const width = out.shape[out.shape.length - 1]!;
        const data = out.data as Float32Array;
        batch.indices.forEach((index, row) => (logits[t]![index] = Array.from(data.subarray(row * width, (row + 1) * width))));
      }
    }
  } finally {
    await prefix.release();
    for (const s of groups.values()) await s.release();
  }
  return logits;
}

/** The same predictions with one full pass per run (what multi-task inference is compared with). */
export async function separatePredict(runDirs: readonly string[], dataFile: string, options: SessionOptions = {}): Promise<{ tasks: TaskPredictions[]; seconds: number }> {
  const runs = runDirs.map((dir) => loadRun(dir));
  const examples = encodeFor(runs, dataFile);
  const t0 = performance.now();
  const tasks: TaskPredictions[] = [];
  for (const r of runs) {
    const trainer = await Trainer.create(r.spec, r.weights, [], undefined, options);
    try {
      tasks.push(decode(r, (await predictAll(trainer, examples, r.experiment)).logits));
    } finally {
      await trainer.release();
    }
  }
  return { tasks, seconds: (performance.now() - t0) / 1000 };
}

/** Reads and tokenizes the file once, as every run would: they must agree on model, columns and length. */
function encodeFor(runs: readonly LoadedRun[], dataFile: string): EncodedExample[] {
  if (runs.length === 0) throw new RunFolderError('multi-task inference needs at least one run');
  const first = runs[0]!;
  for (const r of runs) {
    const e = r.experiment;
    if (e.task.kind === 'span') throw new RunFolderError(`${r.runDir} is a span (question answering) run; multi-task inference reads text tasks`);
    if (e.model !== first.experiment.model) throw new RunFolderError(`${r.runDir} uses the base model ${e.model}, not ${first.experiment.model}: multi-task inference needs one base model`);
    if (JSON.stringify(e.task.text) !== JSON.stringify(first.experiment.task.text) || e.task.maxLength !== first.experiment.task.maxLength) {
      throw new RunFolderError(`${r.runDir} reads columns ${e.task.text.join(', ')} at max_length ${e.task.maxLength}; the first run reads ${first.experiment.task.text.join(', ')} at ${first.experiment.task.maxLength}: the runs must read the input the same way`);
    }
    const behaviour = taskTokenizer(e, r.model.tokenizer).behaviour;
    const firstBehaviour = taskTokenizer(first.experiment, first.model.tokenizer).behaviour;
    if (behaviour !== firstBehaviour) {
      throw new RunFolderError(`${r.runDir} tokenizes with the ${behaviour} tokenizer's behaviour, the first run with the ${firstBehaviour}: the runs must read the input the same way`);
    }
  }
  const e = first.experiment;
  const table = readTable(dataFile, { columns: [...e.task.text] });
  const tokenizer = taskTokenizer(e, first.model.tokenizer);
  return table.rows.map((row, i) => {
    const enc = tokenizer.encode(String(row.cells[0] ?? ''), e.task.text.length > 1 ? String(row.cells[1] ?? '') : undefined, { maxLength: e.task.maxLength });
    return { index: i, inputIds: enc.inputIds, tokenTypeIds: enc.tokenTypeIds, label: 0 };
  });
}

async function segmentSession(run: TaskModel, trainable: ReadonlySet<string>, from: number | undefined, to: number | undefined, options: SessionOptions): Promise<EngineSession> {
  const o = new Ops();
  const s = buildBertSegment(o, run.spec, run.weights, { trainable, from, to });
  o.graph.output(s.logits ?? s.hidden, 'out');
  return EngineSession.create(o.graph.toOnnx(), { ...options, spinning: false });
}

function decode(run: LoadedRun, logits: readonly (readonly number[])[]): TaskPredictions {
  const regression = run.experiment.task.kind === 'regression';
  return {
    run: run.runDir,
    logits,
    predictions: logits.map((l) => (regression ? l[0]! : (run.labels?.labels[l.indexOf(Math.max(...l))] ?? l.indexOf(Math.max(...l))))),
  };
}
