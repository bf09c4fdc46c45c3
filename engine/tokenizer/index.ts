/** The BERT WordPiece tokenizer: the engine's entry points. */
export { BasicTokenizer, type BasicTokenizerOptions, type BasicWord } from './basic';
export { BertTokenizer, loadBertTokenizer, TOKENIZER_BEHAVIOURS, truncateLongestFirst, type BertTokenizerOptions, type EncodeOptions, type Encoding, type LoadOptions, type TokenizerBehaviour } from './bertTokenizer';
export { TokenizerError } from './errors';
export { applyTokenizerConfig, parseTokenizerJson, parseVocabTxt, readTokenizerFolder, type AddedTokenSpec, type NormalizerSpec, type TokenizerDefinition, type TokenizerSource } from './files';
export { WordPiece, type WordPieceOptions, type WordPieces } from './wordpiece';
export { DEFAULT_SPECIAL_TOKENS, MAX_VOCAB_SIZE, trainWordPiece, WordCounter, type TrainedVocabulary, type WordPieceTrainerOptions } from './wordpieceTrainer';
