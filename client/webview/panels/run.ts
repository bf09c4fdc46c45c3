/**
 * The run panel: one training run, live. Loss and learning rate per step, the validation
 * metric per evaluation, throughput (tokens/s over a trailing window of steps), trainable
 * parameters from the start event, elapsed time and ETA from event times, and the status
 * (with the error message) from the end and error events.
 */
import { createFigure } from '../charts/figure';
import { drawFusionMap, FUSION_MAP_HEIGHT } from '../charts/fusionMap';
import { drawLineChart } from '../charts/lineChart';
import { el, replaceChildren } from '../dom';
import { formatCount, formatDuration, formatNumber } from '../format';
import { elapsedSeconds, etaSeconds, mainRun, throughput, type FusionWeightsModel, type JobModel, type RunModel } from '../state';
import { facts, statusBadge } from './common';
import { fusionExampleView } from './fusionExample';
import type { Panel, TitleSource } from './panel';

export function runPanel(title: TitleSource): Panel {
  const header = el('header', { class: 'panel-header' });
  const summary = el('section', { class: 'summary' });
  const alert = el('div', { class: 'error-message', role: 'alert', hidden: true });
  const loss = createFigure('loss', 'Training loss', title);
  const lr = createFigure('lr', 'Learning rate', title);
  const metric = createFigure('metric', 'Validation metric', title);
  const speed = createFigure('throughput', 'Throughput', title);
  // A fusion run's average fusion weights, adapters × layers (shown for fusion runs only):
  // live after each evaluation, then the finished run's; and the weights for one example.
  const fusion = createFigure('fusion-weights', 'Fusion weights', title, FUSION_MAP_HEIGHT);
  const fusionSource = el('p', { class: 'fusion-note muted', 'data-fusion-source': '' });
  fusion.root.appendChild(fusionSource);
  fusion.root.hidden = true;
  const example = fusionExampleView(title);
  const logs = el('ul', { class: 'logs' });
  const root = el('div', { class: 'panel run-panel' }, header, alert, summary, el('div', { class: 'charts' }, loss.root, lr.root, metric.root, speed.root, fusion.root), example.root, logs);

  return {
    root,
    receive: (m) => example.receive(m),
    render(jobs: readonly JobModel[]) {
      const job = jobs[0];
      const run = job ? mainRun(job) : undefined;
      replaceChildren(header, el('h1', undefined, job?.label || run?.run || 'Run'), run ? statusBadge(run.status) : statusBadge('pending'));
      example.update(run);
      if (!run) {
        replaceChildren(summary, el('p', { class: 'muted' }, 'Waiting for the run to start…'));
        drawLineChart(loss, [], { xLabel: 'step', yLabel: 'loss' });
        drawLineChart(lr, [], { xLabel: 'step', yLabel: 'learning rate' });
        drawLineChart(metric, [], { xLabel: 'step', yLabel: 'metric', empty: 'No evaluation yet' });
        drawLineChart(speed, [], { xLabel: 'step', yLabel: 'tokens/s' });
        return;
      }
      drawSummary(run);
      alert.hidden = !run.error;
      replaceChildren(alert, run.error ? `${run.error.code ? `${run.error.code}: ` : ''}${run.error.message}` : '');
      const steps = run.steps;
      drawLineChart(loss, [{ label: 'loss', points: steps.map((s) => ({ x: s.step, y: s.loss })) }], { xLabel: 'step', yLabel: 'loss' });
      drawLineChart(lr, [{ label: 'learning rate', points: steps.map((s) => ({ x: s.step, y: s.lr })) }], { xLabel: 'step', yLabel: 'learning rate' });
      const evals = run.evaluations.filter((v) => v.split === 'validation');
      const name = run.metric ?? 'metric';
      drawLineChart(metric, [{ label: name, points: evals.map((v) => ({ x: v.step, y: v.value })), markers: true }], { xLabel: 'step', yLabel: `validation ${name}`, empty: 'No evaluation yet' });
      drawLineChart(speed, [{ label: 'tokens/s', points: throughput(run).map((p) => ({ x: p.step, y: p.value })) }], { xLabel: 'step', yLabel: 'tokens/s (smoothed)' });
      fusion.root.hidden = run.method !== 'fusion';
      if (run.method === 'fusion') {
        drawFusionMap(fusion, run.fusion, run.status === 'running' ? 'The fusion weights appear after the first evaluation' : 'No fusion weights: the run has no validation data, or ended before an evaluation');
        replaceChildren(fusionSource, fusionSourceText(run, run.fusion));
        fusionSource.setAttribute('data-step', run.fusion?.step !== undefined ? String(run.fusion.step) : '');
      }
      replaceChildren(logs, ...run.logs.map((l) => el('li', { class: `log-${l.level}` }, l.message)));
    },
  };

  /** Where the heatmap's weights come from: an evaluation while training, or the finished run's saved fusion. */
  function fusionSourceText(run: RunModel, w: FusionWeightsModel | undefined): string {
    if (!w) return '';
    const data = w.data.split(/[\\/]/).pop() || 'the validation data';
    const over = `${data}, ${formatCount(w.tokens)} tokens`;
    if (w.step === undefined) return `The finished run's fusion on ${over}.`;
    return `${run.status === 'running' ? 'Live: ' : ''}at step ${w.step}${run.plannedSteps ? ` of ${run.plannedSteps}` : ''}, measured by its evaluation on ${over}.`;
  }

  function drawSummary(run: RunModel): void {
    const done = run.steps.length ? run.steps[run.steps.length - 1]!.step : 0;
    const tp = throughput(run);
    const last = run.evaluations[run.evaluations.length - 1];
    const eta = etaSeconds(run);
    replaceChildren(summary, facts([
      ['run', run.run],
      ['method', `${run.method} · ${run.model}`],
      ['trainable parameters', run.trainable !== undefined ? `${formatCount(run.trainable)} (${formatNumber(run.percentOfBase, 3)}% of base)` : '—'],
      ['steps', `${done} / ${run.plannedSteps || '?'}`],
      ['elapsed', formatDuration(elapsedSeconds(run))],
      ['ETA', run.status === 'running' ? formatDuration(eta) : '—'],
      ['throughput', tp.length ? `${formatNumber(tp[tp.length - 1]!.value, 3)} tokens/s` : '—'],
      [`validation ${run.metric ?? 'metric'}`, last ? formatNumber(last.value) : '—'],
    ]));
  }
}
