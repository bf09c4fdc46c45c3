/**
 * The key reference and the list of findings in docs/config.md, generated from the schema
 * so that the documentation cannot drift from what the validator accepts.
 */
import { FINDING_CODES } from './findings';
import { describeSpec, EXPERIMENT_SCHEMA, type ObjectSpec, type Spec } from './schema';

export const REFERENCE_START = '<!-- generated:reference:start (npm run build regenerates this section) -->';
export const REFERENCE_END = '<!-- generated:reference:end -->';

export function keyReferenceMarkdown(): string {
  const lines: string[] = [];
  const rows = (spec: ObjectSpec, prefix: string[]): void => {
    for (const [key, child] of Object.entries(spec.fields)) {
      const p = [...prefix, key];
      lines.push(row(p.join('.'), child));
      if (child.type === 'object') rows(child, p);
    }
  };
  lines.push('| key | accepts | default | meaning |', '| --- | --- | --- | --- |');
  rows(EXPERIMENT_SCHEMA, []);
  lines.push('', '### Findings', '', 'Each finding has a code, shown in brackets by `adapter-lab validate` and in the editor. Warnings and information can be silenced on the next line with `# adapter-lab-disable-next-line <code>`; errors cannot.', '', '| code | severity | meaning |', '| --- | --- | --- |');
  for (const [code, { severity, doc }] of Object.entries(FINDING_CODES)) lines.push(`| \`${code}\` | ${severity} | ${escape(doc)} |`);
  return lines.join('\n');
}

function row(path: string, spec: Spec): string {
  const accepts = spec.type === 'object' ? 'section' : describeSpec(spec);
  const required = spec.required ? ' **(required)**' : '';
  const def = spec.default === undefined ? '' : `\`${String(spec.default)}\``;
  let meaning = spec.doc;
  if ((spec.type === 'enum' || spec.type === 'enumList') && spec.valueDocs) {
    meaning += ' ' + Object.entries(spec.valueDocs).map(([v, d]) => `\`${v}\`: ${d}`).join(' ');
  }
  if (spec.type === 'number' && spec.keywordDocs) meaning += ' ' + Object.entries(spec.keywordDocs).map(([v, d]) => `\`${v}\`: ${d}`).join(' ');
  if (spec.paper) meaning += ` *Paper:* ${spec.paper}`;
  return `| \`${path}\`${required} | ${escape(accepts)} | ${def} | ${escape(meaning)} |`;
}

function escape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Replaces the generated section of a markdown document. */
export function withReference(markdown: string): string {
  const start = markdown.indexOf(REFERENCE_START);
  const end = markdown.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error('docs/config.md lacks the generated reference markers');
  return markdown.slice(0, start + REFERENCE_START.length) + '\n\n' + keyReferenceMarkdown() + '\n\n' + markdown.slice(end);
}
