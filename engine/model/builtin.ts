/**
 * The built-in models and task: what the README's first command runs with no files at all.
 * The models are BERT-shaped but randomly initialised from a fixed seed: they are NOT
 * pretrained, so their numbers show the engine working, not what pretrained BERT reaches.
 */
import { Random } from '../util/random';
import { BUILTIN_MODELS, type BertDims } from './dims';

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;

/** Words of the built-in task (and the examples' data), so they tokenize whole. */
const WORDS = [
  'the', 'a', 'an', 'is', 'was', 'and', 'but', 'not', 'very', 'this', 'that', 'it', 'of', 'to', 'in',
  'film', 'movie', 'plot', 'acting', 'soundtrack', 'ending', 'script', 'cast', 'story', 'scene',
  'truly', 'rather', 'utterly', 'quite', 'simply',
  'wonderful', 'moving', 'brilliant', 'charming', 'gripping', 'delightful', 'superb', 'great', 'good', 'fine',
  'dull', 'tedious', 'clumsy', 'forgettable', 'painful', 'lifeless', 'awful', 'bad', 'boring', 'weak',
  'cat', 'sat', 'on', 'mat', 'sitting', 'prices', 'rose', 'sharply', 'costs', 'went', 'up', 'fast', 'she', 'left',
  'early', 'departed', 'before', 'others', 'team', 'won', 'cup', 'rained', 'all', 'day', 'whole', 'rainy',
];

/** The built-in vocabulary: special tokens, whole words, then characters and continuations so that any ASCII text tokenizes without [UNK]. */
export function builtinVocab(dims: BertDims): string[] {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
  const punctuation = '.,!?;:\'"()-/&%$#@*+=<>[]{}_'.split('');
  const vocab = [...SPECIAL_TOKENS, ...WORDS, ...chars, ...punctuation, ...chars.map((c) => `##${c}`)];
  // Fill to the model's vocabulary size with unused slots, as BERT's vocab has [unused0]….
  for (let i = 0; vocab.length < dims.vocabSize; i++) vocab.push(`[unused${i}]`);
  if (vocab.length > dims.vocabSize) throw new Error(`the built-in vocabulary needs ${vocab.length} entries`);
  return vocab;
}

export function builtinDims(name: string): BertDims {
  const dims = BUILTIN_MODELS[name];
  if (!dims) throw new Error(`unknown built-in model ${name}; the built-in models are ${Object.keys(BUILTIN_MODELS).map((n) => `builtin:${n}`).join(', ')}`);
  return dims;
}

/** The seed the built-in models' weights are generated from. */
export const BUILTIN_WEIGHT_SEED = 20261122;

const SUBJECTS = ['the film', 'this movie', 'the plot', 'the acting', 'the soundtrack', 'the ending', 'the script', 'the cast'];
const ADVERBS = ['truly', 'rather', 'utterly', 'quite', 'simply'];
const GOOD = ['wonderful', 'moving', 'brilliant', 'charming', 'gripping', 'delightful', 'superb'];
const BAD = ['dull', 'tedious', 'clumsy', 'forgettable', 'painful', 'lifeless', 'awful'];

/** The built-in task: short movie-review sentences labelled 1 (positive) or 0 (negative), some negated. */
export function builtinSentiment(count: number, seed: number): { sentence: string; label: number }[] {
  const rng = new Random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  const rows: { sentence: string; label: number }[] = [];
  for (let i = 0; i < count; i++) {
    let positive = rng.next() < 0.5;
    const negated = rng.next() < 0.25;
    const word = pick(positive ? GOOD : BAD);
    if (negated) positive = !positive;
    rows.push({ sentence: `${pick(SUBJECTS)} is ${negated ? 'not ' : ''}${pick(ADVERBS)} ${word}`, label: positive ? 1 : 0 });
  }
  return rows;
}
