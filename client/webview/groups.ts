/**
 * Sweep groups in the panel: the same rule as engine/train/sweep.ts (`GROUP_AXES`,
 * `groupKey`, best trial per group on the final validation metric), restated here because
 * that module reads files and cannot be bundled for the browser. A unit test checks both
 * agree on the recorded sweep, so a change to one side fails until the other follows.
 */
import { trialsOf, trialValue, type SweepModel, type TrialModel } from './state';

/** Axes that define a group (engine/train/sweep.ts): the best trial is chosen among the others. */
export const GROUP_AXES = ['method', 'adapter.size', 'adapter.preset', 'adapter.placement', 'adapter.input', 'adapter.scaling', 'adapter.inner_norm', 'adapter.depth', 'adapter.share', 'top_k'] as const;

/** Metrics where lower is better (engine/metrics HIGHER_IS_BETTER; a test keeps the two in step). */
const LOWER_IS_BETTER: ReadonlySet<string> = new Set(['loss', 'mlm_loss', 'perplexity']);

export function higherIsBetter(metric: string): boolean {
  return !LOWER_IS_BETTER.has(metric);
}

/** The trial's group: its assignments restricted to GROUP_AXES, pruned as sweep.ts prunes them. */
export function groupKey(assignments: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const axis of GROUP_AXES) if (axis in assignments) out[axis] = assignments[axis];
  // top_k means nothing for the other methods; adapter.size nothing for the baselines.
  if ('method' in out && out.method !== 'top_k') delete out.top_k;
  // The adapters' architecture (size, preset, variants) defines groups of adapter trials only.
  if ('method' in out && out.method !== 'adapter') for (const axis of GROUP_AXES) if (axis.startsWith('adapter.')) delete out[axis];
  return out;
}

export function groupId(assignments: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(groupKey(assignments));
}

/** A readable name for a group: `adapter.size=8`, `method=top_k top_k=2`, or `all` with no grouping axis. */
export function groupLabel(assignments: Readonly<Record<string, unknown>>): string {
  const g = groupKey(assignments);
  const parts = Object.entries(g).map(([k, v]) => `${k}=${String(v)}`);
  return parts.length ? parts.join(' ') : 'all';
}

/**
 * The best completed trial of each group (indices), as summarise() picks it: the first
 * trial wins a tie, failed trials and trials without the metric never count.
 */
export function bestPerGroup(sweep: SweepModel): Set<number> {
  const higher = higherIsBetter(sweep.metric);
  const best = new Map<string, { index: number; value: number }>();
  for (const t of trialsOf(sweep)) {
    if (t.status !== 'completed') continue;
    const value = t.metrics[sweep.metric];
    if (value === undefined) continue;
    const key = groupId(t.assignments);
    const cur = best.get(key);
    if (!cur || (higher ? value > cur.value : value < cur.value)) best.set(key, { index: t.index, value });
  }
  return new Set([...best.values()].map((b) => b.index));
}

export interface TradeoffPoint {
  /** The series: the method (an assignment, or the trial run's own method). */
  readonly series: string;
  readonly group: string;
  readonly trainable: number;
  /** Mean and spread (standard deviation) over the seeds of the group's best configuration. */
  readonly mean: number;
  readonly std: number;
  readonly n: number;
}

/** The series: the method, and for adapters the architecture besides the size (a preset, a variant), so sizes draw one line per architecture. */
function methodOf(t: TrialModel): string {
  const m = t.assignments.method;
  const method = typeof m === 'string' ? m : t.run?.method || 'adapter';
  const architecture = Object.entries(groupKey(t.assignments)).filter(([k]) => k.startsWith('adapter.') && k !== 'adapter.size');
  return [method, ...architecture.map(([k, v]) => `${k.slice('adapter.'.length)}=${String(v)}`)].join(' ');
}

/**
 * The parameter/performance trade-off (Houlsby et al., Fig. 3): per group, the best
 * configuration's trainable parameters against its mean ± spread over seeds; a series per
 * method, so adapter sizes (or top-k depths) draw one line.
 */
export function tradeoffPoints(sweep: SweepModel): TradeoffPoint[] {
  const trials = trialsOf(sweep);
  const higher = higherIsBetter(sweep.metric);
  const out: TradeoffPoint[] = [];
  for (const index of bestPerGroup(sweep)) {
    const best = sweep.trials.get(index)!;
    if (best.trainable === undefined) continue;
    const config = JSON.stringify(best.assignments);
    const values = trials
      .filter((t) => t.status === 'completed' && JSON.stringify(t.assignments) === config)
      .map((t) => trialValue(t, sweep.metric, higher))
      .filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (!values.length) continue;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
    out.push({ series: methodOf(best), group: groupLabel(best.assignments), trainable: best.trainable, mean, std, n: values.length });
  }
  return out.sort((a, b) => a.series.localeCompare(b.series) || a.trainable - b.trainable);
}
