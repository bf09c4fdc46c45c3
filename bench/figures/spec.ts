/**
 * What a documentation figure is: a line chart or a span-ablation heatmap, in the chart
 * modules' own data types. Pure types, shared by the Node renderer and its browser page.
 */
import type { HeatmapData, LineChartOptions, Series } from '../../client/webview/charts/types';

export type { HeatmapData, LineChartOptions, Series };

export interface LineFigure {
  readonly kind: 'line';
  /** The file name without `.svg`: letters, digits, `.`, `_` and `-`. */
  readonly name: string;
  /** The figure's accessible name (the SVG's aria-label) and the alt text of figureMarkdown. */
  readonly caption: string;
  readonly series: readonly Series[];
  readonly options: LineChartOptions;
}

export interface HeatmapFigure {
  readonly kind: 'heatmap';
  readonly name: string;
  readonly caption: string;
  readonly data: HeatmapData;
}

export type FigureSpec = LineFigure | HeatmapFigure;

/**
 * A figure as it crosses into the page: functions cannot be passed to the browser, so a
 * line chart's point titles travel as text, `titles[series][point]`.
 */
export type PageFigure =
  | (Omit<LineFigure, 'options'> & { readonly options: Omit<LineChartOptions, 'pointTitle'>; readonly titles?: readonly (readonly string[])[] })
  | HeatmapFigure;

/** What the page script puts on `window`. */
export interface FigurePage {
  renderFigure(figure: PageFigure): string;
}
