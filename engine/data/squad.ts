/**
 * SQuAD v1.1 data for span (extractive question answering) tasks: parsing with located
 * errors, and the training features: `[CLS] question [SEP] context-window [SEP]` with the
 * answer's start and end token positions.
 *
 * Character offsets. SQuAD's `answer_start` counts Unicode code points (the files are made
 * in Python); JavaScript strings and the tokenizer's offsets count UTF-16 units. The two
 * differ only after a character outside the Basic Multilingual Plane; parsed answers carry
 * `start` in UTF-16 units, converted when the context has such characters. (A file whose
 * offsets already count UTF-16 units is accepted too: the answer text must be found at one
 * reading of the offset.)
 *
 * Windows. A context longer than fits beside the question is split as the original BERT
 * run_squad (and Hugging Face's legacy run_squad) do: each window holds up to
 * `maxLength - questionTokens - 3` context tokens, and consecutive windows start
 * `docStride` context tokens apart (a step, not an overlap: with windows of 350 tokens and
 * docStride 128, neighbours share 222 tokens; Hugging Face's newer run_qa passes its
 * `doc_stride` as the tokenizer's overlap instead). The last window ends at the context's
 * end. A window that does not contain the whole answer is labelled with start = end = 0,
 * the [CLS] position, as run_squad does.
 */
import * as fs from 'node:fs';
import { DataError } from './errors';

export interface SquadAnswer {
  readonly text: string;
  /** Index of the answer in `context`, in UTF-16 units (JavaScript string index). */
  readonly start: number;
}

export interface SquadExample {
  /** Position among the file's questions (0-based). */
  readonly index: number;
  readonly id: string;
  readonly title: string;
  readonly question: string;
  readonly context: string;
  /** At least one; training uses the first (SQuAD's training file has exactly one), evaluation all. */
  readonly answers: readonly SquadAnswer[];
}

export interface ParseSquadOptions {
  /**
   * Called for each answer whose text is not at its `answer_start`; that answer is then
   * dropped (and a question left without answers is dropped). Without it, a mismatch is a
   * DataError.
   */
  readonly onOffsetMismatch?: (error: DataError) => void;
}

export function readSquad(file: string, options: ParseSquadOptions = {}): SquadExample[] {
  let text: string;
  try {
    if (fs.statSync(file).isDirectory()) throw new DataError(file, undefined, 'expected a SQuAD .json file, found a folder');
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(file, undefined, 'data file not found');
  }
  return parseSquad(text, file, options);
}

/** Parses the text of a SQuAD v1.1 file; `file` is used in messages. */
export function parseSquad(text: string, file: string, options: ParseSquadOptions = {}): SquadExample[] {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (source.trim() === '') throw new DataError(file, 1, 'the file is empty');
  let json: unknown;
  try {
    json = JSON.parse(source);
  } catch (e) {
    const message = (e as Error).message;
    throw new DataError(file, lineOfJsonError(source, message), `invalid JSON: ${message}`);
  }
  const fail = (path: string, detail: string): never => {
    throw new DataError(file, undefined, detail, path);
  };
  const object = (v: unknown, path: string): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : fail(path, `expected an object, found ${describe(v)}`);
  const array = (v: unknown, path: string): unknown[] => (Array.isArray(v) ? v : fail(path, `expected a list, found ${describe(v)}`));
  const string = (v: unknown, path: string): string => (typeof v === 'string' ? v : fail(path, `expected a string, found ${describe(v)}`));

  const root = object(json, '$');
  if (!('data' in root)) fail('data', 'a SQuAD file is an object with a "data" list');
  const examples: SquadExample[] = [];
  const ids = new Map<string, string>();
  array(root.data, 'data').forEach((articleValue, a) => {
    const articlePath = `data[${a}]`;
    const article = object(articleValue, articlePath);
    const title = article.title === undefined ? '' : string(article.title, `${articlePath}.title`);
    array(article.paragraphs, `${articlePath}.paragraphs`).forEach((paragraphValue, p) => {
      const paragraphPath = `${articlePath}.paragraphs[${p}]`;
      const paragraph = object(paragraphValue, paragraphPath);
      const context = string(paragraph.context, `${paragraphPath}.context`);
      const astral = /[\uD800-\uDFFF]/.test(context);
      array(paragraph.qas, `${paragraphPath}.qas`).forEach((qaValue, q) => {
        const qaPath = `${paragraphPath}.qas[${q}]`;
        const qa = object(qaValue, qaPath);
        const id = string(qa.id, `${qaPath}.id`);
        const first = ids.get(id);
        if (first !== undefined) fail(`${qaPath}.id`, `question id "${id}" is used twice (first at ${first})`);
        ids.set(id, qaPath);
        const question = string(qa.question, `${qaPath}.question`);
        if (qa.is_impossible === true) fail(`${qaPath}.is_impossible`, `question "${id}" is unanswerable (SQuAD v2.0); span tasks read SQuAD v1.1, where every question has an answer`);
        const answerValues = array(qa.answers, `${qaPath}.answers`);
        if (answerValues.length === 0) fail(`${qaPath}.answers`, `question "${id}" has no answers (SQuAD v1.1 questions have at least one)`);
        const answers: SquadAnswer[] = [];
        answerValues.forEach((answerValue, k) => {
          const answerPath = `${qaPath}.answers[${k}]`;
          const answer = object(answerValue, answerPath);
          const answerText = string(answer.text, `${answerPath}.text`);
          if (answerText === '') fail(`${answerPath}.text`, `an answer of question "${id}" is empty`);
          const start = answer.answer_start;
          if (typeof start !== 'number' || !Number.isInteger(start) || start < 0) {
            fail(`${answerPath}.answer_start`, `expected a non-negative integer, found ${describe(start)}`);
          }
          const at = locateAnswer(context, answerText, start as number, astral);
          if (at !== undefined) {
            answers.push({ text: answerText, start: at });
            return;
          }
          const found = context.indexOf(answerText);
          const reads = JSON.stringify(context.slice(start as number, (start as number) + answerText.length));
          const error = new DataError(
            file,
            undefined,
            `question "${id}": the answer ${JSON.stringify(answerText)} is not at answer_start ${start} (the context there reads ${reads}${found >= 0 ? `; the text occurs at ${found}` : '; the text does not occur in the context'})`,
            `${answerPath}.answer_start`,
          );
          if (!options.onOffsetMismatch) throw error;
          options.onOffsetMismatch(error);
        });
        if (answers.length > 0) examples.push({ index: examples.length, id, title, question, context, answers });
      });
    });
  });
  if (examples.length === 0) throw new DataError(file, undefined, 'the file holds no questions', 'data');
  return examples;
}

/** The UTF-16 index of the answer: `start` read as code points (SQuAD's unit), else as UTF-16 units. */
function locateAnswer(context: string, text: string, start: number, astral: boolean): number | undefined {
  if (astral) {
    const units = utf16IndexOfCodePoint(context, start);
    if (units !== undefined && context.startsWith(text, units)) return units;
  }
  return start + text.length <= context.length && context.startsWith(text, start) ? start : undefined;
}

function utf16IndexOfCodePoint(s: string, codePoints: number): number | undefined {
  let units = 0;
  for (let n = 0; n < codePoints; n++) {
    if (units >= s.length) return undefined;
    units += s.codePointAt(units)! > 0xffff ? 2 : 1;
  }
  return units;
}

function lineOfJsonError(text: string, message: string): number | undefined {
  const line = /\(line (\d+) column \d+\)/.exec(message);
  if (line) return Number(line[1]);
  const position = /at position (\d+)/.exec(message);
  if (!position) return undefined;
  const end = Math.min(Number(position[1]), text.length);
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}

// ---------------------------------------------------------------------------------------
// Features

/** Tokens of one text without special tokens: ids and [start, end) UTF-16 offsets into the text. */
export interface TextTokens {
  readonly ids: readonly number[];
  readonly offsets: readonly (readonly [number, number])[];
}

/** What span features need from a tokenizer. */
export interface SpanTokenizer {
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  tokenize(text: string): TextTokens;
}

/** The shape of engine/tokenizer's BertTokenizer that spanTokenizerFrom needs (structural, so this module does not import it). */
export interface PairEncoder {
  readonly clsTokenId: number;
  readonly sepTokenId: number;
  encode(
    text: string,
    pair?: string,
    options?: { readonly maxLength: number },
  ): { readonly inputIds: readonly number[]; readonly offsets: readonly (readonly [number, number])[]; readonly specialTokensMask?: readonly number[] };
}

/** Adapts an encoder that adds [CLS]/[SEP]: encodes one text untruncated and keeps the tokens that are not special. */
export function spanTokenizerFrom(encoder: PairEncoder): SpanTokenizer {
  return {
    clsTokenId: encoder.clsTokenId,
    sepTokenId: encoder.sepTokenId,
    tokenize(text: string): TextTokens {
      const e = encoder.encode(text, undefined, { maxLength: Number.POSITIVE_INFINITY });
      const keep = e.inputIds.map((_, i) => (e.specialTokensMask ? e.specialTokensMask[i] === 0 : i > 0 && i < e.inputIds.length - 1));
      return { ids: e.inputIds.filter((_, i) => keep[i]), offsets: e.offsets.filter((_, i) => keep[i]) };
    },
  };
}

export interface SpanFeatureOptions {
  /** Length of each feature, [CLS] and both [SEP]s included (task.max_length). */
  readonly maxLength: number;
  /** Context tokens between the starts of consecutive windows (run_squad's doc_stride). Default 128. */
  readonly docStride?: number;
  /** Questions are cut to this many tokens (run_squad's max_query_length). Default 64. */
  readonly maxQuestionLength?: number;
}

/** A window over the context's tokens. */
export interface ContextWindow {
  /** Index of the window's first token among the context's tokens. */
  readonly start: number;
  readonly length: number;
}

/** One model input: a question with one window of its context. */
export interface SpanFeature {
  /** Index of the example (question) it comes from; 0 for windowFeatures alone. */
  readonly exampleIndex: number;
  /** Which window of that example's context (0-based). */
  readonly windowIndex: number;
  readonly window: ContextWindow;
  readonly inputIds: readonly number[];
  /** 0 for [CLS], the question and its [SEP]; 1 for the context and the last [SEP]. */
  readonly tokenTypeIds: readonly number[];
  /** Position in inputIds of the window's first context token. */
  readonly contextPosition: number;
  /** Per position: the token's [start, end) in the context, or null outside the context (for mapping predicted spans back to text). */
  readonly offsets: readonly (readonly [number, number] | null)[];
  /** Answer start and end positions in inputIds (end inclusive); both 0 ([CLS]) when the window lacks the whole answer or there is none. */
  readonly startPosition: number;
  readonly endPosition: number;
}

/**
 * The windows over `tokenCount` context tokens: at most `maxTokens` each, starting
 * `docStride` apart (or closer to the previous start if a window is shorter than the stride,
 * so no token is skipped); the last ends at the last token. An empty context gets one empty window.
 */
export function contextWindows(tokenCount: number, maxTokens: number, docStride: number): ContextWindow[] {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError(`a window needs room for at least one context token (got ${maxTokens})`);
  if (!Number.isInteger(docStride) || docStride < 1) throw new RangeError(`docStride must be a positive integer (got ${docStride})`);
  if (tokenCount <= 0) return [{ start: 0, length: 0 }];
  const windows: ContextWindow[] = [];
  for (let start = 0; ; ) {
    const length = Math.min(tokenCount - start, maxTokens);
    windows.push({ start, length });
    if (start + length >= tokenCount) return windows;
    start += Math.min(length, docStride);
  }
}

/**
 * The first and last token (inclusive) covering characters [start, end) of the text, given the
 * tokens' offsets: the first token ending after `start` and the last starting before `end`.
 * Zero-width tokens are ignored. Undefined when no token overlaps the span.
 */
export function answerTokenSpan(offsets: readonly (readonly [number, number])[], start: number, end: number): [number, number] | undefined {
  let first = -1;
  let last = -1;
  for (let i = 0; i < offsets.length; i++) {
    const [s, e] = offsets[i]!;
    if (e <= s) continue;
    if (first < 0 && e > start) first = i;
    if (s < end) last = i;
  }
  return first >= 0 && last >= first ? [first, last] : undefined;
}

/** The features of one question over its tokenized context (the windowing, testable without a tokenizer). */
export function windowFeatures(
  questionIds: readonly number[],
  context: TextTokens,
  answer: { readonly start: number; readonly end: number } | undefined,
  specials: { readonly clsTokenId: number; readonly sepTokenId: number },
  options: SpanFeatureOptions,
): SpanFeature[] {
  const { maxLength } = options;
  const docStride = options.docStride ?? 128;
  const maxQuestion = options.maxQuestionLength ?? 64;
  if (!Number.isInteger(maxLength) || maxLength < 4) throw new RangeError(`maxLength must be at least 4 ([CLS] q [SEP] c [SEP]), got ${maxLength}`);
  // At least one context token per window: the question gives way when maxLength is small.
  const question = questionIds.slice(0, Math.max(0, Math.min(maxQuestion, maxLength - 4)));
  const maxContext = maxLength - question.length - 3;
  const tokenAnswer = answer === undefined ? undefined : answerTokenSpan(context.offsets, answer.start, answer.end);
  const contextPosition = question.length + 2;
  return contextWindows(context.ids.length, maxContext, docStride).map((window, windowIndex): SpanFeature => {
    const ids = [specials.clsTokenId, ...question, specials.sepTokenId, ...context.ids.slice(window.start, window.start + window.length), specials.sepTokenId];
    const types = ids.map((_, i) => (i < contextPosition ? 0 : 1));
    const offsets = ids.map((_, i) => (i >= contextPosition && i < contextPosition + window.length ? context.offsets[window.start + i - contextPosition]! : null));
    const inside = tokenAnswer !== undefined && tokenAnswer[0] >= window.start && tokenAnswer[1] < window.start + window.length;
    return {
      exampleIndex: 0,
      windowIndex,
      window,
      inputIds: ids,
      tokenTypeIds: types,
      contextPosition,
      offsets,
      startPosition: inside ? tokenAnswer[0] - window.start + contextPosition : 0,
      endPosition: inside ? tokenAnswer[1] - window.start + contextPosition : 0,
    };
  });
}

/** Training (and evaluation) features of SQuAD examples; positions come from each example's first answer. */
export function buildSpanFeatures(examples: readonly SquadExample[], tokenizer: SpanTokenizer, options: SpanFeatureOptions): SpanFeature[] {
  const features: SpanFeature[] = [];
  const contexts = new Map<string, TextTokens>();
  for (const example of examples) {
    // Questions of one paragraph share its context: tokenize it once.
    let context = contexts.get(example.context);
    if (context === undefined) {
      context = tokenizer.tokenize(example.context);
      contexts.clear();
      contexts.set(example.context, context);
    }
    const first = example.answers[0];
    const answer = first === undefined ? undefined : { start: first.start, end: first.start + first.text.length };
    for (const f of windowFeatures(tokenizer.tokenize(example.question).ids, context, answer, tokenizer, options)) {
      features.push({ ...f, exampleIndex: example.index });
    }
  }
  return features;
}
