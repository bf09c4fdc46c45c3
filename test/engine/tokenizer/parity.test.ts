/**
 * Parity with Hugging Face's fast tokenizer: the engine's BertTokenizer (default, 'fast'
 * behaviour) against the `tokenizers` library (what BertTokenizerFast and AutoTokenizer run),
 * built from the same vocabulary and settings, on seeded generated texts and pairs. Input ids,
 * token type ids and offsets must be equal, truncated at 32 and at 128 tokens.
 *
 * The vocabulary is the real bert-base-uncased vocab.txt when the shared folder beside the
 * repository has it (else a generated one), and a cased vocabulary derived from it. The texts
 * avoid the documented exceptions, which have tests of their own at the end.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Tokenizer } from 'tokenizers';
import { loadBertTokenizer, type BertTokenizer, type NormalizerSpec } from '../../../engine/tokenizer';
import {
  casedVocabulary,
  fromReference,
  generatePairs,
  generateTexts,
  generatorCodePoints,
  referenceTokenizer,
  SHARED_UNCASED_VOCAB,
  tokenizerJson,
  uncasedVocabulary,
  type Compared,
  type Vocabulary,
} from '../../support/tokenizerParity';
import { modelFolder, removeModelFolders } from './fixture';

after(removeModelFolders);

/** Texts and pairs per configuration; each is encoded at both maximum lengths. */
const TEXTS = 1500;
const PAIRS = 1500;
const MAX_LENGTHS = [32, 128] as const;
/** Pairs encoded at once by the reference (each encode is an asynchronous call). */
const CHUNK = 250;

interface Configuration {
  readonly name: string;
  readonly vocab: 'uncased' | 'cased';
  readonly normalizer: NormalizerSpec;
  /** How the engine reads the model folder: vocab.txt + tokenizer_config.json, or tokenizer.json. */
  readonly files: 'vocab.txt' | 'tokenizer.json';
}

const base: NormalizerSpec = { cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true };
const CONFIGURATIONS: readonly Configuration[] = [
  { name: 'uncased (bert-base-uncased)', vocab: 'uncased', normalizer: base, files: 'vocab.txt' },
  { name: 'uncased, strip_accents false', vocab: 'uncased', normalizer: { ...base, stripAccents: false }, files: 'tokenizer.json' },
  { name: 'uncased, tokenize_chinese_chars false', vocab: 'uncased', normalizer: { ...base, handleChineseChars: false }, files: 'vocab.txt' },
  { name: 'cased (do_lower_case false)', vocab: 'cased', normalizer: { ...base, lowercase: false }, files: 'vocab.txt' },
  { name: 'cased, strip_accents true', vocab: 'cased', normalizer: { ...base, lowercase: false, stripAccents: true }, files: 'tokenizer.json' },
  { name: 'cased, tokenize_chinese_chars false', vocab: 'cased', normalizer: { ...base, lowercase: false, handleChineseChars: false }, files: 'vocab.txt' },
];

let uncased: Vocabulary;
let cased: Vocabulary;
before(() => {
  uncased = uncasedVocabulary();
  cased = casedVocabulary(uncased);
});

/** The engine's tokenizer, loaded from a model folder as a run loads it. */
function engineTokenizer(c: Configuration, tokens: readonly string[]): BertTokenizer {
  const n = c.normalizer;
  const folder =
    c.files === 'tokenizer.json'
      ? modelFolder({ 'tokenizer.json': JSON.stringify(tokenizerJson(tokens, n)) })
      : modelFolder({
          'vocab.txt': tokens.join('\n') + '\n',
          'tokenizer_config.json': JSON.stringify({ do_lower_case: n.lowercase, strip_accents: n.stripAccents, tokenize_chinese_chars: n.handleChineseChars }),
        });
  return loadBertTokenizer(folder);
}

function fromEngine(t: BertTokenizer, text: string, pair: string | undefined, maxLength: number): Compared {
  const e = t.encode(text, pair, { maxLength });
  return { ids: e.inputIds, typeIds: e.tokenTypeIds, offsets: e.offsets };
}

interface Mismatch {
  readonly maxLength: number;
  readonly text: string;
  readonly pair: string | undefined;
  readonly engine: string[];
  readonly reference: string[];
  readonly field: string;
}

function firstDifference(a: Compared, b: Compared): string | undefined {
  for (const field of ['ids', 'typeIds', 'offsets'] as const) {
    if (JSON.stringify(a[field]) !== JSON.stringify(b[field])) return field;
  }
  return undefined;
}

function describeMismatches(name: string, mismatches: readonly Mismatch[], total: number): string {
  const lines = [`${name}: ${mismatches.length} of ${total} encodings differ from tokenizers; the first ones:`];
  for (const m of mismatches.slice(0, 5)) {
    lines.push(`  maxLength ${m.maxLength}, ${m.field} differ: text ${JSON.stringify(m.text)}${m.pair === undefined ? '' : ` pair ${JSON.stringify(m.pair)}`}`);
    lines.push(`    engine:    ${m.engine.join(' ')}`);
    lines.push(`    reference: ${m.reference.join(' ')}`);
  }
  return lines.join('\n');
}

function tokensWithOffsets(t: BertTokenizer, c: Compared): string[] {
  return t.convertIdsToTokens([...c.ids]).map((tok, i) => `${tok}@${c.typeIds[i]}:${c.offsets[i]![0]}-${c.offsets[i]![1]}`);
}

async function compare(c: Configuration, index: number, t: { diagnostic(message: string): void }): Promise<void> {
  const vocab = c.vocab === 'uncased' ? uncased : cased;
  const engine = engineTokenizer(c, vocab.tokens);
  assert.equal(engine.behaviour, 'fast');
  const reference: Tokenizer = referenceTokenizer(tokenizerJson(vocab.tokens, c.normalizer));
  const texts = generateTexts(1000 + index, TEXTS);
  const pairs = generatePairs(2000 + index, PAIRS);
  const mismatches: Mismatch[] = [];
  const slow = engine.withBehaviour('slow');
  let total = 0;
  let truncated = 0;
  let oddTokenPairs = 0;
  let nfcTexts = 0;
  const check = (maxLength: number, text: string, pair: string | undefined, ours: Compared, theirs: Compared): void => {
    total++;
    if (ours.ids.length === maxLength) truncated++;
    const field = firstDifference(ours, theirs);
    if (field !== undefined) mismatches.push({ maxLength, text, pair, field, engine: tokensWithOffsets(engine, ours), reference: tokensWithOffsets(engine, theirs) });
  };
  for (const maxLength of MAX_LENGTHS) {
    reference.setTruncation(maxLength);
    const singles = await reference.encodeBatch(texts);
    texts.forEach((text, i) => {
      const ours = fromEngine(engine, text, undefined, maxLength);
      check(maxLength, text, undefined, ours, fromReference(singles[i]!, text));
      // Texts the slow behaviour (NFC) would read differently: the suite sees the rule.
      if (JSON.stringify(fromEngine(slow, text, undefined, maxLength).ids) !== JSON.stringify(ours.ids)) nfcTexts++;
    });
    for (let from = 0; from < pairs.length; from += CHUNK) {
      const chunk = pairs.slice(from, from + CHUNK);
      const encoded = await Promise.all(chunk.map(([a, b]) => reference.encode(a, b)));
      chunk.forEach(([a, b], i) => {
        const ours = fromEngine(engine, a, b, maxLength);
        check(maxLength, a, b, ours, fromReference(encoded[i]!, a, b));
        // Pairs where the slow behaviour would keep the odd token elsewhere: the suite sees the rule.
        if (JSON.stringify(fromEngine(slow, a, b, maxLength).typeIds) !== JSON.stringify(ours.typeIds)) oddTokenPairs++;
      });
    }
  }
  t.diagnostic(
    `${c.name} [${vocab.source}]: ${TEXTS} texts and ${PAIRS} pairs at max_length ${MAX_LENGTHS.join(' and ')}: ` +
      `${total - mismatches.length} of ${total} encodings equal; ${truncated} truncated; the slow behaviour would differ on ${nfcTexts} texts (NFC) and ${oddTokenPairs} pairs (truncation)`,
  );
  assert.equal(mismatches.length, 0, describeMismatches(c.name, mismatches, total));
  assert.ok(truncated > total / 10, `too few truncated encodings (${truncated} of ${total})`);
  assert.ok(oddTokenPairs > 0, 'no pair exercised the odd-token rule');
  const keepsAccents = (c.normalizer.stripAccents ?? c.normalizer.lowercase) === false;
  assert.equal(nfcTexts > 0, keepsAccents, keepsAccents ? 'no text exercised NFC' : 'NFC changed a text although accents are stripped');
}

describe('parity with tokenizers (BertTokenizerFast)', () => {
  CONFIGURATIONS.forEach((c, i) => {
    test(c.name, async (t) => compare(c, i, t));
  });

  test('pair truncation: words of several tokens and added tokens where the counting stops', async () => {
    const engine = engineTokenizer(CONFIGURATIONS[0]!, uncased.tokens);
    const reference = referenceTokenizer(tokenizerJson(uncased.tokens, base));
    const nine = 'hello, world! hello, world! hello';
    const firsts = ['hello, world! hello, unaffable', 'hello, world! hello, world [MASK] hello', 'hello, world! hello, world hello [MASK]', 'hello [SEP] [MASK] [CLS] world! hello, world hello', 'electroencephalography '.repeat(3)];
    for (const maxLength of [7, 8, 9, 10]) {
      reference.setTruncation(maxLength);
      for (const first of firsts) {
        for (const [a, b] of [[first, nine], [nine, first]] as const) {
          const theirs = fromReference(await reference.encode(a, b), a, b);
          const ours = fromEngine(engine, a, b, maxLength);
          assert.equal(firstDifference(ours, theirs), undefined, `${JSON.stringify(a)} / ${JSON.stringify(b)} at ${maxLength}: ${tokensWithOffsets(engine, ours).join(' ')} vs ${tokensWithOffsets(engine, theirs).join(' ')}`);
        }
      }
    }
  });

  test('pair truncation: every pair of lengths up to 24 at every max_length from 3 to 30, and long pairs at 128', async () => {
    const engine = engineTokenizer(CONFIGURATIONS[0]!, uncased.tokens);
    const reference = referenceTokenizer(tokenizerJson(uncased.tokens, base));
    const words = (n: number, w: string): string => Array.from({ length: n }, () => w).join(' ');
    const cases: [number, number, number][] = [];
    for (let maxLength = 3; maxLength <= 30; maxLength++) for (let a = 0; a <= 24; a++) for (let b = 0; b <= 24; b++) if (a + b + 3 > maxLength) cases.push([a, b, maxLength]);
    for (const [a, b] of [[300, 200], [200, 300], [130, 126], [126, 130], [127, 126], [126, 127], [128, 128], [129, 40], [40, 129], [62, 300]]) cases.push([a!, b!, 128]);
    const bad: string[] = [];
    for (const maxLength of new Set(cases.map((x) => x[2]))) {
      reference.setTruncation(maxLength);
      const here = cases.filter((x) => x[2] === maxLength);
      const encoded = await Promise.all(here.map(([a, b]) => reference.encode(words(a, 'a'), words(b, 'b'))));
      here.forEach(([a, b], i) => {
        const ours = fromEngine(engine, words(a, 'a'), words(b, 'b'), maxLength);
        if (firstDifference(ours, fromReference(encoded[i]!, words(a, 'a'), words(b, 'b'))) !== undefined) bad.push(`(${a}, ${b}) at max_length ${maxLength}`);
      });
    }
    assert.deepEqual(bad.slice(0, 10), [], `${bad.length} of ${cases.length} length pairs truncate differently`);
  });

  test("the generator's characters avoid the documented exceptions", () => {
    for (const cp of generatorCodePoints()) {
      const ch = String.fromCodePoint(cp);
      assert.ok(!/\p{Cn}/u.test(ch), `U+${cp.toString(16)} is unassigned`);
      assert.ok(cp < 0x2b820 || cp > 0x2b91f, `U+${cp.toString(16)} is in U+2B820–U+2B91F`);
    }
  });

  test('the vocabulary: bert-base-uncased from the shared folder beside the repository when it is there, else a generated one', (t) => {
    const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
    assert.equal(SHARED_UNCASED_VOCAB, path.join(repoRoot, '..', 'shared', 'tokparity', 'bert-base-uncased', 'vocab.txt'));
    if (fs.existsSync(SHARED_UNCASED_VOCAB)) {
      assert.equal(uncased.tokens.length, 30522);
      assert.equal(uncased.tokens[101], '[CLS]');
      assert.match(uncased.source, /^bert-base-uncased/);
    } else {
      t.diagnostic('bert-base-uncased vocab.txt is not beside the repository: the parity suite used a generated vocabulary');
      assert.match(uncased.source, /generated/);
      for (const special of ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']) assert.ok(uncased.tokens.includes(special), special);
    }
    assert.ok(cased.tokens.length > uncased.tokens.length);
    assert.deepEqual(cased.tokens.slice(0, uncased.tokens.length), uncased.tokens, 'the cased vocabulary keeps the uncased ids');
  });
});

/**
 * Where tokenizers is known to be wrong the engine keeps the Python tokenizer's rule
 * (docs/engine.md, "Tokenizer"). Each case shows the difference, so a tokenizers release that
 * changes it fails here and the documentation is revisited.
 */
describe('documented exceptions: the engine follows the Python tokenizer', () => {
  let engine: BertTokenizer;
  let reference: Tokenizer;
  before(() => {
    engine = engineTokenizer(CONFIGURATIONS[0]!, uncased.tokens);
    reference = referenceTokenizer(tokenizerJson(uncased.tokens, base));
  });
  const ours = (text: string): string[] => engine.encode(text).tokens;
  const theirs = async (text: string): Promise<string[]> => (await reference.encode(text)).getTokens();

  /** The engine reads `text` as `engineReads`; tokenizers reads it otherwise. */
  async function differs(text: string, engineReads: string): Promise<void> {
    assert.deepEqual(ours(text), ours(engineReads), 'the engine');
    assert.deepEqual(await theirs(engineReads), ours(engineReads), 'both read the plain text alike');
    assert.notDeepEqual(await theirs(text), ours(text), 'tokenizers');
  }

  test('unassigned code points are removed (tokenizers keeps them as letters)', async () => {
    // U+0378 is unassigned: to Python's BasicTokenizer its category Cn makes it a control character.
    await differs('the\u0378 cat', 'the cat');
  });

  test('U+2B820–U+2B91F are isolated as CJK ideographs (tokenizers starts the range at U+2B920)', async () => {
    await differs('the\u{2B820}cat', 'the \u{2B820} cat');
    await differs('the\u{2B91F}cat', 'the \u{2B91F} cat');
    // Just outside, both isolate.
    assert.deepEqual(await theirs('the\u{2B920}cat'), ours('the\u{2B920}cat'));
  });

  test('combining marks added in recent Unicode versions are stripped (tokenizers keeps them)', async () => {
    // U+07FD NKO DANTAYALAN (Unicode 11, Mn).
    await differs('the\u07fd cat', 'the cat');
  });

  test('punctuation added in recent Unicode versions is split off (tokenizers keeps it in the word)', async () => {
    // U+2E55 LEFT SQUARE BRACKET WITH STROKE (Unicode 14, Ps).
    await differs('the\u2e55cat', 'the \u2e55 cat');
  });
});
