/**
 * Examples for classification and regression tasks: one or two texts and a label per row.
 *
 * Label maps (classification): the classes are the distinct labels of the training file,
 * ordered independently of row order:
 * - when every label is an integer (`0`, `1`, `-1`, `10`), in numeric order, so that GLUE's
 *   `0`/`1` become class ids 0/1 and binary F1's positive class (id 1) is label `1`;
 * - otherwise in code-point order of the label text (`contradiction` < `entailment` <
 *   `neutral`; `negative` < `positive`), as Hugging Face's run_glue sorts its label list.
 * Sorting instead of first appearance means a shuffled or subsampled training file gives
 * the same map, so adapters trained on different files of one task agree on the head.
 * The map is saved in the run folder as `{"labels": [...]}` (class id = position).
 */
import type { Experiment } from '../config/experiment';
import { DataError } from './errors';
import { readTable, type Cell, type Table } from './table';

/** The columns of a text task: what examples need from an Experiment. */
export interface TextTask {
  readonly kind: 'classification' | 'regression';
  /** One column, or two for sentence pairs. */
  readonly text: readonly string[];
  readonly label: string;
}

export interface TextExample {
  /** Position among the file's rows (0-based). */
  readonly index: number;
  /** 1-based line of the row in its file, for messages about it later (tokenizing, predictions). */
  readonly line: number;
  readonly textA: string;
  readonly textB?: string;
  /** Class id (classification) or target value (regression). */
  readonly label: number;
}

export interface TaskData {
  readonly kind: TextTask['kind'];
  readonly file: string;
  readonly examples: readonly TextExample[];
  /** Classification only: the map the labels were converted with. */
  readonly labelMap: LabelMap | undefined;
}

/** Serialised form of a LabelMap: the label of class id i is `labels[i]`. */
export interface LabelMapJson {
  readonly labels: readonly string[];
}

const INTEGER = /^[+-]?\d+$/;

export class LabelMap {
  private readonly ids: ReadonlyMap<string, number>;

  private constructor(readonly labels: readonly string[]) {
    this.ids = new Map(labels.map((l, i) => [l, i]));
  }

  /** The map of a training file's labels (duplicates allowed, order irrelevant; see the module comment). */
  static fromLabels(values: Iterable<string>): LabelMap {
    const distinct = [...new Set(values)];
    if (distinct.length > 0 && distinct.every((l) => INTEGER.test(l))) {
      distinct.sort((a, b) => compareIntegers(a, b) || compareCodePoints(a, b));
    } else {
      distinct.sort(compareCodePoints);
    }
    return new LabelMap(distinct);
  }

  /** Reads a map saved with toJSON (a run folder's label map); a plain Error when it is malformed. */
  static fromJSON(json: unknown): LabelMap {
    const labels = (json as { labels?: unknown } | null)?.labels;
    if (!Array.isArray(labels) || !labels.every((l): l is string => typeof l === 'string')) throw new Error('a label map is {"labels": [string, ...]}');
    if (new Set(labels).size !== labels.length) throw new Error('a label map lists each label once');
    // Kept in the saved order: ids of a trained head must not move.
    return new LabelMap(labels);
  }

  get size(): number {
    return this.labels.length;
  }

  idOf(label: string): number | undefined {
    return this.ids.get(label);
  }

  labelOf(id: number): string {
    const label = this.labels[id];
    if (label === undefined) throw new RangeError(`class id ${id} is outside 0..${this.labels.length - 1}`);
    return label;
  }

  toJSON(): LabelMapJson {
    return { labels: [...this.labels] };
  }
}

/** The text task of an experiment; a plain Error for span tasks or missing columns (the validator reports those first). */
export function textTaskOf(experiment: Pick<Experiment, 'task'>): TextTask {
  const { kind, text, label } = experiment.task;
  if (kind === 'span') throw new Error('span tasks read SQuAD data (engine/data/squad.ts), not text columns');
  if (kind === 'mlm') throw new Error('masked-LM tasks read running text (engine/data/text.ts), not labelled rows');
  if (text.length < 1 || text.length > 2) throw new Error(`task.text needs one column, or two for pairs (found ${text.length})`);
  if (label === undefined) throw new Error('task.label is required');
  return { kind, text, label };
}

/**
 * Examples of one file. Classification: without `labelMap` the map is built from this file
 * (the training file); with one, every label must be in it (validation data).
 */
export function loadTextExamples(file: string, task: TextTask, labelMap?: LabelMap): TaskData {
  return examplesFromTable(readTable(file, { columns: [...task.text, task.label] }), task, labelMap);
}

/** The training examples (and their label map) and, when the experiment has them, the validation examples. */
export function loadExperimentData(experiment: Pick<Experiment, 'task'>): { readonly train: TaskData; readonly validation: TaskData | undefined } {
  const task = textTaskOf(experiment);
  const train = loadTextExamples(experiment.task.train, task);
  const validation = experiment.task.validation === undefined ? undefined : loadTextExamples(experiment.task.validation, task, train.labelMap);
  return { train, validation };
}

/** Examples from a table that holds the task's columns. */
export function examplesFromTable(table: Table, task: TextTask, labelMap?: LabelMap): TaskData {
  const col = (name: string): number => {
    const i = table.columns.indexOf(name);
    if (i < 0) throw new DataError(table.file, undefined, `missing column "${name}" (columns: ${table.columns.join(', ')})`);
    return i;
  };
  const a = col(task.text[0]!);
  const b = task.text.length > 1 ? col(task.text[1]!) : undefined;
  const l = col(task.label);
  const text = (cell: Cell, line: number, column: string): string => {
    if (cell === null) throw new DataError(table.file, line, `column "${column}" is null; expected text`);
    return typeof cell === 'string' ? cell : String(cell);
  };

  if (task.kind === 'regression') {
    const examples = table.rows.map((row, index): TextExample => ({
      index,
      line: row.line,
      textA: text(row.cells[a]!, row.line, task.text[0]!),
      ...(b !== undefined ? { textB: text(row.cells[b]!, row.line, task.text[1]!) } : {}),
      label: numericLabel(row.cells[l]!, table.file, row.line, task.label),
    }));
    return { kind: 'regression', file: table.file, examples, labelMap: undefined };
  }

  const labels = table.rows.map((row) => classLabel(row.cells[l]!, table.file, row.line, task.label));
  const map = labelMap ?? LabelMap.fromLabels(labels);
  const examples = table.rows.map((row, index): TextExample => {
    const id = map.idOf(labels[index]!);
    if (id === undefined) {
      throw new DataError(table.file, row.line, `label "${labels[index]}" does not occur in the training data (its labels: ${map.labels.join(', ')})`);
    }
    return {
      index,
      line: row.line,
      textA: text(row.cells[a]!, row.line, task.text[0]!),
      ...(b !== undefined ? { textB: text(row.cells[b]!, row.line, task.text[1]!) } : {}),
      label: id,
    };
  });
  return { kind: 'classification', file: table.file, examples, labelMap: map };
}

/** A class label as text: JSON numbers and booleans as JavaScript prints them (1.0 → "1"), text trimmed (as the validator reads labels). */
function classLabel(cell: Cell, file: string, line: number, column: string): string {
  if (cell === null) throw new DataError(file, line, `the label ("${column}") is null`);
  const label = typeof cell === 'string' ? cell.trim() : String(cell);
  if (label === '') throw new DataError(file, line, `the label ("${column}") is empty`);
  return label;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A regression target: a JSON number or a decimal literal; NaN, infinities, hex and empty cells are errors. */
function numericLabel(cell: Cell, file: string, line: number, column: string): number {
  if (typeof cell === 'number') {
    if (Number.isFinite(cell)) return cell;
  } else if (typeof cell === 'string') {
    const s = cell.trim();
    if (DECIMAL.test(s)) {
      const v = Number(s);
      if (Number.isFinite(v)) return v;
    }
  }
  throw new DataError(file, line, `the regression label ("${column}") must be a number, found ${JSON.stringify(cell)}`);
}

function compareIntegers(a: string, b: string): number {
  const d = BigInt(a) - BigInt(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** Code-point order (Python's str order), not UTF-16 unit order. */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}
