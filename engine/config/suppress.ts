/**
 * Suppression comments: `# adapter-lab-disable-next-line not-bottleneck, drop-not-lowest`
 * silences the named findings on the next line. Errors cannot be silenced: the engine
 * refuses to run a file with errors, and a silenced error would only hide why.
 */
import { FINDING_CODES, finding, isFindingCode, type Finding, type FindingCode } from './findings';
import { closest } from './suggest';

export const SUPPRESSION_DIRECTIVE = 'adapter-lab-disable-next-line';
const COMMENT = new RegExp(`(^|\\s)#\\s*${SUPPRESSION_DIRECTIVE}\\b([^\\n]*)`);

interface Suppression {
  readonly line: number;
  readonly codes: ReadonlySet<FindingCode>;
}

export function applySuppressions(text: string, findings: readonly Finding[]): Finding[] {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const suppressions: Suppression[] = [];
  const problems: Finding[] = [];
  lineStarts.forEach((start, line) => {
    const end = line + 1 < lineStarts.length ? lineStarts[line + 1]! - 1 : text.length;
    const m = COMMENT.exec(text.slice(start, end));
    if (!m) return;
    const commentStart = start + m.index + m[1]!.length;
    const range = { start: commentStart, end };
    const names = m[2]!.split(/[\s,]+/).filter(Boolean);
    if (names.length === 0) {
      problems.push(finding('bad-suppression', `Name the finding to silence, such as \`# ${SUPPRESSION_DIRECTIVE} not-bottleneck\``, range));
      return;
    }
    const codes = new Set<FindingCode>();
    for (const name of names) {
      if (!isFindingCode(name)) {
        const suggestion = closest(name, Object.keys(FINDING_CODES));
        problems.push(finding('bad-suppression', `Unknown finding "${name}"${suggestion ? `; did you mean "${suggestion}"?` : ''}`, range));
      } else if (FINDING_CODES[name].severity === 'error') {
        problems.push(finding('bad-suppression', `"${name}" is an error and cannot be silenced: fix it instead`, range));
      } else codes.add(name);
    }
    suppressions.push({ line: line + 1, codes });
  });
  if (suppressions.length === 0) return [...findings, ...problems];
  const kept = findings.filter((f) => {
    if (f.severity === 'error') return true;
    const line = lineOf(f.range.start);
    return !suppressions.some((s) => s.line === line && s.codes.has(f.code));
  });
  return [...kept, ...problems];
}
