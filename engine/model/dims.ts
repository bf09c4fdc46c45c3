/** The shape of a BERT model, as read from a Hugging Face config.json. */
export interface BertDims {
  readonly hiddenSize: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly typeVocabSize: number;
}

const ENGLISH_BERT: BertDims = { hiddenSize: 256, layers: 6, heads: 4, intermediateSize: 1024, vocabSize: 8192, maxPositions: 128, typeVocabSize: 2 };

/**
 * Models that need no downloads, so that examples, tests and the README's first command run
 * with no files at all. `english-bert` is a small English BERT the engine pretrained itself
 * (masked-language modelling on public-domain text); it ships as a model folder in the
 * extension (`models/english-bert`, see docs/builtin-model.md). The others are generated
 * from a fixed seed and are NOT pretrained: `english-bert-random` is its unpretrained twin
 * (same shape and vocabulary, BERT's initialisation), `tiny-bert` and `mini-bert` are
 * instant stand-ins for tests.
 */
export const BUILTIN_MODELS: Readonly<Record<string, BertDims>> = {
  'english-bert': ENGLISH_BERT,
  'english-bert-random': ENGLISH_BERT,
  'tiny-bert': { hiddenSize: 64, layers: 4, heads: 4, intermediateSize: 256, vocabSize: 1024, maxPositions: 128, typeVocabSize: 2 },
  'mini-bert': { hiddenSize: 128, layers: 6, heads: 4, intermediateSize: 512, vocabSize: 4096, maxPositions: 256, typeVocabSize: 2 },
};

/**
 * Where a built-in model's weights come from: a shipped model folder (`models/<folder>`), or
 * generated from the fixed seed — with the vocabulary of a shipped folder (the pretrained
 * model's unpretrained twin) or the engine's own small vocabulary.
 */
export type BuiltinOrigin =
  | { readonly kind: 'shipped'; readonly folder: string }
  | { readonly kind: 'generated'; readonly vocabFolder?: string };

export const BUILTIN_ORIGINS: Readonly<Record<string, BuiltinOrigin>> = {
  'english-bert': { kind: 'shipped', folder: 'english-bert' },
  'english-bert-random': { kind: 'generated', vocabFolder: 'english-bert' },
  'tiny-bert': { kind: 'generated' },
  'mini-bert': { kind: 'generated' },
};

/** One line for completion and hovers. */
export function describeBuiltin(name: string): string {
  const d = BUILTIN_MODELS[name];
  if (!d) return 'unknown built-in model';
  const shape = `${d.layers} layers, hidden ${d.hiddenSize}, vocabulary ${d.vocabSize}`;
  if (name === 'english-bert') return `pretrained English BERT: ${shape}`;
  if (name === 'english-bert-random') return `english-bert's unpretrained twin: ${shape}`;
  return `random, not pretrained: ${shape}`;
}

export const BUILTIN_PREFIX = 'builtin:';
