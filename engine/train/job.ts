/**
 * A training job end to end: validate the experiment, load the model and data, train with
 * events, evaluate each epoch, and write the run folder. The CLI's `train` and the
 * built-in demo both run this.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeSafetensors } from '../checkpoint/safetensors';
import type { Experiment } from '../config/experiment';
import { layersOf } from '../config/layers';
import type { LabelMap } from '../data/examples';
import { stamp, type EventPayload, type EventSink } from '../events';
import { loadModel, type LoadedModel } from '../model/load';
import { resolveProvider } from '../runtime/provider';
import { initAdapters, initHead } from '../model/init';
import * as names from '../model/names';
import { countParameters, type ParameterCounts } from '../model/parameters';
import { appendJsonLine, createRunDir, RUN_FILES, writeJson, writeAtomic, type RunStatusRecord } from '../runs/store';
import type { FloatTensor } from '../tensor';
import { Random } from '../util/random';
import { makeBatches } from './batches';
import { planRun, type RunPlan } from './plan';
import { prepareTask, type TaskInputs } from './tasks';
import { NonFiniteLossError, Trainer } from './trainer';

export const ENGINE_VERSION = '0.1.0';

export interface TrainJobOptions {
  readonly experiment: Experiment;
  /** The experiment file's text, stored with the run. */
  readonly source: string;
  readonly runsDir: string;
  readonly maxSteps?: number;
  readonly threads?: number;
  readonly emit: EventSink;
  readonly signal?: AbortSignal;
  /** Already loaded model (the demo trains two methods on one model). */
  readonly model?: LoadedModel;
}

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
  const model = opts.model ?? loadModel(e.model);
  const task = prepareTask(e, model.tokenizer);
  const labelMap = task.labelMap;
  const plan = planRun(e, model.dims, task.numLabels, model.layerNormEps);
  const parameters = countParameters(model.dims, plan.counting);

  const weights = new Map(model.weights);
  initAdapters(weights, plan.spec, e.adapter.initStd, e.training.seed);
  initHead(weights, plan.spec, e.training.seed);

  const train = task.train;
  const stepsPerEpoch = Math.ceil(train.length / e.training.batchSize);
  const plannedSteps = stepsPerEpoch * e.training.epochs;
  const totalSteps = Math.max(1, Math.min(plannedSteps, opts.maxSteps ?? Infinity));
  const threads = opts.threads ?? e.runtime.threads ?? os.cpus().length;
  // Refused before a run folder exists: an unusable device is a setup problem, not a failed run.
  const { provider, note: providerNote } = await resolveProvider(e.runtime.device);

  const runDir = createRunDir(opts.runsDir, e.name);
  const run = path.basename(runDir);
  const status = (s: RunStatusRecord['status'], step: number, message?: string): void =>
    writeJson(path.join(runDir, RUN_FILES.status), { status: s, started: new Date(started).toISOString(), ...(s === 'running' ? {} : { ended: new Date().toISOString() }), step, pid: process.pid, ...(message ? { message } : {}) } satisfies RunStatusRecord);
  writeAtomic(path.join(runDir, RUN_FILES.experiment), opts.source);
  writeJson(path.join(runDir, RUN_FILES.config), { experiment: e, plan: { trainable: plan.trainable, spec: plan.spec }, parameters, totalSteps, stepsPerEpoch });
  writeJson(path.join(runDir, RUN_FILES.environment), { engine: ENGINE_VERSION, onnxruntime: ort.env.versions.common, node: process.version, platform: `${process.platform}-${process.arch}`, provider, threads, model: model.ref, pretrained: !model.builtin });
  if (labelMap) writeJson(path.join(runDir, RUN_FILES.labels), labelMap.toJSON());
  status('running', 0);

  emit({ type: 'start', job: 'train', run, runDir, experiment: e.name, method: e.method, model: model.ref, parameters: { trainable: parameters.trainable, base: parameters.base, percentOfBase: parameters.percentOfBase }, steps: totalSteps, epochs: e.training.epochs, examples: train.length, provider, threads });
  if (providerNote) emit({ type: 'log', level: 'info', message: providerNote });
  if (e.sweep) emit({ type: 'log', level: 'warning', message: 'this file has a sweep: train runs its base settings once (the grid and seeds are not expanded)' });
  if (model.builtin) emit({ type: 'log', level: 'info', message: `${model.ref} is generated from a fixed seed and is not pretrained: its numbers show the engine working, not what a pretrained BERT reaches.` });

  const trainer = await Trainer.create(plan.spec, weights, plan.trainable, {
    kind: e.training.optimizer,
    learningRate: e.training.learningRate,
    weightDecay: e.training.weightDecay,
    maxGradNorm: e.training.maxGradNorm,
    warmupSteps: Math.round(e.training.warmup * totalSteps),
    totalSteps,
  }, { threads, provider, gates: plan.robustDrop.length > 0, dropout: model.dropout, seed: e.training.seed });
  weights.clear();

  const metrics: Record<string, number> = {};
  let step = 0;
  let outcome: TrainJobResult['status'] = 'completed';
  let message: string | undefined;
  const dropRng = new Random(e.training.seed ^ 0xd809);
  try {
    for (let epoch = 1; epoch <= e.training.epochs && step < totalSteps; epoch++) {
      const batches = makeBatches(train, e.training.batchSize, e.training.seed + epoch, e.task.kind);
      for (const batch of batches) {
        if (step >= totalSteps) break;
        if (opts.signal?.aborted) throw new CancelledError();
        const t = performance.now();
        const r = await trainer.step(batch, robustGates(plan, model.dims.layers, dropRng));
        step++;
        const event = { type: 'step', step, epoch, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, examples: batch.batchSize, tokens: batch.tokens, seconds: (performance.now() - t) / 1000 } as const;
        emit(event);
        appendJsonLine(path.join(runDir, RUN_FILES.metrics), event);
      }
      if (task.validation) Object.assign(metrics, await evaluate(trainer, task, e, step, epoch, emit, runDir));
    }
  } catch (err) {
    if (err instanceof CancelledError) {
      outcome = 'cancelled';
      message = 'cancelled by the user';
    } else if (err instanceof NonFiniteLossError) {
      outcome = 'failed';
      message = err.message;
      emit({ type: 'error', code: 'non-finite-loss', message });
    } else {
      outcome = 'failed';
      message = (err as Error).message;
      emit({ type: 'error', code: 'engine-error', message });
    }
  }
  if (outcome !== 'failed') {
    try {
      saveTrained(runDir, trainer, plan, e, model, parameters, labelMap, emit);
    } catch (err) {
      // A run whose weights could not be written (a full disk, say) has failed, and says so.
      outcome = 'failed';
      message = `could not save the trained weights: ${(err as Error).message}`;
      emit({ type: 'error', code: 'save-failed', message });
    }
  }
  await trainer.release();
  status(outcome, step, message);
  const seconds = (Date.now() - started) / 1000;
  emit({ type: 'end', status: outcome, run, seconds, steps: step, metrics });
  return { runDir, status: outcome, metrics, parameters, steps: step, ...(message ? { message } : {}) };
}

class CancelledError extends Error {}

/** Robust AdapterDrop: at each step the adapters of a random number of the lowest droppable layers are off. */
function robustGates(plan: RunPlan, layers: number, rng: Random): Float32Array | undefined {
  if (plan.robustDrop.length === 0) return undefined;
  const gates = new Float32Array(layers * 2).fill(1);
  const n = rng.int(plan.robustDrop.length + 1);
  for (const l of plan.robustDrop.slice(0, n)) gates[l * 2] = gates[l * 2 + 1] = 0;
  return gates;
}

async function evaluate(trainer: Trainer, task: TaskInputs, e: Experiment, step: number, epoch: number, emit: (p: EventPayload) => void, runDir: string): Promise<Record<string, number>> {
  const t = performance.now();
  const all = await task.evaluate(trainer);
  const value = all[e.task.metric]!;
  const event = { type: 'evaluation', step, epoch, split: 'validation', metric: e.task.metric, value, metrics: all, examples: task.validation!.length, seconds: (performance.now() - t) / 1000 } as const;
  emit(event);
  appendJsonLine(path.join(runDir, RUN_FILES.metrics), event);
  return all;
}

function saveTrained(runDir: string, trainer: Trainer, plan: RunPlan, e: Experiment, model: LoadedModel, parameters: ParameterCounts, labelMap: LabelMap | undefined, emit: (p: EventPayload) => void): void {
  const dir = path.join(runDir, RUN_FILES.adapterDir);
  fs.mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, FloatTensor>();
  for (const name of plan.trainable) tensors.set(name, trainer.weight(name));
  writeSafetensors(path.join(dir, 'adapter.safetensors'), tensors, { format: 'adapter-lab', method: e.method });
  const d = model.dims.hiddenSize;
  const adapterLayers = plan.spec.adapters?.layers ?? [];
  writeJson(path.join(dir, 'adapter_config.json'), {
    // Houlsby-style fields, as AdapterHub names them.
    architecture: 'bottleneck',
    method: e.method,
    model: model.ref,
    hidden_size: d,
    bottleneck_size: e.adapter.size,
    reduction_factor: d / e.adapter.size,
    mh_adapter: e.adapter.sites.includes('attention'),
    output_adapter: e.adapter.sites.includes('ffn'),
    non_linearity: e.adapter.nonLinearity,
    init_weights: 'houlsby',
    init_std: e.adapter.initStd,
    leave_out: Array.from({ length: model.dims.layers }, (_, i) => i).filter((l) => !adapterLayers.includes(l)),
    train_layernorm: e.adapter.trainLayerNorm,
    drop: { layers: layersOf(e.drop.layers, model.dims.layers), mode: e.drop.mode },
    top_k: e.method === 'top_k' ? e.topK : undefined,
    trainable_parameters: parameters.trainable,
    parameter_names: plan.trainable,
  });
  writeJson(path.join(dir, 'head_config.json'), {
    head_type: e.task.kind,
    num_labels: plan.spec.head.kind === 'span' ? 2 : plan.spec.head.numLabels,
    label2id: labelMap ? Object.fromEntries(labelMap.labels.map((l, i) => [l, i])) : undefined,
    weights: plan.spec.head.kind === 'span' ? [names.qaOutputs.weight, names.qaOutputs.bias] : [names.classifier.weight, names.classifier.bias],
  });
  emit({ type: 'artifact', kind: 'adapter', path: dir });
}
