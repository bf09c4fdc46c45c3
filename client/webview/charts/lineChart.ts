/**
 * Line and scatter charts: several series over a linear or log x axis, optional markers
 * and error bars (mean ± spread), a legend. Long series are thinned for drawing only.
 */
import { svgEl, type Child } from '../dom';
import { formatNumber } from '../format';
import { emptyNote, HEIGHT, WIDTH, type Figure } from './figure';
import { downsample, extent, linearScale, logScale, type Scale, type XY } from './scale';
import type { LineChartOptions, Series } from './types';

export type { LineChartOptions, Series } from './types';

const M = { left: 64, right: 16, top: 28, bottom: 42 };
/** Above this many points a series is thinned for drawing. */
export const DRAW_LIMIT = 2000;

const finite = (p: XY) => Number.isFinite(p.x) && Number.isFinite(p.y);

export function drawLineChart(fig: Figure, series: readonly Series[], o: LineChartOptions): void {
  const height = o.height ?? HEIGHT;
  const data = series.map((s) => ({ s, pts: s.points.filter((p) => finite(p) && (!o.logX || p.x > 0)) }));
  const count = data.reduce((n, d) => n + d.pts.length, 0);
  if (!count) {
    fig.draw(0, emptyNote(o.empty ?? 'Waiting for events…', height));
    return;
  }
  const xs = data.flatMap((d) => d.pts.map((p) => p.x));
  const ys = data.flatMap((d) => d.pts.flatMap((p, i) => {
    const e = d.s.errors?.[i] ?? 0;
    return [p.y - e, p.y + e];
  }));
  const xr: [number, number] = [M.left, WIDTH - M.right];
  const yr: [number, number] = [height - M.bottom, M.top];
  const x: Scale = o.logX ? logScale(extent(xs, true), xr) : linearScale(extent(xs), xr, false, 6);
  const y: Scale = linearScale(extent(ys), yr, true, 5);
  const parts: Child[] = [axes(x, y, o, height)];
  data.forEach((d, si) => {
    const cls = `series series-${si % 8}`;
    const g = svgEl('g', { class: cls, 'data-series': si });
    g.appendChild(svgEl('title', undefined, d.s.label));
    const drawn = downsample(d.pts, DRAW_LIMIT);
    if (d.s.line !== false && drawn.length > 1) {
      let path = '';
      for (const p of drawn) path += `${path ? 'L' : 'M'}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`;
      g.appendChild(svgEl('path', { d: path, class: 'line' }));
    }
    if (d.s.errors) {
      d.pts.forEach((p, i) => {
        const e = d.s.errors![i] ?? 0;
        if (!(e > 0)) return;
        const cx = x(p.x);
        const y0 = y(p.y - e);
        const y1 = y(p.y + e);
        g.appendChild(svgEl('path', { class: 'error-bar', d: `M${cx},${y0}V${y1}M${cx - 4},${y0}H${cx + 4}M${cx - 4},${y1}H${cx + 4}` }));
      });
    }
    if (d.s.markers || drawn.length === 1) {
      // Markers are for short series (evaluations, groups); a long one keeps only its line.
      for (const [i, p] of (d.pts.length <= 500 ? d.pts : drawn).entries()) {
        const title = o.pointTitle ? o.pointTitle(d.s, i) : `${d.s.label}: ${o.xLabel} ${formatNumber(p.x)}, ${o.yLabel} ${formatNumber(p.y)}`;
        g.appendChild(svgEl('circle', { class: 'marker', cx: x(p.x).toFixed(1), cy: y(p.y).toFixed(1), r: 3.5 }, svgEl('title', undefined, title)));
      }
    }
    parts.push(g);
  });
  if (series.length > 1) parts.push(legend(series.map((s) => s.label)));
  fig.draw(count, ...parts);
}

function axes(x: Scale, y: Scale, o: LineChartOptions, height: number): SVGGElement {
  const g = svgEl('g', { class: 'axes' });
  const bottom = height - M.bottom;
  for (const t of y.ticks) {
    const py = y(t);
    if (py < M.top - 1 || py > bottom + 1) continue;
    g.appendChild(svgEl('line', { class: 'grid', x1: M.left, x2: WIDTH - M.right, y1: py, y2: py }));
    g.appendChild(svgEl('text', { class: 'tick', x: M.left - 6, y: py + 4, 'text-anchor': 'end' }, formatNumber(t, 3)));
  }
  for (const t of x.ticks) {
    const px = x(t);
    if (px < M.left - 1 || px > WIDTH - M.right + 1) continue;
    g.appendChild(svgEl('line', { class: 'tick-mark', x1: px, x2: px, y1: bottom, y2: bottom + 4 }));
    g.appendChild(svgEl('text', { class: 'tick', x: px, y: bottom + 16, 'text-anchor': 'middle' }, formatNumber(t, 3)));
  }
  g.appendChild(svgEl('line', { class: 'axis', x1: M.left, x2: WIDTH - M.right, y1: bottom, y2: bottom }));
  g.appendChild(svgEl('line', { class: 'axis', x1: M.left, x2: M.left, y1: M.top, y2: bottom }));
  g.appendChild(svgEl('text', { class: 'axis-label', x: (M.left + WIDTH - M.right) / 2, y: height - 6, 'text-anchor': 'middle' }, o.logX ? `${o.xLabel} (log)` : o.xLabel));
  g.appendChild(svgEl('text', { class: 'axis-label', x: 14, y: (M.top + bottom) / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${(M.top + bottom) / 2})` }, o.yLabel));
  return g;
}

/** A row of swatches above the plot; labels are data, so they are text nodes. */
export function legend(labels: readonly string[]): SVGGElement {
  const g = svgEl('g', { class: 'legend' });
  let px = M.left;
  labels.forEach((label, i) => {
    const shown = label.length > 28 ? `${label.slice(0, 27)}…` : label;
    g.appendChild(svgEl('g', { class: `series series-${i % 8}`, transform: `translate(${px} 10)` },
      svgEl('line', { class: 'line', x1: 0, x2: 14, y1: 0, y2: 0 }),
      svgEl('text', { class: 'legend-label', x: 18, y: 4 }, shown),
      svgEl('title', undefined, label)));
    px += 30 + shown.length * 6.5;
  });
  return g;
}
