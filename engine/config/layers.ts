/**
 * Layer selections: `all`, `none`, a layer index, a range `a..b` (both ends included),
 * or a list mixing indices and ranges.
 */
import type { TextRange } from './findings';
import type { TreeNode } from './tree';

export type LayerSelection =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | { readonly kind: 'layers'; readonly parts: readonly LayerPart[] };

/** One index or range as written, with its location (a single index has from === to). */
export interface LayerPart {
  readonly from: number;
  readonly to: number;
  readonly range: TextRange;
  /** How it was written: `3` or `0..4`. */
  readonly text: string;
}

export type LayerParse =
  | { readonly ok: true; readonly selection: LayerSelection }
  | { readonly ok: false; readonly problems: readonly { readonly message: string; readonly range: TextRange }[] };

const RANGE = /^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$/;

export function parseLayerSelection(node: TreeNode, keywords: readonly string[]): LayerParse {
  if (node.kind === 'scalar') {
    if (typeof node.value === 'string' && keywords.includes(node.value)) {
      return { ok: true, selection: { kind: node.value as 'all' | 'none' } };
    }
    const part = parsePart(node);
    return part.ok ? { ok: true, selection: { kind: 'layers', parts: [part.part] } } : { ok: false, problems: [part.problem] };
  }
  if (node.kind === 'seq') {
    const parts: LayerPart[] = [];
    const problems: { message: string; range: TextRange }[] = [];
    for (const item of node.items) {
      const p = item.kind === 'scalar' ? parsePart(item) : { ok: false as const, problem: { message: 'Expected a layer index or a range a..b', range: item.range } };
      if (p.ok) parts.push(p.part);
      else problems.push(p.problem);
    }
    if (node.items.length === 0) problems.push({ message: 'An empty list selects no layers', range: node.range });
    return problems.length > 0 ? { ok: false, problems } : { ok: true, selection: { kind: 'layers', parts } };
  }
  return { ok: false, problems: [{ message: describeExpected(keywords), range: node.range }] };
}

function describeExpected(keywords: readonly string[]): string {
  return `Expected ${[...keywords.map((k) => `\`${k}\``), 'a layer index', 'a range a..b', 'or a list of them'].join(', ')}`;
}

type PartParse = { ok: true; part: LayerPart } | { ok: false; problem: { message: string; range: TextRange } };

function parsePart(node: TreeNode & { kind: 'scalar' }): PartParse {
  const { value, range } = node;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) return { ok: false, problem: { message: `Layer ${value} is not a layer index (an integer >= 0)`, range } };
    return { ok: true, part: { from: value, to: value, range, text: String(value) } };
  }
  if (typeof value === 'string') {
    const m = RANGE.exec(value);
    if (m) {
      const from = Number(m[1]);
      const to = Number(m[2]);
      if (from < 0 || to < 0) return { ok: false, problem: { message: `Range ${value} has a negative layer`, range } };
      if (from > to) return { ok: false, problem: { message: `Range ${value} is empty: it must be a..b with a <= b (both ends included)`, range } };
      return { ok: true, part: { from, to, range, text: value } };
    }
    if (/^\s*\d+\s*$/.test(value)) {
      const n = Number(value);
      return { ok: true, part: { from: n, to: n, range, text: value.trim() } };
    }
    if (value.includes('..') || value.includes('-')) {
      return { ok: false, problem: { message: `"${value}" is not a range: write a..b, such as 0..4 (both ends included)`, range } };
    }
  }
  return { ok: false, problem: { message: `"${String(value)}" is not a layer index or a range a..b`, range } };
}

/** The sorted, distinct layer indices of a selection for a model with `layerCount` layers. */
export function layersOf(selection: LayerSelection, layerCount: number): number[] {
  if (selection.kind === 'all') return Array.from({ length: layerCount }, (_, i) => i);
  if (selection.kind === 'none') return [];
  const set = new Set<number>();
  for (const p of selection.parts) for (let i = p.from; i <= p.to && i < layerCount; i++) set.add(i);
  return [...set].sort((a, b) => a - b);
}

/** Formats a set of layers compactly: `0..4, 7, 9..11`. */
export function formatLayers(layers: readonly number[]): string {
  const sorted = [...new Set(layers)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? String(sorted[i]) : `${sorted[i]}..${sorted[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}
