/** Pieces several panels share: a status badge, a key/value list, a table with sorting, filtering and CSV export. */
import { button, el, replaceChildren } from '../dom';
import { exportCsv } from '../export';
import type { Status } from '../state';
import { filterRows, sortRows, toCsv, type Row, type SortOrder, type TableData } from '../table';

export function statusBadge(status: Status | string): HTMLSpanElement {
  return el('span', { class: `badge status-${status}`, 'data-status': status }, status);
}

export function facts(items: readonly (readonly [string, string | Node])[]): HTMLDListElement {
  const dl = el('dl', { class: 'facts' });
  for (const [k, v] of items) dl.append(el('div', undefined, el('dt', undefined, k), el('dd', undefined, v)));
  return dl;
}

export interface DataTable {
  readonly root: HTMLElement;
  update(data: TableData, marked?: ReadonlySet<number>): void;
}

export interface DataTableOptions {
  readonly name: string;
  readonly caption: string;
  readonly exportName: () => string;
  readonly filter?: boolean;
  /** Extra content for each row's last cell (an "open" button …). */
  readonly rowAction?: (id: number) => HTMLElement | undefined;
  readonly markedTitle?: string;
  /** The row's identity attribute (`data-trial-index` in the sweep table). */
  readonly idAttribute?: string;
  /** Set to "true" on marked rows (`data-best` for the best trial per group). */
  readonly markedAttribute?: string;
}

/**
 * A table drawn from TableData: click a header to sort (ascending, then descending), type
 * in the box to filter; CSV export writes the rows as shown (filtered, in order). Sort and
 * filter survive redraws, which live events cause several times a second.
 */
export function dataTable(o: DataTableOptions): DataTable {
  let data: TableData = { columns: [], rows: [] };
  let marked: ReadonlySet<number> = new Set();
  let order: SortOrder | undefined;
  let query = '';
  let shown: Row[] = [];
  const thead = el('thead');
  const tbody = el('tbody');
  const table = el('table', { class: 'data-table', 'data-table': o.name }, el('caption', undefined, o.caption), thead, tbody);
  const count = el('span', { class: 'row-count', role: 'status' });
  const input = el('input', { type: 'search', class: 'filter', placeholder: 'Filter rows', 'aria-label': `Filter ${o.caption}`, 'data-filter': o.name });
  input.addEventListener('input', () => {
    query = input.value;
    draw();
  });
  const csv = button('CSV', () => exportCsv(toCsv(data.columns, shown), `${o.exportName()}-${o.name}`), { 'data-export': 'csv', title: `Export ${o.caption} as CSV` });
  const bar = el('div', { class: 'table-tools' }, o.filter ? input : undefined, count, csv);
  const root = el('section', { class: 'table-block' }, bar, el('div', { class: 'table-scroll' }, table));

  let columnsKey = '';
  // Rebuilt only when the columns change, so a clicked header keeps keyboard focus.
  function header(): void {
    const key = JSON.stringify(data.columns.map((c) => [c.key, c.label]));
    if (key !== columnsKey) {
      columnsKey = key;
      const tr = el('tr');
      data.columns.forEach((c, i) => {
        const b = button(c.label, () => {
          order = order?.column === i && !order.descending ? { column: i, descending: true } : { column: i, descending: false };
          draw();
        }, { class: 'sort', 'data-column': c.key });
        tr.append(el('th', { scope: 'col', class: c.numeric ? 'num' : undefined }, b));
      });
      if (o.rowAction) tr.append(el('th', { scope: 'col' }, ''));
      replaceChildren(thead, tr);
    }
    thead.querySelectorAll('th').forEach((th, i) => {
      if (i < data.columns.length) th.setAttribute('aria-sort', order?.column === i ? (order.descending ? 'descending' : 'ascending') : 'none');
    });
  }

  function draw(): void {
    header();
    shown = sortRows(filterRows(data.rows, query), order);
    const frag = document.createDocumentFragment();
    for (const r of shown) {
      const isMarked = marked.has(r.id);
      const tr = el('tr', { [o.idAttribute ?? 'data-row-id']: r.id, class: isMarked ? 'marked' : undefined, [o.markedAttribute ?? 'data-marked']: isMarked ? 'true' : undefined, title: isMarked ? o.markedTitle : undefined });
      r.text.forEach((t, i) => tr.append(el('td', { class: data.columns[i]?.numeric ? 'num' : undefined }, t)));
      if (o.rowAction) tr.append(el('td', undefined, o.rowAction(r.id)));
      frag.append(tr);
    }
    replaceChildren(tbody, frag);
    count.textContent = shown.length === data.rows.length ? `${data.rows.length} rows` : `${shown.length} of ${data.rows.length} rows`;
  }

  return {
    root,
    update(d, m) {
      data = d;
      marked = m ?? new Set();
      draw();
    },
  };
}
