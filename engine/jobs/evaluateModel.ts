/**
 * Evaluation of a base model itself (no run): masked-language modelling on a text file,
 * with the model's own MLM head. This is how the built-in model's card measures held-out
 * masked accuracy, and how a test proves the shipped weights are the pretrained ones.
 * The masks are drawn from the seed, so the same model, text and seed give the same figures.
 */
import * as path from 'node:path';
import { validateExperiment } from '../config/validate';
import { loadModel, type LoadedModel } from '../checkpoint/baseModel';
import { initHead, prepareEvaluation } from '../tasks/index';
import { planRun } from '../train/plan';
import { Trainer } from '../train/trainer';
import type { SessionOptions } from '../runtime/session';
import * as names from '../model/names';

export interface MaskedLmOptions {
  /** Tokens per packed sequence (at most the model's positions); 64 unless given. */
  readonly maxLength?: number;
  readonly seed?: number;
  readonly maskProbability?: number;
  readonly batchSize?: number;
  readonly session?: SessionOptions;
}

export interface MaskedLmEvaluation {
  readonly model: string;
  readonly textFile: string;
  /** Packed sequences evaluated. */
  readonly sequences: number;
  /** masked_accuracy, mlm_loss, perplexity. */
  readonly metrics: Readonly<Record<string, number>>;
  readonly seconds: number;
}

export async function evaluateMaskedLm(modelRef: string, textFile: string, o: MaskedLmOptions = {}): Promise<MaskedLmEvaluation> {
  const t = performance.now();
  const file = path.resolve(textFile);
  const model: LoadedModel = loadModel(modelRef);
  // A pretrained model must bring its own head; a random one (an unpretrained twin) gets one drawn from the seed.
  if (model.pretrained && !model.weights.has(names.mlmHead.bias)) throw new Error(`${modelRef} has no masked-LM head (cls.predictions.*): it was not saved by a masked-LM model such as BertForMaskedLM`);
  const maxLength = o.maxLength ?? Math.min(64, model.dims.maxPositions);
  // The evaluation is described as an experiment, so it is validated (and masked) exactly as a run's.
  const source = [
    'name: masked-lm-evaluation',
    `model: ${JSON.stringify(modelRef)}`,
    'task:',
    '  kind: mlm',
    `  train: ${JSON.stringify(file)}`,
    `  validation: ${JSON.stringify(file)}`,
    `  max_length: ${maxLength}`,
    ...(o.maskProbability !== undefined ? [`  mask_probability: ${o.maskProbability}`] : []),
    'method: full',
    'training:',
    `  batch_size: ${o.batchSize ?? 32}`,
    `  seed: ${o.seed ?? 1}`,
    '',
  ].join('\n');
  const v = validateExperiment(source, { filePath: path.join(path.dirname(file), 'evaluation.adapter.yaml') });
  if (!v.ok || !v.experiment) throw new Error(`cannot evaluate ${modelRef} on ${file}: ${v.findings.filter((f) => f.severity === 'error').map((f) => f.message).join('; ')}`);
  const e = v.experiment;
  // A masked-LM head's "labels" are the vocabulary.
  const plan = planRun(e, model.dims, model.dims.vocabSize, model.layerNormEps);
  const weights = new Map(model.weights);
  initHead(weights, plan.spec, e.training.seed);
  const evaluation = prepareEvaluation(e, model.tokenizer, undefined, file);
  const trainer = await Trainer.create(plan.spec, weights, [], undefined, o.session ?? {});
  try {
    const metrics = await evaluation.evaluate(trainer);
    return { model: modelRef, textFile: file, sequences: evaluation.inputs.length, metrics, seconds: (performance.now() - t) / 1000 };
  } finally {
    await trainer.release();
  }
}
