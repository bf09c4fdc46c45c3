/**
 * The ablation panel: the span-removal heatmap of an `ablate` job (cells as they arrive,
 * the single-site cells in a small table) and the AdapterDrop curve: the metric against n
 * lowest layers dropped, a line per `drop-curve` job (labelled with its history's label,
 * the training regime), n = 0 being the model with every adapter.
 */
import { createFigure } from '../charts/figure';
import { drawHeatmap, HEATMAP_HEIGHT } from '../charts/heatmap';
import { drawLineChart } from '../charts/lineChart';
import { el, replaceChildren } from '../dom';
import { formatNumber } from '../format';
import { dropCurvePoints, layerCount, spanCells, type AblationModel, type JobModel } from '../state';
import type { TableData } from '../table';
import { dataTable, facts, statusBadge } from './common';
import type { Panel, TitleSource } from './panel';

interface HeatmapBlock {
  readonly root: HTMLElement;
  update(job: JobModel, a: AblationModel): void;
}

function heatmapBlock(title: TitleSource): HeatmapBlock {
  const header = el('header', { class: 'section-header' });
  const alert = el('div', { class: 'error-message', role: 'alert', hidden: true });
  const fig = createFigure('heatmap', 'Adapters removed from layers i..j', title, HEATMAP_HEIGHT);
  const sites = dataTable({ name: 'single-sites', caption: 'Single-site removal', exportName: title });
  const summary = el('div', { class: 'summary' });
  const root = el('section', { class: 'ablation-block' }, header, summary, alert, fig.root, sites.root);
  return {
    root,
    update(job, a) {
      const L = layerCount(a);
      replaceChildren(header, el('h2', undefined, job.label || a.run), statusBadge(a.status));
      replaceChildren(summary, facts([
        ['run', a.run],
        ['cells', `${a.cells.length} / ${a.expectedCells}`],
        [`${a.metric || 'metric'} with all adapters`, formatNumber(a.baseline)],
      ]));
      alert.hidden = !a.error;
      replaceChildren(alert, a.error?.message ?? '');
      drawHeatmap(fig, { layers: L, cells: spanCells(a), metric: a.metric, baseline: a.baseline });
      const single = a.cells.filter((c) => c.site !== 'both');
      sites.root.hidden = !single.length;
      const data: TableData = {
        columns: [
          { key: 'layer', label: 'layer', numeric: true },
          { key: 'site', label: 'site removed', numeric: false },
          { key: 'value', label: a.metric || 'metric', numeric: true },
          { key: 'delta', label: 'Δ vs all adapters', numeric: true },
        ],
        rows: single.map((c, i) => {
          const delta = a.baseline !== undefined ? c.value - a.baseline : undefined;
          return { id: i, cells: [c.from, c.site, c.value, delta], text: [String(c.from), c.site, formatNumber(c.value), formatNumber(delta)] };
        }),
      };
      sites.update(data);
    },
  };
}

export function ablationPanel(title: TitleSource): Panel {
  const blocks = el('div', { class: 'ablation-blocks' });
  const heatmaps: HeatmapBlock[] = [];
  const curve = createFigure('drop-curve', 'AdapterDrop: layers dropped vs metric', title);
  const curveSection = el('section', { class: 'drop-curve-block' }, el('h2', undefined, 'AdapterDrop curve'), curve.root);
  const header = el('header', { class: 'panel-header' });
  const waiting = el('p', { class: 'muted' }, 'Waiting for the ablation to start…');
  const root = el('div', { class: 'panel ablation-panel' }, header, waiting, blocks, curveSection);

  return {
    root,
    render(jobs: readonly JobModel[]) {
      const spans = jobs.flatMap((job) => job.ablations.filter((a) => a.mode === 'ablate').map((a) => ({ job, a })));
      const curves = jobs.flatMap((job) => job.ablations.filter((a) => a.mode === 'drop-curve').map((a) => ({ job, a })));
      replaceChildren(header, el('h1', undefined, title()));
      while (heatmaps.length < spans.length) {
        const b = heatmapBlock(title);
        heatmaps.push(b);
        blocks.append(b.root);
      }
      spans.forEach(({ job, a }, i) => heatmaps[i]!.update(job, a));
      curveSection.hidden = !curves.length && spans.length > 0;
      const metric = curves[0]?.a.metric || 'metric';
      drawLineChart(curve, curves.map(({ job, a }) => ({ label: job.label || a.run, points: dropCurvePoints(job, a).map((p) => ({ x: p.n, y: p.value })), markers: true })), {
        xLabel: 'layers dropped (lowest first)',
        yLabel: metric,
        empty: 'Waiting for AdapterDrop cells…',
      });
      waiting.hidden = spans.length > 0 || curves.length > 0;
    },
  };
}
