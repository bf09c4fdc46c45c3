/** `adapter-lab vocab`: a WordPiece vocabulary trained on plain-text files. */
import { DataError } from '../data/errors';
import { trainVocab, type VocabJobResult, type VocabProgress } from '../jobs/vocab';
import { TokenizerError } from '../tokenizer/errors';
import { messageOf, parseFlags } from './command';

/** Progress goes to standard error at most this often. */
const PROGRESS_EVERY_MS = 3000;

export function vocabCommand(args: readonly string[], usage: (m: string) => number): number {
  const parsed = parseFlags(args, ['size', 'min-frequency', 'limit-alphabet', 'heldout', 'out'], ['cased']);
  if (typeof parsed === 'string') return usage(parsed);
  const files = parsed.positional;
  if (files.length === 0) return usage('vocab needs one or more .txt files (one document or paragraph per line)');
  const out = parsed.flags.get('out');
  if (typeof out !== 'string') return usage('vocab needs --out vocab.txt (or a folder)');
  const size = integerFlag(parsed.flags.get('size'), 'size', 1);
  if (size === undefined) return usage('vocab needs --size N, the number of tokens (8192, say)');
  if (typeof size === 'string') return usage(size);
  const minFrequency = integerFlag(parsed.flags.get('min-frequency'), 'min-frequency', 1);
  if (typeof minFrequency === 'string') return usage(minFrequency);
  const limitAlphabet = integerFlag(parsed.flags.get('limit-alphabet'), 'limit-alphabet', 1);
  if (typeof limitAlphabet === 'string') return usage(limitAlphabet);
  const heldoutFlag = parsed.flags.get('heldout');
  const heldout = typeof heldoutFlag === 'string' ? heldoutFlag : undefined;

  const started = Date.now();
  let last = started;
  const onProgress = (p: VocabProgress): void => {
    const now = Date.now();
    if (now - last < PROGRESS_EVERY_MS) return;
    last = now;
    const t = `${((now - started) / 1000).toFixed(0)} s`;
    if (p.phase === 'read') {
      process.stderr.write(`vocab: reading ${p.file}${p.files > 1 ? ` (${p.fileIndex + 1} of ${p.files})` : ''}: ${mb(p.bytes)} of ${mb(p.fileBytes)}, ${count(p.words)} words · ${t}\n`);
    } else if (p.phase === 'merge') {
      process.stderr.write(`vocab: ${count(p.vocabSize)} of ${count(p.target)} tokens · ${t}\n`);
    } else {
      process.stderr.write(`vocab: measuring on ${p.file}: ${count(p.words)} words · ${t}\n`);
    }
  };

  let r: VocabJobResult;
  try {
    r = trainVocab({ files, out, size, cased: parsed.flags.has('cased'), minFrequency, limitAlphabet, heldout, onProgress });
  } catch (e) {
    process.stderr.write(`error: ${messageOf(e)}\n`);
    return e instanceof DataError || e instanceof TokenizerError ? 2 : 1;
  }
  process.stdout.write(JSON.stringify(r) + '\n');
  const lines = [
    `${r.vocabFile}: ${count(r.vocabSize)} tokens (${r.specialTokens} special, ${count(r.alphabet)} characters, ${count(r.continuations)} "##" continuations, ${count(r.vocabSize - r.specialTokens - r.alphabet - r.continuations)} merged), ${r.cased ? 'cased' : 'uncased'}, in ${r.seconds.toFixed(1)} s`,
    `  from ${count(r.words)} words (${count(r.distinctWords)} distinct) in ${r.files} file${r.files === 1 ? '' : 's'} (${mb(r.bytes)}): counting ${r.countSeconds.toFixed(1)} s, merging ${r.mergeSeconds.toFixed(1)} s`,
  ];
  if (r.droppedCharacters > 0) lines.push(`  ${count(r.droppedCharacters)} rare characters left out of the alphabet (words holding one are [UNK])`);
  if (r.stoppedEarly) lines.push(`  stopped at ${count(r.vocabSize)} of ${count(r.requestedSize)} tokens: no pair left occurs --min-frequency times`);
  if (r.heldout) {
    const h = r.heldout;
    lines.push(`  held-out ${h.file}: [UNK] ${(100 * h.unkRate).toFixed(3)}% of ${count(h.tokens)} tokens, ${h.tokensPerWord.toFixed(3)} tokens per word (${count(h.words)} words)`);
  }
  lines.push(`  tokenizer config ${r.configFile}`);
  process.stderr.write(lines.join('\n') + '\n');
  return 0;
}

function integerFlag(v: string | true | undefined, name: string, min: number): number | string | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= min ? n : `--${name} must be an integer of at least ${min}`;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}
