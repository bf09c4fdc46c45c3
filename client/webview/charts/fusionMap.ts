/**
 * A fusion's average weights as the paper's Fig. 4 draws them: one row per fused adapter,
 * one column per fusion layer (`<layer>.<site>`), the colour the adapter's mean softmax
 * weight there on a fixed 0..1 scale (weights of one column sum to 1). Each cell is a `rect`
 * with data-adapter, data-site and data-value and a `title` (the hover text); a cell where
 * the adapter is absent (pruned, dropped) is left as an empty slot.
 */
import { svgEl, type Child } from '../dom';
import { formatNumber } from '../format';
import { emptyNote, WIDTH, type Figure } from './figure';
import { rampColor } from './scale';
import type { FusionWeightsModel } from '../state';

export const FUSION_MAP_HEIGHT = 260;

/** `empty`: what the chart says before it has weights. */
export function drawFusionMap(fig: Figure, d: FusionWeightsModel | undefined, empty = 'The fusion weights appear after the first evaluation'): void {
  if (!d || !d.sites.length || !d.adapters.length) {
    fig.draw(0, emptyNote(empty, FUSION_MAP_HEIGHT));
    return;
  }
  const left = 130;
  const top = 30;
  const cellW = Math.min(48, (WIDTH - left - 20) / d.sites.length);
  const cellH = Math.min(40, (FUSION_MAP_HEIGHT - top - 30) / d.adapters.length);
  const parts: Child[] = [];
  const axes = svgEl('g', { class: 'axes' });
  d.sites.forEach((site, j) => {
    const [layer, kind] = site.split('.');
    axes.appendChild(svgEl('text', { class: 'tick', x: left + j * cellW + cellW / 2, y: top - 6, 'text-anchor': 'middle' }, `${layer}${kind === 'attention' ? 'a' : 'f'}`));
  });
  d.adapters.forEach((name, i) => axes.appendChild(svgEl('text', { class: 'tick', x: left - 6, y: top + i * cellH + cellH / 2 + 4, 'text-anchor': 'end' }, name)));
  axes.appendChild(svgEl('text', { class: 'axis-label', x: left + (cellW * d.sites.length) / 2, y: top + cellH * d.adapters.length + 18, 'text-anchor': 'middle' }, 'layer (a: attention, f: feed-forward)'));
  parts.push(axes);
  const g = svgEl('g', { class: 'cells' });
  let points = 0;
  d.cells.forEach((row, j) => {
    row.forEach((value, i) => {
      const x = left + j * cellW;
      const y = top + i * cellH;
      if (value === null) {
        g.appendChild(svgEl('rect', { class: 'slot', x, y, width: cellW, height: cellH }));
        return;
      }
      points++;
      const title = `${d.adapters[i]} at layer ${d.sites[j]}: average weight ${formatNumber(value, 3)}`;
      g.appendChild(svgEl('rect', { class: 'cell', x, y, width: cellW, height: cellH, fill: rampColor(value), 'data-adapter': d.adapters[i], 'data-site': d.sites[j], 'data-value': value, tabindex: 0 }, svgEl('title', undefined, title)));
      if (cellW >= 36) g.appendChild(svgEl('text', { class: value > 0.6 ? 'cell-text dark' : 'cell-text', x: x + cellW / 2, y: y + cellH / 2 + 4, 'text-anchor': 'middle' }, formatNumber(value, 2)));
    });
  });
  parts.push(g);
  fig.draw(points, ...parts);
}
