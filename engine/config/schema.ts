/**
 * The experiment schema, written once as data.
 *
 * Everything that knows what an `*.adapter.yaml` may contain reads this table: the
 * validator, the language server's completion and hover, the generated JSON Schema and
 * the key reference in docs/config.md. Rules that need more than one key, the model or
 * the file system live in `rules.ts`; the shape of each key lives here.
 */

interface SpecBase {
  /** One or two sentences for hover and docs. */
  readonly doc: string;
  /** Where the setting comes from in the papers, shown under the doc in hover. */
  readonly paper?: string;
  /** The value the engine uses when the key is absent (shown in docs and hover). */
  readonly default?: string | number | boolean;
  /** A key in the object above may be required. */
  readonly required?: boolean;
  /** Required unless this sibling key is present (`model`, unless `from_scratch` declares one). */
  readonly requiredUnless?: string;
}

export interface ObjectSpec extends SpecBase {
  readonly type: 'object';
  readonly fields: Readonly<Record<string, Spec>>;
}
export interface EnumSpec extends SpecBase {
  readonly type: 'enum';
  readonly values: readonly string[];
  readonly valueDocs?: Readonly<Record<string, string>>;
}
/** A non-empty list of distinct enum values. */
export interface EnumListSpec extends SpecBase {
  readonly type: 'enumList';
  readonly values: readonly string[];
  readonly valueDocs?: Readonly<Record<string, string>>;
}
export interface NumberSpec extends SpecBase {
  readonly type: 'number';
  /** Words accepted besides a number (`scaling: learned`). */
  readonly keywords?: readonly string[];
  readonly keywordDocs?: Readonly<Record<string, string>>;
  readonly integer?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly exclusiveMin?: number;
  readonly exclusiveMax?: number;
}
export interface StringSpec extends SpecBase {
  readonly type: 'string';
}
export interface BooleanSpec extends SpecBase {
  readonly type: 'boolean';
}
/** A path relative to the experiment file's folder; checked on disk by the rules. */
export interface PathSpec extends SpecBase {
  readonly type: 'path';
  readonly target: 'model' | 'data';
}
/** `all`, a list of layer indices, `a..b` (both ends included), or a list mixing both. */
export interface LayersSpec extends SpecBase {
  readonly type: 'layers';
  /** Whether `all` (and `none`) are accepted besides explicit layers. */
  readonly keywords: readonly ('all' | 'none')[];
}
/** A data column, or two for sentence pairs. */
export interface ColumnsSpec extends SpecBase {
  readonly type: 'columns';
  readonly maxColumns: number;
}
/** A non-negative count or an explicit list of seeds. */
export interface SeedsSpec extends SpecBase {
  readonly type: 'seeds';
}
/** `contiguous`, or a list of layer ranges. */
export interface SpansSpec extends SpecBase {
  readonly type: 'spans';
}
/** Dotted paths of this file mapped to non-empty lists of values. */
export interface GridSpec extends SpecBase {
  readonly type: 'grid';
}
/** A non-empty list of non-empty strings. */
export interface StringListSpec extends SpecBase {
  readonly type: 'stringList';
}
/** A value in one of the formats of `FORMATS` (a Slurm time limit, a memory size, …): a string, or a plain integer where the format allows one. */
export interface FormattedSpec extends SpecBase {
  readonly type: 'formatted';
  readonly format: FormatName;
}

export type Spec =
  | ObjectSpec
  | EnumSpec
  | EnumListSpec
  | NumberSpec
  | StringSpec
  | BooleanSpec
  | PathSpec
  | LayersSpec
  | ColumnsSpec
  | SeedsSpec
  | SpansSpec
  | GridSpec
  | StringListSpec
  | FormattedSpec;

export type LeafSpec = Exclude<Spec, ObjectSpec>;

export const TASK_KINDS = ['classification', 'regression', 'span', 'mlm'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

import { METRICS, type Metric } from '../metrics/names';
export { METRICS, type Metric };

/** Which metrics make sense for which task kind; the first is the default. */
export const METRICS_BY_KIND: Readonly<Record<TaskKind, readonly Metric[]>> = {
  classification: ['accuracy', 'f1', 'mcc'],
  regression: ['pearson', 'spearman'],
  span: ['span_f1', 'exact_match'],
  mlm: ['masked_accuracy', 'mlm_loss', 'perplexity'],
};

export const METHODS = ['adapter', 'full', 'top_k', 'layernorm', 'fusion'] as const;
export type Method = (typeof METHODS)[number];

export const SITES = ['attention', 'ffn'] as const;
export type Site = (typeof SITES)[number];

export const NON_LINEARITIES = ['gelu', 'relu', 'swish', 'tanh'] as const;
export type NonLinearity = (typeof NON_LINEARITIES)[number];

export const PLACEMENTS = ['serial', 'parallel'] as const;
export type Placement = (typeof PLACEMENTS)[number];

export const ADAPTER_INPUTS = ['output', 'normalized'] as const;
export type AdapterInputName = (typeof ADAPTER_INPUTS)[number];

export const INNER_NORMS = ['none', 'layernorm'] as const;
export type InnerNorm = (typeof INNER_NORMS)[number];

export const SHARES = ['none', 'all_layers'] as const;
export type Share = (typeof SHARES)[number];

export const SCALING_KEYWORDS = ['learned'] as const;
export type Scaling = number | (typeof SCALING_KEYWORDS)[number];

export const ADAPTER_PRESETS = ['houlsby', 'pfeiffer', 'parallel'] as const;
export type AdapterPreset = (typeof ADAPTER_PRESETS)[number];

/**
 * What a preset fills, as AdapterHub's configs set it. A setting written in the file wins
 * over its preset. The bottleneck size is `hidden // reduction_factor`, as AdapterHub
 * computes it; an explicit `adapter.size` replaces it.
 */
export interface PresetSettings {
  /** AdapterHub's config name and class. */
  readonly hub: string;
  readonly sites: readonly Site[];
  readonly placement: Placement;
  readonly input: AdapterInputName;
  readonly nonLinearity: NonLinearity;
  readonly reductionFactor: number;
  readonly scaling: Scaling;
  readonly innerNorm: InnerNorm;
  readonly depth: number;
  readonly share: Share;
}

export const PRESET_SETTINGS: Readonly<Record<AdapterPreset, PresetSettings>> = {
  houlsby: { hub: '`double_seq_bn` (DoubleSeqBnConfig)', sites: ['attention', 'ffn'], placement: 'serial', input: 'output', nonLinearity: 'swish', reductionFactor: 16, scaling: 1, innerNorm: 'none', depth: 1, share: 'none' },
  pfeiffer: { hub: '`seq_bn` (SeqBnConfig)', sites: ['ffn'], placement: 'serial', input: 'normalized', nonLinearity: 'relu', reductionFactor: 16, scaling: 1, innerNorm: 'none', depth: 1, share: 'none' },
  parallel: { hub: '`par_bn` (ParBnConfig)', sites: ['ffn'], placement: 'parallel', input: 'output', nonLinearity: 'relu', reductionFactor: 2, scaling: 4, innerNorm: 'none', depth: 1, share: 'none' },
};

/** A preset field by field, for hover and the docs. */
export function describePreset(name: AdapterPreset): string {
  const p = PRESET_SETTINGS[name];
  const scaling = typeof p.scaling === 'number' ? p.scaling.toFixed(1) : p.scaling;
  const input = p.placement === 'serial' ? `, input: ${p.input}` : '';
  return `AdapterHub's ${p.hub}: sites: [${p.sites.join(', ')}], placement: ${p.placement}${input}, non_linearity: ${p.nonLinearity}, size: hidden // ${p.reductionFactor}, scaling: ${scaling}, inner_norm: ${p.innerNorm}, depth: ${p.depth}, share: ${p.share}.`;
}

export const FUSION_CONFIGS = ['dynamic', 'static'] as const;
export type FusionConfigName = (typeof FUSION_CONFIGS)[number];

export const DROP_MODES = ['static', 'robust'] as const;
export type DropMode = (typeof DROP_MODES)[number];

export const TOKENIZER_CHOICES = ['auto', 'fast', 'slow'] as const;
export type TokenizerChoice = (typeof TOKENIZER_CHOICES)[number];

export const DEVICES = ['auto', 'cpu', 'webgpu', 'cuda'] as const;
export type Device = (typeof DEVICES)[number];

export const OPTIMIZERS = ['adamw', 'adam'] as const;
export type Optimizer = (typeof OPTIMIZERS)[number];

export const EXECUTORS = ['local', 'slurm'] as const;
export type Executor = (typeof EXECUTORS)[number];

/**
 * Formats of `formatted` values: what they accept as text (`pattern`, also the JSON
 * Schema's), whether a plain integer of at least `integerMin` is one, and how they read in
 * messages. Slurm's own parsers accept the same.
 */
export const FORMATS = {
  'slurm-time': {
    describe: 'a Slurm time limit: minutes, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS` or `UNLIMITED`',
    pattern: '^(?:\\d+(?::[0-5]?\\d){0,2}|\\d+-\\d+(?::[0-5]?\\d){0,2}|[Uu][Nn][Ll][Ii][Mm][Ii][Tt][Ee][Dd]|[Ii][Nn][Ff][Ii][Nn][Ii][Tt][Ee])$',
    integerMin: 1,
    example: '02:00:00',
  },
  memory: {
    describe: 'a memory size: megabytes, or a number with a unit `K`, `M`, `G` or `T` (`16G`); 0 is all of the node\'s memory',
    pattern: '^\\d+[KMGTkmgt]?$',
    integerMin: 0,
    example: '16G',
  },
  gpus: {
    describe: 'a number of GPUs, or `type:count` (`a100:1`)',
    pattern: '^(?:\\d+|[A-Za-z0-9_.-]+:[1-9]\\d*)$',
    integerMin: 0,
    example: '1',
  },
} as const satisfies Record<string, { describe: string; pattern: string; integerMin: number; example: string }>;
export type FormatName = keyof typeof FORMATS;

/** Whether a scalar is in a format: a string matching its pattern, or an integer it accepts. */
export function matchesFormat(format: FormatName, value: unknown): boolean {
  const f = FORMATS[format];
  if (typeof value === 'number') return Number.isInteger(value) && value >= f.integerMin;
  return typeof value === 'string' && new RegExp(f.pattern).test(value.trim());
}

/** Top-level keys with this prefix are ignored: a place for YAML anchors. */
export const EXTENSION_KEY_PREFIX = 'x-';

export const EXPERIMENT_SCHEMA: ObjectSpec = {
  type: 'object',
  doc: 'An Adapter Lab experiment: base model, task data, method, adapters, AdapterDrop, training, sweep, ablation and runtime.',
  fields: {
    name: {
      type: 'string',
      required: true,
      doc: 'Name of the experiment; runs and sweeps are stored under it.',
    },
    model: {
      type: 'path',
      target: 'model',
      required: true,
      requiredUnless: 'from_scratch',
      doc: 'A built-in model, `builtin:english-bert` (a small English BERT pretrained by the engine, shipped with it: the default for real experiments), or a Hugging Face BERT folder (config.json, model.safetensors or pytorch_model.bin, vocab.txt or tokenizer.json), relative to this file. `builtin:english-bert-random` is its unpretrained twin; `builtin:tiny-bert` and `builtin:mini-bert` are random, not pretrained: instant stand-ins for tests. Required unless `from_scratch` declares a new model.',
    },
    task: {
      type: 'object',
      required: true,
      doc: 'The task the adapter (or baseline) is trained on.',
      fields: {
        kind: {
          type: 'enum',
          required: true,
          values: TASK_KINDS,
          doc: 'What the head predicts.',
          valueDocs: {
            classification: 'A label per example: linear layer over the pooled [CLS] token (as BertForSequenceClassification).',
            regression: 'A real number per example: one output, mean squared error loss.',
            span: 'Extractive question answering (SQuAD v1.1): start and end logits per token.',
            mlm: 'Masked-language modelling on running text: pretraining, continued pretraining, or language adapters (as BertForMaskedLM, decoder tied to the word embeddings).',
          },
        },
        train: {
          type: 'path',
          target: 'data',
          required: true,
          doc: 'Training data: .tsv, .csv or .jsonl with named columns (span tasks: SQuAD v1.1 .json; mlm: .txt with one document or paragraph per line, or a text column of a table).',
        },
        validation: {
          type: 'path',
          target: 'data',
          doc: 'Validation data in the same format; used for model selection in sweeps and for ablations.',
        },
        validation_fraction: {
          type: 'number',
          exclusiveMin: 0,
          max: 0.5,
          doc: 'mlm without `validation`: this share of the training lines is held out for validation, chosen by a hash of each line (the same lines every run).',
        },
        mask_probability: {
          type: 'number',
          exclusiveMin: 0,
          max: 1,
          default: 0.15,
          doc: 'mlm: the share of tokens selected for prediction at each step; of those, 80% become [MASK], 10% a random token, 10% stay.',
          paper: 'Devlin et al., 2019: 15%, 80/10/10; masks drawn anew at every step as in RoBERTa.',
        },
        whole_word_mask: {
          type: 'boolean',
          default: false,
          doc: 'mlm: select whole words (every piece of a word together) instead of single tokens.',
        },
        text: {
          type: 'columns',
          maxColumns: 2,
          doc: 'The text column, or two columns `[sentence1, sentence2]` for sentence pairs (encoded as `[CLS] a [SEP] b [SEP]`).',
        },
        label: {
          type: 'string',
          doc: 'The label column: strings or numbers for classification, numbers for regression.',
        },
        metric: {
          type: 'enum',
          values: METRICS,
          doc: 'The validation metric used to select trials. Defaults to the first metric that fits the task kind.',
          valueDocs: {
            accuracy: 'Fraction of correct labels (classification).',
            f1: 'F1 of the positive class (binary classification).',
            mcc: "Matthews correlation coefficient (classification; CoLA's metric).",
            pearson: 'Pearson correlation (regression).',
            spearman: 'Spearman rank correlation (regression; STS-B reports both).',
            exact_match: 'SQuAD exact match after answer normalisation (span).',
            span_f1: 'SQuAD token-overlap F1 (span).',
            masked_accuracy: 'Share of masked tokens predicted exactly (mlm).',
            mlm_loss: 'Cross-entropy at the masked positions (mlm; lower is better).',
            perplexity: 'exp(mlm_loss) (mlm; lower is better).',
          },
        },
        max_length: {
          type: 'number',
          integer: true,
          min: 8,
          default: 128,
          doc: 'Longest token sequence; longer inputs are truncated (longest first for pairs; span contexts are split with a stride).',
        },
        tokenizer: {
          type: 'enum',
          values: TOKENIZER_CHOICES,
          default: 'auto',
          doc: "Which Hugging Face tokenizer the model's WordPiece tokenizer behaves like where the two differ: NFC of text that keeps accents, and which text keeps the odd token when both texts of a pair are truncated.",
          valueDocs: {
            auto: "The model folder's choice: `slow` when its tokenizer_config.json has `use_fast: false`, else `fast`.",
            fast: "BertTokenizerFast (the tokenizers library), which AutoTokenizer loads: no NFC; the odd token goes to the longer text, the second on a tie.",
            slow: 'The Python BertTokenizer: text is composed (NFC) first; the odd token goes to the first text.',
          },
        },
      },
    },
    from_scratch: {
      type: 'object',
      doc: 'A new BERT, declared here instead of `model` and initialised as BERT is (weights N(0, 0.02²), biases 0, layer norms 1 and 0): for pretraining with `task.kind: mlm`.',
      paper: 'Small BERTs (Turc et al., 2019): Tiny 2 × 128, Mini 4 × 256, Small 4 × 512, Medium 8 × 512; heads = hidden / 64, FFN = 4 × hidden.',
      fields: {
        layers: { type: 'number', integer: true, min: 1, max: 48, required: true, doc: 'Transformer layers.' },
        hidden_size: { type: 'number', integer: true, min: 8, max: 4096, required: true, doc: 'Hidden size d; a multiple of `heads`.' },
        heads: { type: 'number', integer: true, min: 1, max: 64, required: true, doc: 'Attention heads; `hidden_size` must divide by it.' },
        intermediate_size: { type: 'number', integer: true, min: 8, doc: 'Feed-forward inner size. Defaults to 4 × `hidden_size`.' },
        max_positions: { type: 'number', integer: true, min: 8, max: 8192, default: 512, doc: 'Position embeddings: the longest sequence the model can read (`task.max_length` at most).' },
        vocab: { type: 'path', target: 'data', required: true, doc: 'The WordPiece vocabulary, a `vocab.txt` with `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]` and `[MASK]` (`adapter-lab vocab` trains one).' },
        cased: { type: 'boolean', default: false, doc: 'Keep case and accents; uncased (the default) lower-cases and strips accents, as the vocabulary must have been trained.' },
        initializer_range: {
          type: 'number',
          exclusiveMin: 0,
          max: 1,
          default: 0.02,
          doc: "Standard deviation of the normal the weights are drawn from (config.json's initializer_range).",
          paper: "BERT uses 0.02. Narrow models start with nearly uniform attention at that scale and sit longer on the unigram plateau; a larger value (about 0.4/√hidden_size) shortens it.",
        },
      },
    },
    method: {
      type: 'enum',
      values: METHODS,
      default: 'adapter',
      doc: 'What is trained.',
      paper: 'Houlsby et al. compare adapters with full fine-tuning, fine-tuning the top k layers only, and training layer norms only. MAD-X (Pfeiffer et al., EMNLP 2020) trains language adapters with masked-language modelling on unlabelled text of one language, then stacks task adapters on them for cross-lingual transfer.',
      valueDocs: {
        adapter: 'Bottleneck adapters (and layer norms, and the head) are trained; the base model stays frozen. With `task.kind: mlm` a language adapter (MAD-X): the adapters, their layers\' layer norms and the masked-LM decoder bias train, and the adapter is saved in AdapterHub\'s layout with a `masked_lm` head.',
        full: 'Every weight is trained: the full fine-tuning baseline.',
        top_k: 'Only the top `top_k` layers, the pooler and the head are trained ("variable fine-tuning").',
        layernorm: 'Only the layer-norm scales and shifts and the head are trained.',
        fusion: 'AdapterFusion: adapters trained before (`fusion.adapters`) stay frozen with the base model; a fusion layer at each of their sites learns to combine them, and the head is trained.',
      },
    },
    top_k: {
      type: 'number',
      integer: true,
      min: 1,
      doc: 'Number of top layers fine-tuned when `method: top_k`.',
      paper: 'Houlsby et al. sweep k in {1, 2, 3, 5, 7, 9, 11, 12}.',
    },
    adapter: {
      type: 'object',
      doc: 'The bottleneck adapters: `A(h) = h + W_up f(W_down h + b_down) + b_up`, placed after each sub-layer\'s output projection and before its residual add and layer norm (Houlsby); `placement`, `input`, `scaling`, `inner_norm`, `depth` and `share` give the variants, `preset` AdapterHub\'s configurations.',
      paper: 'Houlsby et al., 2019, section 2.1; variants in section 3.6.',
      fields: {
        preset: {
          type: 'enum',
          values: ADAPTER_PRESETS,
          doc: "Fills the adapter settings as one of AdapterHub's configurations does; settings written here win over it. Without a preset the defaults below apply (Houlsby's placement with GELU and m = 64).",
          paper: "AdapterHub's users mostly run these three; He et al. (2022) find the parallel adapter with scaling 4 often the best.",
          valueDocs: {
            houlsby: describePreset('houlsby'),
            pfeiffer: `${describePreset('pfeiffer')} The adapter reads the layer norm of the residual sum LN(h + x), keeps h as its residual, and the same layer norm is applied again: LN(f(LN(h + x)) + h + x) (Pfeiffer et al., 2021).`,
            parallel: `${describePreset('parallel')} The adapter reads the sub-layer's input x beside it: LN(h + x + 4·f(x)) (He et al., 2022).`,
          },
        },
        size: {
          type: 'number',
          integer: true,
          min: 1,
          default: 64,
          doc: "The bottleneck dimension m. Each adapter has `2·m·d + d + m` parameters (d = hidden size), plus `2·d` with an inner norm, `(depth − 1)·(m² + m)` for deeper bottlenecks and 1 for a learned scaling. With a preset and no size, m = hidden // the preset's reduction factor, as AdapterHub computes it.",
          paper: 'GLUE sweep: m in {8, 64, 256}; mean validation accuracy 86.2 / 85.8 / 85.7. Size 64 on BERT-base adds about 2.1% parameters.',
        },
        sites: {
          type: 'enumList',
          values: SITES,
          default: '[attention, ffn]',
          doc: 'Insertion sites in each layer: a list of `attention` (after the attention output projection) and `ffn` (after the feed-forward output projection).',
          paper: 'Houlsby et al. insert two adapters per layer; adapters only inside attention were tried and found no better.',
          valueDocs: {
            attention: 'After the multi-head attention output projection, before its residual add and layer norm.',
            ffn: 'After the feed-forward output projection, before its residual add and layer norm.',
          },
        },
        layers: {
          type: 'layers',
          keywords: ['all'],
          default: 'all',
          doc: 'Layers that get adapters: `all`, a list such as `[0, 3, 7]`, or a range `a..b` that includes both ends.',
        },
        non_linearity: {
          type: 'enum',
          values: NON_LINEARITIES,
          default: 'gelu',
          doc: 'The non-linearity f inside the bottleneck (after the down projection and after each hidden layer).',
          paper: 'Houlsby et al. tried other non-linearities and found them no better.',
          valueDocs: {
            gelu: 'Exact (erf) GELU, as BERT uses.',
            relu: 'max(0, x).',
            swish: 'x · sigmoid(x).',
            tanh: 'Hyperbolic tangent (tried by Houlsby et al., no better).',
          },
        },
        placement: {
          type: 'enum',
          values: PLACEMENTS,
          default: 'serial',
          doc: "Where the adapter sits in each sub-layer. Removing a parallel adapter (AdapterDrop, ablation) removes its branch.",
          paper: 'Houlsby et al. (section 3.6) tried adapters in parallel to the sub-layer; He et al. (2022) find parallel adapters with a scaling factor often the best.',
          valueDocs: {
            serial: "In series: the adapter transforms the sub-layer's projected output h before the residual add and layer norm, LN(x + h + s·f(h)).",
            parallel: "In parallel: the adapter reads the sub-layer's input x and is added beside it, LN(x + h + s·f(x)) (AdapterHub's is_parallel).",
          },
        },
        input: {
          type: 'enum',
          values: ADAPTER_INPUTS,
          default: 'output',
          doc: "What a serial adapter reads. A parallel adapter always reads the sub-layer's input.",
          paper: "Pfeiffer et al. (2021) place one adapter after the feed-forward block's residual add and layer norm (AdapterHub's original_ln_before).",
          valueDocs: {
            output: "The sub-layer's projected output h (Houlsby): LN(x + h + s·f(h)).",
            normalized: "The layer norm of the residual sum, LN(x + h); the adapter's residual is still h and the same layer norm is applied again after: LN(x + h + s·f(LN(x + h))) (Pfeiffer; AdapterHub's seq_bn).",
          },
        },
        scaling: {
          type: 'number',
          exclusiveMin: 0,
          keywords: SCALING_KEYWORDS,
          keywordDocs: { learned: 'One trained scalar per adapter, starting at 1 (AdapterHub\'s `scaling: learned`).' },
          default: 1,
          doc: "A factor s on the adapter's output before it is added: a number, or `learned`.",
          paper: 'He et al. (2022) scale parallel adapters by 4 (AdapterHub\'s par_bn).',
        },
        inner_norm: {
          type: 'enum',
          values: INNER_NORMS,
          default: 'none',
          doc: 'A layer norm inside the adapter, before the down projection (AdapterHub\'s ln_before; epsilon 1e-5, scale and shift trained with the adapter, 2·d parameters).',
          paper: 'Houlsby et al. (section 3.6) tried batch and layer normalisation inside the adapter and found them no better.',
          valueDocs: { none: 'No inner normalisation.', layernorm: 'LayerNorm(d) on the adapter\'s input, before the down projection.' },
        },
        depth: {
          type: 'number',
          integer: true,
          min: 1,
          default: 1,
          doc: 'Hidden layers in the bottleneck: 1 is down projection, non-linearity, up projection; each more adds an m→m layer with the non-linearity (m² + m parameters). AdapterHub has no deeper adapters: such an adapter is saved in its layout but loads only here.',
          paper: 'Houlsby et al. (section 3.6) tried more layers per adapter and found them no better.',
        },
        share: {
          type: 'enum',
          values: SHARES,
          default: 'none',
          doc: 'Whether layers share one adapter per site. Shared weights count once; a saved adapter holds a copy per layer, so AdapterHub loads it as ordinary adapters.',
          paper: "AdapterDrop (Rücklé et al., 2021), appendix: sharing one adapter's weights across all layers costs almost nothing.",
          valueDocs: { none: 'Each layer has its own adapters.', all_layers: "One adapter's weights per site, used at every adapter layer." },
        },
        init_std: {
          type: 'number',
          exclusiveMin: 0,
          default: 0.01,
          doc: 'Standard deviation of the zero-mean normal (truncated at two std) that initialises adapter weights; biases start at zero, so the adapter starts near the identity.',
          paper: 'Results are robust for std <= 1e-2 and degrade above it (std swept over [1e-7, 1]).',
        },
        train_layernorm: {
          type: 'boolean',
          default: true,
          doc: "Also train the layer norms' scale and shift (2·d per layer norm) in the layers that hold adapters.",
          paper: 'Houlsby et al. train the layer-norm parameters per task together with the adapters.',
        },
      },
    },
    fusion: {
      type: 'object',
      doc: "AdapterFusion (`method: fusion`): at each adapter site the adapters' outputs z_n are combined by attention, `o = Σ softmax(Q·K_n)·V_n` with `Q = W_q·a + b_q`, `K_n = W_k·z_n + b_k`, `V_n = W_v·z_n`, and the layer's output is `LN(x + h + o)`, where h is the sub-layer's output and a what the adapters read: h for Houlsby's placement, `LN(x + h)` for Pfeiffer's (`input: normalized`). Base model and adapters stay frozen; the fusion layers (`3d² + 2d` parameters per site, dynamic) and the head are trained. Saved in AdapterHub's fusion layout.",
      paper: 'Pfeiffer et al., 2021 (EACL): fusing 16 single-task adapters raised mean accuracy from 76.05 to 77.33, most on small tasks (RTE 71.0 → 76.8). Protocol: fusion lr 5e-5, up to 10 epochs, batch 32.',
      fields: {
        adapters: {
          type: 'stringList',
          required: true,
          doc: "The adapters to fuse, at least two: a run folder, an adapter folder (AdapterHub's layout), or an experiment's `name`, which means its latest completed run in the runs folder (in the editor `adapterLab.runsDirectory`, by default `.adapter-lab/runs` in the workspace folder; on the command line `--runs`, by default `.adapter-lab/runs` beside this file). Paths are relative to this file. All must be trained on the same base model and have the same sites and the same placement: serial adapters reading the sub-layer's output (Houlsby's, `preset: houlsby`; AdapterHub's `double_seq_bn`) or the layer's normalised sum (Pfeiffer's, `preset: pfeiffer` or `input: normalized`; AdapterHub's `seq_bn`). Parallel adapters cannot be fused.",
        },
        config: {
          type: 'enum',
          values: FUSION_CONFIGS,
          default: 'dynamic',
          doc: 'Which fusion layer: with a value matrix or without.',
          paper: "AdapterHub's DynamicAdapterFusionConfig (recommended) and StaticAdapterFusionConfig.",
          valueDocs: {
            dynamic: 'Query, key and value; the value starts as the identity and a regulariser keeps it near it: `3d² + 2d` parameters per site.',
            static: 'Query and key only: `o = Σ p_n·z_n`, `2d² + 2d` parameters per site.',
          },
        },
        residual_before: {
          type: 'boolean',
          default: false,
          doc: "Add the sub-layer's output h to each adapter's output before the keys and values, and not after: the output is `LN(x + o)` (AdapterHub's `residual_before`).",
        },
        query_before_ln: {
          type: 'boolean',
          default: false,
          doc: "Pfeiffer's placement: the query reads the sub-layer's output h instead of `LN(x + h)`, which the adapters read (AdapterHub's `query_before_ln`). With Houlsby's placement both are h.",
        },
        temperature: {
          type: 'boolean',
          default: false,
          doc: 'Divide the scores by a temperature annealed from 50 to 1 (by 0.05 per step) during training; evaluation uses 1.',
        },
        value_initialized: {
          type: 'boolean',
          default: true,
          doc: 'Dynamic: start the value matrix at the identity (1 on the diagonal, 1e-6 elsewhere), so that the fusion starts as the weighted sum of the adapters\' outputs; otherwise N(0, 0.02²).',
        },
        regularization: {
          type: 'number',
          min: 0,
          default: 0.01,
          doc: 'Dynamic: weight of the regulariser `Σ_sites ‖I − W_v‖²` added to the loss; 0 turns it off.',
          paper: "AdapterHub adds 0.01·Σ‖I − W_v‖².",
        },
        dropout: {
          type: 'number',
          min: 0,
          exclusiveMax: 1,
          doc: "Dropout on the fusion's attention scores during training. Defaults to the base model's attention dropout (AdapterHub's `dropout_prob: null`).",
        },
      },
    },
    drop: {
      type: 'object',
      doc: 'AdapterDrop: lower layers without adapters, so that backpropagation stops above them and they run forward only.',
      paper: 'Rücklé et al., 2021: up to ~8% faster training per dropped layer; dropping from arbitrary layers saves almost nothing.',
      fields: {
        layers: {
          type: 'layers',
          keywords: ['none'],
          default: 'none',
          doc: 'Static mode: the layers that get no adapter (a range from layer 0, such as `0..4`, gives the speed-up). Robust mode: the range from which the dropped lower layers are drawn at each step.',
        },
        mode: {
          type: 'enum',
          values: DROP_MODES,
          default: 'static',
          doc: 'How adapters are dropped during training.',
          valueDocs: {
            static: 'The listed layers never get adapters.',
            robust: 'At every step a random number n of the lowest listed layers lose their adapters, so one adapter can later be evaluated with any n dropped.',
          },
        },
      },
    },
    training: {
      type: 'object',
      doc: 'The training protocol (BERT fine-tuning, as in Houlsby et al.).',
      fields: {
        learning_rate: {
          type: 'number',
          exclusiveMin: 0,
          default: 3e-4,
          doc: 'Peak learning rate, reached after warm-up.',
          paper: 'GLUE sweep: {3e-5, 3e-4, 3e-3}; SQuAD adapters: {3e-5, 1e-4, 3e-4, 1e-3}.',
        },
        epochs: {
          type: 'number',
          integer: true,
          min: 1,
          default: 3,
          doc: 'Passes over the training data.',
          paper: 'GLUE sweep: {3, 20}.',
        },
        batch_size: {
          type: 'number',
          integer: true,
          min: 1,
          default: 32,
          doc: 'Examples per optimizer step.',
          paper: 'Houlsby et al. use 32.',
        },
        warmup: {
          type: 'number',
          min: 0,
          exclusiveMax: 1,
          default: 0.1,
          doc: 'Fraction of steps over which the learning rate rises linearly from zero; it then decays linearly to zero.',
          paper: 'Houlsby et al. warm up over the first 10% of steps.',
        },
        weight_decay: {
          type: 'number',
          min: 0,
          default: 0,
          doc: 'Decoupled weight decay (AdamW) or L2 term (Adam); not applied to biases and layer norms.',
        },
        optimizer: {
          type: 'enum',
          values: OPTIMIZERS,
          default: 'adamw',
          doc: 'Adam with bias correction; `adamw` decouples weight decay.',
          valueDocs: { adamw: 'Adam with decoupled weight decay.', adam: 'Adam; weight decay is added to the gradient.' },
        },
        max_grad_norm: {
          type: 'number',
          exclusiveMin: 0,
          default: 1,
          doc: 'Gradients are clipped to this global L2 norm.',
        },
        adam_beta2: {
          type: 'number',
          exclusiveMin: 0,
          exclusiveMax: 1,
          default: 0.999,
          doc: "Adam's decay rate of the squared-gradient average (β2).",
          paper: 'RoBERTa and most masked-LM pretraining use 0.98, which is steadier with large learning rates.',
        },
        adam_epsilon: {
          type: 'number',
          exclusiveMin: 0,
          default: 1e-8,
          doc: "Adam's ε, added to the root of the squared-gradient average.",
          paper: 'RoBERTa pretraining uses 1e-6.',
        },
        evaluate_every: {
          type: 'number',
          integer: true,
          min: 1,
          doc: 'Evaluate on the validation data every this many steps, besides the end of each epoch (long runs such as pretraining, where one epoch is thousands of steps).',
        },
        seed: {
          type: 'number',
          integer: true,
          min: 0,
          default: 42,
          doc: 'Seed for initialisation, data order and dropout; the same seed gives the same run.',
        },
        prefix_cache: {
          type: 'object',
          doc: 'Frozen-prefix caching: the layers below the lowest trained parameter run once per training example, without dropout, and later epochs (and later sweep trials with the same model, data, max length and prefix) start from their stored output.',
          paper: 'Rücklé et al., 2021: with the adapters of the first n layers dropped, those layers run forward only and their output does not change during training.',
          fields: {
            enabled: {
              type: 'boolean',
              default: false,
              doc: 'Cache the frozen prefix. It then runs without dropout (the cached output must not change); the layers above keep theirs.',
            },
            memory_mb: {
              type: 'number',
              integer: true,
              min: 0,
              default: 2048,
              doc: 'Memory budget in MiB. A cache larger than this is kept in half precision; one larger still is written to a file in the run folder and read back per batch.',
            },
          },
        },
      },
    },
    sweep: {
      type: 'object',
      doc: 'A grid search: every combination of the grid values, each trained with every seed; the best trial is selected on validation.',
      paper: 'Houlsby et al. sweep learning rate, epochs and adapter size, re-run 5 seeds, and keep the best on validation.',
      fields: {
        grid: {
          type: 'grid',
          doc: 'Keys are dotted paths of this file (such as `adapter.size`), values are non-empty lists; each value is checked like the key it replaces.',
        },
        seeds: {
          type: 'seeds',
          default: 1,
          doc: 'A count (seeds are `training.seed`, `training.seed + 1`, …) or an explicit list of seeds.',
        },
        select: {
          type: 'enum',
          values: ['validation'],
          default: 'validation',
          doc: 'Which split selects the best trial per group.',
          valueDocs: { validation: "The task's validation file (required for sweeps)." },
        },
        executor: {
          type: 'enum',
          values: EXECUTORS,
          default: 'local',
          doc: 'Where the trials run. `adapter-lab sweep --slurm` and `--local` override it.',
          valueDocs: {
            local: 'On this machine: one after another, or in `--workers` processes.',
            slurm: 'On a Slurm cluster, as one job array with one task per trial (see `sweep.slurm`); run from a login node, where `sbatch` is on the PATH. The sweep folder must be on a file system the compute nodes see.',
          },
        },
        slurm: {
          type: 'object',
          doc: "How the job array of a Slurm sweep is submitted: each trial is one array task with these resources. Keys left out are left to the cluster's defaults.",
          fields: {
            partition: {
              type: 'string',
              doc: 'The partition (queue) the trials run in (`--partition`). Checked with `sinfo` when the sweep is submitted.',
            },
            time: {
              type: 'formatted',
              format: 'slurm-time',
              doc: 'Time limit per trial (`--time`): minutes, `HH:MM:SS`, `D-HH:MM:SS`, …. A trial that reaches it is stopped, ends `timed out`, and `--resume` continues it from its last checkpoint.',
            },
            cpus_per_task: {
              type: 'number',
              integer: true,
              min: 1,
              doc: 'CPUs per trial (`--cpus-per-task`); a trial runs this many threads unless `runtime.threads` says otherwise. Defaults to `runtime.threads`, else 1.',
            },
            memory: {
              type: 'formatted',
              format: 'memory',
              doc: 'Memory per trial (`--mem`): megabytes, or with a unit (`16G`).',
            },
            gpus: {
              type: 'formatted',
              format: 'gpus',
              doc: 'GPUs per trial (`--gres=gpu:N`, or `gpu:type:N` for `type:N`). Trials use them with `runtime.device: cuda` (or `auto`, which takes CUDA where it works).',
            },
            account: {
              type: 'string',
              doc: 'The account charged for the trials (`--account`).',
            },
            qos: {
              type: 'string',
              doc: 'The quality of service (`--qos`).',
            },
            max_parallel: {
              type: 'number',
              integer: true,
              min: 1,
              doc: 'At most this many trials run at once (the array\'s `%K` throttle); the others wait in the queue.',
            },
            options: {
              type: 'stringList',
              doc: 'Further `sbatch` options, each as on the command line (`--constraint=v100`, `--exclusive`); they go into the generated script as `#SBATCH` lines. Adapter Lab sets `--array`, `--output`, `--error` and `--chdir` itself.',
            },
            setup: {
              type: 'string',
              doc: 'Shell lines each trial runs before the engine starts, such as `module load cuda/12.4` or activating an environment.',
            },
          },
        },
      },
    },
    ablation: {
      type: 'object',
      doc: 'Ablation of a trained adapter: remove the adapters of spans of layers without retraining and evaluate on validation.',
      paper: 'Houlsby et al., Fig. 6: removing single layers costs at most ~2 points; removing all collapses to the majority class.',
      fields: {
        spans: {
          type: 'spans',
          default: 'contiguous',
          doc: '`contiguous` evaluates every span i..j (the heatmap); or a list of ranges such as `[0..4, 6..11]`.',
        },
      },
    },
    runtime: {
      type: 'object',
      doc: 'Where and how the engine runs.',
      fields: {
        device: {
          type: 'enum',
          values: DEVICES,
          default: 'auto',
          doc: 'Execution provider.',
          valueDocs: {
            auto: 'Use a GPU provider that works on this machine, else the CPU (the choice is logged).',
            cpu: "onnxruntime's CPU provider.",
            webgpu: "onnxruntime's WebGPU provider (Dawn over Vulkan).",
            cuda: "onnxruntime's CUDA provider (installed with --onnxruntime-node-install=cuda12).",
          },
        },
        threads: {
          type: 'number',
          integer: true,
          min: 1,
          doc: 'CPU threads for the engine. Defaults to the number of cores.',
        },
      },
    },
  },
};

/** Splits `a.b.c` into segments; empty segments make the path invalid. */
export function splitPath(dotted: string): string[] {
  return dotted.split('.');
}

/** The spec at a path of keys, or undefined when no such key exists. */
export function specAt(path: readonly string[], root: Spec = EXPERIMENT_SCHEMA): Spec | undefined {
  let spec: Spec | undefined = root;
  for (const key of path) {
    if (!spec || spec.type !== 'object') return undefined;
    spec = spec.fields[key];
  }
  return spec;
}

/**
 * Every dotted path that may be a sweep grid axis: the leaves of the schema, outside
 * `name` and `sweep` (a grid that renames the experiment or sweeps the sweep makes no sense).
 */
export function gridPaths(): string[] {
  const out: string[] = [];
  const walk = (spec: ObjectSpec, prefix: string[]): void => {
    for (const [key, child] of Object.entries(spec.fields)) {
      const path = [...prefix, key];
      if (path[0] === 'sweep' || path[0] === 'name') continue;
      if (child.type === 'object') walk(child, path);
      else out.push(path.join('.'));
    }
  };
  walk(EXPERIMENT_SCHEMA, []);
  return out;
}

/** A short human description of what a spec accepts, used in messages and hover. */
export function describeSpec(spec: Spec): string {
  switch (spec.type) {
    case 'object':
      return 'a mapping';
    case 'enum':
      return spec.values.map((v) => `\`${v}\``).join(' | ');
    case 'enumList':
      return `a list of ${spec.values.map((v) => `\`${v}\``).join(', ')}`;
    case 'number': {
      const parts: string[] = [spec.integer ? 'an integer' : 'a number'];
      if (spec.min !== undefined) parts.push(`>= ${spec.min}`);
      if (spec.exclusiveMin !== undefined) parts.push(`> ${spec.exclusiveMin}`);
      if (spec.max !== undefined) parts.push(`<= ${spec.max}`);
      if (spec.exclusiveMax !== undefined) parts.push(`< ${spec.exclusiveMax}`);
      return spec.keywords?.length ? `${parts.join(' ')} or ${spec.keywords.map((k) => `\`${k}\``).join(', ')}` : parts.join(' ');
    }
    case 'string':
      return 'a string';
    case 'boolean':
      return '`true` or `false`';
    case 'path':
      return spec.target === 'model' ? 'a model folder path or `builtin:<name>`' : 'a data file path';
    case 'layers':
      return [...spec.keywords.map((k) => `\`${k}\``), 'a list of layer indices', 'a range `a..b`'].join(', ');
    case 'columns':
      return spec.maxColumns > 1 ? `a column name or a list of up to ${spec.maxColumns} column names` : 'a column name';
    case 'seeds':
      return 'a seed count (an integer >= 1) or a list of seeds';
    case 'spans':
      return '`contiguous` or a list of layer ranges';
    case 'grid':
      return 'a mapping from dotted paths to lists of values';
    case 'stringList':
      return 'a list of strings';
    case 'formatted':
      return FORMATS[spec.format].describe;
  }
}

/**
 * The spec that governs a location in a document: list indices are skipped, and a sweep
 * grid axis (or one of its values) is governed by the setting it sweeps.
 */
export function specForLocation(path: readonly string[]): { spec: Spec; dotted: string } | undefined {
  const keys = path.filter((k) => !/^\d+$/.test(k));
  if (keys[0] === 'sweep' && keys[1] === 'grid' && keys.length >= 3) {
    const spec = specAt(splitPath(keys[2]!));
    return spec && gridPaths().includes(keys[2]!) ? { spec, dotted: keys[2]! } : undefined;
  }
  const spec = specAt(keys);
  return spec ? { spec, dotted: keys.join('.') } : undefined;
}
