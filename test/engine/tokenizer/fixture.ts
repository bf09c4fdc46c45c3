/**
 * A small BERT vocabulary (id = index) and writers for the model-folder files the tokenizer
 * reads, in temporary folders the tests remove afterwards.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const VOCAB: readonly string[] = [
  '[PAD]', // 0
  '[unused0]', // 1
  '[UNK]', // 2
  '[CLS]', // 3
  '[SEP]', // 4
  '[MASK]', // 5
  '!', // 6
  ',', // 7
  '.', // 8
  "'", // 9
  '-', // 10
  '[', // 11
  ']', // 12
  '?', // 13
  'hello', // 14
  'world', // 15
  'don', // 16
  't', // 17
  'state', // 18
  'of', // 19
  'the', // 20
  'art', // 21
  'un', // 22
  '##aff', // 23
  '##able', // 24
  'cafe', // 25
  'na', // 26
  '##ive', // 27
  'resume', // 28
  'café', // 29
  'naïve', // 30
  'Café', // 31
  '我', // 32
  '爱', // 33
  'n', // 34
  'nl', // 35
  '##lp', // 36
  '##p', // 37
  'a', // 38
  '##a', // 39
  '😀', // 40
  '##😀', // 41
  '𠀋', // 42  U+2000B, CJK Extension B (astral)
  'x', // 43
  '\u1112', // 44  Hangul choseong hieuh (first jamo of 한)
  '##\u1161\u11ab', // 45  jungseong a + jongseong nieun (rest of 한)
  'cl', // 46
  '##s', // 47
  'Hello', // 48
  'World', // 49
  'i', // 50
  '##stanbul', // 51
  'οδοσ', // 52
  '豈', // 53  U+8C48, the canonical form of U+F900
];

/** Ids by token, failing loudly when a test names a token the fixture lacks. */
export function ids(...tokens: string[]): number[] {
  return tokens.map((t) => {
    const i = VOCAB.indexOf(t);
    assert.ok(i >= 0, `fixture vocabulary lacks ${JSON.stringify(t)}`);
    return i;
  });
}

const folders: string[] = [];

/** A fresh temporary folder holding the given files. */
export function modelFolder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-tokenizer-'));
  folders.push(dir);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content, 'utf8');
  return dir;
}

export function removeModelFolders(): void {
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function vocabTxt(tokens: readonly string[] = VOCAB, eol = '\n', finalNewline = true): string {
  return tokens.join(eol) + (finalNewline ? eol : '');
}

export interface NormalizerFields {
  clean_text?: boolean;
  handle_chinese_chars?: boolean;
  strip_accents?: boolean | null;
  lowercase?: boolean;
}

/** tokenizer.json as `BertTokenizerFast.save_pretrained` writes it for the same vocabulary. */
export function tokenizerJson(normalizer: NormalizerFields = {}, tokens: readonly string[] = VOCAB): Record<string, unknown> {
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  const special = (content: string) => ({ id: tokens.indexOf(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].filter((t) => tokens.includes(t)).map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true, ...normalizer },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [tokens.indexOf('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [tokens.indexOf('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}
