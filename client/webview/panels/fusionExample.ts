/**
 * A fusion run's weights for one example, in the run panel: a text typed (and a second one
 * for pair tasks) or a row picked from the run's data. The page asks the host, which runs the
 * engine on the panel's own run (`fusion weights --text`) and answers; the weights are drawn
 * as the run's heatmap is, averaged over the example's tokens. A run that has not finished
 * answers from its last checkpoint, and says at which step.
 */
import type { FusionRow, FusionRows, FusionRowSet, HostToPanel } from '../../src/panelProtocol';
import { createFigure } from '../charts/figure';
import { drawFusionMap, FUSION_MAP_HEIGHT } from '../charts/fusionMap';
import { button, el, replaceChildren } from '../dom';
import { formatCount } from '../format';
import { post } from '../host';
import { fusionWeightsOf, type RunModel } from '../state';
import type { TitleSource } from './panel';

export interface FusionExampleView {
  readonly root: HTMLElement;
  /** Shown for fusion runs: from the saved fusion once the run has finished, else from its last checkpoint. */
  update(run: RunModel | undefined): void;
  /** The host's answers (`fusion-example`, `fusion-rows`). */
  receive(message: HostToPanel): void;
}

/** A row's text in the picker: long texts cut, the label after them. */
function rowLabel(row: FusionRow): string {
  const text = row.pair !== undefined ? `${row.text} ‖ ${row.pair}` : row.text;
  return `${text.length > 90 ? `${text.slice(0, 89)}…` : text} (${row.label})`;
}

export function fusionExampleView(title: TitleSource): FusionExampleView {
  // Requests are numbered so that only the answer to the latest one is drawn.
  let counter = 0;
  let exampleRequest = 0;
  let rowsRequest = 0;
  const picks = new Map<string, FusionRow>();
  const picker = el('select', { class: 'fusion-rows', 'data-fusion-rows': '', 'aria-label': "Pick an example from the run's data", disabled: true }, el('option', { value: '' }, 'Pick a row of the data…'));
  const text = el('input', { type: 'text', class: 'fusion-text', name: 'text', placeholder: 'Type a text…', 'aria-label': 'Example text' });
  const pair = el('input', { type: 'text', class: 'fusion-text', name: 'pair', placeholder: 'Second text', 'aria-label': 'Second text of the pair', hidden: true });
  const weigh = button('Show weights', () => ask(), { 'data-fusion-weigh': '', disabled: true });
  const status = el('p', { class: 'muted', role: 'status', 'data-fusion-status': '' });
  const alert = el('div', { class: 'error-message', role: 'alert', hidden: true, 'data-fusion-error': '' });
  const fig = createFigure('fusion-example', 'Weights for the example', title, FUSION_MAP_HEIGHT);
  const tokens = el('p', { class: 'fusion-note muted', 'data-fusion-tokens': '' });
  fig.root.appendChild(tokens);
  const EMPTY = 'Type a text or pick a row, then Show weights';
  drawFusionMap(fig, undefined, EMPTY);
  const root = el('section', { class: 'fusion-example', 'data-fusion-example': '', hidden: true }, el('h2', undefined, 'Fusion weights for one example'), el('div', { class: 'fusion-inputs' }, picker, text, pair, weigh), status, alert, fig.root);

  for (const input of [text, pair]) {
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !weigh.disabled) ask();
    });
  }
  picker.addEventListener('change', () => {
    const row = picks.get(picker.value);
    if (!row) return;
    text.value = row.text;
    pair.value = row.pair ?? '';
    ask();
  });

  function showError(message: string | undefined): void {
    alert.hidden = !message;
    replaceChildren(alert, message ?? '');
  }

  function ask(): void {
    if (!text.value.trim()) return showError('Type a text first: the weights are computed for one example.');
    if (!pair.hidden && !pair.value.trim()) return showError('This task reads pairs of texts: type the second text too.');
    showError(undefined);
    exampleRequest = ++counter;
    replaceChildren(status, 'Computing the fusion weights…');
    post({ type: 'fusion-example', request: exampleRequest, text: text.value, ...(pair.hidden ? {} : { pair: pair.value }) });
  }

  function fillRows(rows: FusionRows): void {
    picks.clear();
    const groups: [string, FusionRowSet][] = [];
    if (rows.validation?.rows.length) groups.push(['validation', rows.validation]);
    if (rows.train.rows.length) groups.push(['training', rows.train]);
    const options = groups.map(([split, set]) =>
      el(
        'optgroup',
        { label: `${split} data (${set.file.split(/[\\/]/).pop()})` },
        ...set.rows.map((row) => {
          const key = `${split}:${row.index}`;
          picks.set(key, row);
          return el('option', { value: key }, rowLabel(row));
        }),
      ),
    );
    replaceChildren(picker, el('option', { value: '' }, picks.size ? 'Pick a row of the data…' : 'The data has no rows to pick'), ...options);
    picker.disabled = picks.size === 0;
    // A pair task: the second text has its own box, named after its column.
    pair.hidden = rows.columns.length < 2;
    if (rows.columns[0]) text.placeholder = `Type a text (${rows.columns[0]})…`;
    if (rows.columns[1]) pair.placeholder = `Second text (${rows.columns[1]})`;
  }

  return {
    root,
    update(run) {
      root.hidden = run?.method !== 'fusion';
      if (!run || root.hidden) return;
      // A pending run has nothing to read yet; a running one answers from its last checkpoint.
      const started = run.status !== 'pending';
      weigh.disabled = !started;
      if (!started) {
        replaceChildren(status, 'Available once the run has started: the weights come from its checkpoints, then its saved fusion.');
        return;
      }
      if (status.textContent?.startsWith('Available once')) replaceChildren(status, '');
      if (rowsRequest === 0) {
        rowsRequest = ++counter;
        post({ type: 'fusion-rows', request: rowsRequest });
      }
    },
    receive(m) {
      if (m.type === 'fusion-rows' && m.request === rowsRequest) {
        if (m.rows) fillRows(m.rows);
        else replaceChildren(picker, el('option', { value: '' }, `No rows to pick: ${m.error ?? 'the host sent none'}`));
      } else if (m.type === 'fusion-example' && m.request === exampleRequest) {
        const model = m.example ? fusionWeightsOf({ ...m.example, data: '' }) : undefined;
        if (!m.example || !model) {
          replaceChildren(status, '');
          showError(m.error ?? 'the engine gave no weights');
          drawFusionMap(fig, undefined, 'No weights for this example');
          replaceChildren(tokens, '');
          return;
        }
        showError(undefined);
        const shown = m.example.pair !== undefined ? `${m.example.text} ‖ ${m.example.pair}` : m.example.text;
        const source = m.example.checkpointStep !== undefined ? ` From its last checkpoint (step ${formatCount(m.example.checkpointStep)}): the run has not finished.` : '';
        replaceChildren(status, `Weights for “${shown}”, averaged over its tokens.${source}`);
        drawFusionMap(fig, model, EMPTY);
        replaceChildren(tokens, `${formatCount(m.example.tokens)} tokens${m.example.truncated ? ' (cut at task.max_length)' : ''}: ${m.example.pieces.join(' ')}`);
      }
    },
  };
}
