/**
 * The sweep panel: the trials as a sortable, filterable table (best trial per group
 * marked, as sweep.ts selects it), parallel coordinates over the grid and the metric, and
 * the parameter/performance trade-off: metric against trainable parameters (log x), a
 * series per method, each group's best configuration as mean ± spread over seeds.
 */
import { createFigure } from '../charts/figure';
import { drawLineChart, type Series } from '../charts/lineChart';
import { drawParallel } from '../charts/parallel';
import { button, el, replaceChildren } from '../dom';
import { formatCount, formatNumber, formatValue } from '../format';
import { bestPerGroup, higherIsBetter, tradeoffPoints } from '../groups';
import { post } from '../host';
import { trialsOf, trialValue, type JobModel, type SweepModel } from '../state';
import { sweepTable } from '../sweepTable';
import { dataTable, facts, statusBadge } from './common';
import type { Panel, TitleSource } from './panel';

export function sweepPanel(title: TitleSource): Panel {
  let sweep: SweepModel | undefined;
  const header = el('header', { class: 'panel-header' });
  const summary = el('section', { class: 'summary' });
  const alert = el('div', { class: 'error-message', role: 'alert', hidden: true });
  const table = dataTable({
    name: 'trials',
    caption: 'Trials',
    exportName: title,
    filter: true,
    idAttribute: 'data-trial-index',
    markedAttribute: 'data-best',
    markedTitle: 'best trial of its group on validation',
    rowAction: (index) => {
      const runDir = sweep?.trials.get(index)?.run?.runDir;
      return runDir ? button('Open', () => post({ type: 'open', id: runDir }), { class: 'link', title: 'Open this trial’s run' }) : undefined;
    },
  });
  const tradeoff = createFigure('tradeoff', 'Parameters vs performance', title);
  const parallel = createFigure('parallel', 'Grid (parallel coordinates)', title);
  const root = el('div', { class: 'panel sweep-panel' }, header, alert, summary, table.root, el('div', { class: 'charts' }, tradeoff.root, parallel.root));

  return {
    root,
    render(jobs: readonly JobModel[]) {
      const job = jobs[0];
      sweep = job?.sweep;
      replaceChildren(header, el('h1', undefined, job?.label || sweep?.name || 'Sweep'), statusBadge(sweep?.status ?? 'pending'));
      if (!sweep) {
        replaceChildren(summary, el('p', { class: 'muted' }, 'Waiting for the sweep to start…'));
        table.update({ columns: [], rows: [] });
        drawParallel(parallel, { axes: [], lines: [] });
        drawLineChart(tradeoff, [], { xLabel: 'trainable parameters', yLabel: 'metric', logX: true, empty: 'Waiting for trials…' });
        return;
      }
      const s = sweep;
      const trials = trialsOf(s);
      const finished = trials.filter((t) => t.status !== 'running').length;
      const best = bestPerGroup(s);
      const metric = s.metric || 'metric';
      const failed = trials.filter((t) => t.status === 'failed');
      replaceChildren(summary, facts([
        ['sweep', s.name],
        ['metric', `${metric} (validation, ${higherIsBetter(metric) ? 'higher' : 'lower'} is better)`],
        ['trials', `${finished} / ${s.total} finished${s.skipped ? ` (${s.skipped} from an earlier attempt, not shown)` : ''}`],
        ...(s.executor === 'slurm' ? [['on Slurm', `${trials.filter((t) => t.status === 'running' && t.clusterState === 'running').length} running, ${trials.filter((t) => t.status === 'running' && t.clusterState === 'pending').length} pending`] as [string, string]] : []),
        ['groups', `${best.size}`],
        ['best', s.finalMetrics[metric] !== undefined ? formatNumber(s.finalMetrics[metric]) : '—'],
      ]));
      const messages = [s.error?.message, ...failed.map((t) => (t.message ? `trial ${t.index}: ${t.message}` : undefined))].filter((m): m is string => !!m);
      alert.hidden = !messages.length;
      replaceChildren(alert, ...messages.map((m) => el('div', undefined, m)));
      table.update(sweepTable(s), best);
      const higher = higherIsBetter(metric);
      drawParallel(parallel, {
        axes: [...s.keys, metric],
        lines: trials.map((t) => ({
          id: t.index,
          values: [...s.keys.map((k) => t.assignments[k]), trialValue(t, metric, higher)],
          highlight: best.has(t.index),
          title: `trial ${t.index} (seed ${t.seed}): ${s.keys.map((k) => `${k}=${formatValue(t.assignments[k])}`).join(' ')} → ${metric} ${formatNumber(trialValue(t, metric, higher))}`,
        })),
      });
      const points = tradeoffPoints(s);
      const bySeries = new Map<string, typeof points>();
      for (const p of points) bySeries.set(p.series, [...(bySeries.get(p.series) ?? []), p]);
      const series: Series[] = [...bySeries].map(([label, ps]) => ({ label, points: ps.map((p) => ({ x: p.trainable, y: p.mean })), errors: ps.map((p) => p.std), markers: true }));
      drawLineChart(tradeoff, series, {
        xLabel: 'trainable parameters',
        yLabel: `${metric} (mean ± sd over seeds)`,
        logX: true,
        empty: 'Waiting for finished trials…',
        pointTitle: (se, i) => {
          const p = bySeries.get(se.label)![i]!;
          return `${p.group} · ${formatCount(p.trainable)} trainable: ${metric} ${formatNumber(p.mean)} ± ${formatNumber(p.std)} (n=${p.n})`;
        },
      });
    },
  };
}
