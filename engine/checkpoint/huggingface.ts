/**
 * Loading a Hugging Face BERT folder (`config.json` + `model.safetensors`) into the engine's
 * parameter names (engine/model/names.ts): the `bert.` prefix is stripped, legacy layer-norm
 * names (`gamma`, `beta`) are renamed, task heads (`classifier`, `qa_outputs`) are returned
 * apart, and pretraining heads (`cls.*`) and buffers (`embeddings.position_ids`) are skipped
 * without being read. Every base weight is checked against the shape config.json implies
 * before any tensor data is read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { dimsFromConfig } from '../config/projectFiles';
import type { BertDims } from '../model/dims';
import { parameterShapes } from '../model/bert';
import * as names from '../model/names';
import type { FloatTensor, WeightMap } from '../tensor';
import { CheckpointError } from './errors';
import { writeSafetensors, type SafetensorsFile, type StoredFloat, type TensorInfo } from './safetensors';
import { openWeightsFile } from './weightsFile';
import { writeAtomic, writeJson } from '../runs/store';

export { CheckpointError } from './errors';

export interface LinearHead {
  /** [outputs, hidden] */
  readonly weight: FloatTensor;
  /** [outputs] */
  readonly bias: FloatTensor;
}

export interface HuggingFaceHeads {
  /** BertForSequenceClassification's head, when the checkpoint has one. */
  readonly classifier?: LinearHead;
  /** BertForQuestionAnswering's span head, when the checkpoint has one. */
  readonly qaOutputs?: LinearHead;
  /** BertForMaskedLM's head (`cls.predictions.*`: transform, its layer norm, the decoder's bias) under the engine's names. */
  readonly mlm?: WeightMap;
}

export interface HuggingFaceSource {
  readonly folder: string;
  readonly configFile: string;
  readonly weightsFile: string;
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** Stored names that were not loaded: pretraining heads, buffers, anything unknown. */
  readonly ignored: readonly string[];
}

export interface HuggingFaceBert {
  readonly dims: BertDims;
  /** config.json's layer_norm_eps (BERT's default 1e-12 when absent). */
  readonly layerNormEps: number;
  /** Base weights under the engine's names: embeddings, every layer, and the pooler if present. */
  readonly weights: WeightMap;
  readonly heads: HuggingFaceHeads;
  /** Optional weights the checkpoint lacks (the pooler), for the engine to initialise. */
  readonly missing: readonly string[];
  readonly source: HuggingFaceSource;
}

const DEFAULT_LAYER_NORM_EPS = 1e-12;
const WEIGHTS_FILE = 'model.safetensors';
const PYTORCH_WEIGHTS_FILE = 'pytorch_model.bin';
/** How many problems one error lists before summarising the rest. */
const MAX_LISTED_PROBLEMS = 8;
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);

/** Shapes of every required base weight (embeddings and layers; not the pooler), by our name. */
export function baseWeightShapes(dims: BertDims): Map<string, readonly number[]> {
  // The span head's model has no pooler; drop its own head to leave the base weights.
  const shapes = parameterShapes({ dims, layerNormEps: DEFAULT_LAYER_NORM_EPS, adapters: undefined, head: { kind: 'span' } });
  shapes.delete(names.qaOutputs.weight);
  shapes.delete(names.qaOutputs.bias);
  return shapes;
}

/**
 * The engine's name for a stored Hugging Face name: without the `bert.` prefix (present when
 * saved from a model with a head) and with TensorFlow-era `gamma`/`beta` as `weight`/`bias`.
 */
export function engineName(stored: string): string {
  let n = stored.startsWith('bert.') ? stored.slice('bert.'.length) : stored;
  if (n.endsWith('.gamma')) n = n.slice(0, -'gamma'.length) + 'weight';
  else if (n.endsWith('.beta')) n = n.slice(0, -'beta'.length) + 'bias';
  return n;
}

/** Loads a Hugging Face BERT folder; throws a CheckpointError naming the file and the problem. */
export function loadHuggingFaceBert(folder: string): HuggingFaceBert {
  let st: fs.Stats;
  try {
    st = fs.statSync(folder);
  } catch {
    throw new CheckpointError(folder, 'model folder not found');
  }
  if (!st.isDirectory()) throw new CheckpointError(folder, 'the model must be a Hugging Face BERT folder (config.json, model.safetensors), not a file');

  const configFile = path.join(folder, 'config.json');
  const { dims, layerNormEps } = readConfig(configFile);
  // model.safetensors, else pytorch_model.bin (many models still ship only that), read without Python.
  const weightsFile = [WEIGHTS_FILE, PYTORCH_WEIGHTS_FILE].map((f) => path.join(folder, f)).find((f) => fs.existsSync(f));
  if (!weightsFile) throw new CheckpointError(folder, missingWeightsMessage(folder));

  const file = openWeightsFile(weightsFile);
  try {
    return loadWeights(file, dims, layerNormEps, { folder, configFile, weightsFile });
  } finally {
    file.close();
  }
}

function readConfig(configFile: string): { dims: BertDims; layerNormEps: number } {
  let raw: string;
  try {
    raw = fs.readFileSync(configFile, 'utf8');
  } catch {
    throw new CheckpointError(configFile, 'cannot read config.json; a Hugging Face model folder needs one');
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new CheckpointError(configFile, `not valid JSON (${(e as Error).message})`);
  }
  const dims = dimsFromConfig(json);
  if (typeof dims === 'string') throw new CheckpointError(configFile, dims);
  const eps = (json as Record<string, unknown>).layer_norm_eps ?? DEFAULT_LAYER_NORM_EPS;
  if (typeof eps !== 'number' || !Number.isFinite(eps) || eps <= 0) {
    throw new CheckpointError(configFile, `layer_norm_eps must be a positive number (found ${JSON.stringify(eps)})`);
  }
  return { dims, layerNormEps: eps };
}

function missingWeightsMessage(folder: string): string {
  const has = (f: string) => fs.existsSync(path.join(folder, f));
  for (const index of ['model.safetensors.index.json', 'pytorch_model.bin.index.json']) {
    if (has(index)) return `the weights are sharded (${index}); Adapter Lab reads a single model.safetensors or pytorch_model.bin: save the model again with a larger max_shard_size`;
  }
  const other = ['tf_model.h5', 'flax_model.msgpack'].filter(has);
  if (other.length > 0) {
    return `no model.safetensors or pytorch_model.bin, only ${other.join(', ')}; convert it with transformers (AutoModel.from_pretrained(folder).save_pretrained(folder, safe_serialization=True))`;
  }
  return 'no model.safetensors or pytorch_model.bin in the model folder';
}

function loadWeights(
  file: SafetensorsFile,
  dims: BertDims,
  layerNormEps: number,
  where: { folder: string; configFile: string; weightsFile: string },
): HuggingFaceBert {
  const expected = baseWeightShapes(dims);
  const headShapes = new Map<string, readonly (number | undefined)[]>([
    [names.pooler.weight, [dims.hiddenSize, dims.hiddenSize]],
    [names.pooler.bias, [dims.hiddenSize]],
    // A classifier's label count is the checkpoint's own; it is checked against its bias below.
    [names.classifier.weight, [undefined, dims.hiddenSize]],
    [names.classifier.bias, [undefined]],
    [names.qaOutputs.weight, [2, dims.hiddenSize]],
    [names.qaOutputs.bias, [2]],
  ]);
  // The masked-LM head, loaded as a whole; its decoder weight (and decoder bias) are tied copies, ignored.
  const mlmShapes = new Map<string, readonly number[]>([
    [names.mlmHead.transform.weight, [dims.hiddenSize, dims.hiddenSize]],
    [names.mlmHead.transform.bias, [dims.hiddenSize]],
    [names.mlmHead.layerNorm.weight, [dims.hiddenSize]],
    [names.mlmHead.layerNorm.bias, [dims.hiddenSize]],
    [names.mlmHead.bias, [dims.vocabSize]],
  ]);
  for (const [n, s] of mlmShapes) headShapes.set(n, s);

  const problems: string[] = [];
  const stored = new Map<string, TensorInfo>(); // our name → stored tensor
  const ignored: string[] = [];
  for (const info of file.tensors) {
    const ours = engineName(info.name);
    if (!expected.has(ours) && !headShapes.has(ours)) {
      const layer = /^encoder\.layer\.(\d+)\./.exec(ours);
      if (layer && Number(layer[1]) >= dims.layers) {
        problems.push(`${label(info)} belongs to layer ${layer[1]}, but config.json has num_hidden_layers ${dims.layers}`);
      }
      ignored.push(info.name);
      continue;
    }
    const previous = stored.get(ours);
    if (previous) {
      problems.push(`tensors "${previous.name}" and "${info.name}" both map to "${ours}"`);
      continue;
    }
    stored.set(ours, info);
  }

  const check = (name: string, shape: readonly (number | undefined)[]): void => {
    const info = stored.get(name);
    if (!info) {
      problems.push(`missing tensor "${name}" (expected shape ${fmtShape(shape)})`);
      return;
    }
    if (!FLOAT_DTYPES.has(info.dtype)) problems.push(`${label(info)} has dtype ${info.dtype}; weights must be F32, F16 or BF16`);
    const fits = info.shape.length === shape.length && shape.every((d, i) => d === undefined || d === info.shape[i]);
    if (!fits) problems.push(`${label(info)} has shape ${fmtShape(info.shape)}, expected ${fmtShape(shape)} from config.json`);
  };
  for (const [name, shape] of expected) check(name, shape);

  // Optional pairs: the pooler (absent from some BertModel exports) and the task heads.
  const missing: string[] = [];
  const pairs = [names.pooler, names.classifier, names.qaOutputs];
  const present = new Set<string>();
  for (const pair of pairs) {
    if (!stored.has(pair.weight) && !stored.has(pair.bias)) {
      if (pair === names.pooler) missing.push(pair.weight, pair.bias);
      continue;
    }
    const before = problems.length;
    check(pair.weight, headShapes.get(pair.weight)!);
    check(pair.bias, headShapes.get(pair.bias)!);
    const w = stored.get(pair.weight);
    const b = stored.get(pair.bias);
    if (problems.length === before && w && b && w.shape[0] !== b.shape[0]) {
      problems.push(`${label(w)} has ${w.shape[0]} outputs but ${label(b)} has ${b.shape[0]}`);
    }
    present.add(pair.weight);
  }

  // Only a whole masked-LM head is loaded; parts of one (a classification checkpoint's leftovers) are skipped, as before.
  const mlmPresent = [...mlmShapes.keys()].every((n) => stored.has(n));
  if (mlmPresent) for (const [n, s] of mlmShapes) check(n, s);
  else for (const n of mlmShapes.keys()) if (stored.has(n)) ignored.push(stored.get(n)!.name);

  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
    const more = problems.length > MAX_LISTED_PROBLEMS ? `; and ${problems.length - MAX_LISTED_PROBLEMS} more` : '';
    throw new CheckpointError(where.weightsFile, `does not match config.json (${describeDims(dims)}): ${listed}${more}`);
  }

  const read = (name: string): FloatTensor => file.readFloat(stored.get(name)!.name);
  const weights: WeightMap = new Map();
  for (const name of expected.keys()) weights.set(name, read(name));
  if (present.has(names.pooler.weight)) weights.set(names.pooler.weight, read(names.pooler.weight)).set(names.pooler.bias, read(names.pooler.bias));
  const head = (pair: { weight: string; bias: string }): LinearHead | undefined =>
    present.has(pair.weight) ? { weight: read(pair.weight), bias: read(pair.bias) } : undefined;
  const classifier = head(names.classifier);
  const qaOutputs = head(names.qaOutputs);
  const mlm: WeightMap | undefined = mlmPresent ? new Map([...mlmShapes.keys()].map((n) => [n, read(n)] as const)) : undefined;

  return {
    dims,
    layerNormEps,
    weights,
    heads: { ...(classifier && { classifier }), ...(qaOutputs && { qaOutputs }), ...(mlm && { mlm }) },
    missing,
    source: { ...where, metadata: file.metadata, ignored },
  };
}

/** A stored tensor, with our name when it differs. */
function label(info: TensorInfo): string {
  const ours = engineName(info.name);
  return ours === info.name ? `tensor "${info.name}"` : `tensor "${info.name}" ("${ours}")`;
}

function fmtShape(shape: readonly (number | undefined)[]): string {
  return `[${shape.map((d) => (d === undefined ? 'any' : String(d))).join(', ')}]`;
}

function describeDims(d: BertDims): string {
  return `hidden_size ${d.hiddenSize}, num_hidden_layers ${d.layers}, intermediate_size ${d.intermediateSize}, vocab_size ${d.vocabSize}, max_position_embeddings ${d.maxPositions}, type_vocab_size ${d.typeVocabSize}`;
}

export interface BertFolderContents {
  readonly dims: BertDims;
  readonly layerNormEps: number;
  readonly dropout: { readonly hidden: number; readonly attention: number };
  /** Under the engine's names: the encoder (and pooler) get `bert.`, heads keep theirs (`cls.predictions.*`). */
  readonly weights: ReadonlyMap<string, FloatTensor>;
  /** The vocabulary: tokens in id order, or a vocab.txt's text to copy as it is (repeated lines and all). */
  readonly vocab: readonly string[] | string;
  readonly cased: boolean;
  /** `BertForMaskedLM`, `BertModel`, … (config.json's architectures). */
  readonly architecture: string;
  /** How model.safetensors stores the weights: float32 (the default) or float16 for a shipped model half the size. */
  readonly dtype?: StoredFloat;
}

/** The stored name of an engine weight in a Hugging Face BertFor… folder. */
export function storedName(name: string): string {
  return name.startsWith('cls.') || name.startsWith('classifier.') || name.startsWith('qa_outputs.') ? name : `bert.${name}`;
}

/**
 * Writes a Hugging Face BERT folder: config.json, vocab.txt, tokenizer_config.json and
 * model.safetensors (float32 unless asked for float16), each file atomically. A tied decoder is not stored (as
 * transformers' save_pretrained leaves tied weights out).
 */
export function writeHuggingFaceBert(dir: string, c: BertFolderContents): void {
  fs.mkdirSync(dir, { recursive: true });
  const d = c.dims;
  writeJson(path.join(dir, 'config.json'), {
    architectures: [c.architecture],
    model_type: 'bert',
    hidden_size: d.hiddenSize,
    num_hidden_layers: d.layers,
    num_attention_heads: d.heads,
    intermediate_size: d.intermediateSize,
    hidden_act: 'gelu',
    hidden_dropout_prob: c.dropout.hidden,
    attention_probs_dropout_prob: c.dropout.attention,
    max_position_embeddings: d.maxPositions,
    type_vocab_size: d.typeVocabSize,
    vocab_size: d.vocabSize,
    layer_norm_eps: c.layerNormEps,
    initializer_range: 0.02,
    pad_token_id: 0,
    position_embedding_type: 'absolute',
  });
  writeAtomic(path.join(dir, 'vocab.txt'), typeof c.vocab === 'string' ? c.vocab : c.vocab.join('\n') + '\n');
  writeJson(path.join(dir, 'tokenizer_config.json'), {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: !c.cased,
    strip_accents: null,
    tokenize_chinese_chars: true,
    model_max_length: d.maxPositions,
  });
  const stored = new Map<string, FloatTensor>();
  for (const [name, t] of c.weights) stored.set(storedName(name), t);
  writeSafetensors(path.join(dir, 'model.safetensors'), stored, { format: 'pt' }, c.dtype ?? 'F32');
}
