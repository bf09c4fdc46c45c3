/**
 * Tables as data: columns, rows, sorting, filtering and CSV. Pure, so the sweep table's
 * order and its CSV export are one computation and can be tested without a browser.
 */

export type Cell = string | number | undefined;

export interface Column {
  readonly key: string;
  readonly label: string;
  /** Numeric columns sort by value and align right. */
  readonly numeric: boolean;
}

export interface Row {
  /** Stable identity (a trial index): survives sorting and redraws. */
  readonly id: number;
  readonly cells: readonly Cell[];
  /** What the cell shows, when it differs from the raw value (formatted numbers). */
  readonly text: readonly string[];
}

export interface TableData {
  readonly columns: readonly Column[];
  readonly rows: readonly Row[];
}

export interface SortOrder {
  readonly column: number;
  readonly descending: boolean;
}

/** Missing values sort last in either direction: they are not small, they are unknown. */
export function sortRows(rows: readonly Row[], order: SortOrder | undefined): Row[] {
  const out = [...rows];
  if (!order) return out;
  const dir = order.descending ? -1 : 1;
  out.sort((a, b) => {
    const x = a.cells[order.column];
    const y = b.cells[order.column];
    const xm = x === undefined || (typeof x === 'number' && Number.isNaN(x));
    const ym = y === undefined || (typeof y === 'number' && Number.isNaN(y));
    if (xm || ym) return xm === ym ? a.id - b.id : xm ? 1 : -1;
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
    return c === 0 ? a.id - b.id : c * dir;
  });
  return out;
}

/** Rows where every word of the query occurs in some cell's shown text (case-insensitive). */
export function filterRows(rows: readonly Row[], query: string): Row[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [...rows];
  return rows.filter((r) => {
    const hay = r.text.join('\u0000').toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF between records. */
export function csvField(v: Cell): string {
  const s = v === undefined ? '' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The table as CSV with raw (unformatted) values, in the rows' given order. */
export function toCsv(columns: readonly Column[], rows: readonly Row[]): string {
  const lines = [columns.map((c) => csvField(c.label)).join(',')];
  for (const r of rows) lines.push(r.cells.map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}
