/**
 * The browser side of the figure renderer: draws a figure with the result panels' own
 * chart code and returns it as the panels' SVG export does (computed styles inlined, no
 * class left), so a documentation figure and a panel chart are the same drawing.
 */
import { createFigure, HEIGHT } from '../../client/webview/charts/figure';
import { drawHeatmap, HEATMAP_HEIGHT } from '../../client/webview/charts/heatmap';
import { drawLineChart } from '../../client/webview/charts/lineChart';
import { serializeSvg } from '../../client/webview/export';
import type { FigurePage, PageFigure } from './spec';

function renderFigure(f: PageFigure): string {
  const height = f.kind === 'heatmap' ? HEATMAP_HEIGHT : (f.options.height ?? HEIGHT);
  const fig = createFigure(f.name, f.caption, () => f.name, height);
  // In the document, so that getComputedStyle sees the stylesheet.
  document.body.appendChild(fig.root);
  try {
    if (f.kind === 'heatmap') drawHeatmap(fig, f.data);
    else {
      const titles = f.titles;
      const pointTitle = titles ? (s: (typeof f.series)[number], i: number) => titles[f.series.indexOf(s)]?.[i] ?? s.label : undefined;
      drawLineChart(fig, f.series, pointTitle ? { ...f.options, pointTitle } : f.options);
    }
    return serializeSvg(fig.svg);
  } finally {
    fig.root.remove();
  }
}

const page: FigurePage = { renderFigure };
Object.assign(window, page);
