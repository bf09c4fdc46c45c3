/** Findings as LSP diagnostics. */
import { DiagnosticSeverity, DiagnosticTag, type Diagnostic } from 'vscode-languageserver';
import type { Severity } from '../../../engine/config';
import type { DocumentState } from '../documentState';

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function diagnostics(state: DocumentState): Diagnostic[] {
  const { document } = state;
  return state.validation.findings.map((f) => {
    const d: Diagnostic = {
      range: { start: document.positionAt(f.range.start), end: document.positionAt(f.range.end) },
      severity: SEVERITY[f.severity],
      code: f.code,
      source: 'adapter-lab',
      message: f.message,
    };
    if (f.code === 'irrelevant-key') d.tags = [DiagnosticTag.Unnecessary];
    return d;
  });
}
