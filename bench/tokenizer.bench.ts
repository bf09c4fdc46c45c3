/**
 * Tokens per second of the engine's BERT tokenizer and of Hugging Face's `tokenizers` (the
 * library behind BertTokenizerFast), side by side in one run, on the same vocabulary and texts:
 * bert-base-uncased's vocab.txt from the shared folder beside the repository when it is there
 * (else the parity suite's generated vocabulary), uncased settings.
 *
 * Corpora (seeded, test/support/tokenizerParity.ts): ordinary English, and the parity suite's
 * mixed texts (accents, CJK, emoji, control characters, long words, URLs, other scripts), each
 * encoded untruncated with [CLS]/[SEP]; and the mixed texts as pairs truncated to 128 tokens.
 * The engine runs in this thread, with its word cache (the default) and without it (`cacheSize: 0`;
 * the generated corpora repeat words often, which flatters a cache). `tokenizers` is measured as one `encode` call per text
 * (each a call into the native library that resolves a promise) and as one `encodeBatch` call
 * for the whole corpus, which spreads the texts over its thread pool (every core, or
 * `--threads`). After a warm-up pass the measurements run in turn for `--runs` rounds, and
 * each one's fastest round is reported, so that load from other work on a shared machine
 * disturbs the comparison less.
 *
 * Run: npm run bench:tokenizer [-- --texts 5000] [--runs 5] [--threads N]
 */
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { loadBertTokenizer } from '../engine/tokenizer';
import { generateEnglish, generatePairs, generateTexts, tokenizerJson, uncasedVocabulary } from '../test/support/tokenizerParity';
import { modelFolder, removeModelFolders } from '../test/engine/tokenizer/fixture';
import { arg } from './args';

const TEXTS = Number(arg('texts', '5000'));
const RUNS = Number(arg('runs', '5'));
const THREADS = arg('threads', '');
// tokenizers' thread pool reads this when it first starts, so it is set before the library loads.
if (THREADS !== '') process.env.RAYON_NUM_THREADS = THREADS;
const { Tokenizer } = require('tokenizers') as typeof import('tokenizers');

const NORMALIZER = { cleanText: true, handleChineseChars: true, stripAccents: null, lowercase: true };

interface Measured {
  tokens: number;
  seconds: number;
}

/**
 * Runs each measurement once to warm up, then `RUNS` rounds in which every measurement runs
 * once, in turn, so that load from other work falls on all of them alike; reports each one's
 * fastest round (the least disturbed).
 */
async function interleaved(runs: readonly (() => Promise<number> | number)[]): Promise<Measured[]> {
  for (const run of runs) await run();
  const best: Measured[] = runs.map(() => ({ tokens: 0, seconds: Number.POSITIVE_INFINITY }));
  for (let round = 0; round < RUNS; round++) {
    for (let i = 0; i < runs.length; i++) {
      const t0 = performance.now();
      const tokens = await runs[i]!();
      const seconds = (performance.now() - t0) / 1000;
      if (seconds < best[i]!.seconds) best[i] = { tokens, seconds };
    }
  }
  return best;
}

function rate(r: Measured): string {
  return `${Math.round(r.tokens / r.seconds).toLocaleString('en-US')} tokens/s`.padStart(21);
}

async function main(): Promise<void> {
  const vocab = uncasedVocabulary();
  const folder = modelFolder({ 'vocab.txt': vocab.tokens.join('\n') + '\n' });
  const cached = loadBertTokenizer(folder);
  const uncachedEngine = loadBertTokenizer(folder, { cacheSize: 0 });
  const reference = Tokenizer.fromString(JSON.stringify(tokenizerJson(vocab.tokens, NORMALIZER)));
  const english = generateEnglish(7, TEXTS);
  const mixed = generateTexts(8, TEXTS);
  const pairs = generatePairs(9, TEXTS);
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Tokenizer throughput: ${vocab.source}; ${TEXTS} texts per corpus; the fastest of ${RUNS} interleaved rounds after a warm-up`);
  console.log(`${os.cpus().length} CPUs (${cpu}), Node ${process.versions.node}; tokenizers thread pool: ${THREADS || 'every core'}`);
  console.log('');
  const header = ['corpus'.padEnd(44), 'engine'.padStart(21), 'engine, no cache'.padStart(21), 'tokenizers encode'.padStart(21), 'tokenizers encodeBatch'.padStart(23), 'engine / encode'.padStart(16), 'engine / encodeBatch'.padStart(21)];
  console.log(header.join(' '));
  const corpora: [string, string[], [string, string][] | undefined][] = [
    ['English', english, undefined],
    ['mixed (parity texts)', mixed, undefined],
    ['mixed pairs, max_length 128', [], pairs],
  ];
  for (const [name, texts, pairList] of corpora) {
    const runs: (() => Promise<number> | number)[] = [];
    if (pairList === undefined) {
      const engineRun = (engine: typeof cached) => () => texts.reduce((n, t) => n + engine.encode(t, undefined, { maxLength: Number.POSITIVE_INFINITY }).inputIds.length, 0);
      runs.push(engineRun(cached), engineRun(uncachedEngine));
      runs.push(async () => {
        reference.disableTruncation();
        let n = 0;
        for (const t of texts) n += (await reference.encode(t)).getIds().length;
        return n;
      });
      runs.push(async () => {
        reference.disableTruncation();
        return (await reference.encodeBatch(texts)).reduce((n, e) => n + e.getIds().length, 0);
      });
    } else {
      const engineRun = (engine: typeof cached) => () => pairList.reduce((n, [a, b]) => n + engine.encode(a, b, { maxLength: 128 }).inputIds.length, 0);
      runs.push(engineRun(cached), engineRun(uncachedEngine));
      runs.push(async () => {
        reference.setTruncation(128);
        let n = 0;
        for (const [a, b] of pairList) n += (await reference.encode(a, b)).getIds().length;
        return n;
      });
      // The Node binding's encodeBatch takes single texts only.
    }
    const [ours, noCache, one, batch] = (await interleaved(runs)) as [Measured, Measured, Measured, Measured | undefined];
    if ([noCache, one, batch].some((r) => r !== undefined && r.tokens !== ours.tokens)) {
      console.log(`  (token counts differ: engine ${ours.tokens}/${noCache.tokens}, tokenizers ${one.tokens}${batch ? `/${batch.tokens}` : ''})`);
    }
    const ratio = (r: Measured | undefined): string => (r ? `${(ours.tokens / ours.seconds / (r.tokens / r.seconds)).toFixed(2)}×` : '—');
    const row = [`${name} (${ours.tokens} tokens)`.padEnd(44), rate(ours), rate(noCache), rate(one), batch ? rate(batch) : '—'.padStart(21), ratio(one).padStart(16), ratio(batch).padStart(21)];
    console.log(row.join(' '));
  }
  removeModelFolders();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
