/**
 * The data the line chart and the heatmap draw. Pure (no DOM), so that Node code (the
 * documentation figure renderer in bench/figures) can build it under the root tsconfig,
 * which has no DOM types.
 */
import type { XY } from './scale';

export interface Series {
  readonly label: string;
  readonly points: readonly XY[];
  /** Half-widths of error bars, one per point (mean ± spread). */
  readonly errors?: readonly number[];
  /** Draw a marker per point (evaluations, trade-off points) besides, or instead of, the line. */
  readonly markers?: boolean;
  readonly line?: boolean;
}

export interface LineChartOptions {
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  readonly empty?: string;
  /** Point labels for hover titles, e.g. the group name of a trade-off point. */
  readonly pointTitle?: (series: Series, index: number) => string;
  readonly height?: number;
}

export interface HeatmapData {
  readonly layers: number;
  readonly cells: readonly { readonly from: number; readonly to: number; readonly value: number }[];
  readonly metric: string;
  readonly baseline: number | undefined;
}
