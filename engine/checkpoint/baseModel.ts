/**
 * Loading the base model a run starts from: a built-in model (generated from a fixed seed,
 * not pretrained) or a Hugging Face BERT folder, with its tokenizer and dropout rates.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadHuggingFaceBert } from './huggingface';
import { BertTokenizer, loadBertTokenizer } from '../tokenizer';
import type { WeightMap } from '../tensor';
import type { DropoutRates } from '../model/dropout';
import { BUILTIN_WEIGHT_SEED, builtinDims, builtinVocab } from '../model/builtin';
import { BUILTIN_PREFIX, type BertDims } from '../model/dims';
import { initModel } from '../model/init';
import * as names from '../model/names';

export interface LoadedModel {
  /** `builtin:<name>` or the folder path. */
  readonly ref: string;
  readonly builtin: boolean;
  readonly dims: BertDims;
  readonly layerNormEps: number;
  /** Base weights, plus any head the checkpoint carries. */
  readonly weights: WeightMap;
  readonly tokenizer: BertTokenizer;
  readonly dropout: DropoutRates;
}

export function loadModel(ref: string): LoadedModel {
  if (ref.startsWith(BUILTIN_PREFIX)) {
    const dims = builtinDims(ref.slice(BUILTIN_PREFIX.length));
    const weights = initModel({ dims, layerNormEps: 1e-12, adapters: undefined, head: { kind: 'classification', numLabels: 2 } }, BUILTIN_WEIGHT_SEED);
    // The task head is the run's own, initialised from the run's seed.
    weights.delete(names.classifier.weight);
    weights.delete(names.classifier.bias);
    return { ref, builtin: true, dims, layerNormEps: 1e-12, weights, tokenizer: BertTokenizer.fromVocab(builtinVocab(dims)), dropout: { hidden: 0.1, attention: 0.1 } };
  }
  const hf = loadHuggingFaceBert(ref);
  const weights = hf.weights;
  if (hf.heads.classifier) weights.set(names.classifier.weight, hf.heads.classifier.weight).set(names.classifier.bias, hf.heads.classifier.bias);
  if (hf.heads.qaOutputs) weights.set(names.qaOutputs.weight, hf.heads.qaOutputs.weight).set(names.qaOutputs.bias, hf.heads.qaOutputs.bias);
  return { ref, builtin: false, dims: hf.dims, layerNormEps: hf.layerNormEps, weights, tokenizer: loadBertTokenizer(ref), dropout: dropoutRates(ref) };
}

/** hidden_dropout_prob and attention_probs_dropout_prob from config.json (BERT's 0.1 when absent). */
function dropoutRates(folder: string): DropoutRates {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(folder, 'config.json'), 'utf8')) as Record<string, unknown>;
    const rate = (v: unknown): number => (typeof v === 'number' && v >= 0 && v < 1 ? v : 0.1);
    return { hidden: rate(c.hidden_dropout_prob), attention: rate(c.attention_probs_dropout_prob) };
  } catch {
    return { hidden: 0.1, attention: 0.1 };
  }
}
