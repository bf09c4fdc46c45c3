/**
 * The span-removal heatmap (Houlsby et al., Fig. 6): row i = first layer removed, column
 * j = last layer removed, only j ≥ i. Each cell is a `rect` with data-from, data-to and
 * data-value and a `title` (the hover text); the diagonal (a single layer removed) is
 * outlined. The legend maps colour to metric, with the baseline marked.
 */
import { svgEl, type Child } from '../dom';
import { formatNumber } from '../format';
import { emptyNote, WIDTH, type Figure } from './figure';
import { extent, rampColor } from './scale';
import type { HeatmapData } from './types';

export type { HeatmapData } from './types';

export const HEATMAP_HEIGHT = 360;

// Gradient ids must be unique in the page (several heatmaps may share it).
let gradients = 0;

export function drawHeatmap(fig: Figure, d: HeatmapData): void {
  if (!d.cells.length || d.layers <= 0) {
    fig.draw(0, emptyNote('Waiting for ablation cells…', HEATMAP_HEIGHT));
    return;
  }
  const left = 56;
  const top = 34;
  const size = Math.min(HEATMAP_HEIGHT - top - 20, WIDTH - left - 170);
  const cell = size / d.layers;
  const values = d.cells.map((c) => c.value).concat(d.baseline !== undefined ? [d.baseline] : []);
  const [lo, hi] = extent(values);
  const t = (v: number) => (hi > lo ? (v - lo) / (hi - lo) : 0.5);
  const parts: Child[] = [];
  const frame = svgEl('g', { class: 'axes' });
  for (let k = 0; k < d.layers; k++) {
    const c = k * cell + cell / 2;
    frame.appendChild(svgEl('text', { class: 'tick', x: left + c, y: top - 6, 'text-anchor': 'middle' }, String(k)));
    frame.appendChild(svgEl('text', { class: 'tick', x: left - 6, y: top + c + 4, 'text-anchor': 'end' }, String(k)));
    // The empty triangle's grid, so pending cells read as "not yet", not as "zero".
    for (let j = k; j < d.layers; j++) frame.appendChild(svgEl('rect', { class: 'slot', x: left + j * cell, y: top + k * cell, width: cell, height: cell }));
  }
  frame.appendChild(svgEl('text', { class: 'axis-label', x: left + size / 2, y: 12, 'text-anchor': 'middle' }, 'to layer (j)'));
  frame.appendChild(svgEl('text', { class: 'axis-label', x: 14, y: top + size / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${top + size / 2})` }, 'from layer (i)'));
  parts.push(frame);
  const g = svgEl('g', { class: 'cells' });
  const showText = cell >= 30;
  for (const c of d.cells) {
    if (c.to < c.from || c.from < 0 || c.to >= d.layers) continue;
    const diagonal = c.from === c.to;
    const delta = d.baseline !== undefined ? ` (${c.value - d.baseline >= 0 ? '+' : '−'}${formatNumber(Math.abs(c.value - d.baseline))} vs all adapters)` : '';
    const title = `${diagonal ? `layer ${c.from}` : `layers ${c.from}–${c.to}`} removed: ${d.metric} ${formatNumber(c.value)}${delta}`;
    const x = left + c.to * cell;
    const y = top + c.from * cell;
    g.appendChild(svgEl('rect', { class: diagonal ? 'cell diagonal' : 'cell', x, y, width: cell, height: cell, fill: rampColor(t(c.value)), 'data-from': c.from, 'data-to': c.to, 'data-value': c.value, 'data-diagonal': diagonal ? 'true' : undefined, tabindex: 0 }, svgEl('title', undefined, title)));
    if (showText) g.appendChild(svgEl('text', { class: t(c.value) > 0.6 ? 'cell-text dark' : 'cell-text', x: x + cell / 2, y: y + cell / 2 + 4, 'text-anchor': 'middle' }, formatNumber(c.value, 3)));
  }
  parts.push(g);
  // Outlines over the diagonal, drawn after every cell so no neighbour covers them.
  const marks = svgEl('g', { class: 'diagonal-marks' });
  for (const c of d.cells) if (c.from === c.to && c.to < d.layers) marks.appendChild(svgEl('rect', { class: 'diagonal-mark', x: left + c.to * cell, y: top + c.from * cell, width: cell, height: cell }));
  parts.push(marks);
  parts.push(legend(left + size + 40, top, size, lo, hi, d));
  fig.draw(d.cells.length, ...parts);
}

/** Pixels between two legend labels' baselines for them not to overlap. */
const LEGEND_LINE = 12;

function legend(x: number, y: number, h: number, lo: number, hi: number, d: HeatmapData): SVGGElement {
  const id = `ramp-${++gradients}`;
  const gradient = svgEl('linearGradient', { id, x1: 0, y1: 1, x2: 0, y2: 0 });
  for (let k = 0; k <= 4; k++) gradient.appendChild(svgEl('stop', { offset: `${k * 25}%`, 'stop-color': rampColor(k / 4) }));
  const g = svgEl('g', { class: 'legend heat-legend' }, svgEl('defs', undefined, gradient));
  g.appendChild(svgEl('rect', { x, y, width: 16, height: h, fill: `url(#${id})`, class: 'ramp' }));
  const baselineY = d.baseline !== undefined && hi > lo ? y + h - ((d.baseline - lo) / (hi - lo)) * h : undefined;
  // The baseline's label carries its value; an end tick it would overlap (the baseline is
  // often the best value, removing nothing) is left out rather than printed on top of it.
  const clear = (ty: number): boolean => baselineY === undefined || Math.abs(baselineY + 4 - ty) >= LEGEND_LINE;
  if (clear(y + 8)) g.appendChild(svgEl('text', { class: 'tick', x: x + 22, y: y + 8 }, formatNumber(hi)));
  if (clear(y + h)) g.appendChild(svgEl('text', { class: 'tick', x: x + 22, y: y + h }, formatNumber(lo)));
  g.appendChild(svgEl('text', { class: 'axis-label', x, y: y - 12 }, d.metric));
  if (d.baseline !== undefined && baselineY !== undefined) {
    g.appendChild(svgEl('line', { class: 'baseline', x1: x - 4, x2: x + 20, y1: baselineY, y2: baselineY }));
    g.appendChild(svgEl('text', { class: 'tick', x: x + 22, y: baselineY + 4 }, `all adapters ${formatNumber(d.baseline)}`));
  }
  const diag = svgEl('g', { transform: `translate(${x} ${y + h + 6})` });
  diag.appendChild(svgEl('rect', { class: 'diagonal-mark', x: 0, y: 0, width: 10, height: 10 }));
  diag.appendChild(svgEl('text', { class: 'tick', x: 14, y: 9 }, 'one layer (diagonal)'));
  g.appendChild(diag);
  return g;
}
