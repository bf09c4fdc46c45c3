/** Loading a tokenizer from a model folder: vocab.txt, tokenizer.json, tokenizer_config.json, and bad files. */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadBertTokenizer, type BertTokenizer } from '../../../engine/tokenizer/bertTokenizer';
import { TokenizerError } from '../../../engine/tokenizer/errors';
import { modelFolder, removeModelFolders, tokenizerJson, VOCAB, vocabTxt } from './fixture';

after(removeModelFolders);

/** Texts covering every rule: punctuation, accents, CJK, astral, controls, specials, long words. */
const TEXTS = [
  'Hello, world!',
  "don't state-of-the-art",
  'Café naïve résumé Cafe\u0301',
  '我爱NLP 𠀋x 한 \uf900',
  'hello 🙂 😀😀 a😀b',
  'hel\u0000lo\ufffd wor\u200bld\u0007!',
  '[CLS] hello[SEP]world [MASK] [cls]',
  'unaffable unaffableq İstanbul ΟΔΟΣ',
  'a'.repeat(101),
  '',
];

function assertSameEncodings(x: BertTokenizer, y: BertTokenizer): void {
  for (const text of TEXTS) {
    assert.deepEqual(x.encode(text), y.encode(text), JSON.stringify(text));
    assert.deepEqual(x.encode(text, TEXTS[1], { maxLength: 12 }), y.encode(text, TEXTS[1], { maxLength: 12 }), `pair ${JSON.stringify(text)}`);
  }
}

function assertTokenizerError(fn: () => unknown, file: string, message: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TokenizerError, `expected a TokenizerError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.message, message);
    assert.ok(e.message.startsWith(file), 'the message names the file');
    return true;
  });
}

describe('loading vocab.txt', () => {
  test('ids are line indices; a final newline adds no token', () => {
    const t = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt() }));
    assert.equal(t.vocabSize, VOCAB.length);
    assert.deepEqual(t.convertTokensToIds(['[PAD]', 'hello', '豈']), [0, 14, 53]);
  });

  test('CRLF, CR-only and no final newline read the same vocabulary', () => {
    const lf = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt() }));
    for (const [eol, finalNewline] of [['\r\n', true], ['\r\n', false], ['\r', true], ['\n', false]] as const) {
      const t = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt(VOCAB, eol, finalNewline) }));
      assert.equal(t.vocabSize, VOCAB.length, JSON.stringify(eol));
      assert.deepEqual(t.convertIdsToTokens([0, 14, 45, 53]), ['[PAD]', 'hello', '##\u1161\u11ab', '豈'], JSON.stringify(eol));
      assertSameEncodings(t, lf);
    }
  });

  test('an empty line is a token (its id is kept), and a byte-order mark is ignored', () => {
    const t = loadBertTokenizer(modelFolder({ 'vocab.txt': '\ufeff' + vocabTxt([...VOCAB.slice(0, 14), '', 'hello']) }));
    assert.equal(t.padTokenId, 0);
    assert.equal(t.tokenToId('hello'), 15);
    assert.equal(t.vocabSize, 16);
  });

  test('tokenizer_config.json: do_lower_case, strip_accents, special token names', () => {
    const t = loadBertTokenizer(
      modelFolder({
        'vocab.txt': vocabTxt(['<pad>', '<unk>', '<cls>', '<sep>', 'hello', 'Hello']),
        'tokenizer_config.json': JSON.stringify({ do_lower_case: false, unk_token: '<unk>', cls_token: { content: '<cls>' }, sep_token: '<sep>', pad_token: '<pad>' }),
      }),
    );
    const e = t.encode('Hello <cls>');
    assert.deepEqual(e.tokens, ['<cls>', 'Hello', '<cls>', '<sep>']);
    assert.deepEqual(e.inputIds, [2, 5, 2, 3]);
    assert.equal(t.maskTokenId, undefined);
  });
});

describe('loading tokenizer.json', () => {
  test('gives exactly the encodings vocab.txt gives (uncased)', () => {
    const json = loadBertTokenizer(modelFolder({ 'tokenizer.json': JSON.stringify(tokenizerJson()) }));
    const txt = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt() }));
    assert.equal(json.vocabSize, txt.vocabSize);
    assert.deepEqual(json.encode('Café 我爱NLP [MASK]').tokens, ['[CLS]', 'cafe', '我', '爱', 'nl', '##p', '[MASK]', '[SEP]']);
    assertSameEncodings(json, txt);
  });

  test('gives exactly the encodings vocab.txt gives (cased: lowercase false vs do_lower_case false)', () => {
    const json = loadBertTokenizer(modelFolder({ 'tokenizer.json': JSON.stringify(tokenizerJson({ lowercase: false })) }));
    const txt = loadBertTokenizer(modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': '{"do_lower_case": false}' }));
    assert.deepEqual(json.encode('Café').tokens, ['[CLS]', 'Café', '[SEP]']);
    assertSameEncodings(json, txt);
  });

  test('a normalizer inside a Sequence is accepted', () => {
    const spec = tokenizerJson();
    spec.normalizer = { type: 'Sequence', normalizers: [spec.normalizer] };
    const t = loadBertTokenizer(modelFolder({ 'tokenizer.json': JSON.stringify(spec) }));
    assert.deepEqual(t.tokenize('Café'), ['cafe']);
  });

  test('tokenizer_config.json overrides the normalizer, as BertTokenizerFast does', () => {
    const t = loadBertTokenizer(modelFolder({ 'tokenizer.json': JSON.stringify(tokenizerJson()), 'tokenizer_config.json': '{"do_lower_case": false}' }));
    assert.deepEqual(t.tokenize('Café Hello'), ['Café', 'Hello']);
  });

  test('tokenizer.json is preferred when both files exist; source chooses explicitly', () => {
    const folder = modelFolder({ 'tokenizer.json': JSON.stringify(tokenizerJson({ lowercase: false })), 'vocab.txt': vocabTxt() });
    assert.deepEqual(loadBertTokenizer(folder).tokenize('Café'), ['Café']);
    assert.deepEqual(loadBertTokenizer(folder, { source: 'vocab.txt' }).tokenize('Café'), ['cafe']);
  });

  test('added tokens are matched in the raw text with their own ids; rstrip swallows the following space', () => {
    const spec = tokenizerJson();
    const added = spec.added_tokens as object[];
    added.push({ id: VOCAB.length, content: '<ent>', single_word: false, lstrip: false, rstrip: true, normalized: false, special: false });
    const t = loadBertTokenizer(modelFolder({ 'tokenizer.json': JSON.stringify(spec) }));
    const e = t.encode('hello<ent>  world');
    assert.deepEqual(e.tokens, ['[CLS]', 'hello', '<ent>', 'world', '[SEP]']);
    assert.deepEqual(e.inputIds, [3, 14, VOCAB.length, 15, 4]);
    assert.deepEqual(e.offsets, [[0, 0], [0, 5], [5, 12], [12, 17], [0, 0]]);
    assert.equal(t.vocabSize, VOCAB.length + 1);
  });
});

describe('loading errors name the file', () => {
  test('a missing folder, or one without vocab.txt or tokenizer.json', () => {
    const missing = path.join(modelFolder({}), 'nope');
    assertTokenizerError(() => loadBertTokenizer(missing), missing, /model folder not found/);
    const empty = modelFolder({ 'config.json': '{}' });
    assertTokenizerError(() => loadBertTokenizer(empty), empty, /no vocab\.txt or tokenizer\.json/);
    assertTokenizerError(() => loadBertTokenizer(empty, { source: 'tokenizer.json' }), path.join(empty, 'tokenizer.json'), /file not found/);
  });

  test('an empty vocab.txt', () => {
    for (const content of ['', '\n\n', '\r\n']) {
      const folder = modelFolder({ 'vocab.txt': content });
      assertTokenizerError(() => loadBertTokenizer(folder), path.join(folder, 'vocab.txt'), /the vocabulary is empty/);
    }
  });

  test('a vocabulary without [CLS], [SEP], [UNK] or [PAD]', () => {
    const folder = modelFolder({ 'vocab.txt': vocabTxt(VOCAB.filter((t) => t !== '[CLS]' && t !== '[PAD]')) });
    assertTokenizerError(() => loadBertTokenizer(folder), path.join(folder, 'vocab.txt'), /lacks \[CLS\], \[PAD\]$/);
    const noUnk = modelFolder({ 'tokenizer.json': JSON.stringify(tokenizerJson({}, VOCAB.filter((t) => t !== '[UNK]'))) });
    assertTokenizerError(() => loadBertTokenizer(noUnk), path.join(noUnk, 'tokenizer.json'), /lacks \[UNK\]/);
  });

  test('unsupported tokenizer.json models, normalizers and pre-tokenizers', () => {
    const bpe = tokenizerJson();
    bpe.model = { type: 'BPE', vocab: { a: 0 }, merges: [] };
    let folder = modelFolder({ 'tokenizer.json': JSON.stringify(bpe) });
    assertTokenizerError(() => loadBertTokenizer(folder), path.join(folder, 'tokenizer.json'), /unsupported model\.type "BPE"/);

    const sequence = tokenizerJson();
    sequence.normalizer = { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'Lowercase' }, { type: 'StripAccents' }] };
    folder = modelFolder({ 'tokenizer.json': JSON.stringify(sequence) });
    assertTokenizerError(() => loadBertTokenizer(folder), path.join(folder, 'tokenizer.json'), /unsupported normalizer Sequence \["NFD", "Lowercase", "StripAccents"\]/);

    const whitespace = tokenizerJson();
    whitespace.pre_tokenizer = { type: 'Whitespace' };
    folder = modelFolder({ 'tokenizer.json': JSON.stringify(whitespace) });
    assertTokenizerError(() => loadBertTokenizer(folder), path.join(folder, 'tokenizer.json'), /unsupported pre_tokenizer "Whitespace"/);
  });

  test('malformed JSON and malformed fields', () => {
    let folder = modelFolder({ 'tokenizer.json': '{"model": ' });
    assertTokenizerError(() => loadBertTokenizer(folder), path.join(folder, 'tokenizer.json'), /invalid JSON/);

    const negative = tokenizerJson();
    (negative.model as { vocab: Record<string, number> }).vocab.hello = -1;
    folder = modelFolder({ 'tokenizer.json': JSON.stringify(negative) });
    assertTokenizerError(() => loadBertTokenizer(folder), path.join(folder, 'tokenizer.json'), /model\.vocab\["hello"\] must be a non-negative integer, got -1/);

    folder = modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': '{"do_lower_case": "yes"}' });
    assertTokenizerError(() => loadBertTokenizer(folder), path.join(folder, 'tokenizer_config.json'), /do_lower_case must be true or false, got "yes"/);

    folder = modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': '{"model_max_length": 0}' });
    assertTokenizerError(() => loadBertTokenizer(folder), path.join(folder, 'tokenizer_config.json'), /model_max_length must be a positive integer/);

    folder = modelFolder({ 'vocab.txt': vocabTxt(), 'tokenizer_config.json': '{"use_fast": "no"}' });
    assertTokenizerError(() => loadBertTokenizer(folder), path.join(folder, 'tokenizer_config.json'), /use_fast must be true or false, got "no"/);
  });
});
