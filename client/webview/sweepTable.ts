/** The sweep's trials as a table: index, each grid key, seed, status, metric, trainable parameters. Pure. */
import { formatCount, formatNumber, formatValue } from './format';
import { higherIsBetter } from './groups';
import { trialStatusText, trialsOf, trialValue, type SweepModel } from './state';
import type { Cell, Column, Row, TableData } from './table';

const cellOf = (v: unknown): Cell => (typeof v === 'number' || typeof v === 'string' ? v : v === undefined ? undefined : formatValue(v));

export function sweepTable(sweep: SweepModel): TableData {
  const metric = sweep.metric || 'metric';
  const higher = higherIsBetter(metric);
  const columns: Column[] = [
    { key: 'index', label: 'trial', numeric: true },
    ...sweep.keys.map((k) => ({ key: `grid:${k}`, label: k, numeric: true })),
    { key: 'seed', label: 'seed', numeric: true },
    { key: 'status', label: 'status', numeric: false },
    { key: 'metric', label: metric, numeric: true },
    { key: 'trainable', label: 'trainable', numeric: true },
  ];
  const rows: Row[] = trialsOf(sweep).map((t) => {
    const value = trialValue(t, metric, higher);
    const trainable = t.trainable ?? t.run?.trainable;
    const grid = sweep.keys.map((k) => cellOf(t.assignments[k]));
    const status = trialStatusText(t);
    const cells: Cell[] = [t.index, ...grid, t.seed, status, value, trainable];
    const text = [String(t.index), ...sweep.keys.map((k) => formatValue(t.assignments[k])), String(t.seed), status, formatNumber(value), formatCount(trainable)];
    return { id: t.index, cells, text };
  });
  return { columns, rows };
}
