/**
 * A sweep's records on disk: one line of `trials.jsonl` per finished trial, and
 * `summary.json` (best per group, mean ± std over seeds, the trade-off points).
 */
export interface TrialRecord {
  readonly index: number;
  readonly status: 'completed' | 'failed' | 'cancelled';
  readonly assignments: Readonly<Record<string, unknown>>;
  readonly seed: number;
  readonly run: string | undefined;
  readonly metrics: Readonly<Record<string, number>>;
  readonly trainable: number | undefined;
  readonly message?: string;
}

export interface GroupSummary {
  readonly group: Readonly<Record<string, unknown>>;
  readonly best: TrialRecord;
  readonly trials: number;
  /** Mean and standard deviation over seeds of the best configuration. */
  readonly seeds: { readonly mean: number; readonly std: number; readonly n: number };
}

export interface SweepSummary {
  readonly metric: string;
  readonly trials: readonly TrialRecord[];
  readonly groups: readonly GroupSummary[];
  /** Points for the parameter/performance plot: one per group. */
  readonly tradeoff: readonly { readonly group: string; readonly trainable: number; readonly value: number; readonly mean: number; readonly std: number }[];
}
