/**
 * Loading the base model a run starts from: a built-in model (the shipped pretrained one, or
 * one generated from a fixed seed), a Hugging Face BERT folder, or a new BERT the experiment declares
 * (`from_scratch`, initialised as BERT is from the run's seed), with its tokenizer and
 * dropout rates.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadHuggingFaceBert } from './huggingface';
import { BertTokenizer, DEFAULT_SPECIAL_TOKENS, loadBertTokenizer, parseVocabTxt } from '../tokenizer';
import type { Experiment, ScratchModel } from '../config/experiment';
import type { WeightMap } from '../tensor';
import type { DropoutRates } from '../model/dropout';
import { BUILTIN_WEIGHT_SEED, builtinDims, builtinVocab } from '../model/builtin';
import { BUILTIN_ORIGINS, BUILTIN_PREFIX, type BertDims } from '../model/dims';
import { initModel, initPretraining } from '../model/init';
import * as names from '../model/names';
import { findShipped } from '../util/shipped';

/** A model declared in the experiment file: its shape, vocabulary and the seed its weights are drawn from. */
export interface ScratchSource {
  readonly ref: string;
  readonly scratch: ScratchModel;
  readonly seed: number;
}

/** What `loadModel` reads: `builtin:<name>`, a folder path, or a declared model (plain data, so a process can pass it on). */
export type ModelSource = string | ScratchSource;

/** The base model an experiment names or declares. */
export function modelSourceOf(e: Pick<Experiment, 'model' | 'fromScratch' | 'training'>): ModelSource {
  return e.fromScratch ? { ref: e.model, scratch: e.fromScratch, seed: e.training.seed } : e.model;
}

export interface LoadedModel {
  /** `builtin:<name>`, the folder path, or `scratch:<experiment>`. */
  readonly ref: string;
  /** What loads this model again (in the trainer's process, say). */
  readonly source: ModelSource;
  /** False for weights drawn from a seed (generated built-in models, `from_scratch`). */
  readonly pretrained: boolean;
  readonly dims: BertDims;
  readonly layerNormEps: number;
  /** Base weights, plus any head the checkpoint carries. */
  readonly weights: WeightMap;
  readonly tokenizer: BertTokenizer;
  readonly dropout: DropoutRates;
}

export function loadModel(source: ModelSource): LoadedModel {
  if (typeof source !== 'string') return loadScratch(source);
  const ref = source;
  if (ref.startsWith(BUILTIN_PREFIX)) {
    const name = ref.slice(BUILTIN_PREFIX.length);
    const origin = BUILTIN_ORIGINS[name];
    if (origin?.kind === 'shipped') return loadFolder(builtinModelFolder(origin.folder), ref);
    if (origin?.vocabFolder) return loadTwin(ref, builtinDims(name), builtinModelFolder(origin.vocabFolder));
    const dims = builtinDims(name);
    const weights = initModel({ dims, layerNormEps: 1e-12, adapters: undefined, head: { kind: 'classification', numLabels: 2 } }, BUILTIN_WEIGHT_SEED);
    // The task head is the run's own, initialised from the run's seed.
    weights.delete(names.classifier.weight);
    weights.delete(names.classifier.bias);
    return { ref, source, pretrained: false, dims, layerNormEps: 1e-12, weights, tokenizer: BertTokenizer.fromVocab(builtinVocab(dims)), dropout: { hidden: 0.1, attention: 0.1 } };
  }
  return loadFolder(ref, ref);
}

function loadFolder(folder: string, ref: string): LoadedModel {
  const hf = loadHuggingFaceBert(folder);
  const weights = hf.weights;
  if (hf.heads.classifier) weights.set(names.classifier.weight, hf.heads.classifier.weight).set(names.classifier.bias, hf.heads.classifier.bias);
  if (hf.heads.qaOutputs) weights.set(names.qaOutputs.weight, hf.heads.qaOutputs.weight).set(names.qaOutputs.bias, hf.heads.qaOutputs.bias);
  for (const [name, t] of hf.heads.mlm ?? []) weights.set(name, t);
  return { ref, source: ref, pretrained: true, dims: hf.dims, layerNormEps: hf.layerNormEps, weights, tokenizer: loadBertTokenizer(folder), dropout: dropoutRates(folder) };
}

/** The folder a shipped built-in model lives in: `models/<name>` in the repository or the installed extension. */
export function builtinModelFolder(name: string): string {
  const config = findShipped(path.join('models', name, 'config.json'));
  if (!config) throw new Error(`the built-in model ${name} is not installed: no models/${name}/config.json beside the engine`);
  return path.dirname(config);
}

/** A pretrained built-in model's unpretrained twin: its shape and vocabulary, BERT's initialisation from the fixed seed. */
function loadTwin(ref: string, dims: BertDims, vocabFolder: string): LoadedModel {
  const tokenizer = loadBertTokenizer(vocabFolder);
  if (tokenizer.vocabTokens().length !== dims.vocabSize) throw new Error(`${ref}: the vocabulary in ${vocabFolder} has ${tokenizer.vocabTokens().length} tokens, the model ${dims.vocabSize}`);
  const weights = initPretraining(dims, BUILTIN_WEIGHT_SEED, 0.02);
  return { ref, source: ref, pretrained: false, dims, layerNormEps: 1e-12, weights, tokenizer, dropout: { hidden: 0.1, attention: 0.1 } };
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


function loadScratch(source: ScratchSource): LoadedModel {
  const s = source.scratch;
  if (s.hiddenSize % s.heads !== 0) throw new Error(`from_scratch: hidden_size ${s.hiddenSize} is not a multiple of heads ${s.heads}`);
  let text: string;
  try {
    text = fs.readFileSync(s.vocab, 'utf8');
  } catch (e) {
    throw new Error(`from_scratch.vocab ${s.vocab} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const vocab = parseVocabTxt(text, s.vocab);
  const missing = DEFAULT_SPECIAL_TOKENS.filter((t) => !vocab.has(t));
  if (missing.length) throw new Error(`from_scratch.vocab ${s.vocab} lacks ${missing.join(', ')}`);
  // One id per line, as Hugging Face reads vocab.txt: a repeated line still takes its row of the embeddings.
  const tokens = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  if (tokens[tokens.length - 1] === '') tokens.pop();
  const tokenizer = BertTokenizer.fromVocab(tokens, { vocabFile: s.vocab, normalizer: { cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: !s.cased } });
  const dims: BertDims = { hiddenSize: s.hiddenSize, layers: s.layers, heads: s.heads, intermediateSize: s.intermediateSize, vocabSize: tokens.length, maxPositions: s.maxPositions, typeVocabSize: 2 };
  const weights = initPretraining(dims, source.seed, s.initializerRange ?? 0.02);
  return { ref: source.ref, source, pretrained: false, dims, layerNormEps: 1e-12, weights, tokenizer, dropout: { hidden: 0.1, attention: 0.1 } };
}
