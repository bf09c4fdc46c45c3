/**
 * What a task kind is: one module per kind (classification.ts, regression.ts, span.ts)
 * implements this interface, and the registry in index.ts maps `task.kind` to it. A new
 * kind is one new module plus one registry line.
 */
import type { Experiment } from '../config/experiment';
import type { Metric, TaskKind } from '../config/schema';
import type { Batch, BatchLabels } from '../data/batching';
import type { LabelMap } from '../data/examples';
import type { Value } from '../graph/graph';
import type { Ops } from '../graph/ops';
import type { HeadBuilder, ModelSpec } from '../model/bert';
import type { HeadSpec } from '../model/heads';
import type { WeightMap } from '../tensor';
import type { BertTokenizer } from '../tokenizer';
import type { EncodedExample, IndexedBatch } from './batches';

/** Anything that gives a batch's logits, with adapters gated: the trainer, or a layer-by-layer model that reuses states. */
export interface LogitsSource {
  logits(batch: IndexedBatch, gates?: Float32Array): Promise<{ readonly data: Float32Array; readonly shape: readonly number[] }>;
}

export type Scorer = (trainer: LogitsSource, gates?: Float32Array) => Promise<Record<string, number>>;

export interface TaskInputs {
  readonly train: readonly EncodedExample[];
  readonly validation: readonly EncodedExample[] | undefined;
  readonly labelMap: LabelMap | undefined;
  /** Classes for classification, 1 for regression, 2 (start, end) for spans. */
  readonly numLabels: number;
  /** Scores the current model on the validation inputs: the experiment's metric first. `gates` switch adapters off (ablation). */
  readonly evaluate: Scorer;
  /**
   * The batch a training step feeds, where a kind draws its inputs anew at every step
   * (masked-LM's masks, a pure function of seed, step and example). `step` is 1-based.
   */
  readonly stepBatch?: (batch: IndexedBatch, step: number) => IndexedBatch;
}

/** Inputs and scoring for one evaluation file. */
export interface Evaluation {
  readonly inputs: readonly EncodedExample[];
  readonly evaluate: Scorer;
}

export type FloatType = 'float32' | 'float64';

export interface TaskKindModule {
  readonly kind: TaskKind;
  /** The metrics this kind reports; the first is the default. */
  readonly metrics: readonly Metric[];
  /** Reads and encodes the experiment's training and validation files. */
  prepare(e: Experiment, tokenizer: BertTokenizer): TaskInputs;
  /** Evaluation of a finished run on a data file, with the run's label map. */
  prepareEvaluation(e: Experiment, tokenizer: BertTokenizer, labelMap: LabelMap | undefined, file: string): Evaluation;
  /** The head for `numLabels` outputs (as prepare() counted them). */
  headSpec(numLabels: number): HeadSpec;
  /** Head parameters every method trains (others, such as the pooler, follow the method). */
  headParameters(head: HeadSpec): readonly string[];
  /** Head parameters between the top layer and the output (the pooler, a masked-LM transform): `top_k` trains them. */
  aboveTopLayer(head: HeadSpec): readonly string[];
  /** Adds the head's weights where the checkpoint has none of the right shape; returns the names it created. */
  initHead(weights: WeightMap, spec: ModelSpec, seed: number): readonly string[];
  /** The head's computation on the last hidden state. */
  head(head: HeadSpec): HeadBuilder;
  /** The mean loss of a batch and the name of its labels input. */
  loss(o: Ops, logits: Value, head: HeadSpec, dtype: FloatType): { readonly loss: Value; readonly labelInput: string };
  /** Shape of the batch's labels input. */
  labelShape(batch: Batch): number[];
  /** Text kinds: the prediction an output row stands for (a class id, a value). */
  readonly predictRow?: (row: readonly number[]) => number;
  /** The batch's labels, in the examples' order (none where they are drawn at each step, as masked-LM's). */
  batchLabels(items: readonly EncodedExample[]): BatchLabels | undefined;
}
