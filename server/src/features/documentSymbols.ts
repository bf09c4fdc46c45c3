/** The outline: sections and keys as a tree of symbols. */
import { SymbolKind, type DocumentSymbol } from 'vscode-languageserver';
import type { MapNode, TreeNode } from '../../../engine/config';
import type { DocumentState } from '../documentState';

export function documentSymbols(state: DocumentState): DocumentSymbol[] {
  const root = state.validation.tree.root;
  return root?.kind === 'map' ? symbolsOf(root, state) : [];
}

function symbolsOf(map: MapNode, state: DocumentState): DocumentSymbol[] {
  const { document, text } = state;
  const out: DocumentSymbol[] = [];
  for (const entry of map.entries) {
    if (entry.merged) continue;
    let end = Math.max(entry.keyRange.end, entry.value.range.end);
    // Block collections end after their last line break; the symbol ends with the last value.
    while (end > entry.keyRange.end && /\s/.test(text[end - 1]!)) end--;
    const symbol: DocumentSymbol = {
      name: entry.key,
      kind: kindOf(entry.value),
      range: { start: document.positionAt(entry.keyRange.start), end: document.positionAt(end) },
      selectionRange: { start: document.positionAt(entry.keyRange.start), end: document.positionAt(entry.keyRange.end) },
    };
    if (entry.value.kind === 'scalar' && entry.value.value !== null) symbol.detail = text.slice(entry.value.range.start, entry.value.range.end);
    if (entry.value.kind === 'map') symbol.children = symbolsOf(entry.value, state);
    out.push(symbol);
  }
  return out;
}

function kindOf(node: TreeNode): SymbolKind {
  if (node.kind === 'map') return SymbolKind.Namespace;
  if (node.kind === 'seq') return SymbolKind.Array;
  if (typeof node.value === 'number') return SymbolKind.Number;
  if (typeof node.value === 'boolean') return SymbolKind.Boolean;
  return SymbolKind.String;
}
