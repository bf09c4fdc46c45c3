/**
 * Parallel coordinates: one axis per grid key and one for the metric, a line per trial.
 * Numeric axes are linear, or log when the values span two decades or more (learning
 * rates); other values are categories in sorted order. Best-per-group lines are drawn last,
 * on top, and marked.
 */
import { svgEl, type Child } from '../dom';
import { formatNumber, formatValue } from '../format';
import { emptyNote, HEIGHT, WIDTH, type Figure } from './figure';
import { extent, linearScale, logScale } from './scale';

export interface ParallelData {
  readonly axes: readonly string[];
  readonly lines: readonly { readonly id: number; readonly values: readonly unknown[]; readonly highlight: boolean; readonly title: string }[];
}

const M = { left: 40, right: 40, top: 30, bottom: 30 };

type AxisScale = { map: (v: unknown) => number | undefined; ticks: { v: number; label: string }[] };

function axisScale(values: readonly unknown[]): AxisScale {
  const range: [number, number] = [HEIGHT - M.bottom, M.top];
  const defined = values.filter((v) => v !== undefined && v !== null && !(typeof v === 'number' && !Number.isFinite(v)));
  if (defined.length && defined.every((v) => typeof v === 'number')) {
    const nums = defined as number[];
    const [lo, hi] = extent(nums);
    const s = lo > 0 && hi / lo >= 100 ? logScale([lo, hi], range) : linearScale([lo, hi], range, true, 4);
    const uniq = [...new Set(nums)];
    const ticks = uniq.length <= 6 ? uniq.map((v) => ({ v: s(v), label: formatNumber(v) })) : s.ticks.map((v) => ({ v: s(v), label: formatNumber(v) }));
    return { map: (v) => (typeof v === 'number' && Number.isFinite(v) ? s(v) : undefined), ticks };
  }
  const cats = [...new Set(defined.map(formatValue))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const pos = (i: number) => (cats.length === 1 ? (range[0] + range[1]) / 2 : range[0] + ((range[1] - range[0]) * i) / (cats.length - 1));
  return { map: (v) => (v === undefined || v === null ? undefined : pos(cats.indexOf(formatValue(v)))), ticks: cats.map((c, i) => ({ v: pos(i), label: c })) };
}

export function drawParallel(fig: Figure, d: ParallelData): void {
  if (!d.lines.length || !d.axes.length) {
    fig.draw(0, emptyNote('Waiting for trials…'));
    return;
  }
  const n = d.axes.length;
  const ax = (i: number) => (n === 1 ? WIDTH / 2 : M.left + ((WIDTH - M.left - M.right) * i) / (n - 1));
  const scales = d.axes.map((_, i) => axisScale(d.lines.map((l) => l.values[i])));
  const parts: Child[] = [];
  const lines = svgEl('g', { class: 'pc-lines' });
  const ordered = [...d.lines].sort((a, b) => Number(a.highlight) - Number(b.highlight));
  for (const l of ordered) {
    let path = '';
    let pen = false;
    l.values.forEach((v, i) => {
      const y = scales[i]!.map(v);
      if (y === undefined) {
        pen = false;
        return;
      }
      path += `${pen ? 'L' : 'M'}${ax(i).toFixed(1)},${y.toFixed(1)}`;
      pen = true;
    });
    if (path) lines.appendChild(svgEl('path', { d: path, class: l.highlight ? 'pc-line best' : 'pc-line', 'data-trial-index': l.id }, svgEl('title', undefined, l.title)));
  }
  parts.push(lines);
  const axes = svgEl('g', { class: 'axes' });
  d.axes.forEach((name, i) => {
    const x = ax(i);
    axes.appendChild(svgEl('line', { class: 'axis', x1: x, x2: x, y1: M.top, y2: HEIGHT - M.bottom }));
    const anchor = i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle';
    axes.appendChild(svgEl('text', { class: 'axis-label', x, y: 14, 'text-anchor': anchor }, name));
    for (const t of scales[i]!.ticks) axes.appendChild(svgEl('text', { class: 'tick pc-tick', x: x + 4, y: t.v + 4 }, t.label));
  });
  parts.push(axes);
  fig.draw(d.lines.length, ...parts);
}
