/**
 * What validation needs from files on disk: the model's config.json and the data files'
 * columns and labels. Reads are cached by path and refreshed when a file's size or
 * modification time changes, so validating on every keystroke costs one stat per file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILTIN_MODELS, BUILTIN_ORIGINS, BUILTIN_PREFIX, type BertDims } from '../model/dims';
import { findShipped } from '../util/shipped';
import { DEFAULT_SPECIAL_TOKENS } from '../tokenizer/wordpieceTrainer';
import { vocabularyChecksum } from '../tokenizer/checksum';
import { builtinVocab } from '../model/builtin';

export type ModelInfo =
  | {
      readonly ok: true;
      readonly dims: BertDims;
      readonly source: 'builtin' | 'folder' | 'scratch';
      readonly name: string;
      /** Whether the weights hold a pooler: a masked-LM checkpoint has none, and a run whose head needs one draws and trains it. */
      readonly hasPooler: boolean;
    }
  | { readonly ok: false; readonly code: 'missing-file' | 'bad-model'; readonly message: string };

/** `text`: running text, one document per line (masked-LM tasks). */
export type DataFormat = 'tsv' | 'csv' | 'jsonl' | 'squad' | 'text';

export type DataInfo =
  | { readonly ok: true; readonly format: DataFormat; readonly columns: readonly string[] | undefined }
  | { readonly ok: false; readonly code: 'missing-file' | 'bad-data'; readonly message: string };

/** Files larger than this are not scanned for their label set (the head size then is unknown). */
const LABEL_SCAN_LIMIT_BYTES = 64 * 1024 * 1024;
/** Enough of a file to read its header line. */
const HEADER_BYTES = 64 * 1024;

interface CacheEntry<T> {
  readonly stamp: string;
  readonly value: T;
}

export class ProjectFiles {
  private readonly models = new Map<string, CacheEntry<ModelInfo>>();
  private readonly data = new Map<string, CacheEntry<DataInfo>>();
  private readonly vocabs = new Map<string, CacheEntry<ReturnType<ProjectFiles['vocab']>>>();
  private readonly labels = new Map<string, CacheEntry<readonly string[] | undefined>>();
  private readonly checksums = new Map<string, CacheEntry<string | undefined>>();

  /** `ref` is `builtin:<name>` or an absolute folder path. */
  model(ref: string): ModelInfo {
    if (ref.startsWith(BUILTIN_PREFIX)) {
      const name = ref.slice(BUILTIN_PREFIX.length);
      const dims = BUILTIN_MODELS[name];
      if (!dims) {
        const known = Object.keys(BUILTIN_MODELS).map((n) => BUILTIN_PREFIX + n).join(', ');
        return { ok: false, code: 'bad-model', message: `Unknown built-in model "${name}"; built-in models are ${known}` };
      }
      // As checkpoint/baseModel.ts builds them: a shipped model's twin is drawn as for
      // pretraining (no pooler); the other generated models carry one.
      const origin = BUILTIN_ORIGINS[name];
      if (origin?.kind !== 'shipped') return { ok: true, dims, source: 'builtin', name, hasPooler: origin?.vocabFolder === undefined };
      // The shipped model is what its file holds (a masked-LM checkpoint: none). Validation
      // runs on every keystroke, so the header is read once per version of the file.
      const weights = findShipped(path.join('models', origin.folder, 'model.safetensors'));
      return cached(this.models, ref, weights ? stampOf(weights) : 'absent', () => ({ ok: true, dims, source: 'builtin', name, hasPooler: weights !== undefined && safetensorsHasPooler(weights) }));
    }
    const configPath = path.join(ref, 'config.json');
    const stamp = stampOf(configPath) + '|' + stampOf(path.join(ref, 'model.safetensors')) + '|' + stampOf(path.join(ref, 'pytorch_model.bin')) + '|' + stampOf(path.join(ref, 'vocab.txt')) + '|' + stampOf(path.join(ref, 'tokenizer.json'));
    return cached(this.models, ref, stamp, () => readModelFolder(ref));
  }

  /**
   * The vocabulary fingerprint of a model (`builtin:<name>` or a folder with vocab.txt);
   * undefined when it cannot be read cheaply (a tokenizer.json-only folder).
   */
  vocabularyChecksum(ref: string): string | undefined {
    const stamp = ref.startsWith(BUILTIN_PREFIX) ? 'builtin' : stampOf(path.join(ref, 'vocab.txt'));
    return cached(this.checksums, ref, stamp, () => modelVocabularyChecksum(ref));
  }

  /** Format and column names of a data file (absolute path). */
  /** Lines of a vocab.txt and whether it has the tokens a masked-language model needs. */
  vocab(file: string): { readonly ok: true; readonly size: number; readonly missing: readonly string[] } | { readonly ok: false; readonly message: string } {
    return cached(this.vocabs, file, stampOf(file), () => readVocab(file));
  }

  dataFile(file: string): DataInfo {
    return cached(this.data, file, stampOf(file), () => readDataHeader(file));
  }

  /** The distinct values of a label column, in order of first appearance, if the file is small enough to scan. */
  labelValues(file: string, column: string): readonly string[] | undefined {
    return cached(this.labels, file + '\0' + column, stampOf(file), () => scanLabels(file, column, this.dataFile(file)));
  }
}

/**
 * A model's vocabulary fingerprint (tokenizer/checksum.ts): of the built-in vocabulary, or of
 * a folder's vocab.txt lines; undefined for anything else. Saved adapters record it and
 * fusions compare it, so both compute it here.
 */
export function modelVocabularyChecksum(ref: string): string | undefined {
  let folder = ref;
  if (ref.startsWith(BUILTIN_PREFIX)) {
    const name = ref.slice(BUILTIN_PREFIX.length);
    const dims = BUILTIN_MODELS[name];
    const origin = BUILTIN_ORIGINS[name];
    // The pretrained model and its twin share the shipped folder's vocabulary.
    const shipped = origin?.kind === 'shipped' ? origin.folder : origin?.vocabFolder;
    if (!shipped) return dims ? vocabularyChecksum(builtinVocab(dims)) : undefined;
    const vocab = findShipped(path.join('models', shipped, 'vocab.txt'));
    if (!vocab) return undefined;
    folder = path.dirname(vocab);
  }
  try {
    const lines = fs.readFileSync(path.join(folder, 'vocab.txt'), 'utf8').replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    return vocabularyChecksum(lines);
  } catch {
    return undefined;
  }
}

function cached<T>(map: Map<string, CacheEntry<T>>, key: string, stamp: string, read: () => T): T {
  const hit = map.get(key);
  if (hit && hit.stamp === stamp) return hit.value;
  const value = read();
  map.set(key, { stamp, value });
  return value;
}

function stampOf(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.isDirectory() ? 'd' : 'f'}${st.size}:${st.mtimeMs}`;
  } catch {
    return 'absent';
  }
}

function readModelFolder(folder: string): ModelInfo {
  let st: fs.Stats;
  try {
    st = fs.statSync(folder);
  } catch {
    return { ok: false, code: 'missing-file', message: `Model folder not found: ${folder}` };
  }
  if (!st.isDirectory()) return { ok: false, code: 'bad-model', message: `The model must be a Hugging Face BERT folder, not a file: ${folder}` };
  const configPath = path.join(folder, 'config.json');
  let raw: string;
  try {
    raw = fs.readFileSync(configPath, 'utf8');
  } catch {
    return { ok: false, code: 'bad-model', message: `No config.json in the model folder ${folder}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return { ok: false, code: 'bad-model', message: `config.json is not valid JSON: ${(e as Error).message}` };
  }
  const dims = dimsFromConfig(json);
  if (typeof dims === 'string') return { ok: false, code: 'bad-model', message: `config.json: ${dims}` };
  if (!fs.existsSync(path.join(folder, 'model.safetensors')) && !fs.existsSync(path.join(folder, 'pytorch_model.bin'))) {
    return { ok: false, code: 'bad-model', message: 'No model.safetensors or pytorch_model.bin in the model folder' };
  }
  if (!fs.existsSync(path.join(folder, 'vocab.txt')) && !fs.existsSync(path.join(folder, 'tokenizer.json'))) {
    return { ok: false, code: 'bad-model', message: 'No vocab.txt or tokenizer.json in the model folder' };
  }
  return { ok: true, dims, source: 'folder', name: path.basename(folder), hasPooler: folderHasPooler(folder, json) };
}

const POOLER_WEIGHT = /(^|\.)pooler\.dense\.weight$/;

/**
 * Reads only the safetensors header (the 8-byte length and the JSON after it), so the language
 * server can afford it; checkpoint/safetensors.ts, a layer above, reads the tensors.
 */
function safetensorsHasPooler(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = Buffer.alloc(8);
    if (fs.readSync(fd, size, 0, 8, 0) !== 8) return true;
    const length = Number(size.readBigUInt64LE(0));
    if (length > 100 * 1024 * 1024) return true;
    const header = Buffer.alloc(length);
    if (fs.readSync(fd, header, 0, length, 8) !== length) return true;
    const names = Object.keys(JSON.parse(header.toString('utf8')) as Record<string, unknown>);
    return names.some((n) => POOLER_WEIGHT.test(n));
  } catch {
    // An unreadable file is reported by the jobs that load it; counting assumes the usual BERT.
    return true;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * A folder's pooler: from the safetensors header, or, for a pickled checkpoint (too costly
 * to open while typing), from config.json: Hugging Face's BertForMaskedLM saves none.
 */
function folderHasPooler(folder: string, config: unknown): boolean {
  const weights = path.join(folder, 'model.safetensors');
  if (fs.existsSync(weights)) return safetensorsHasPooler(weights);
  const architectures = (config as { architectures?: unknown }).architectures;
  return !(Array.isArray(architectures) && architectures.length > 0 && architectures.every((a) => a === 'BertForMaskedLM'));
}

/** Reads BERT dimensions from a parsed config.json; returns a message when it is unusable. */
export function dimsFromConfig(json: unknown): BertDims | string {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'expected a JSON object';
  const c = json as Record<string, unknown>;
  if (typeof c.model_type === 'string' && c.model_type !== 'bert') {
    return `model_type is "${c.model_type}"; Adapter Lab runs BERT models (model_type "bert")`;
  }
  // The engine computes BERT's exact (erf) GELU; a checkpoint trained with another would silently differ.
  if (c.hidden_act !== undefined && c.hidden_act !== 'gelu') {
    return `hidden_act is ${JSON.stringify(c.hidden_act)}; Adapter Lab runs BERT's exact GELU (hidden_act "gelu")`;
  }
  const int = (key: string, fallback?: number): number | string => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) return `${key} must be a positive integer (found ${JSON.stringify(c[key])})`;
    return v;
  };
  const hiddenSize = int('hidden_size');
  const layers = int('num_hidden_layers');
  const heads = int('num_attention_heads', 12);
  if (typeof hiddenSize === 'string') return hiddenSize;
  if (typeof layers === 'string') return layers;
  if (typeof heads === 'string') return heads;
  const intermediateSize = int('intermediate_size', 4 * hiddenSize);
  const vocabSize = int('vocab_size', 30522);
  const maxPositions = int('max_position_embeddings', 512);
  const typeVocabSize = int('type_vocab_size', 2);
  for (const v of [intermediateSize, vocabSize, maxPositions, typeVocabSize]) if (typeof v === 'string') return v;
  if (hiddenSize % heads !== 0) return `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${heads}`;
  return {
    hiddenSize,
    layers,
    heads,
    intermediateSize: intermediateSize as number,
    vocabSize: vocabSize as number,
    maxPositions: maxPositions as number,
    typeVocabSize: typeVocabSize as number,
  };
}

export function dataFormatOf(file: string): DataFormat | undefined {
  switch (path.extname(file).toLowerCase()) {
    case '.tsv':
      return 'tsv';
    case '.csv':
      return 'csv';
    case '.jsonl':
      return 'jsonl';
    case '.json':
      return 'squad';
    case '.txt':
      return 'text';
    default:
      return undefined;
  }
}

function readDataHeader(file: string): DataInfo {
  const format = dataFormatOf(file);
  let head: string;
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) return { ok: false, code: 'bad-data', message: `Expected a data file, found a folder: ${file}` };
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(HEADER_BYTES, st.size));
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      head = buf.subarray(0, n).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return { ok: false, code: 'missing-file', message: `Data file not found: ${file}` };
  }
  if (!format) return { ok: false, code: 'bad-data', message: `Unsupported data format "${path.extname(file) || '(none)'}": use .tsv, .csv, .jsonl (or SQuAD v1.1 .json for span tasks)` };
  if (format === 'text') {
    return head.trim() !== '' ? { ok: true, format, columns: undefined } : { ok: false, code: 'bad-data', message: 'The text file is empty' };
  }
  if (format === 'squad') {
    return /^\s*\{/.test(head) ? { ok: true, format, columns: undefined } : { ok: false, code: 'bad-data', message: 'A SQuAD file is a JSON object with a "data" list' };
  }
  const firstLine = head.replace(/^\uFEFF/, '').split(/\r?\n/).find((l) => l.trim() !== '');
  if (firstLine === undefined) return { ok: false, code: 'bad-data', message: 'The data file is empty' };
  if (format === 'jsonl') {
    try {
      const obj: unknown = JSON.parse(firstLine);
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { ok: false, code: 'bad-data', message: 'Each line of a .jsonl file must be a JSON object' };
      return { ok: true, format, columns: Object.keys(obj) };
    } catch {
      return { ok: false, code: 'bad-data', message: 'The first line of the .jsonl file is not valid JSON' };
    }
  }
  const columns = format === 'tsv' ? firstLine.split('\t') : splitCsvLine(firstLine);
  return { ok: true, format, columns: columns.map((c) => c.trim()) };
}

/** Splits one CSV record (RFC 4180 quoting) into fields. */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

function scanLabels(file: string, column: string, info: DataInfo): readonly string[] | undefined {
  if (!info.ok || !info.columns) return undefined;
  let text: string;
  try {
    if (fs.statSync(file).size > LABEL_SCAN_LIMIT_BYTES) return undefined;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  if (info.format === 'jsonl') {
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        const v = (JSON.parse(line) as Record<string, unknown>)[column];
        if (v !== undefined && v !== null) seen.add(String(v));
      } catch {
        return undefined;
      }
    }
  } else {
    const index = info.columns.indexOf(column);
    if (index < 0) return undefined;
    for (const line of lines.slice(1)) {
      if (!line.trim()) continue;
      const fields = info.format === 'tsv' ? line.split('\t') : splitCsvLine(line);
      const v = fields[index];
      if (v !== undefined) seen.add(v.trim());
    }
  }
  return [...seen];
}


function readVocab(file: string): ReturnType<ProjectFiles['vocab']> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return { ok: false, message: `Vocabulary not found: ${file}` };
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return { ok: false, message: `The vocabulary is empty: ${file}` };
  const have = new Set(lines);
  return { ok: true, size: lines.length, missing: DEFAULT_SPECIAL_TOKENS.filter((t) => !have.has(t)) };
}
