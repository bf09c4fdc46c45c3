/**
 * The frame every chart is drawn in: `<figure class="chart" data-chart=NAME
 * data-point-count=N>` with a caption, SVG/PNG export buttons and one SVG whose content the
 * chart replaces on each draw. `data-point-count` is the number of data points, not of
 * points drawn (drawing may thin a long curve).
 */
import { button, el, replaceChildren, svgEl, type Child } from '../dom';
import { exportChart } from '../export';

export const WIDTH = 640;
export const HEIGHT = 280;

export interface Figure {
  readonly root: HTMLElement;
  readonly svg: SVGSVGElement;
  /** Replaces the drawing; `points` is the number of data points it shows. */
  draw(points: number, ...children: Child[]): void;
}

export function createFigure(name: string, caption: string, exportName: () => string, height = HEIGHT): Figure {
  const svg = svgEl('svg', { viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-label': caption, preserveAspectRatio: 'xMidYMid meet' });
  const status = el('span', { class: 'chart-status', role: 'status' });
  const run = (format: 'svg' | 'png') => () => {
    status.textContent = '';
    exportChart(svg, format, `${exportName()}-${name}`).catch((err: unknown) => {
      status.textContent = err instanceof Error ? err.message : String(err);
    });
  };
  const tools = el('span', { class: 'chart-tools' }, button('SVG', run('svg'), { 'data-export': 'svg', title: `Export ${caption} as SVG` }), button('PNG', run('png'), { 'data-export': 'png', title: `Export ${caption} as PNG` }), status);
  const root = el('figure', { class: 'chart', 'data-chart': name, 'data-point-count': 0 }, el('figcaption', undefined, el('span', { class: 'chart-title' }, caption), tools), svg);
  return {
    root,
    svg,
    draw(points, ...children) {
      replaceChildren(svg, ...children);
      root.setAttribute('data-point-count', String(points));
    },
  };
}

/** The text a chart shows before it has data. */
export function emptyNote(text: string, height = HEIGHT): SVGTextElement {
  return svgEl('text', { x: WIDTH / 2, y: height / 2, class: 'empty-note', 'text-anchor': 'middle' }, text);
}
