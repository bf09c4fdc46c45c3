/**
 * Reading a BERT tokenizer from a Hugging Face model folder: `vocab.txt` (the Python
 * `BertTokenizer`'s file) or `tokenizer.json` (the `tokenizers` format behind
 * `BertTokenizerFast`), plus `tokenizer_config.json` when present. Everything is checked
 * before use; problems are `TokenizerError`s naming the file and, where there is one, the key.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TokenizerError } from './errors';

/** A token matched in the raw text before normalisation (`added_tokens`; the special tokens). */
export interface AddedTokenSpec {
  readonly content: string;
  readonly id: number;
  readonly special: boolean;
  /** Swallow whitespace on the left / right of the token. */
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  /** Match only where the token is not inside a word. */
  readonly singleWord: boolean;
}

/** The BertNormalizer settings (`tokenizer.json`) / BasicTokenizer arguments (`vocab.txt`). */
export interface NormalizerSpec {
  readonly cleanText: boolean;
  readonly handleChineseChars: boolean;
  /** null: strip exactly when lower-casing. */
  readonly stripAccents: boolean | null;
  readonly lowercase: boolean;
}

/** Everything a BertTokenizer is built from. */
export interface TokenizerDefinition {
  /** Token → id. */
  readonly vocab: ReadonlyMap<string, number>;
  /** The file the vocabulary came from, for messages (undefined when built in memory). */
  readonly vocabFile?: string;
  readonly unkToken: string;
  readonly clsToken: string;
  readonly sepToken: string;
  readonly padToken: string;
  readonly maskToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  readonly normalizer: NormalizerSpec;
  /** Tokens matched in raw text. The special tokens above are added to these when in the vocabulary. */
  readonly addedTokens: readonly AddedTokenSpec[];
  /** `never_split`: words the slow behaviour keeps whole (BertTokenizerFast ignores it). */
  readonly neverSplit: readonly string[];
  /** `model_max_length`; undefined when unknown or "unlimited". */
  readonly modelMaxLength: number | undefined;
  /** `split_special_tokens`: treat special tokens in the text as ordinary text. */
  readonly splitSpecialTokens: boolean;
  /**
   * `use_fast` from tokenizer_config.json: false asks for the Python `BertTokenizer`'s behaviour
   * ('slow'); true or undefined for `BertTokenizerFast`'s ('fast', what `AutoTokenizer` loads).
   */
  readonly useFast: boolean | undefined;
}

export type TokenizerSource = 'auto' | 'vocab.txt' | 'tokenizer.json';

export const DEFAULT_NORMALIZER: NormalizerSpec = { cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true };

/** The defaults of Hugging Face's BertTokenizer for everything a vocabulary file does not say. */
export function definitionFromVocab(vocab: ReadonlyMap<string, number>, vocabFile?: string): TokenizerDefinition {
  return {
    vocab,
    vocabFile,
    unkToken: '[UNK]',
    clsToken: '[CLS]',
    sepToken: '[SEP]',
    padToken: '[PAD]',
    maskToken: '[MASK]',
    continuingSubwordPrefix: '##',
    maxInputCharsPerWord: 100,
    normalizer: DEFAULT_NORMALIZER,
    addedTokens: [],
    neverSplit: [],
    modelMaxLength: undefined,
    splitSpecialTokens: false,
    useFast: undefined,
  };
}

/**
 * Reads a model folder. `source: 'auto'` (default) prefers `tokenizer.json`, the full
 * definition `AutoTokenizer` would load, and falls back to `vocab.txt`.
 */
export function readTokenizerFolder(folder: string, source: TokenizerSource = 'auto'): TokenizerDefinition {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(folder);
  } catch {
    throw new TokenizerError('model folder not found', folder);
  }
  if (!stat.isDirectory()) throw new TokenizerError('not a folder', folder);
  const jsonFile = path.join(folder, 'tokenizer.json');
  const vocabFile = path.join(folder, 'vocab.txt');
  const configFile = path.join(folder, 'tokenizer_config.json');
  let definition: TokenizerDefinition;
  if (source === 'tokenizer.json' || (source === 'auto' && fs.existsSync(jsonFile))) {
    definition = parseTokenizerJson(readText(jsonFile), jsonFile);
  } else if (source === 'vocab.txt' || fs.existsSync(vocabFile)) {
    definition = definitionFromVocab(parseVocabTxt(readText(vocabFile), vocabFile), vocabFile);
  } else {
    throw new TokenizerError('no vocab.txt or tokenizer.json', folder);
  }
  if (fs.existsSync(configFile)) definition = applyTokenizerConfig(definition, readText(configFile), configFile);
  return definition;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new TokenizerError(code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(e)})`, file);
  }
}

/**
 * `vocab.txt`: one token per line, id = line index. Lines end in \n, \r\n or \r (Python's
 * universal newlines); a final line ending adds no empty token; other characters, spaces
 * included, belong to the token, as in `load_vocab`. A repeated token keeps its last id, as
 * Python's dict does. A UTF-8 byte-order mark is ignored.
 */
export function parseVocabTxt(content: string, file = 'vocab.txt'): Map<string, number> {
  const text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (!lines.some((line) => line.length > 0)) throw new TokenizerError('the vocabulary is empty', file);
  const vocab = new Map<string, number>();
  lines.forEach((token, id) => vocab.set(token, id));
  return vocab;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function parseJson(content: string, file: string): Json {
  try {
    return JSON.parse(content) as Json;
  } catch (e) {
    throw new TokenizerError(`invalid JSON (${(e as Error).message})`, file);
  }
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: Json | undefined): string {
  return v === undefined ? 'nothing' : v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : JSON.stringify(v);
}

function bool(obj: JsonObject, key: string, where: string, file: string, fallback: boolean): boolean {
  const v = obj[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw new TokenizerError(`${where}${key} must be true or false, got ${describe(v)}`, file);
  return v;
}

function optionalBool(obj: JsonObject, key: string, where: string, file: string): boolean | null {
  const v = obj[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'boolean') throw new TokenizerError(`${where}${key} must be true, false or null, got ${describe(v)}`, file);
  return v;
}

function nonNegativeInteger(v: Json | undefined, what: string, file: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TokenizerError(`${what} must be a non-negative integer, got ${describe(v)}`, file);
  return v;
}

/** A token given as a string or as an AddedToken object `{ "content": ... }`. */
function tokenName(v: Json | undefined, what: string, file: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && v.length > 0) return v;
  if (isObject(v) && typeof v.content === 'string' && v.content.length > 0) return v.content;
  throw new TokenizerError(`${what} must be a token (a string or {"content": ...}), got ${describe(v)}`, file);
}

/** `tokenizer.json` in the Hugging Face tokenizers format, WordPiece models only. */
export function parseTokenizerJson(content: string, file = 'tokenizer.json'): TokenizerDefinition {
  const root = parseJson(content, file);
  if (!isObject(root)) throw new TokenizerError(`expected a JSON object, got ${describe(root)}`, file);
  const model = root.model;
  if (!isObject(model)) throw new TokenizerError(`model must be an object, got ${describe(model)}`, file);
  const type = model.type ?? null;
  if (type !== 'WordPiece') {
    throw new TokenizerError(`unsupported model.type ${describe(type)}: only "WordPiece" (BERT) tokenizers are supported`, file);
  }

  const rawVocab = model.vocab;
  if (!isObject(rawVocab)) throw new TokenizerError(`model.vocab must be an object of token → id, got ${describe(rawVocab)}`, file);
  const vocab = new Map<string, number>();
  const seen = new Map<number, string>();
  for (const [token, id] of Object.entries(rawVocab)) {
    const n = nonNegativeInteger(id, `model.vocab[${JSON.stringify(token)}]`, file);
    const other = seen.get(n);
    if (other !== undefined) throw new TokenizerError(`model.vocab gives id ${n} to both ${JSON.stringify(other)} and ${JSON.stringify(token)}`, file);
    seen.set(n, token);
    vocab.set(token, n);
  }
  if (vocab.size === 0) throw new TokenizerError('the vocabulary (model.vocab) is empty', file);

  const unkToken = tokenName(model.unk_token, 'model.unk_token', file) ?? '[UNK]';
  const prefix = model.continuing_subword_prefix ?? '##';
  if (typeof prefix !== 'string') throw new TokenizerError(`model.continuing_subword_prefix must be a string, got ${describe(prefix)}`, file);
  const maxChars = model.max_input_chars_per_word === undefined ? 100 : nonNegativeInteger(model.max_input_chars_per_word, 'model.max_input_chars_per_word', file);

  const normalizer = parseNormalizer(root.normalizer ?? null, file);
  checkPreTokenizer(root.pre_tokenizer ?? null, file);
  const { cls, sep } = parsePostProcessor(root.post_processor ?? null, file);
  const padding = root.padding;
  const padToken = isObject(padding) ? tokenName(padding.pad_token, 'padding.pad_token', file) : undefined;

  const addedTokens: AddedTokenSpec[] = [];
  const rawAdded = root.added_tokens ?? [];
  if (!Array.isArray(rawAdded)) throw new TokenizerError(`added_tokens must be a list, got ${describe(rawAdded)}`, file);
  rawAdded.forEach((entry, i) => {
    const where = `added_tokens[${i}].`;
    if (!isObject(entry)) throw new TokenizerError(`added_tokens[${i}] must be an object, got ${describe(entry)}`, file);
    const tokenContent = entry.content;
    if (typeof tokenContent !== 'string' || tokenContent.length === 0) throw new TokenizerError(`${where}content must be a non-empty string, got ${describe(tokenContent)}`, file);
    addedTokens.push({
      content: tokenContent,
      id: nonNegativeInteger(entry.id, `${where}id`, file),
      special: bool(entry, 'special', where, file, false),
      lstrip: bool(entry, 'lstrip', where, file, false),
      rstrip: bool(entry, 'rstrip', where, file, false),
      singleWord: bool(entry, 'single_word', where, file, false),
    });
  });

  return {
    ...definitionFromVocab(vocab, file),
    unkToken,
    clsToken: cls ?? '[CLS]',
    sepToken: sep ?? '[SEP]',
    padToken: padToken ?? '[PAD]',
    continuingSubwordPrefix: prefix,
    maxInputCharsPerWord: maxChars,
    normalizer,
    addedTokens,
  };
}

function parseNormalizer(n: Json, file: string): NormalizerSpec {
  // No normalizer: the text reaches the pre-tokenizer as written.
  if (n === null) return { cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false };
  if (!isObject(n)) throw new TokenizerError(`normalizer must be an object, got ${describe(n)}`, file);
  if (n.type === 'BertNormalizer') {
    const where = 'normalizer.';
    return {
      cleanText: bool(n, 'clean_text', where, file, true),
      handleChineseChars: bool(n, 'handle_chinese_chars', where, file, true),
      stripAccents: optionalBool(n, 'strip_accents', where, file),
      lowercase: bool(n, 'lowercase', where, file, true),
    };
  }
  if (n.type === 'Sequence' && Array.isArray(n.normalizers)) {
    const types = n.normalizers.map((m) => (isObject(m) ? describe(m.type) : describe(m)));
    if (n.normalizers.length === 1) return parseNormalizer(n.normalizers[0], file);
    throw new TokenizerError(`unsupported normalizer Sequence [${types.join(', ')}]: only a single BertNormalizer is supported`, file);
  }
  throw new TokenizerError(`unsupported normalizer.type ${describe(n.type)}: only BertNormalizer is supported`, file);
}

function checkPreTokenizer(p: Json, file: string): void {
  if (isObject(p) && p.type === 'BertPreTokenizer') return;
  if (isObject(p) && p.type === 'Sequence' && Array.isArray(p.pretokenizers) && p.pretokenizers.length === 1) {
    checkPreTokenizer(p.pretokenizers[0], file);
    return;
  }
  const type = isObject(p) ? describe(p.type) : describe(p);
  throw new TokenizerError(`unsupported pre_tokenizer ${type}: only BertPreTokenizer is supported`, file);
}

/** The [CLS]/[SEP] names from a BertProcessing or a BERT-shaped TemplateProcessing. */
function parsePostProcessor(p: Json, file: string): { cls: string | undefined; sep: string | undefined } {
  if (p === null) return { cls: undefined, sep: undefined };
  if (!isObject(p)) throw new TokenizerError(`post_processor must be an object, got ${describe(p)}`, file);
  if (p.type === 'BertProcessing') {
    const cls = Array.isArray(p.cls) ? tokenName(p.cls[0], 'post_processor.cls', file) : undefined;
    const sep = Array.isArray(p.sep) ? tokenName(p.sep[0], 'post_processor.sep', file) : undefined;
    return { cls, sep };
  }
  if (p.type === 'TemplateProcessing' && Array.isArray(p.single)) {
    const pieces = p.single.map((piece) => (isObject(piece) && isObject(piece.SpecialToken) ? piece.SpecialToken.id : isObject(piece) && isObject(piece.Sequence) ? null : undefined));
    const shaped = pieces.length === 3 && typeof pieces[0] === 'string' && pieces[1] === null && typeof pieces[2] === 'string';
    if (!shaped) throw new TokenizerError('unsupported post_processor template: expected "[CLS] $A [SEP]"', file);
    return { cls: pieces[0] as string, sep: pieces[2] as string };
  }
  throw new TokenizerError(`unsupported post_processor.type ${describe(p.type)}: only BertProcessing and TemplateProcessing are supported`, file);
}

/**
 * `tokenizer_config.json`: `do_lower_case`, `strip_accents` and `tokenize_chinese_chars`
 * override the normalizer (as `BertTokenizerFast` rebuilds its normalizer from them), plus
 * `model_max_length`, `never_split`, `split_special_tokens`, `use_fast` and the special token
 * names.
 */
export function applyTokenizerConfig(definition: TokenizerDefinition, content: string, file = 'tokenizer_config.json'): TokenizerDefinition {
  const config = parseJson(content, file);
  if (!isObject(config)) throw new TokenizerError(`expected a JSON object, got ${describe(config)}`, file);
  if (config.do_basic_tokenize === false) throw new TokenizerError('do_basic_tokenize: false is not supported', file);
  const n = definition.normalizer;
  const normalizer: NormalizerSpec = {
    cleanText: n.cleanText,
    lowercase: bool(config, 'do_lower_case', '', file, n.lowercase),
    stripAccents: 'strip_accents' in config ? optionalBool(config, 'strip_accents', '', file) : n.stripAccents,
    handleChineseChars: bool(config, 'tokenize_chinese_chars', '', file, n.handleChineseChars),
  };

  let modelMaxLength = definition.modelMaxLength;
  const max = config.model_max_length;
  if (max !== undefined && max !== null) {
    if (typeof max !== 'number' || !Number.isInteger(max) || max <= 0) throw new TokenizerError(`model_max_length must be a positive integer, got ${describe(max)}`, file);
    // transformers writes 1e30 (VERY_LARGE_INTEGER) for "no limit".
    modelMaxLength = max >= 1e18 ? undefined : max;
  }

  let neverSplit = definition.neverSplit;
  const ns = config.never_split;
  if (ns !== undefined && ns !== null) {
    if (!Array.isArray(ns) || !ns.every((t): t is string => typeof t === 'string')) throw new TokenizerError(`never_split must be a list of strings, got ${describe(ns)}`, file);
    neverSplit = ns;
  }

  return {
    ...definition,
    normalizer,
    modelMaxLength,
    neverSplit,
    splitSpecialTokens: bool(config, 'split_special_tokens', '', file, definition.splitSpecialTokens),
    useFast: config.use_fast === undefined || config.use_fast === null ? definition.useFast : bool(config, 'use_fast', '', file, true),
    unkToken: tokenName(config.unk_token, 'unk_token', file) ?? definition.unkToken,
    clsToken: tokenName(config.cls_token, 'cls_token', file) ?? definition.clsToken,
    sepToken: tokenName(config.sep_token, 'sep_token', file) ?? definition.sepToken,
    padToken: tokenName(config.pad_token, 'pad_token', file) ?? definition.padToken,
    maskToken: tokenName(config.mask_token, 'mask_token', file) ?? definition.maskToken,
  };
}
