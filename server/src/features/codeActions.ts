/** Quick fixes: the fixes findings carry (suggestions, clamping, rounding), and silencing a warning. */
import { CodeActionKind, type CodeAction, type Diagnostic, type Range } from 'vscode-languageserver';
import { FINDING_CODES, SUPPRESSION_DIRECTIVE, type Finding } from '../../../engine/config';
import type { DocumentState } from '../documentState';

export function codeActions(state: DocumentState, range: Range, diagnostics: readonly Diagnostic[]): CodeAction[] {
  const { document, validation } = state;
  const from = document.offsetAt(range.start);
  const to = document.offsetAt(range.end);
  const actions: CodeAction[] = [];
  for (const f of validation.findings) {
    if (f.range.end < from || f.range.start > to) continue;
    const diagnostic = diagnostics.find((d) => d.code === f.code && document.offsetAt(d.range.start) === f.range.start);
    for (const fix of f.fixes ?? []) {
      const action: CodeAction = {
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        edit: { changes: { [document.uri]: fix.edits.map((e) => ({ range: { start: document.positionAt(e.range.start), end: document.positionAt(e.range.end) }, newText: e.newText })) } },
      };
      if (fix.preferred) action.isPreferred = true;
      if (diagnostic) action.diagnostics = [diagnostic];
      actions.push(action);
    }
    if (FINDING_CODES[f.code].severity !== 'error' && f.severity !== 'error') actions.push(silence(state, f, diagnostic));
  }
  return actions;
}

function silence(state: DocumentState, f: Finding, diagnostic: Diagnostic | undefined): CodeAction {
  const { document, text } = state;
  const line = document.positionAt(f.range.start).line;
  const lineStart = document.offsetAt({ line, character: 0 });
  const indent = /^[ \t]*/.exec(text.slice(lineStart))![0];
  const action: CodeAction = {
    title: `Silence "${f.code}" on this line`,
    kind: CodeActionKind.QuickFix,
    edit: { changes: { [document.uri]: [{ range: { start: { line, character: 0 }, end: { line, character: 0 } }, newText: `${indent}# ${SUPPRESSION_DIRECTIVE} ${f.code}\n` }] } },
  };
  if (diagnostic) action.diagnostics = [diagnostic];
  return action;
}
