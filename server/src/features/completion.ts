/**
 * Completion: keys valid at the cursor, enum values, file and folder paths, data columns,
 * sweep grid paths, layer ranges sized to the model and the experiments a fusion can name.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CompletionItemKind, InsertTextFormat, type CompletionItem, type Position } from 'vscode-languageserver';
import { describeSpec, EXPERIMENT_SCHEMA, gridPaths, specAt, specForLocation, type Spec } from '../../../engine/config';
import { completedExperimentNames } from '../../../engine/config/fusionRefs';
import { BUILTIN_MODELS, BUILTIN_PREFIX, describeBuiltin } from '../../../engine/model/dims';
import type { DocumentState } from '../documentState';
import { cursorContext } from './cursorContext';

/** Directory listings are cut at this many entries. */
const MAX_PATH_ITEMS = 200;

export function completion(state: DocumentState, position: Position): CompletionItem[] {
  const { document, text } = state;
  const offset = document.offsetAt(position);
  const ctx = cursorContext(text, offset);
  if (ctx.kind === 'none') return [];
  const replace = (start: number) => ({ start: document.positionAt(start), end: position });
  if (ctx.kind === 'key') {
    const items = ctx.path.length === 2 && ctx.path[0] === 'sweep' && ctx.path[1] === 'grid' ? gridKeyItems(ctx.siblings) : keyItems(ctx.path, ctx.siblings, ctx.indent);
    return items.map((item) => ({ ...item, textEdit: { range: replace(ctx.prefixStart), newText: item.insertText ?? item.label } }));
  }
  const located = specForLocation(ctx.path);
  if (!located) return [];
  const items = valueItems(state, located.spec, located.dotted, ctx.prefix, ctx.inList);
  return items.map((item) => ({ ...item, textEdit: { range: replace(ctx.prefixStart), newText: item.insertText ?? item.label } }));
}

function keyItems(sectionPath: readonly string[], siblings: ReadonlySet<string>, indent: number): CompletionItem[] {
  const section = sectionPath.length === 0 ? EXPERIMENT_SCHEMA : specAt(sectionPath);
  if (!section || section.type !== 'object') return [];
  const inner = ' '.repeat(indent + 2);
  return Object.entries(section.fields)
    .filter(([key]) => !siblings.has(key))
    .map(([key, spec], i) => {
      const opens = spec.type === 'object' || spec.type === 'grid';
      return {
        label: key,
        kind: opens ? CompletionItemKind.Module : CompletionItemKind.Property,
        detail: spec.type === 'object' ? 'section' : describeSpec(spec),
        documentation: { kind: 'markdown', value: spec.doc + (spec.paper ? `\n\n*Paper:* ${spec.paper}` : '') },
        insertText: opens ? `${key}:\n${inner}$0` : `${key}: $0`,
        insertTextFormat: InsertTextFormat.Snippet,
        sortText: `${spec.required ? 0 : 1}${String(i).padStart(3, '0')}`,
        command: opens ? undefined : { title: 'Suggest', command: 'editor.action.triggerSuggest' },
      } satisfies CompletionItem;
    });
}

function gridKeyItems(siblings: ReadonlySet<string>): CompletionItem[] {
  return gridPaths()
    .filter((p) => !siblings.has(p))
    .map((p) => {
      const spec = specAt(p.split('.'))!;
      return {
        label: p,
        kind: CompletionItemKind.Field,
        detail: `sweep ${describeSpec(spec)}`,
        documentation: { kind: 'markdown', value: spec.doc },
        insertText: `${p}: [$0]`,
        insertTextFormat: InsertTextFormat.Snippet,
      } satisfies CompletionItem;
    });
}

function valueItems(state: DocumentState, spec: Spec, dotted: string, prefix: string, inList: boolean): CompletionItem[] {
  const enumItems = (values: readonly string[], docs?: Readonly<Record<string, string>>): CompletionItem[] =>
    values.map((v) => ({ label: v, kind: CompletionItemKind.EnumMember, documentation: docs?.[v] }));
  switch (spec.type) {
    case 'enum':
    case 'enumList':
      return enumItems(spec.values, spec.valueDocs);
    case 'boolean':
      return enumItems(['true', 'false']);
    case 'layers':
      return layerItems(state, spec.keywords, dotted === 'drop.layers');
    case 'spans':
      return inList ? layerItems(state, [], false) : [{ label: 'contiguous', kind: CompletionItemKind.EnumMember, documentation: spec.doc }];
    case 'path':
      return pathItems(state, prefix, spec.target);
    case 'columns':
      return columnItems(state);
    case 'string':
      return dotted === 'task.label' ? columnItems(state) : [];
    case 'number':
      return numberItems(dotted, spec);
    case 'seeds':
      return [{ label: '5', kind: CompletionItemKind.Value, detail: 'five seeds, as Houlsby et al. re-run' }];
    case 'stringList':
      return dotted === 'fusion.adapters' ? fusedAdapterItems(state) : [];
    default:
      return [];
  }
}

/** Paper values for the settings the papers sweep; defaults for the rest. */
const NUMBER_SUGGESTIONS: Readonly<Record<string, readonly string[]>> = {
  'adapter.size': ['8', '64', '256', '2', '16', '32'],
  'training.learning_rate': ['3.0e-5', '3.0e-4', '3.0e-3', '1.0e-4', '1.0e-3'],
  'training.epochs': ['3', '20', '10', '50'],
  top_k: ['1', '2', '3', '5', '7', '9', '11', '12'],
  'adapter.init_std': ['1.0e-2', '1.0e-3'],
  'adapter.scaling': ['1.0', '4.0'],
  'adapter.depth': ['1', '2'],
};

function numberItems(dotted: string, spec: Spec): CompletionItem[] {
  const values = NUMBER_SUGGESTIONS[dotted] ?? (spec.default !== undefined ? [String(spec.default)] : []);
  const items: CompletionItem[] = values.map((v, i) => ({ label: v, kind: CompletionItemKind.Value, sortText: String(i).padStart(3, '0'), detail: spec.paper ? 'paper value' : 'default' }));
  if (spec.type === 'number') for (const k of spec.keywords ?? []) items.push({ label: k, kind: CompletionItemKind.EnumMember, sortText: `1${k}`, documentation: spec.keywordDocs?.[k] });
  return items;
}

function layerItems(state: DocumentState, keywords: readonly string[], lower: boolean): CompletionItem[] {
  const model = state.validation.model;
  const L = model?.ok ? model.dims.layers : 12;
  const items: CompletionItem[] = keywords.map((k) => ({ label: k, kind: CompletionItemKind.EnumMember }));
  items.push({ label: `0..${L - 1}`, kind: CompletionItemKind.Value, detail: `all ${L} layers` });
  if (lower) {
    for (const n of [Math.min(5, L - 1), Math.floor(L / 2)].filter((n, i, a) => n >= 1 && a.indexOf(n) === i)) {
      items.push({ label: `0..${n - 1}`, kind: CompletionItemKind.Value, detail: `the lowest ${n} layers (AdapterDrop)` });
    }
  } else if (L > 1) {
    items.push({ label: `${Math.floor(L / 2)}..${L - 1}`, kind: CompletionItemKind.Value, detail: 'the upper half' });
  }
  return items;
}

/** Experiments with a completed run in the runs folder validation uses: what `fusion.adapters` can name. */
function fusedAdapterItems(state: DocumentState): CompletionItem[] {
  if (!state.filePath || state.runsDir === undefined) return [];
  return completedExperimentNames(state.runsDir).map((name) => ({ label: name, kind: CompletionItemKind.Reference, detail: 'its latest completed run' }));
}

function columnItems(state: DocumentState): CompletionItem[] {
  const experiment = state.validation.experiment;
  if (!experiment || !state.filePath) return [];
  const info = state.files.dataFile(experiment.task.train);
  if (!info.ok || !info.columns) return [];
  return info.columns.map((c) => ({ label: c, kind: CompletionItemKind.Field, detail: 'column of the train file' }));
}

function pathItems(state: DocumentState, prefix: string, target: 'model' | 'data'): CompletionItem[] {
  const items: CompletionItem[] = [];
  if (target === 'model' && (BUILTIN_PREFIX.startsWith(prefix) || prefix.startsWith(BUILTIN_PREFIX))) {
    for (const name of Object.keys(BUILTIN_MODELS)) {
      items.push({ label: BUILTIN_PREFIX + name, kind: CompletionItemKind.Module, detail: `built-in: ${describeBuiltin(name)}` });
    }
  }
  if (!state.filePath) return items;
  const base = path.dirname(state.filePath);
  const slash = prefix.lastIndexOf('/');
  const dirPart = slash >= 0 ? prefix.slice(0, slash + 1) : '';
  const dir = path.resolve(base, dirPart || '.');
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return items;
  }
  const shown = dirPart || './';
  for (const e of entries.slice(0, MAX_PATH_ITEMS)) {
    if (e.name.startsWith('.') && !prefix.slice(dirPart.length).startsWith('.')) continue;
    const isDir = e.isDirectory();
    if (!isDir && (target === 'model' || !/\.(tsv|csv|jsonl|json)$/i.test(e.name))) continue;
    items.push({
      label: shown + e.name + (isDir ? '/' : ''),
      kind: isDir ? CompletionItemKind.Folder : CompletionItemKind.File,
      command: isDir ? { title: 'Suggest', command: 'editor.action.triggerSuggest' } : undefined,
    });
  }
  return items;
}
