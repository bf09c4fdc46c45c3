/**
 * A training job end to end: validate the experiment, load the model and data, train with
 * events, evaluate each epoch, and write the run folder. The CLI's `train` and the
 * built-in demo both run this. The trainer's sessions run in a process of their own
 * (trainerProcess.ts), so `signal` stops the run at once, even in the middle of a step.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BUILTIN_PREFIX } from '../model/dims';
import * as ort from 'onnxruntime-node';
import { openSafetensors } from '../checkpoint/safetensors';
import type { Experiment } from '../config/experiment';
import type { LabelMap } from '../data/examples';
import { stamp, type ErrorCode, type EventPayload, type EventSink } from '../events';
import { loadModel, modelSourceOf, type LoadedModel, type ModelSource } from '../checkpoint/baseModel';
import { writeHuggingFaceBert } from '../checkpoint/huggingface';
import { parameterShapes } from '../model/bert';
import { resolveProvider } from '../runtime/provider';
import { initAdapters, initFusion } from '../model/init';
import { fusedInputOf } from '../model/fusion';
import { initHead } from '../tasks';
import { adapterNameFrom } from '../checkpoint/hubNames';
import { countParameters, type ParameterCounts } from '../model/parameters';
import { acquireRunLock } from '../runs/lock';
import { appendJsonLine, createRunDir, readJsonLines, RUN_FILES, writeJson, writeAtomic, type RunStatusRecord } from '../runs/store';
import type { FloatTensor } from '../tensor';
import { adapterSettingsOf, MLM_HEAD_PARTS, modelNameOf, writeAdapterFolder } from '../checkpoint/adapterFolder';
import { copyFusedAdapters, loadFusedAdapters, readFusedCopies, writeFusionRun, type LoadedFusedAdapter } from '../checkpoint/fusionFolder';
import { makeBatches } from '../tasks';
import { frozenPrefixLayers, planRun, withCreatedHead, type RunPlan } from '../train/plan';
import { PrefixCache, PrefixCachePool, type PrefixCacheStats } from '../train/prefixCache';
import { checkpointStepIn, RunFolderError } from './runModel';
import { fusionWeights } from './fusion';
import { prepareTask, taskTokenizer, type TaskInputs } from '../tasks/index';
import { CancelledError, untilAborted } from '../train/cancellation';
import { robustDropGates } from '../train/robustDrop';
import { NonFiniteLossError } from '../train/trainer';
import { TrainerProcess } from '../train/trainerProcess';
import type { Device } from '../config/schema';

export { ENGINE_VERSION } from '../version';
import { ENGINE_VERSION } from '../version';
import { modelVocabularyChecksum } from '../config/projectFiles';

export interface TrainJobOptions {
  readonly experiment: Experiment;
  /** The experiment file's text, stored with the run. */
  readonly source: string;
  readonly runsDir: string;
  readonly maxSteps?: number;
  /**
   * Stop after this optimizer step, as a cancel would, without changing the schedule (unlike
   * maxSteps): the run keeps its checkpoint and `resume` continues it to the planned end.
   */
  readonly stopAfter?: number;
  readonly threads?: number;
  readonly emit: EventSink;
  /** Cancels the run: a step or evaluation in flight is abandoned, the last checkpoint kept. */
  readonly signal?: AbortSignal;
  /** Already loaded model (the demo trains two methods on one model): what `loadModel(model.ref)` gives, which the trainer's process loads again. */
  readonly model?: LoadedModel;
  /** Save parameters and optimizer state every this many steps (and at each epoch's end), for resume. */
  readonly checkpointEvery?: number;
  /** Continue a run from its last checkpoint instead of starting one (see resumeTrainJob), training the parameters it recorded. */
  readonly resume?: { readonly runDir: string; readonly totalSteps: number; readonly trainable?: readonly string[] };
  /** Overrides the experiment's `runtime.device` (the CLI's --device). */
  readonly device?: Device;
  /** Frozen-prefix caches shared with other runs of this process (a sweep's trials). */
  readonly prefixCaches?: PrefixCachePool;
  /** Where `fusion.adapters` finds experiments by name; default `runsDir` (a sweep's trial: the runs folder the sweep is in). */
  readonly fusionRunsDir?: string;
}

export const CHECKPOINT_FILE = RUN_FILES.checkpoint;
const DEFAULT_CHECKPOINT_EVERY = 100;

export interface TrainJobResult {
  readonly runDir: string;
  readonly status: 'completed' | 'failed' | 'cancelled';
  readonly metrics: Readonly<Record<string, number>>;
  readonly parameters: ParameterCounts;
  readonly steps: number;
  readonly message?: string;
}

export async function runTrainJob(opts: TrainJobOptions): Promise<TrainJobResult> {
  const e = opts.experiment;
  const started = Date.now();
  const emit = (p: EventPayload): void => opts.emit(stamp(p));
  // Setup, before the run folder exists: a failure here throws (the command reports it).
  const model = opts.model ?? loadModel(modelSourceOf(e));
  const task = prepareTask(e, model.tokenizer);
  // A fusion reads the adapters it fuses: from where the file names them, or, resuming, from the run's copies.
  const fused = e.method === 'fusion' && e.fusion ? (opts.resume ? readFusedCopies(opts.resume.runDir, fusedOrderOf(opts.resume.runDir), model.dims) : loadFusedAdapters(e.fusion, opts.fusionRunsDir ?? opts.runsDir, model.dims)) : [];
  const planned = planRun(e, model.dims, task.numLabels, model.layerNormEps, fused.map((a) => a.fused));
  const weights = new Map(model.weights);
  for (const a of fused) for (const [name, t] of a.weights) weights.set(name, t);
  initAdapters(weights, planned.spec, e.adapter.initStd, e.training.seed);
  initFusion(weights, planned.spec, e.fusion?.valueInitialized ?? true, e.training.seed);
  const planOfThisVersion = withCreatedHead(planned, initHead(weights, planned.spec, e.training.seed));
  // A resumed run trains what it started training, even where this version would train more
  // (a fusion's key biases, which earlier versions left untrained): checkpoint and recipe stay one.
  const recorded = opts.resume?.trainable;
  const shapes = recorded ? parameterShapes(planOfThisVersion.spec) : undefined;
  const plan = recorded && recorded.every((n) => shapes!.has(n)) ? { ...planOfThisVersion, trainable: recorded } : planOfThisVersion;
  const parameters = countParameters(model.dims, plan.counting);

  const train = task.train;
  const stepsPerEpoch = Math.ceil(train.length / e.training.batchSize);
  const plannedSteps = stepsPerEpoch * e.training.epochs;
  const totalSteps = opts.resume?.totalSteps ?? Math.max(1, Math.min(plannedSteps, opts.maxSteps ?? Infinity));
  const threads = opts.threads ?? e.runtime.threads ?? os.cpus().length;
  // Refused before a run folder exists: an unusable device is a setup problem, not a failed run.
  const { provider, note: providerNote } = await resolveProvider(opts.device ?? e.runtime.device);

  const runDir = opts.resume ? opts.resume.runDir : createRunDir(opts.runsDir, e.name);
  const lock = acquireRunLock(runDir, opts.resume ? 'resume' : 'train');
  try {
    return await trainInFolder({ opts, emit, started, runDir, model, task, plan, parameters, weights, totalSteps, stepsPerEpoch, threads, provider, providerNote, fused });
  } finally {
    lock.release();
  }
}

interface RunSetup {
  readonly opts: TrainJobOptions;
  readonly emit: (p: EventPayload) => void;
  readonly started: number;
  readonly runDir: string;
  readonly model: LoadedModel;
  readonly task: TaskInputs;
  readonly plan: RunPlan;
  readonly parameters: ParameterCounts;
  /** The model's weights with this run's new adapters and head. */
  readonly weights: Map<string, FloatTensor>;
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  readonly threads: number;
  readonly provider: 'cpu' | 'webgpu' | 'cuda';
  readonly providerNote: string | undefined;
  /** `method: fusion`: the adapters it fuses, in order. */
  readonly fused: readonly LoadedFusedAdapter[];
}

/** The run, once its folder exists: whatever stops it, its status and the end event say how. */
async function trainInFolder(s: RunSetup): Promise<TrainJobResult> {
  const { opts, emit, started, runDir, model, task, plan, parameters, weights, totalSteps, threads, provider } = s;
  const e = opts.experiment;
  const labelMap = task.labelMap;
  const train = task.train;
  const run = path.basename(runDir);
  const status = (st: RunStatusRecord['status'], step: number, message?: string): void =>
    writeJson(path.join(runDir, RUN_FILES.status), { status: st, started: new Date(started).toISOString(), ...(st === 'running' ? {} : { ended: new Date().toISOString() }), step, pid: process.pid, ...(message ? { message } : {}) } satisfies RunStatusRecord);
  const startEvent: EventPayload = { type: 'start', job: 'train', run, runDir, experiment: e.name, method: e.method, model: model.ref, parameters: { trainable: parameters.trainable, base: parameters.base, percentOfBase: parameters.percentOfBase }, steps: totalSteps, epochs: e.training.epochs, examples: train.length, provider, threads };
  let checkpointStep: number | undefined;
  try {
    if (!opts.resume) {
      writeAtomic(path.join(runDir, RUN_FILES.experiment), opts.source);
      writeJson(path.join(runDir, RUN_FILES.config), { experiment: e, plan: { trainable: plan.trainable, spec: plan.spec }, parameters, totalSteps, stepsPerEpoch: s.stepsPerEpoch, ...(s.fused.length ? { fused: s.fused.map((a) => ({ name: a.fused.name, source: a.folder.dir })) } : {}) });
      copyFusedAdapters(runDir, s.fused);
      writeJson(path.join(runDir, RUN_FILES.environment), { engine: ENGINE_VERSION, onnxruntime: ort.env.versions.common, node: process.version, platform: `${process.platform}-${process.arch}`, provider, threads, model: model.ref, pretrained: model.pretrained });
      if (labelMap) writeJson(path.join(runDir, RUN_FILES.labels), labelMap.toJSON());
    }
    checkpointStep = opts.resume ? checkpointStepOf(runDir) : undefined;
    if (opts.resume) dropRecordsAfter(path.join(runDir, RUN_FILES.metrics), checkpointStep ?? 0);
    status('running', checkpointStep ?? 0);
  } catch (err) {
    // The run folder exists (a new one, or the one resumed): it says why the run could not start.
    const message = `could not set up the run: ${(err as Error).message}`;
    try {
      status('failed', checkpointStep ?? 0, message);
    } catch {
      // The folder itself cannot be written: the events still say why.
    }
    emit(startEvent);
    emit({ type: 'error', code: 'setup-failed', message });
    emit({ type: 'end', status: 'failed', run, seconds: (Date.now() - started) / 1000, steps: checkpointStep ?? 0, metrics: {}, message });
    return { runDir, status: 'failed', metrics: {}, parameters, steps: checkpointStep ?? 0, message };
  }

  emit(startEvent);
  if (s.providerNote) emit({ type: 'log', level: 'info', message: s.providerNote });
  if (e.sweep) emit({ type: 'log', level: 'warning', message: 'this file has a sweep: train runs its base settings once (the grid and seeds are not expanded)' });
  if (!model.pretrained && model.ref.startsWith(BUILTIN_PREFIX)) emit({ type: 'log', level: 'info', message: `${model.ref} is generated from a fixed seed and is not pretrained: its numbers show the engine working, not what a pretrained BERT reaches.` });
  for (const a of s.fused) {
    if (a.ignored.length) emit({ type: 'log', level: 'warning', message: `adapter ${a.fused.name}: its run also trained ${a.ignored.length} base-model weights (layer norms); the fusion uses the base model's, as AdapterHub does` });
  }
  // Fusion weights the run does not train (a run resumed from before the key biases were trained) are saved as they started.
  const untrainedFusion = new Map([...weights].filter(([name]) => name.includes('.adapter_fusion_layer.') && !plan.trainable.includes(name)));
  const metrics: Record<string, number> = {};
  const every = opts.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  const signal = opts.signal;
  // The last completed optimizer step: what status.json and the end event report, whatever stops the run.
  let step = checkpointStep ?? 0;
  let outcome = 'completed' as TrainJobResult['status'];
  let message: string | undefined;
  let prefix: OpenedPrefix | undefined;
  let trainer: TrainerProcess | undefined;
  const fail = (code: ErrorCode, text: string): void => {
    outcome = 'failed';
    message = text;
    emit({ type: 'error', code, message: text });
  };
  try {
    try {
      prefix = await openPrefixCache(opts, plan, weights, task, model, runDir, threads, provider, emit);
      // The trainer's process rebuilds the base model itself: only the weights this run made are sent.
      const overrides = new Map([...weights].filter(([name, t]) => model.weights.get(name) !== t));
      trainer = TrainerProcess.spawn();
      await untilAborted(
        trainer.create({
          modelRef: model.source,
          overrides,
          spec: plan.spec,
          trainable: plan.trainable,
          optimizer: { kind: e.training.optimizer, learningRate: e.training.learningRate, weightDecay: e.training.weightDecay, maxGradNorm: e.training.maxGradNorm, warmupSteps: Math.round(e.training.warmup * totalSteps), totalSteps, beta2: e.training.adamBeta2 ?? 0.999, epsilon: e.training.adamEpsilon ?? 1e-8 },
          // A fusion's evaluations also measure its fusion weights (the live heatmap), in the same pass.
          session: { threads, provider, gates: plan.robustDrop.length > 0, dropout: model.dropout, seed: e.training.seed, prefix: prefix ? { layers: prefix.layers, cached: true } : undefined, fusionWeights: plan.spec.fusion !== undefined },
        }),
        signal,
      );
      if (checkpointStep !== undefined) await untilAborted(trainer.restore(path.join(runDir, CHECKPOINT_FILE), checkpointStep), signal);
    } catch (err) {
      // A failure while building the sessions fails the run (never leaves it "running").
      throw err instanceof CancelledError ? err : new BuildError(`could not build the model: ${(err as Error).message}`);
    }
    weights.clear();
    // The trainer's process holds the weights now. A model this job loaded for itself is not
    // needed here any more, unless the prefix cache still runs on it: free it (on BERT-base,
    // 0.4 GiB that would otherwise sit in this process for the whole run).
    if (!opts.model && !prefix) model.weights.clear();
    if (checkpointStep !== undefined) emit({ type: 'log', level: 'info', message: `resumed from the checkpoint at step ${checkpointStep} of ${totalSteps}` });
    else if (opts.resume) emit({ type: 'log', level: 'warning', message: 'the run has no checkpoint: it starts again from step 0' });

    let batchIndex = 0;
    // The step of the last evaluation within an epoch, so that the epoch's end does not repeat it.
    let evaluatedAt = -1;
    for (let epoch = 1; epoch <= e.training.epochs && step < totalSteps; epoch++) {
      // Batches are a function of (seed, epoch), so a resumed run sees the same ones.
      const batches = makeBatches(train, e.training.batchSize, e.training.seed + epoch, e.task.kind);
      const epochStartStep = step;
      for (const batch of batches) {
        if (step >= totalSteps) break;
        if (batchIndex++ < step) continue; // done before the checkpoint
        if (signal?.aborted) throw new CancelledError();
        const t = performance.now();
        // A kind that draws its inputs at every step (masked-LM's masks) does so from the step number.
        const drawn = task.stepBatch ? task.stepBatch(batch, step + 1) : batch;
        const input = prefix ? { ...drawn, hidden: await prefix.cache.hidden(drawn) } : drawn;
        const gates = plan.robustDrop.length ? robustDropGates(plan.robustDrop, model.dims.layers, e.training.seed, step + 1) : undefined;
        // Not waited for once the job is cancelled: the step in flight is abandoned with the trainer's process.
        const r = await untilAborted(trainer.step(input, gates), signal);
        step++;
        const event = { type: 'step', step, epoch, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, examples: batch.batchSize, tokens: batch.tokens, seconds: (performance.now() - t) / 1000 } as const;
        emit(event);
        appendJsonLine(path.join(runDir, RUN_FILES.metrics), event);
        if (step % every === 0 && step < totalSteps) checkpointStep = await writeCheckpoint(runDir, trainer, step);
        if (opts.stopAfter !== undefined && step >= opts.stopAfter && step < totalSteps) throw new CancelledError(`stopped after step ${step} as asked (--stop-after ${opts.stopAfter}); resume continues to step ${totalSteps}`);
        const evaluateEvery = e.training.evaluateEvery;
        if (evaluateEvery && step % evaluateEvery === 0 && step < totalSteps && task.validation) {
          Object.assign(metrics, await evaluate(trainer, task, e, step, epoch, emit, runDir, signal));
          evaluatedAt = step;
        }
      }
      if (step > epochStartStep || step === totalSteps) {
        if (task.validation && evaluatedAt !== step) Object.assign(metrics, await evaluate(trainer, task, e, step, epoch, emit, runDir, signal));
        if (step < totalSteps) checkpointStep = await writeCheckpoint(runDir, trainer, step);
      }
    }
  } catch (err) {
    if (err instanceof CancelledError) {
      outcome = 'cancelled';
      message = err.message;
    } else if (err instanceof NonFiniteLossError) fail('non-finite-loss', err.message);
    else fail('engine-error', (err as Error).message);
  }
  // Cancelled while the trainer was busy (a step, an evaluation, building): that work is
  // abandoned and the last checkpoint stays what resume continues from. Otherwise the run
  // saves what it trained.
  const abandoned = outcome === 'cancelled' && (trainer === undefined || trainer.busy);
  if (outcome !== 'failed' && trainer && !abandoned) {
    try {
      await saveTrained(runDir, trainer, plan, e, model, parameters, labelMap, emit, untrainedFusion);
      // A finished run's weights supersede its checkpoint; a cancelled run keeps it to resume.
      if (outcome === 'completed') fs.rmSync(path.join(runDir, CHECKPOINT_FILE), { force: true });
      else checkpointStep = await writeCheckpoint(runDir, trainer, step);
    } catch (err) {
      // A run whose weights could not be written (a full disk, say) has failed, and says so.
      fail('save-failed', `could not save the trained weights: ${(err as Error).message}`);
    }
  }
  // A finished fusion: what it attends to, on the validation data (the paper's Fig. 4), for the panel and fusion-weights.json.
  if (outcome === 'completed' && plan.spec.fusion && e.task.validation) {
    try {
      emit({ type: 'fusion-weights', ...(await fusionWeights(runDir, e.task.validation, { threads, provider })) });
    } catch (err) {
      emit({ type: 'log', level: 'warning', message: `could not measure the fusion weights: ${(err as Error).message}` });
    }
  }
  if (abandoned) emit({ type: 'log', level: 'info', message: `stopped after step ${step}; ${checkpointStep !== undefined ? `resume continues from the checkpoint at step ${checkpointStep}` : 'no checkpoint yet: resume starts again from step 0'}` });
  await trainer?.release();
  let prefixStats: PrefixCacheStats | undefined;
  if (prefix) {
    // This run's share: a pooled cache's counters include earlier trials'.
    prefixStats = since(prefix.cache.stats(), prefix.before);
    emit({ type: 'log', level: 'info', message: describePrefixCache(prefixStats, prefix.reused) });
    if (!opts.prefixCaches) await prefix.cache.release();
  }
  status(outcome, step, message);
  const seconds = (Date.now() - started) / 1000;
  emit({ type: 'end', status: outcome, run, seconds, steps: step, metrics, ...(prefixStats ? { prefixCache: prefixStats } : {}), ...(message && outcome !== 'completed' ? { message } : {}) });
  return { runDir, status: outcome, metrics, parameters, steps: step, ...(message ? { message } : {}) };
}

/** The trainer's sessions could not be built. */
class BuildError extends Error {}

/**
 * The run's frozen-prefix cache, when `training.prefix_cache.enabled` and the method leaves
 * a frozen prefix; from the pool when another run of this process already filled it.
 */
async function openPrefixCache(
  opts: TrainJobOptions,
  plan: RunPlan,
  weights: Map<string, FloatTensor>,
  task: TaskInputs,
  model: LoadedModel,
  runDir: string,
  threads: number,
  provider: 'cpu' | 'webgpu' | 'cuda',
  emit: (p: EventPayload) => void,
): Promise<OpenedPrefix | undefined> {
  const e = opts.experiment;
  if (!e.training.prefixCache.enabled) return undefined;
  if (task.stepBatch) {
    emit({ type: 'log', level: 'warning', message: `training.prefix_cache: a ${e.task.kind} task draws new inputs at every step, so nothing below the trained layers can be cached` });
    return undefined;
  }
  const layers = frozenPrefixLayers(plan.trainable, model.dims.layers);
  if (layers === undefined) {
    emit({ type: 'log', level: 'warning', message: `training.prefix_cache: method ${e.method} trains the embeddings, so there is no frozen prefix to cache` });
    return undefined;
  }
  const padTo = e.task.kind === 'span' ? e.task.maxLength : undefined;
  let version = '';
  try {
    const st = fs.statSync(e.task.train);
    version = `${st.size}:${st.mtimeMs}`;
  } catch {
    // A built-in task has no file; its examples are fixed by the experiment.
  }
  const tokenizer = taskTokenizer(e, model.tokenizer).behaviour;
  const key = JSON.stringify({ model: model.ref, train: e.task.train, version, text: e.task.text, maxLength: e.task.maxLength, tokenizer, layers, padTo });
  const spillFile = path.join(opts.prefixCaches ? path.dirname(runDir) : runDir, `prefix-cache-${hashOf(key)}.bin`);
  const budget = e.training.prefixCache.memoryMb * 2 ** 20;
  const create = (memoryBytes: number) => PrefixCache.create({ spec: plan.spec, weights, layers, examples: task.train, padTo, memoryBytes, spillFile, session: { threads, provider } });
  // Pooled caches share one budget: a new one gets what the others leave of it.
  const { cache, reused } = opts.prefixCaches ? opts.prefixCaches.get(key, create, budget) : { cache: create(budget), reused: false };
  const opened = await cache;
  emit({ type: 'log', level: 'info', message: `frozen prefix (embeddings${layers ? ` and layers 0–${layers - 1}` : ''}) runs without dropout and is cached${reused ? ' (filled by an earlier trial)' : ''}: ${opened.storage}, ${(opened.bytes / 2 ** 20).toFixed(1)} MiB` });
  return { cache: opened, layers, reused, before: opened.stats() };
}

interface OpenedPrefix {
  readonly cache: PrefixCache;
  readonly layers: number;
  readonly reused: boolean;
  /** The cache's counters when this run opened it. */
  readonly before: PrefixCacheStats;
}

function since(now: PrefixCacheStats, before: PrefixCacheStats): PrefixCacheStats {
  return { ...now, computeSeconds: now.computeSeconds - before.computeSeconds, hits: now.hits - before.hits, readSeconds: now.readSeconds - before.readSeconds, savedSeconds: Math.max(0, now.savedSeconds - before.savedSeconds) };
}

function describePrefixCache(s: PrefixCacheStats, reused: boolean): string {
  return `prefix cache: ${s.examples} examples (${s.storage}); prefix computed in ${s.computeSeconds.toFixed(2)} s${reused ? ' (filled by an earlier trial)' : ''}; ${s.hits} batches read from the cache in ${s.readSeconds.toFixed(2)} s, saving about ${s.savedSeconds.toFixed(2)} s`;
}

function hashOf(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Trainable parameters and Adam moments, with the step in the file's metadata; written atomically (by the trainer's process). */
async function writeCheckpoint(runDir: string, trainer: TrainerProcess, step: number): Promise<number> {
  await trainer.checkpoint(path.join(runDir, CHECKPOINT_FILE), { format: 'adapter-lab-checkpoint', step: String(step) });
  return step;
}

/** The step a run's checkpoint holds (its tensors are read by the trainer's process), or undefined without one. */
function checkpointStepOf(runDir: string): number | undefined {
  const file = path.join(runDir, CHECKPOINT_FILE);
  if (!fs.existsSync(file)) return undefined;
  const f = openSafetensors(file);
  try {
    return checkpointStepIn(f, file);
  } finally {
    f.close();
  }
}

/** Removes step and evaluation records past `step` (a killed run wrote them after its last checkpoint). */
function dropRecordsAfter(file: string, step: number): void {
  const kept = readJsonLines<{ step?: number }>(file).filter((r) => (r.step ?? 0) <= step);
  writeAtomic(file, kept.map((r) => JSON.stringify(r) + '\n').join(''));
}

async function evaluate(trainer: TrainerProcess, task: TaskInputs, e: Experiment, step: number, epoch: number, emit: (p: EventPayload) => void, runDir: string, signal: AbortSignal | undefined): Promise<Record<string, number>> {
  const t = performance.now();
  // The event and record are written only for an evaluation that finished: a cancelled one is abandoned.
  const all = await untilAborted(task.evaluate(trainer), signal);
  const value = all[e.task.metric]!;
  const event = { type: 'evaluation', step, epoch, split: 'validation', metric: e.task.metric, value, metrics: all, examples: task.validation!.length, seconds: (performance.now() - t) / 1000 } as const;
  emit(event);
  appendJsonLine(path.join(runDir, RUN_FILES.metrics), event);
  // A fusion: its weights as the evaluation's pass measured them (no pass of their own). Kept
  // with the records, so that a panel reopened on the run draws what the live one drew.
  const fusion = e.method === 'fusion' && e.task.validation !== undefined ? await untilAborted(trainer.fusionWeights(), signal) : undefined;
  if (fusion) {
    const weights = { type: 'fusion-weights', ...fusion, data: e.task.validation!, step } as const;
    emit(weights);
    appendJsonLine(path.join(runDir, RUN_FILES.metrics), weights);
  }
  return all;
}

async function saveTrained(runDir: string, trainer: TrainerProcess, plan: RunPlan, e: Experiment, model: LoadedModel, parameters: ParameterCounts, labelMap: LabelMap | undefined, emit: (p: EventPayload) => void, untrainedFusion: ReadonlyMap<string, FloatTensor>): Promise<void> {
  const languageAdapter = plan.spec.head.kind === 'mlm' && e.method === 'adapter';
  if (plan.spec.head.kind === 'mlm' && !languageAdapter) return saveLanguageModel(runDir, trainer, plan, e, model, emit);
  if (plan.spec.fusion && e.fusion) return saveFusion(runDir, await trainer.weights(plan.trainable), plan, e, model, labelMap, emit, untrainedFusion);
  const dir = path.join(runDir, RUN_FILES.adapterDir);
  const weights = new Map(await trainer.weights(plan.trainable));
  // A language adapter (MAD-X) keeps its whole masked-LM head: the parts the run did not train
  // are the base model's, or the ones the run drew from its seed (the job freed its copy).
  if (languageAdapter) for (const [name, t] of untrainedHeadParts(plan, e, model)) weights.set(name, t);
  // The run keeps its adapter in the layout it is exported in (AdapterHub's), so export is a copy.
  writeAdapterFolder(dir, {
    name: adapterNameFrom(e.name),
    modelRef: model.ref,
    dims: model.dims,
    headDropout: model.dropout.hidden,
    settings: adapterSettingsOf(e, model.dims),
    spec: plan.spec,
    trainable: plan.trainable,
    weights,
    trainableParameters: parameters.trainable,
    labels: labelMap?.labels,
    vocabularyChecksum: modelVocabularyChecksum(model.ref),
  });
  emit({ type: 'artifact', kind: 'adapter', path: dir });
}

/** A fusion run saves its fusion layers and head in AdapterHub's fusion layout (its adapters were copied when it started). */
function saveFusion(runDir: string, trained: ReadonlyMap<string, FloatTensor>, plan: RunPlan, e: Experiment, model: LoadedModel, labelMap: LabelMap | undefined, emit: (p: EventPayload) => void, untrainedFusion: ReadonlyMap<string, FloatTensor>): void {
  const fusion = plan.spec.fusion!;
  const settings = e.fusion!;
  const fusionWeights = new Map([...untrainedFusion, ...[...trained].filter(([name]) => name.includes('.adapter_fusion_layer.'))]);
  const head = new Map([...trained].filter(([name]) => !name.includes('.adapter_fusion_layer.')));
  const dir = writeFusionRun(runDir, {
    fusion: { adapterNames: fusion.adapters.map((a) => a.name), adapterInput: fusedInputOf(fusion.adapters), hiddenSize: model.dims.hiddenSize, modelName: modelNameOf(model.ref), settings: { ...fusion, valueInitialized: settings.valueInitialized }, weights: fusionWeights },
    head: { name: adapterNameFrom(e.name), modelRef: model.ref, dims: model.dims, headDropout: model.dropout.hidden, spec: plan.spec, task: e.task.kind, labels: labelMap?.labels, weights: head },
  });
  emit({ type: 'artifact', kind: 'adapter', path: dir });
}

/** The order a fusion run fuses its adapters in, as its config.json records it. */
function fusedOrderOf(runDir: string): string[] {
  const config = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as { fused?: { name: string }[] };
  if (!config.fused) throw new RunFolderError(`${runDir} is a fusion run without its list of fused adapters`);
  return config.fused.map((a) => a.name);
}

/**
 * A masked-LM run saves the whole model as a Hugging Face BertForMaskedLM folder (the
 * run's `model/`), which loads back as `model:` for every task kind.
 */
async function saveLanguageModel(runDir: string, trainer: TrainerProcess, plan: RunPlan, e: Experiment, model: LoadedModel, emit: (p: EventPayload) => void): Promise<void> {
  const trained = await trainer.weights(plan.trainable);
  // The weights the run did not train are the model it started from and the head it drew from
  // its seed: loaded and drawn again (the job freed its copy once the trainer's process held them).
  const base = loadModel(model.source);
  const start = new Map(base.weights);
  initHead(start, plan.spec, e.training.seed);
  const weights = new Map<string, FloatTensor>();
  for (const name of parameterShapes(plan.spec).keys()) {
    const t = trained.get(name) ?? start.get(name);
    if (!t) throw new Error(`no weight ${name} to save`);
    weights.set(name, t);
  }
  const dir = path.join(runDir, RUN_FILES.modelDir);
  writeHuggingFaceBert(dir, { dims: model.dims, layerNormEps: model.layerNormEps, dropout: model.dropout, weights, vocab: vocabOf(model.source) ?? base.tokenizer.vocabTokens(), cased: !base.tokenizer.basicTokenizer.doLowerCase, architecture: 'BertForMaskedLM' });
  emit({ type: 'artifact', kind: 'model', path: dir });
}

/** The masked-LM head's parts a run did not train, as they were when it started. */
function untrainedHeadParts(plan: RunPlan, e: Experiment, model: LoadedModel): Map<string, FloatTensor> {
  const missing = MLM_HEAD_PARTS.filter((n) => !plan.trainable.includes(n));
  const out = new Map<string, FloatTensor>();
  if (missing.length === 0) return out;
  const start = new Map(loadModel(model.source).weights);
  initHead(start, plan.spec, e.training.seed);
  for (const name of missing) out.set(name, start.get(name)!);
  return out;
}

/** The vocab.txt a model was read from, to save it unchanged; undefined for built-in models and tokenizer.json folders. */
function vocabOf(source: ModelSource): string | undefined {
  const file = typeof source === 'string' ? path.join(source, 'vocab.txt') : source.scratch.vocab;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Continues a killed or cancelled run from its last checkpoint, in its own folder, to the same end. */
export async function resumeTrainJob(runDir: string, opts: Omit<TrainJobOptions, 'experiment' | 'source' | 'runsDir' | 'resume' | 'maxSteps'>): Promise<TrainJobResult> {
  let config: { experiment: Experiment; totalSteps: number; plan?: { trainable?: string[] } };
  let source: string;
  try {
    config = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as typeof config;
    source = fs.readFileSync(path.join(runDir, RUN_FILES.experiment), 'utf8');
  } catch (e) {
    throw new RunFolderError(`${runDir} is not a run folder (${(e as Error).message})`);
  }
  const status = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.status), 'utf8')) as RunStatusRecord;
  if (status.status === 'completed') throw new RunFolderError(`${path.basename(runDir)} has already completed`);
  return runTrainJob({ ...opts, experiment: config.experiment, source, runsDir: path.dirname(runDir), resume: { runDir, totalSteps: config.totalSteps, ...(config.plan?.trainable ? { trainable: config.plan.trainable } : {}) } });
}
