/**
 * Pass one: every node against its spec in `schema.ts` — types, enums, integers, bounds,
 * unknown and missing keys, grid axes. Each finding sits on the node that is wrong.
 */
import { finding, type Finding, type Fix, type TextRange } from './findings';
import { parseLayerSelection } from './layers';
import {
  describeSpec,
  EXPERIMENT_SCHEMA,
  EXTENSION_KEY_PREFIX,
  FORMATS,
  gridPaths,
  matchesFormat,
  specAt,
  splitPath,
  type EnumListSpec,
  type EnumSpec,
  type NumberSpec,
  type ObjectSpec,
  type Spec,
} from './schema';
import { closest } from './suggest';
import type { MapNode, ScalarNode, TreeNode } from './tree';

export function checkSchema(root: TreeNode | undefined, text: string): Finding[] {
  const out: Finding[] = [];
  if (!root || (root.kind === 'scalar' && root.value === null)) {
    out.push(finding('missing-key', 'An experiment needs at least `name`, `model` and `task`', { start: 0, end: Math.min(text.length, firstLineEnd(text)) }));
    return out;
  }
  checkNode(EXPERIMENT_SCHEMA, root, [], out, text, undefined);
  return out;
}

function firstLineEnd(text: string): number {
  const i = text.indexOf('\n');
  return i < 0 ? text.length : i;
}

/** `where` locates findings about the node as a whole (its key, for block collections). */
export function checkNode(spec: Spec, node: TreeNode, path: readonly string[], out: Finding[], text: string, where: TextRange | undefined): void {
  const at = where ?? node.range;
  const name = path.length > 0 ? `\`${path.join('.')}\`` : 'The experiment';
  switch (spec.type) {
    case 'object':
      return checkObject(spec, node, path, out, text, at);
    case 'enum':
      return checkEnum(spec, node, name, out);
    case 'enumList': {
      if (node.kind === 'scalar') return checkEnum(spec, node, name, out);
      if (node.kind !== 'seq') return void out.push(wrongType(name, spec, node, at));
      if (node.items.length === 0) return void out.push(finding('wrong-type', `${name} needs at least one of ${describeSpec({ ...spec, type: 'enum' })}`, node.range));
      for (const item of node.items) checkEnum(spec, item, name, out);
      return checkDuplicates(node.items, name, out);
    }
    case 'number':
      return checkNumber(spec, node, name, out, at);
    case 'string':
      if (node.kind !== 'scalar' || node.value === null || typeof node.value === 'boolean') out.push(wrongType(name, spec, node, at));
      return;
    case 'boolean':
      if (node.kind !== 'scalar' || typeof node.value !== 'boolean') out.push(wrongType(name, spec, node, at, node.kind === 'scalar' && typeof node.value === 'string' && /^(yes|no|on|off|True|False|TRUE|FALSE)$/.test(node.value) ? unquoteBoolFix(node) : undefined));
      return;
    case 'path':
      if (node.kind !== 'scalar' || typeof node.value !== 'string' || node.value.trim() === '') out.push(wrongType(name, spec, node, at));
      return;
    case 'layers': {
      const parsed = parseLayerSelection(node, spec.keywords);
      if (!parsed.ok) for (const p of parsed.problems) out.push(finding(p.message.startsWith('Range') || p.message.includes('not a range') ? 'bad-range' : 'wrong-type', `${name}: ${p.message}`, p.range));
      else if (parsed.selection.kind === 'layers') checkLayerDuplicates(parsed.selection.parts, name, out);
      return;
    }
    case 'columns': {
      if (node.kind === 'scalar' && typeof node.value === 'string' && node.value !== '') return;
      if (node.kind === 'seq' && node.items.length >= 1 && node.items.length <= spec.maxColumns) {
        for (const item of node.items) {
          if (item.kind !== 'scalar' || typeof item.value !== 'string' || item.value === '') out.push(finding('wrong-type', `${name}: expected a column name`, item.range));
        }
        return;
      }
      return void out.push(wrongType(name, spec, node, at));
    }
    case 'seeds': {
      if (node.kind === 'scalar' && typeof node.value === 'number') {
        if (!Number.isInteger(node.value)) out.push(finding('not-integer', `${name}: a seed count must be an integer, found ${node.value}`, node.range));
        else if (node.value < 1) out.push(finding('out-of-bounds', `${name}: a seed count must be >= 1, found ${node.value}`, node.range));
        return;
      }
      if (node.kind === 'seq' && node.items.length > 0) {
        for (const item of node.items) checkNumber({ type: 'number', integer: true, min: 0, doc: '' }, item, `${name} (a seed)`, out, item.range);
        return checkDuplicates(node.items, name, out);
      }
      return void out.push(wrongType(name, spec, node, at));
    }
    case 'spans': {
      if (node.kind === 'scalar' && node.value === 'contiguous') return;
      if (node.kind === 'seq' && node.items.length > 0) {
        for (const item of node.items) {
          const parsed = parseLayerSelection(item, []);
          if (!parsed.ok) for (const p of parsed.problems) out.push(finding('bad-range', `${name}: ${p.message}`, p.range));
        }
        return checkDuplicates(node.items, name, out);
      }
      if (node.kind === 'scalar' && typeof node.value === 'string') {
        const suggestion = closest(node.value, ['contiguous']);
        return void out.push(finding('not-in-enum', `${name} must be ${describeSpec(spec)}, found "${node.value}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`, node.range, suggestion ? [replaceFix(node.range, suggestion)] : undefined));
      }
      return void out.push(wrongType(name, spec, node, at));
    }
    case 'grid':
      return checkGrid(node, name, out, text, at);
    case 'stringList': {
      if (node.kind !== 'seq' || node.items.length === 0) return void out.push(wrongType(name, spec, node, at));
      for (const item of node.items) {
        if (item.kind !== 'scalar' || typeof item.value !== 'string' || item.value.trim() === '') out.push(finding('wrong-type', `${name}: expected a string, found ${describeNode(item)}`, item.range));
      }
      return checkDuplicates(node.items, name, out);
    }
    case 'formatted': {
      if (node.kind !== 'scalar' || node.value === null || typeof node.value === 'boolean') return void out.push(wrongType(name, spec, node, at));
      if (!matchesFormat(spec.format, node.value)) out.push(finding('bad-format', `${name} must be ${describeSpec(spec)}, found ${JSON.stringify(node.value)}`, node.range));
      return;
    }
  }
}

function checkObject(spec: ObjectSpec, node: TreeNode, path: readonly string[], out: Finding[], text: string, at: TextRange): void {
  // An empty section (`adapter:` with nothing under it) reads as an empty mapping.
  if (node.kind === 'scalar' && node.value === null) node = { kind: 'map', entries: [], flow: false, range: node.range };
  if (node.kind !== 'map') return void out.push(wrongType(path.length ? `\`${path.join('.')}\`` : 'The experiment', spec, node, at));
  const map: MapNode = node;
  const known = Object.keys(spec.fields);
  for (const entry of map.entries) {
    const child = spec.fields[entry.key];
    if (!child) {
      if (path.length === 0 && entry.key.startsWith(EXTENSION_KEY_PREFIX)) continue;
      const suggestion = closest(entry.key, known);
      const where = path.length ? ` in \`${path.join('.')}\`` : '';
      const message = `Unknown key "${entry.key}"${where}${suggestion ? `; did you mean "${suggestion}"?` : `; expected one of ${known.join(', ')}`}`;
      out.push(finding('unknown-key', message, entry.keyRange, suggestion && !entry.merged ? [replaceFix(entry.keyRange, suggestion)] : undefined));
      continue;
    }
    // A block collection is reported on its key; a scalar or flow value on itself.
    const valueIsBlock = (entry.value.kind === 'map' || entry.value.kind === 'seq') && !entry.value.flow;
    const isEmpty = entry.value.kind === 'scalar' && entry.value.value === null;
    checkNode(child, entry.value, [...path, entry.key], out, text, valueIsBlock || isEmpty ? entry.keyRange : undefined);
  }
  const present = new Set(map.entries.map((e) => e.key));
  for (const [key, child] of Object.entries(spec.fields)) {
    if (child.required && !present.has(key) && !(child.requiredUnless && present.has(child.requiredUnless))) {
      const where = path.length ? `\`${path.join('.')}\`` : 'The experiment';
      out.push(finding('missing-key', `${where} needs \`${key}\`: ${child.doc}`, path.length ? at : firstKeyRange(map, text)));
    }
  }
}

function firstKeyRange(map: MapNode, text: string): TextRange {
  const first = map.entries[0];
  return first ? first.keyRange : { start: 0, end: firstLineEnd(text) };
}

function checkEnum(spec: EnumSpec | EnumListSpec, node: TreeNode, name: string, out: Finding[]): void {
  if (node.kind === 'scalar' && typeof node.value === 'string' && spec.values.includes(node.value)) return;
  const shown = node.kind === 'scalar' ? JSON.stringify(node.value) : node.kind === 'seq' ? 'a list' : 'a mapping';
  const suggestion = node.kind === 'scalar' && node.value !== null ? closest(String(node.value), spec.values) : undefined;
  const allowed = spec.values.map((v) => `\`${v}\``).join(', ');
  out.push(
    finding(
      'not-in-enum',
      `${name} must be one of ${allowed}, found ${shown}${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
      node.range,
      suggestion ? [replaceFix(node.range, suggestion)] : undefined,
    ),
  );
}

function checkNumber(spec: NumberSpec, node: TreeNode, name: string, out: Finding[], at: TextRange): void {
  if (spec.keywords?.length && node.kind === 'scalar' && typeof node.value === 'string' && !(node.quoted && Number.isFinite(Number(node.value)) && node.value.trim() !== '')) {
    if (spec.keywords.includes(node.value)) return;
    const suggestion = closest(node.value, spec.keywords);
    return void out.push(finding('not-in-enum', `${name} must be ${describeSpec(spec)}, found "${node.value}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`, node.range, suggestion ? [replaceFix(node.range, suggestion)] : undefined));
  }
  if (node.kind !== 'scalar' || typeof node.value !== 'number') {
    const fix = node.kind === 'scalar' && node.quoted && typeof node.value === 'string' && Number.isFinite(Number(node.value)) && node.value.trim() !== '' ? [{ title: 'Remove the quotes', edits: [{ range: node.range, newText: node.value.trim() }], preferred: true }] : undefined;
    return void out.push(wrongType(name, spec, node, at, fix));
  }
  const v = node.value;
  if (!Number.isFinite(v)) return void out.push(finding('out-of-bounds', `${name} must be a finite number, found ${v}`, node.range));
  if (spec.integer && !Number.isInteger(v)) {
    const rounded = Math.round(v);
    return void out.push(finding('not-integer', `${name} must be an integer, found ${v}`, node.range, [replaceFix(node.range, String(rounded), `Round to ${rounded}`)]));
  }
  const bound = violatedBound(spec, v);
  if (bound) out.push(finding('out-of-bounds', `${name} must be ${bound}, found ${v}`, node.range));
}

function violatedBound(spec: NumberSpec, v: number): string | undefined {
  if (spec.min !== undefined && v < spec.min) return `>= ${spec.min}`;
  if (spec.exclusiveMin !== undefined && v <= spec.exclusiveMin) return `> ${spec.exclusiveMin}`;
  if (spec.max !== undefined && v > spec.max) return `<= ${spec.max}`;
  if (spec.exclusiveMax !== undefined && v >= spec.exclusiveMax) {
    return spec.min !== undefined ? `in [${spec.min}, ${spec.exclusiveMax})` : `< ${spec.exclusiveMax}`;
  }
  return undefined;
}

function checkGrid(node: TreeNode, name: string, out: Finding[], text: string, at: TextRange): void {
  if (node.kind === 'scalar' && node.value === null) return;
  if (node.kind !== 'map') return void out.push(finding('wrong-type', `${name} must be a mapping from dotted paths (such as adapter.size) to lists of values`, at));
  const paths = gridPaths();
  for (const entry of node.entries) {
    const spec = paths.includes(entry.key) ? specAt(splitPath(entry.key)) : undefined;
    if (!spec) {
      const suggestion = closest(entry.key, paths);
      const message = `"${entry.key}" is not a setting that can be swept${suggestion ? `; did you mean "${suggestion}"?` : '; grid keys are dotted paths such as adapter.size or training.learning_rate'}`;
      out.push(finding('unknown-grid-path', message, entry.keyRange, suggestion ? [replaceFix(entry.keyRange, suggestion)] : undefined));
      continue;
    }
    const values = entry.value;
    if (values.kind === 'scalar' && values.value === null) {
      out.push(finding('empty-grid-axis', `Grid axis "${entry.key}" has no values: give a list such as [${exampleValue(spec)}]`, entry.keyRange));
      continue;
    }
    if (values.kind !== 'seq') {
      out.push(finding('wrong-type', `Grid axis "${entry.key}" must be a list of values, such as [${exampleValue(spec)}]`, values.range, values.kind === 'scalar' ? [{ title: 'Make it a list', edits: [{ range: values.range, newText: `[${text.slice(values.range.start, values.range.end)}]` }] }] : undefined));
      continue;
    }
    if (values.items.length === 0) {
      out.push(finding('empty-grid-axis', `Grid axis "${entry.key}" has no values`, values.range));
      continue;
    }
    for (const item of values.items) checkNode(spec, item, splitPath(entry.key), out, text, undefined);
    checkDuplicates(values.items, `Grid axis "${entry.key}"`, out);
  }
}

function exampleValue(spec: Spec): string {
  switch (spec.type) {
    case 'enum':
    case 'enumList':
      return spec.values.slice(0, 2).join(', ');
    case 'number':
      return spec.integer ? '8, 64, 256' : '3.0e-5, 3.0e-4';
    case 'boolean':
      return 'true, false';
    case 'layers':
      return 'all, 0..5';
    case 'formatted':
      return FORMATS[spec.format].example;
    default:
      return '…';
  }
}

function checkDuplicates(items: readonly TreeNode[], name: string, out: Finding[]): void {
  const seen = new Set<string>();
  for (const item of items) {
    const key = JSON.stringify(plainOf(item));
    if (seen.has(key)) out.push(finding('duplicate-value', `${name} lists ${key} more than once`, item.range));
    seen.add(key);
  }
}

function checkLayerDuplicates(parts: readonly { from: number; to: number; range: TextRange; text: string }[], name: string, out: Finding[]): void {
  const seen = new Set<number>();
  for (const p of parts) {
    let overlaps = false;
    for (let i = p.from; i <= p.to; i++) {
      if (seen.has(i)) overlaps = true;
      seen.add(i);
    }
    if (overlaps) out.push(finding('duplicate-value', `${name}: ${p.text} repeats layers already listed`, p.range));
  }
}

function wrongType(name: string, spec: Spec, node: TreeNode, at: TextRange, fixes?: readonly Fix[]): Finding {
  return finding('wrong-type', `${name} must be ${describeSpec(spec)}, found ${describeNode(node)}`, node.kind === 'scalar' && node.value !== null ? node.range : at, fixes);
}

function describeNode(node: TreeNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  const v = node.value;
  if (v === null) return 'no value';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  if (typeof v === 'boolean') return `\`${v}\``;
  return String(v);
}

function unquoteBoolFix(node: ScalarNode): Fix[] {
  const v = String(node.value).toLowerCase();
  const b = v === 'yes' || v === 'on' || v === 'true' ? 'true' : 'false';
  return [replaceFix(node.range, b)];
}

export function replaceFix(range: TextRange, newText: string, title = `Change to "${newText}"`): Fix {
  return { title, edits: [{ range, newText }], preferred: true };
}

/** The plain JavaScript value of a node (for duplicates, grid values and the resolved config). */
export function plainOf(node: TreeNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(plainOf);
    case 'map': {
      const o: Record<string, unknown> = {};
      for (const e of node.entries) o[e.key] = plainOf(e.value);
      return o;
    }
  }
}
