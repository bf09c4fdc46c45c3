/**
 * The experiment file as a small located tree.
 *
 * The `yaml` package's document model is rich (tags, comments, anchors); the rules need
 * less: maps, sequences and scalars, each with the exact source range to report on.
 * Aliases are resolved (a value used through `*anchor` is located where it is used) and
 * merge keys (`<<: *base`) are expanded (merged entries keep their own source location,
 * which is where a user would fix them). Explicit keys override merged ones.
 */
import {
  Alias,
  Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node as YamlNode,
  Scalar,
} from 'yaml';
import type { TextRange } from './findings';

export type ScalarValue = string | number | boolean | null;

interface NodeBase {
  /** Source range of the value itself (for a block collection: its whole extent). */
  readonly range: TextRange;
}
export interface ScalarNode extends NodeBase {
  readonly kind: 'scalar';
  readonly value: ScalarValue;
  /** True when written in quotes: `'3'` is a string even though it looks like a number. */
  readonly quoted: boolean;
}
export interface SeqNode extends NodeBase {
  readonly kind: 'seq';
  readonly items: readonly TreeNode[];
  readonly flow: boolean;
}
export interface MapEntry {
  readonly key: string;
  readonly keyRange: TextRange;
  readonly value: TreeNode;
  /** True when the entry came in through a merge key. */
  readonly merged: boolean;
}
export interface MapNode extends NodeBase {
  readonly kind: 'map';
  readonly entries: readonly MapEntry[];
  readonly flow: boolean;
}
export type TreeNode = ScalarNode | SeqNode | MapNode;

export interface SyntaxProblem {
  readonly message: string;
  readonly range: TextRange;
  readonly severity: 'error' | 'warning';
}

export interface ExperimentTree {
  readonly text: string;
  /** The document root; undefined for an empty document. */
  readonly root: TreeNode | undefined;
  readonly syntax: readonly SyntaxProblem[];
  readonly lineCounter: LineCounter;
}

/** Aliases nest at most this deep: guards against self-reference. */
const MAX_ALIAS_DEPTH = 32;
/** Nodes built through aliases at most: guards against "billion laughs" expansion. */
const MAX_ALIAS_NODES = 100_000;

export function parseExperimentText(text: string): ExperimentTree {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    merge: true,
    keepSourceTokens: true,
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const syntax: SyntaxProblem[] = [];
  for (const e of doc.errors) syntax.push({ message: cleanMessage(e.message), range: widen(clampRange(e.pos, text), text), severity: 'error' });
  for (const w of doc.warnings) syntax.push({ message: cleanMessage(w.message), range: widen(clampRange(w.pos, text), text), severity: 'warning' });
  const builder = new TreeBuilder(doc, text, syntax);
  const root = doc.contents ? builder.build(doc.contents as YamlNode, undefined, 0) : undefined;
  return { text, root, syntax, lineCounter };
}

function cleanMessage(message: string): string {
  return message.replace(/; please use YAML\.parseAllDocuments\(\)/, ': an experiment file holds one document');
}

/**
 * The parser points at one character; a key or word is easier to see. Zero-width ranges
 * at the end of the text cover the last character instead.
 */
function widen(range: TextRange, text: string): TextRange {
  let { start, end } = range;
  if (start === end && start === text.length && start > 0) start = end - 1;
  if (end - start <= 1 && start < text.length && !/\s/.test(text[start]!)) {
    end = start + 1;
    while (end < text.length && /[^\s:,\[\]{}#]/.test(text[end]!)) end++;
  }
  return { start, end };
}

function clampRange(pos: readonly [number, number], text: string): TextRange {
  const start = Math.max(0, Math.min(pos[0], text.length));
  const end = Math.max(start, Math.min(pos[1], text.length));
  return { start, end };
}

class TreeBuilder {
  private aliasNodes = 0;
  private reportedBomb = false;

  constructor(
    private readonly doc: Document,
    private readonly text: string,
    private readonly syntax: SyntaxProblem[],
  ) {}

  /** `usedAt` is the alias range when the node is reached through an alias. */
  build(node: YamlNode | null | undefined, usedAt: TextRange | undefined, depth: number): TreeNode {
    if (node === null || node === undefined) return { kind: 'scalar', value: null, quoted: false, range: usedAt ?? { start: 0, end: 0 } };
    const range = usedAt ?? rangeOf(node, this.text);
    if ((usedAt || depth > 0) && ++this.aliasNodes > MAX_ALIAS_NODES) {
      if (!this.reportedBomb) this.syntax.push({ message: "Aliases expand to too many values", range, severity: "error" });
      this.reportedBomb = true;
      return { kind: 'scalar', value: null, quoted: false, range };
    }
    if (isAlias(node)) {
      const target = depth < MAX_ALIAS_DEPTH ? this.resolve(node) : undefined;
      if (!target) return { kind: 'scalar', value: null, quoted: false, range };
      return this.build(target, usedAt ?? range, depth + 1);
    }
    if (isScalar(node)) return { kind: 'scalar', value: scalarValue(node), quoted: isQuoted(node), range };
    if (isSeq(node)) {
      const items = node.items.map((item) => this.build(item as YamlNode, undefined, depth));
      return { kind: 'seq', items, flow: Boolean(node.flow), range };
    }
    if (isMap(node)) {
      const explicit: MapEntry[] = [];
      const merged: MapEntry[] = [];
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = pair.key as YamlNode | null;
        if (isMergeKey(key)) {
          merged.push(...this.mergeSources(pair.value as YamlNode | null, depth));
          continue;
        }
        if (!isScalar(key)) {
          if (key) this.syntax.push({ message: 'Keys must be plain names', range: rangeOf(key, this.text), severity: 'error' });
          continue;
        }
        const keyRange = rangeOf(key, this.text);
        const value = pair.value
          ? this.build(pair.value as YamlNode, undefined, depth)
          : ({ kind: 'scalar', value: null, quoted: false, range: { start: keyRange.end, end: keyRange.end } } as const);
        explicit.push({ key: String(key.value), keyRange, value, merged: false });
      }
      const seen = new Set(explicit.map((e) => e.key));
      const entries = [...explicit];
      for (const m of merged) {
        if (seen.has(m.key)) continue;
        seen.add(m.key);
        entries.push(m);
      }
      return { kind: 'map', entries, flow: Boolean(node.flow), range };
    }
    return { kind: 'scalar', value: null, quoted: false, range };
  }

  private resolve(alias: Alias): YamlNode | undefined {
    try {
      return alias.resolve(this.doc) as YamlNode | undefined;
    } catch {
      return undefined;
    }
  }

  /** Entries contributed by `<<: *a` or `<<: [*a, *b]` (earlier sources win). */
  private mergeSources(value: YamlNode | null, depth: number): MapEntry[] {
    if (!value) return [];
    const sources = isSeq(value) ? (value.items as YamlNode[]) : [value];
    const out: MapEntry[] = [];
    for (const source of sources) {
      const built = this.build(source, undefined, depth + 1);
      if (built.kind !== 'map') {
        this.syntax.push({ message: 'A merge key (<<) takes a mapping or a list of mappings', range: built.range, severity: 'error' });
        continue;
      }
      for (const entry of built.entries) out.push({ ...entry, merged: true });
    }
    return out;
  }
}

function isMergeKey(key: YamlNode | null): boolean {
  return isScalar(key) && ((key as Scalar).source === '<<' || key.value === '<<' || typeof key.value === 'symbol');
}

function isQuoted(node: Scalar): boolean {
  return node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
}

function scalarValue(node: Scalar): ScalarValue {
  const v = node.value;
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  return node.source ?? String(v);
}

function rangeOf(node: YamlNode, text: string): TextRange {
  const r = node.range;
  if (!r) return { start: 0, end: 0 };
  return clampRange([r[0], r[1]], text);
}

/** Finds the entry for `key` in a map node. */
export function entryOf(node: TreeNode | undefined, key: string): MapEntry | undefined {
  if (!node || node.kind !== 'map') return undefined;
  return node.entries.find((e) => e.key === key);
}

/** Follows a path of keys from the root. */
export function nodeAt(root: TreeNode | undefined, path: readonly string[]): TreeNode | undefined {
  let node = root;
  for (const key of path) node = entryOf(node, key)?.value;
  return node;
}

/** The innermost located thing at a text offset: the key or value of an entry, with its path. */
export interface TreeHit {
  readonly path: readonly string[];
  readonly on: 'key' | 'value';
  readonly range: TextRange;
  readonly node?: TreeNode;
}

export function hitAt(root: TreeNode | undefined, offset: number): TreeHit | undefined {
  let best: TreeHit | undefined;
  const visit = (node: TreeNode, path: string[]): void => {
    if (node.kind === 'map') {
      for (const entry of node.entries) {
        if (entry.merged) continue;
        if (within(entry.keyRange, offset)) best = { path: [...path, entry.key], on: 'key', range: entry.keyRange, node: entry.value };
        if (within(entry.value.range, offset)) {
          best = { path: [...path, entry.key], on: 'value', range: entry.value.range, node: entry.value };
          visit(entry.value, [...path, entry.key]);
        }
      }
    } else if (node.kind === 'seq') {
      node.items.forEach((item, i) => {
        if (within(item.range, offset)) {
          best = { path: [...path, String(i)], on: 'value', range: item.range, node: item };
          visit(item, [...path, String(i)]);
        }
      });
    }
  };
  if (root) visit(root, []);
  return best;
}

function within(range: TextRange, offset: number): boolean {
  return offset >= range.start && offset <= range.end;
}
