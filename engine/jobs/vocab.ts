/**
 * The vocab job: a WordPiece vocabulary trained on plain-text files (`tokenizer/
 * wordpieceTrainer.ts`), written as a tokenizer folder the engine (and Hugging Face's
 * BertTokenizer) loads: `vocab.txt` and `tokenizer_config.json`, each written atomically.
 * With a held-out file, the new tokenizer is loaded back from what was written and measured
 * on it: the share of [UNK] among its tokens and tokens per word.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError } from '../data/errors';
import { checkTextFile, readTextFile } from '../data/text';
import { writeAtomic } from '../runs/store';
import { loadBertTokenizer } from '../tokenizer/bertTokenizer';
import { TokenizerError } from '../tokenizer/errors';
import { DEFAULT_SPECIAL_TOKENS, MAX_VOCAB_SIZE, trainWordPiece, WordCounter } from '../tokenizer/wordpieceTrainer';

export interface VocabJobOptions {
  /** `.txt` files, one document or paragraph per line. */
  readonly files: readonly string[];
  /** The vocab.txt to write, or the folder to write it in; tokenizer_config.json goes beside it. */
  readonly out: string;
  readonly size: number;
  /** Keep case and accents (default: uncased, lower-cased and accents stripped). */
  readonly cased?: boolean;
  readonly minFrequency?: number;
  readonly limitAlphabet?: number;
  /** A `.txt` file to measure the new tokenizer on. */
  readonly heldout?: string;
  readonly onProgress?: (p: VocabProgress) => void;
}

export type VocabProgress =
  | { readonly phase: 'read'; readonly file: string; readonly fileIndex: number; readonly files: number; readonly bytes: number; readonly fileBytes: number; readonly words: number }
  | { readonly phase: 'merge'; readonly vocabSize: number; readonly target: number }
  | { readonly phase: 'heldout'; readonly file: string; readonly words: number };

export interface HeldoutResult {
  readonly file: string;
  readonly words: number;
  readonly tokens: number;
  readonly unknown: number;
  /** [UNK] tokens / tokens. */
  readonly unkRate: number;
  readonly tokensPerWord: number;
}

export interface VocabJobResult {
  readonly vocabFile: string;
  readonly configFile: string;
  readonly vocabSize: number;
  readonly requestedSize: number;
  readonly specialTokens: number;
  readonly alphabet: number;
  readonly continuations: number;
  readonly merges: number;
  readonly droppedCharacters: number;
  /** True when no pair reached the minimum frequency before the requested size. */
  readonly stoppedEarly: boolean;
  readonly files: number;
  readonly bytes: number;
  /** Word occurrences and distinct words in the corpus, as the BasicTokenizer splits it. */
  readonly words: number;
  readonly distinctWords: number;
  readonly cased: boolean;
  readonly seconds: number;
  readonly countSeconds: number;
  readonly mergeSeconds: number;
  readonly heldout?: HeldoutResult;
}

/** Where the vocabulary goes: `--out` names a folder (an existing one, or one written with a final slash) or a file called vocab.txt. */
export function vocabTarget(out: string): { folder: string; vocabFile: string; configFile: string } {
  const resolved = path.resolve(out);
  let folder: string;
  if ((fs.existsSync(resolved) && fs.statSync(resolved).isDirectory()) || /[\\/]$/.test(out)) folder = resolved;
  else if (path.basename(resolved) === 'vocab.txt') folder = path.dirname(resolved);
  else throw new TokenizerError('the output must be a folder or a file named vocab.txt (the name the tokenizer loads)', out);
  return { folder, vocabFile: path.join(folder, 'vocab.txt'), configFile: path.join(folder, 'tokenizer_config.json') };
}

/** The tokenizer_config.json that makes the folder load as the tokenizer the vocabulary was trained for. */
export function tokenizerConfig(cased: boolean): Record<string, unknown> {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: !cased,
    strip_accents: !cased,
    tokenize_chinese_chars: true,
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
  };
}

export function trainVocab(options: VocabJobOptions): VocabJobResult {
  const started = Date.now();
  const { files, size } = options;
  const cased = options.cased ?? false;
  const progress = options.onProgress;
  // Everything that can be refused is refused before the corpus is read.
  if (files.length === 0) throw new TokenizerError('no text files to learn from');
  if (!Number.isInteger(size) || size < 1 || size > MAX_VOCAB_SIZE) throw new TokenizerError(`the vocabulary size must be an integer from 1 to ${MAX_VOCAB_SIZE}, got ${size}`);
  for (const f of files) checkTextFile(f);
  if (options.heldout !== undefined) checkTextFile(options.heldout);
  const target = vocabTarget(options.out);
  if (fs.existsSync(path.join(target.folder, 'tokenizer.json'))) {
    throw new TokenizerError('holds a tokenizer.json, which loads before vocab.txt: remove it or write the vocabulary elsewhere', target.folder);
  }

  const counter = new WordCounter({ doLowerCase: !cased });
  let bytes = 0;
  files.forEach((file, fileIndex) => {
    const text = readTextFile(file);
    const fileBytes = Buffer.byteLength(text);
    // Line by line, so that progress can be told within a large file.
    let lineStart = 0;
    let lines = 0;
    while (lineStart < text.length) {
      let lineEnd = text.indexOf('\n', lineStart);
      if (lineEnd < 0) lineEnd = text.length;
      counter.add(text, lineStart, lineEnd);
      if (progress !== undefined && ++lines % 2000 === 0) {
        progress({ phase: 'read', file, fileIndex, files: files.length, bytes: Math.round((fileBytes * lineEnd) / text.length), fileBytes, words: counter.words });
      }
      lineStart = lineEnd + 1;
    }
    bytes += fileBytes;
    progress?.({ phase: 'read', file, fileIndex, files: files.length, bytes: fileBytes, fileBytes, words: counter.words });
  });
  if (counter.words === 0) {
    throw new DataError(files.join(', '), undefined, 'the corpus is empty: no words to learn from (only whitespace, control characters or nothing at all)');
  }
  const counted = Date.now();

  const trained = trainWordPiece(counter.counts, {
    vocabSize: size,
    minFrequency: options.minFrequency,
    limitAlphabet: options.limitAlphabet,
    specialTokens: DEFAULT_SPECIAL_TOKENS,
    onMerge: progress === undefined ? undefined : (vocabSize) => progress({ phase: 'merge', vocabSize, target: size }),
  });
  const merged = Date.now();

  fs.mkdirSync(target.folder, { recursive: true });
  writeAtomic(target.configFile, JSON.stringify(tokenizerConfig(cased), null, 2) + '\n');
  writeAtomic(target.vocabFile, trained.tokens.join('\n') + '\n');

  const heldout = options.heldout === undefined ? undefined : measureHeldout(target.folder, options.heldout, progress);
  return {
    vocabFile: target.vocabFile,
    configFile: target.configFile,
    vocabSize: trained.tokens.length,
    requestedSize: size,
    specialTokens: trained.specialTokens,
    alphabet: trained.alphabet,
    continuations: trained.continuations,
    merges: trained.merges,
    droppedCharacters: trained.droppedCharacters,
    stoppedEarly: trained.stoppedEarly,
    files: files.length,
    bytes,
    words: counter.words,
    distinctWords: counter.counts.size,
    cased,
    seconds: (Date.now() - started) / 1000,
    countSeconds: (counted - started) / 1000,
    mergeSeconds: (merged - counted) / 1000,
    heldout,
  };
}

/** The tokenizer loaded from `folder`, measured on a held-out text file. */
export function measureHeldout(folder: string, file: string, progress?: (p: VocabProgress) => void): HeldoutResult {
  const tokenizer = loadBertTokenizer(folder, { source: 'vocab.txt' });
  const text = readTextFile(file);
  let words = 0;
  let tokens = 0;
  let unknown = 0;
  const countWord = (): void => void words++;
  let lineStart = 0;
  let lines = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd);
    tokenizer.basicTokenizer.forEachWord(line, 0, line.length, countWord);
    for (const t of tokenizer.tokenize(line)) {
      tokens++;
      if (t === tokenizer.unkToken) unknown++;
    }
    if (progress !== undefined && ++lines % 2000 === 0) progress({ phase: 'heldout', file, words });
    lineStart = lineEnd + 1;
  }
  if (words === 0) throw new DataError(file, undefined, 'the held-out text is empty: no words to measure on');
  return { file, words, tokens, unknown, unkRate: unknown / tokens, tokensPerWord: tokens / words };
}
