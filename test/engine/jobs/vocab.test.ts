/** `adapter-lab vocab` as a user runs it: the folder it writes, its summary, and what it refuses. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { trainVocab, type VocabJobOptions } from '../../../engine/jobs/vocab';
import { loadBertTokenizer } from '../../../engine/tokenizer/bertTokenizer';
import { REPO_ROOT } from '../../support/lspClient';
import { generatedCorpus } from '../tokenizer/vocabCorpus';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

function run(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'vocab', ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The same, without waiting: several commands at once keep the suite quick. */
function runAsync(args: string[], cwd: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'vocab', ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('adapter-lab vocab', () => {
  let root: string;
  const write = (name: string, content: string | Uint8Array): string => {
    fs.writeFileSync(path.join(root, name), content);
    return name;
  };
  const read = (name: string): string => fs.readFileSync(path.join(root, name), 'utf8');

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-vocab-'));
    const lines = generatedCorpus(5, 2000).text.split('\n');
    write('a.txt', lines.slice(0, 1000).join('\n') + '\n');
    write('b.txt', lines.slice(1000).join('\n'));
    write('heldout.txt', 'Kalo mine, quinest ☃ sadorfyn.\n\nkalo\n');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  test('writes vocab.txt and tokenizer_config.json that load back as the tokenizer, and reports the held-out [UNK] rate', () => {
    const r = run(['a.txt', 'b.txt', '--size', '500', '--heldout', 'heldout.txt', '--out', 'out/vocab.txt'], root);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readdirSync(path.join(root, 'out')).sort(), ['tokenizer_config.json', 'vocab.txt']);
    const tokens = read('out/vocab.txt').split('\n');
    assert.equal(tokens.pop(), '');
    assert.equal(tokens.length, 500);
    assert.deepEqual(tokens.slice(0, 5), ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    const config = JSON.parse(read('out/tokenizer_config.json')) as Record<string, unknown>;
    assert.equal(config.tokenizer_class, 'BertTokenizer');
    assert.equal(config.do_lower_case, true);
    assert.equal(config.strip_accents, true);
    assert.equal(config.tokenize_chinese_chars, true);
    assert.ok(!('model_max_length' in config));

    const result = JSON.parse(r.stdout) as { vocabSize: number; words: number; distinctWords: number; heldout: { words: number; tokens: number; unknown: number; unkRate: number; tokensPerWord: number } };
    assert.equal(result.vocabSize, 500);
    assert.ok(result.words > 15_000 && result.distinctWords < result.words);
    // The snowman is the only character the corpus never had: one [UNK].
    const tokenizer = loadBertTokenizer(path.join(root, 'out'));
    const heldout = read('heldout.txt');
    const expected = tokenizer.tokenize(heldout);
    assert.equal(result.heldout.unknown, 1);
    assert.equal(result.heldout.tokens, expected.length);
    assert.equal(result.heldout.words, 8);
    assert.equal(result.heldout.unkRate, 1 / expected.length);
    assert.match(r.stderr, /500 tokens \(5 special, \d+ characters, \d+ "##" continuations, \d+ merged\), uncased, in [\d.]+ s/);
    assert.match(r.stderr, /from [\d,]+ words \([\d,]+ distinct\) in 2 files/);
    assert.match(r.stderr, new RegExp(`held-out heldout\\.txt: \\[UNK\\] ${(100 / expected.length).toFixed(3)}% of ${expected.length} tokens, [\\d.]+ tokens per word \\(8 words\\)`));

    // Round trip: the pieces of each word join back into the word, and offsets point at it in the text.
    const text = 'Kalo MINE, sadorfyn quinest.';
    const enc = tokenizer.encode(text);
    const words: string[] = [];
    enc.tokens.slice(1, -1).forEach((t, i) => {
      if (t.startsWith('##')) words[words.length - 1] += t.slice(2);
      else words.push(t);
      const [s, e] = enc.offsets[i + 1];
      assert.equal(text.slice(s, e).toLowerCase(), t.replace(/^##/, ''));
    });
    assert.deepEqual(words, ['kalo', 'mine', ',', 'sadorfyn', 'quinest', '.']);
  });

  test('the same corpus gives a byte-identical vocab.txt, whatever the order of the files', async () => {
    fs.mkdirSync(path.join(root, 'x'));
    fs.mkdirSync(path.join(root, 'y'));
    const runs = await Promise.all([
      runAsync(['a.txt', 'b.txt', '--size', '400', '--out', 'x'], root),
      runAsync(['b.txt', 'a.txt', '--size', '400', '--out', 'y/vocab.txt'], root),
      runAsync(['a.txt', 'b.txt', '--size', '400', '--out', 'z/'], root),
    ]);
    assert.deepEqual(runs.map((r) => r.status), [0, 0, 0]);
    assert.equal(read('x/vocab.txt'), read('y/vocab.txt'));
    assert.equal(read('z/vocab.txt'), read('y/vocab.txt'));
  });

  test('--cased keeps capitals and accents, and says so in tokenizer_config.json', () => {
    write('cased.txt', 'Café CAFÉ café The the\n'.repeat(5));
    const r = run(['cased.txt', '--size', '60', '--cased', '--min-frequency', '1', '--out', 'cased/vocab.txt'], root);
    assert.equal(r.status, 0, r.stderr);
    const config = JSON.parse(read('cased/tokenizer_config.json')) as Record<string, unknown>;
    assert.equal(config.do_lower_case, false);
    assert.equal(config.strip_accents, false);
    assert.deepEqual(loadBertTokenizer(path.join(root, 'cased')).tokenize('Café The café CAFÉ'), ['Café', 'The', 'café', 'CAFÉ']);
    assert.match(r.stderr, /cased, in/);
    assert.match(r.stderr, /stopped at \d+ of 60 tokens: no pair left occurs --min-frequency times/);
  });

  test('refuses with located messages: no files, a missing file, an empty corpus, bytes that are not UTF-8, a size too small', async () => {
    write('empty.txt', '  \n\t\n\u0007\n');
    write('latin1.txt', Buffer.concat([Buffer.from('good line\nnaïve\nle caf'), Buffer.from([0xe9]), Buffer.from('\n')]));
    const cases: [string[], RegExp][] = [
      [['--size', '100', '--out', 'o/vocab.txt'], /vocab needs one or more \.txt files/],
      [['a.txt', 'missing.txt', '--size', '100', '--out', 'o/vocab.txt'], /^error: missing\.txt: file not found\n$/],
      [['empty.txt', '--size', '100', '--out', 'o/vocab.txt'], /^error: empty\.txt: the corpus is empty: no words to learn from/],
      [['a.txt', 'latin1.txt', '--size', '100', '--out', 'o/vocab.txt'], /^error: latin1\.txt:3: not UTF-8: byte 0xE9 at byte 7 of the line/],
      [['a.txt', '--size', '10', '--out', 'o/vocab.txt'], /^error: a vocabulary of 10 tokens cannot hold the 5 special tokens and the alphabet \(\d+ characters and \d+ "##" continuations\): ask for at least \d+ tokens/],
    ];
    const results = await Promise.all(cases.map(([args]) => runAsync(args, root)));
    for (const [i, [args, message]] of cases.entries()) {
      const r = results[i];
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
    assert.ok(!fs.existsSync(path.join(root, 'o')), 'nothing is written when the vocabulary is refused');
  });

  test('refuses, before reading the corpus, a missing held-out file and an output that is not vocab.txt or a folder', () => {
    const refused = (options: Partial<VocabJobOptions>, message: RegExp): void =>
      assert.throws(() => trainVocab({ files: [path.join(root, 'a.txt')], size: 100, out: path.join(root, 'o', 'vocab.txt'), ...options }), message);
    refused({ heldout: path.join(root, 'gone.txt') }, /gone\.txt: file not found/);
    refused({ out: path.join(root, 'o', 'tokens.txt') }, /tokens\.txt: the output must be a folder or a file named vocab\.txt/);
    refused({ out: path.join(root, 'o') }, /o: the output must be a folder or a file named vocab\.txt/);
    refused({ files: [] }, /no text files to learn from/);
    refused({ size: 5_000_000 }, /the vocabulary size must be an integer from 1 to 4194303, got 5000000/);
    fs.mkdirSync(path.join(root, 'hf'));
    write('hf/tokenizer.json', '{}');
    refused({ out: path.join(root, 'hf') }, /hf: holds a tokenizer\.json, which loads before vocab\.txt/);
    assert.ok(!fs.existsSync(path.join(root, 'o')));
  });

  test('a refused run leaves an earlier vocabulary as it was', () => {
    const before = read('out/vocab.txt');
    assert.equal(run(['a.txt', '--size', '10', '--out', 'out/vocab.txt'], root).status, 2);
    assert.equal(read('out/vocab.txt'), before);
    assert.deepEqual(fs.readdirSync(path.join(root, 'out')).sort(), ['tokenizer_config.json', 'vocab.txt']);
  });

  test('is in the help', () => {
    const r = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    assert.match(r.stdout, /adapter-lab vocab <file\.txt>\.\.\. --size N --out vocab\.txt/);
  });
});
