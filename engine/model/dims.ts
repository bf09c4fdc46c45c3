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

/**
 * Models the engine can make itself, so that examples, tests and the README's first
 * command run with no downloads. The engine generates their weights and vocabulary from a
 * fixed seed.
 */
export const BUILTIN_MODELS: Readonly<Record<string, BertDims>> = {
  'tiny-bert': { hiddenSize: 64, layers: 4, heads: 4, intermediateSize: 256, vocabSize: 1024, maxPositions: 128, typeVocabSize: 2 },
  'mini-bert': { hiddenSize: 128, layers: 6, heads: 4, intermediateSize: 512, vocabSize: 4096, maxPositions: 256, typeVocabSize: 2 },
};

export const BUILTIN_PREFIX = 'builtin:';
