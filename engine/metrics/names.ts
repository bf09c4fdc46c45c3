/** The metrics the engine computes, by the names the experiment language uses. */
export const METRICS = ['accuracy', 'f1', 'mcc', 'pearson', 'spearman', 'exact_match', 'span_f1', 'masked_accuracy', 'mlm_loss', 'perplexity'] as const;
export type Metric = (typeof METRICS)[number];
