/** Data loading for the engine: tables, text examples and label maps, SQuAD, batching. */
export { DataError } from './errors';
export { columnIndex, parseTable, readTable, tableFormatOf, type Cell, type ReadTableOptions, type Table, type TableFormat, type TableRow } from './table';
export { examplesFromTable, LabelMap, loadExperimentData, loadTextExamples, textTaskOf, type LabelMapJson, type TaskData, type TextExample, type TextTask } from './examples';
export {
  answerTokenSpan,
  buildSpanFeatures,
  contextWindows,
  parseSquad,
  readSquad,
  spanTokenizerFrom,
  windowFeatures,
  type ContextWindow,
  type PairEncoder,
  type ParseSquadOptions,
  type SpanFeature,
  type SpanFeatureOptions,
  type SpanTokenizer,
  type SquadAnswer,
  type SquadExample,
  type TextTokens,
} from './squad';
export { lengthGroupedBatches, padBatch, paddingEfficiency, sequentialBatches, sortedBatches, type BatchLabels, type BatchingOptions, type EncodedInput, type PaddedBatch, type PaddingStats } from './batching';
