/** SQuAD v1.1: parsing with located errors, answer offsets, and windowed span features. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { DataError } from '../../../engine/data/errors';
import {
  answerTokenSpan,
  buildSpanFeatures,
  contextWindows,
  parseSquad,
  readSquad,
  spanTokenizerFrom,
  windowFeatures,
  type PairEncoder,
  type SpanTokenizer,
  type TextTokens,
} from '../../../engine/data/squad';
import { BertTokenizer } from '../../../engine/tokenizer';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-squad-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const CONTEXT_1 = 'Super Bowl 50 was played at Levi\'s Stadium in Santa Clara.';
const CONTEXT_2 = 'The Normans were in Normandy in the 10th and 11th centuries.';

function squad(): { data: unknown[] } {
  return {
    data: [
      {
        title: 'Super_Bowl_50',
        paragraphs: [
          {
            context: CONTEXT_1,
            qas: [
              { id: 'q1', question: 'Where was Super Bowl 50 played?', answers: [{ text: "Levi's Stadium", answer_start: 28 }] },
              {
                id: 'q2',
                question: 'In which city?',
                answers: [
                  { text: 'Santa Clara.', answer_start: 46 },
                  { text: 'Santa Clara', answer_start: 46 },
                ],
              },
            ],
          },
        ],
      },
      {
        title: 'Normans',
        paragraphs: [{ context: CONTEXT_2, qas: [{ id: 'q3', question: 'Who?', answers: [{ text: 'The Normans', answer_start: 0 }] }] }],
      },
    ],
  };
}

function errorOf(json: unknown): DataError {
  try {
    parseSquad(typeof json === 'string' ? json : JSON.stringify(json, null, 2), 'train.json');
  } catch (e) {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a DataError');
}

/** Sets `value` at a path of plain keys and indices in a copy of the fixture. */
function withValue(keys: readonly (string | number)[], value: unknown): unknown {
  const root = squad() as unknown as Record<string | number, unknown>;
  let cur = root;
  for (const k of keys.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return root;
}

describe('parseSquad', () => {
  test('questions with their context, title and answers', () => {
    const examples = parseSquad(JSON.stringify(squad()), 'train.json');
    assert.deepEqual(
      examples.map((e) => [e.index, e.id, e.title, e.question, e.answers.length]),
      [
        [0, 'q1', 'Super_Bowl_50', 'Where was Super Bowl 50 played?', 1],
        [1, 'q2', 'Super_Bowl_50', 'In which city?', 2],
        [2, 'q3', 'Normans', 'Who?', 1],
      ],
    );
    assert.equal(examples[2]!.context, CONTEXT_2);
    for (const e of examples) for (const a of e.answers) assert.equal(e.context.slice(a.start, a.start + a.text.length), a.text);
  });

  test('structure errors name the JSON path of the bad value', () => {
    const cases: [readonly (string | number)[], unknown, string, RegExp][] = [
      [['data', 1, 'paragraphs', 0, 'qas', 0, 'answers', 0, 'answer_start'], '35', 'data[1].paragraphs[0].qas[0].answers[0].answer_start', /expected a non-negative integer, found string "35"/],
      [['data', 0, 'paragraphs', 0, 'qas', 1, 'answers', 1, 'answer_start'], -1, 'data[0].paragraphs[0].qas[1].answers[1].answer_start', /non-negative integer, found number -1/],
      [['data', 0, 'paragraphs', 0, 'qas', 1, 'answers', 0, 'text'], 7, 'data[0].paragraphs[0].qas[1].answers[0].text', /expected a string, found number 7/],
      [['data', 0, 'paragraphs', 0, 'qas'], undefined, 'data[0].paragraphs[0].qas', /expected a list, found nothing/],
      [['data', 0, 'paragraphs', 0, 'context'], null, 'data[0].paragraphs[0].context', /expected a string, found null/],
      [['data', 1, 'paragraphs'], {}, 'data[1].paragraphs', /expected a list, found an object/],
      [['data', 0, 'paragraphs', 0, 'qas', 0, 'answers'], [], 'data[0].paragraphs[0].qas[0].answers', /question "q1" has no answers/],
      [['data', 0, 'paragraphs', 0, 'qas', 1, 'id'], 'q1', 'data[0].paragraphs[0].qas[1].id', /"q1" is used twice \(first at data\[0\]\.paragraphs\[0\]\.qas\[0\]\)/],
      [['data', 1, 'paragraphs', 0, 'qas', 0, 'is_impossible'], true, 'data[1].paragraphs[0].qas[0].is_impossible', /SQuAD v2\.0/],
      [['data'], 'x', 'data', /expected a list, found string/],
    ];
    for (const [keys, value, where, message] of cases) {
      const e = errorOf(withValue(keys, value));
      assert.equal(e.path, where);
      assert.equal(e.file, 'train.json');
      assert.match(e.detail, message, where);
      assert.ok(e.message.startsWith(`train.json (${where}): `), e.message);
    }
    assert.equal(errorOf([1]).path, '$');
    assert.match(errorOf({ version: '1.1' }).detail, /"data" list/);
  });

  test('invalid JSON and empty files have a line', () => {
    const e = errorOf('{\n  "data": [\n    {"title": "x",, }\n  ]\n}');
    assert.equal(e.line, 3);
    assert.match(e.message, /^train\.json:3: invalid JSON/);
    assert.equal(errorOf('').line, 1);
    assert.match(errorOf({ data: [] }).detail, /no questions/);
  });

  test('an answer that is not at its answer_start is a DataError with the question id', () => {
    const e = errorOf(withValue(['data', 0, 'paragraphs', 0, 'qas', 1, 'answers', 0, 'answer_start'], 45));
    assert.equal(e.path, 'data[0].paragraphs[0].qas[1].answers[0].answer_start');
    assert.match(e.detail, /question "q2": the answer "Santa Clara\." is not at answer_start 45 \(the context there reads " Santa Clara"; the text occurs at 46\)/);
    const absent = errorOf(withValue(['data', 0, 'paragraphs', 0, 'qas', 0, 'answers', 0, 'text'], 'Candlestick'));
    assert.match(absent.detail, /question "q1".*does not occur in the context/);
  });

  test('with onOffsetMismatch, mismatched answers are dropped and reported, and so are questions left without any', () => {
    const json = withValue(['data', 0, 'paragraphs', 0, 'qas', 1, 'answers', 1, 'answer_start'], 0) as ReturnType<typeof squad>;
    const q1 = (json.data[0] as { paragraphs: { qas: { answers: { answer_start: number }[] }[] }[] }).paragraphs[0]!.qas[0]!;
    q1.answers[0]!.answer_start = 3;
    const dropped: DataError[] = [];
    const examples = parseSquad(JSON.stringify(json), 'f.json', { onOffsetMismatch: (e) => dropped.push(e) });
    assert.deepEqual(dropped.map((e) => e.path), ['data[0].paragraphs[0].qas[0].answers[0].answer_start', 'data[0].paragraphs[0].qas[1].answers[1].answer_start']);
    assert.deepEqual(examples.map((e) => [e.index, e.id, e.answers.map((a) => a.text)]), [
      [0, 'q2', ['Santa Clara.']],
      [1, 'q3', ['The Normans']],
    ]);
  });

  test('answer_start counts code points (as Python does) and is converted to a UTF-16 index', () => {
    const context = '😀 The cat sat on 𠀋 the mat.';
    // Code points before "cat": 😀, space, T, h, e, space = 6; UTF-16 units: 7. Before "mat": 23 code points,
    // 25 units (😀 and 𠀋 are two units each).
    const doc = { data: [{ title: 't', paragraphs: [{ context, qas: [{ id: 'a', question: 'Who?', answers: [{ text: 'cat', answer_start: 6 }, { text: 'mat', answer_start: 23 }] }] }] }] };
    const [example] = parseSquad(JSON.stringify(doc), 'f.json');
    assert.deepEqual(example!.answers, [
      { text: 'cat', start: 7 },
      { text: 'mat', start: 25 },
    ]);
    // A UTF-16 offset (a file written by JavaScript tools) is accepted as it is.
    doc.data[0]!.paragraphs[0]!.qas[0]!.answers = [{ text: 'cat', answer_start: 7 }];
    assert.deepEqual(parseSquad(JSON.stringify(doc), 'f.json')[0]!.answers, [{ text: 'cat', start: 7 }]);
  });

  test('readSquad reads a file (with a byte-order mark); a missing file is a DataError', () => {
    const file = path.join(dir, 'dev.json');
    fs.writeFileSync(file, '\uFEFF' + JSON.stringify(squad()));
    assert.equal(readSquad(file).length, 3);
    const missing = path.join(dir, 'missing.json');
    assert.throws(() => readSquad(missing), (e: unknown) => e instanceof DataError && e.file === missing && /not found/.test(e.message));
  });
});

describe('context windows', () => {
  test('windows start docStride apart and the last one ends at the last token', () => {
    assert.deepEqual(contextWindows(10, 4, 2), [
      { start: 0, length: 4 },
      { start: 2, length: 4 },
      { start: 4, length: 4 },
      { start: 6, length: 4 },
    ]);
    assert.deepEqual(contextWindows(10, 4, 3), [
      { start: 0, length: 4 },
      { start: 3, length: 4 },
      { start: 6, length: 4 },
    ]);
    assert.deepEqual(contextWindows(11, 4, 3), [
      { start: 0, length: 4 },
      { start: 3, length: 4 },
      { start: 6, length: 4 },
      { start: 9, length: 2 },
    ]);
  });

  test('a context that fits is one window; a stride longer than a window skips no token; an empty context has one empty window', () => {
    assert.deepEqual(contextWindows(3, 4, 2), [{ start: 0, length: 3 }]);
    assert.deepEqual(contextWindows(10, 3, 5), [
      { start: 0, length: 3 },
      { start: 3, length: 3 },
      { start: 6, length: 3 },
      { start: 9, length: 1 },
    ]);
    assert.deepEqual(contextWindows(0, 4, 2), [{ start: 0, length: 0 }]);
    assert.throws(() => contextWindows(5, 0, 2), RangeError);
    assert.throws(() => contextWindows(5, 2, 0), RangeError);
  });
});

describe('answer character span to tokens', () => {
  // "The cat. Hello" as tokens The|cat|.|Hello
  const offsets: [number, number][] = [
    [0, 3],
    [4, 7],
    [7, 8],
    [9, 14],
  ];

  test('first token ending after the start, last token starting before the end', () => {
    assert.deepEqual(answerTokenSpan(offsets, 4, 8), [1, 2]);
    assert.deepEqual(answerTokenSpan(offsets, 0, 14), [0, 3]);
    // Inside one token: that token.
    assert.deepEqual(answerTokenSpan(offsets, 5, 7), [1, 1]);
    // Starting on a space: the next token.
    assert.deepEqual(answerTokenSpan(offsets, 8, 14), [3, 3]);
  });

  test('no token in the span (white space, beyond the text) gives undefined; zero-width tokens are ignored', () => {
    assert.equal(answerTokenSpan(offsets, 3, 4), undefined);
    assert.equal(answerTokenSpan(offsets, 14, 20), undefined);
    assert.deepEqual(
      answerTokenSpan(
        [
          [0, 0],
          [0, 3],
          [3, 3],
        ],
        0,
        3,
      ),
      [1, 1],
    );
  });
});

/** Ten one-letter words "a b c ... j": token i is id 100+i at characters [2i, 2i+1). */
const LETTERS = 'a b c d e f g h i j';
const letterTokens: TextTokens = { ids: Array.from({ length: 10 }, (_, i) => 100 + i), offsets: Array.from({ length: 10 }, (_, i) => [2 * i, 2 * i + 1] as const) };
const specials = { clsTokenId: 1, sepTokenId: 2 };
const charsOf = (first: number, last: number): { start: number; end: number } => ({ start: 2 * first, end: 2 * last + 1 });

describe('windowFeatures', () => {
  // Question of 2 tokens, maxLength 9: 9 − 2 − 3 = 4 context tokens per window; windows start 0, 2, 4, 6.
  const options = { maxLength: 9, docStride: 2 };

  test('layout: [CLS] question [SEP] window [SEP], token types, context offsets', () => {
    const [first] = windowFeatures([7, 8], letterTokens, undefined, specials, options);
    assert.deepEqual(first!.inputIds, [1, 7, 8, 2, 100, 101, 102, 103, 2]);
    assert.deepEqual(first!.tokenTypeIds, [0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert.equal(first!.contextPosition, 4);
    assert.deepEqual(first!.offsets, [null, null, null, null, [0, 1], [2, 3], [4, 5], [6, 7], null]);
    assert.equal(first!.startPosition, 0);
    assert.equal(first!.endPosition, 0);
  });

  test('an answer split across a window boundary is [CLS] in the windows that cut it and found in the one that holds it', () => {
    // Tokens 3..4 ("d e"): window 0 holds tokens 0..3 (cuts it), window 1 holds 2..5.
    const features = windowFeatures([7, 8], letterTokens, charsOf(3, 4), specials, options);
    assert.deepEqual(features.map((f) => f.window), [
      { start: 0, length: 4 },
      { start: 2, length: 4 },
      { start: 4, length: 4 },
      { start: 6, length: 4 },
    ]);
    assert.deepEqual(features.map((f) => [f.windowIndex, f.startPosition, f.endPosition]), [
      [0, 0, 0],
      [1, 5, 6],
      [2, 0, 0],
      [3, 0, 0],
    ]);
    const hit = features[1]!;
    assert.deepEqual(hit.inputIds.slice(hit.startPosition, hit.endPosition + 1), [103, 104]);
    const [s] = hit.offsets[hit.startPosition]!;
    const [, e] = hit.offsets[hit.endPosition]!;
    assert.equal(LETTERS.slice(s, e), 'd e');
  });

  test('an answer inside several overlapping windows gets its position in each', () => {
    // Token 5 ("f") is in windows 1 (2..5) and 2 (4..7).
    const features = windowFeatures([7, 8], letterTokens, charsOf(5, 5), specials, options);
    assert.deepEqual(features.map((f) => [f.startPosition, f.endPosition]), [
      [0, 0],
      [7, 7],
      [5, 5],
      [0, 0],
    ]);
    for (const f of features.filter((x) => x.startPosition > 0)) assert.equal(f.inputIds[f.startPosition], 105);
  });

  test('the question is cut to maxQuestionLength, and gives way to keep one context token', () => {
    const long = Array.from({ length: 10 }, (_, i) => 10 + i);
    const [f] = windowFeatures(long, letterTokens, undefined, specials, { maxLength: 12, maxQuestionLength: 3 });
    assert.deepEqual(f!.inputIds.slice(0, 5), [1, 10, 11, 12, 2]);
    assert.equal(f!.inputIds.length, 12);
    const tight = windowFeatures(long, letterTokens, undefined, specials, { maxLength: 8, docStride: 1 });
    assert.ok(tight.every((x) => x.inputIds.length === 8 && x.window.length === 1));
    assert.equal(tight.length, 10);
    assert.throws(() => windowFeatures(long, letterTokens, undefined, specials, { maxLength: 3 }), RangeError);
  });

  test('no feature is longer than maxLength and every context token is in some window', () => {
    for (const maxLength of [6, 7, 9, 15]) {
      for (const docStride of [1, 2, 3, 5, 128]) {
        const features = windowFeatures([7, 8], letterTokens, undefined, specials, { maxLength, docStride });
        assert.ok(features.every((f) => f.inputIds.length <= maxLength));
        const covered = new Set(features.flatMap((f) => f.inputIds.filter((id) => id >= 100)));
        assert.equal(covered.size, 10, `maxLength ${maxLength}, docStride ${docStride}`);
      }
    }
  });
});

/** Splits on spaces: enough of a tokenizer to run buildSpanFeatures end to end. */
const spaceTokenizer: SpanTokenizer = {
  clsTokenId: 1,
  sepTokenId: 2,
  tokenize(text: string): TextTokens {
    const ids: number[] = [];
    const offsets: [number, number][] = [];
    for (const m of text.matchAll(/\S+/g)) {
      ids.push(1000 + ids.length);
      offsets.push([m.index!, m.index! + m[0].length]);
    }
    return { ids, offsets };
  },
};

describe('buildSpanFeatures', () => {
  test('positions point at the first answer in each window that holds it', () => {
    const examples = parseSquad(JSON.stringify(squad()), 'train.json');
    const features = buildSpanFeatures(examples, spaceTokenizer, { maxLength: 14, docStride: 3 });
    assert.deepEqual([...new Set(features.map((f) => f.exampleIndex))], [0, 1, 2]);
    for (const example of examples) {
      const own = features.filter((f) => f.exampleIndex === example.index);
      const found = own.filter((f) => f.startPosition > 0);
      assert.ok(found.length >= 1, example.id);
      for (const f of found) {
        const text = example.context.slice(f.offsets[f.startPosition]![0], f.offsets[f.endPosition]![1]);
        assert.equal(text, example.answers[0]!.text);
      }
      assert.ok(own.length > found.length, `${example.id}: the context is longer than one window, so some window lacks the answer`);
    }
  });

  test("with engine/tokenizer's BertTokenizer through spanTokenizerFrom", () => {
    const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'the', 'cat', 'sat', 'on', 'mat', '.', 'where', '?', 'did', 'sit', '##s'];
    const tokenizer: PairEncoder = BertTokenizer.fromVocab(vocab);
    const span = spanTokenizerFrom(tokenizer);
    const context = 'The cat sat on the mats.';
    const tokens = span.tokenize(context);
    assert.deepEqual(tokens.ids, [4, 5, 6, 7, 4, 8, 14, 9]);
    assert.deepEqual(tokens.offsets[6], [22, 23]);
    const [example] = parseSquad(JSON.stringify({ data: [{ title: 't', paragraphs: [{ context, qas: [{ id: 'x', question: 'Where did the cat sit?', answers: [{ text: 'the mats', answer_start: 15 }] }] }] }] }), 'f.json');
    const [feature] = buildSpanFeatures([example!], span, { maxLength: 32 });
    assert.deepEqual(feature!.inputIds.slice(0, 8), [2, 10, 12, 4, 5, 13, 11, 3]);
    assert.deepEqual(feature!.inputIds.slice(feature!.startPosition, feature!.endPosition + 1), [4, 8, 14]);
  });

  test('spanTokenizerFrom drops the first and last token when the encoder gives no special-tokens mask', () => {
    const encoder: PairEncoder = {
      clsTokenId: 9,
      sepTokenId: 8,
      encode: (text) => ({ inputIds: [9, text.length, 8], offsets: [[0, 0], [0, text.length], [0, 0]] }),
    };
    assert.deepEqual(spanTokenizerFrom(encoder).tokenize('abc'), { ids: [3], offsets: [[0, 3]] });
  });
});
