/**
 * The compare panel: the loss and validation-metric curves of two or more runs overlaid,
 * and their final metrics side by side. Every training run of every job is one series
 * (a demo stream holds several runs in one job).
 */
import { createFigure } from '../charts/figure';
import { drawLineChart } from '../charts/lineChart';
import { el, replaceChildren } from '../dom';
import { formatCount, formatNumber } from '../format';
import type { JobModel, RunModel } from '../state';
import type { Cell, TableData } from '../table';
import { dataTable } from './common';
import type { Panel, TitleSource } from './panel';

export function comparePanel(title: TitleSource): Panel {
  const header = el('header', { class: 'panel-header' });
  const loss = createFigure('loss', 'Training loss', title);
  const metric = createFigure('metric', 'Validation metric', title);
  const table = dataTable({ name: 'final-metrics', caption: 'Final metrics', exportName: title, filter: true });
  const root = el('div', { class: 'panel compare-panel' }, header, table.root, el('div', { class: 'charts' }, loss.root, metric.root));

  return {
    root,
    render(jobs: readonly JobModel[]) {
      const runs: { label: string; run: RunModel }[] = jobs.flatMap((job) => job.runs.map((run) => ({ label: job.runs.length > 1 ? `${job.label} · ${run.experiment || run.run}` : job.label || run.run, run })));
      replaceChildren(header, el('h1', undefined, title()), el('span', { class: 'muted', 'data-run-count': runs.length }, `${runs.length} runs`));
      drawLineChart(loss, runs.map(({ label, run }) => ({ label, points: run.steps.map((s) => ({ x: s.step, y: s.loss })) })), { xLabel: 'step', yLabel: 'loss' });
      const name = runs.find((r) => r.run.metric)?.run.metric ?? 'metric';
      drawLineChart(metric, runs.map(({ label, run }) => ({ label, points: run.evaluations.filter((v) => v.split === 'validation').map((v) => ({ x: v.step, y: v.value })), markers: true })), { xLabel: 'step', yLabel: `validation ${name}`, empty: 'No evaluation yet' });
      const keys = [...new Set(runs.flatMap(({ run }) => Object.keys(run.finalMetrics)))].sort();
      const data: TableData = {
        columns: [
          { key: 'run', label: 'run', numeric: false },
          { key: 'method', label: 'method', numeric: false },
          { key: 'trainable', label: 'trainable', numeric: true },
          { key: 'percent', label: '% of base', numeric: true },
          { key: 'steps', label: 'steps', numeric: true },
          { key: 'status', label: 'status', numeric: false },
          ...keys.map((k) => ({ key: `metric:${k}`, label: k, numeric: true })),
        ],
        rows: runs.map(({ label, run }, i) => {
          const steps = run.steps.length ? run.steps[run.steps.length - 1]!.step : 0;
          const cells: Cell[] = [label, run.method, run.trainable, run.percentOfBase, steps, run.status, ...keys.map((k) => run.finalMetrics[k])];
          const text = [label, run.method, formatCount(run.trainable), formatNumber(run.percentOfBase, 3), String(steps), run.status, ...keys.map((k) => formatNumber(run.finalMetrics[k]))];
          return { id: i, cells, text };
        }),
      };
      table.update(data);
    },
  };
}
