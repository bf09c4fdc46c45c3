/**
 * Where the cursor is, read from the text around it rather than from the parse tree: while
 * a user types, the file is usually not valid YAML, but its indentation still says which
 * section the cursor is in.
 */

export type CursorContext =
  | {
      readonly kind: 'key';
      /** Keys of the enclosing sections, outermost first. */
      readonly path: readonly string[];
      /** Keys already present in the same section. */
      readonly siblings: ReadonlySet<string>;
      /** The partial key typed so far, and where it starts. */
      readonly prefix: string;
      readonly prefixStart: number;
      readonly indent: number;
    }
  | {
      readonly kind: 'value';
      /** Full path of the key whose value is being typed. */
      readonly path: readonly string[];
      readonly prefix: string;
      readonly prefixStart: number;
      /** True inside a list (`[a, |` or a `- |` item). */
      readonly inList: boolean;
    }
  | { readonly kind: 'none' };

interface Line {
  readonly text: string;
  readonly indent: number;
  /** The key on this line (`key:`), if any. */
  readonly key: string | undefined;
  /** True when the key has no value on the same line: it opens a section or block list. */
  readonly opens: boolean;
  readonly item: boolean;
}

const KEY_LINE = /^(\s*)(-\s+)?("[^"]*"|'[^']*'|[^\s#'"\-?:,[\]{}][^#:]*?)\s*:(?:\s+(.*))?$/;

function parseLine(text: string): Line {
  const stripped = stripComment(text);
  const indent = /^\s*/.exec(stripped)![0].length;
  const m = KEY_LINE.exec(stripped.replace(/\s+$/, ''));
  const item = /^\s*-(\s|$)/.test(stripped);
  if (!m) return { text: stripped, indent, key: undefined, opens: false, item };
  const key = m[3]!.replace(/^["']|["']$/g, '');
  const keyIndent = m[2] ? indent + m[2].length : indent;
  return { text: stripped, indent: keyIndent, key, opens: !m[4] || m[4].trim() === '', item };
}

function stripComment(line: string): string {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

export function cursorContext(text: string, offset: number): CursorContext {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const before = text.slice(lineStart, offset);
  if (/(^|\s)#/.test(stripQuoted(before))) return { kind: 'none' };
  const previous = text.slice(0, lineStart).split('\n');
  previous.pop(); // the empty string after the last line break
  const lines = previous.map(parseLine);

  // `key: value|` or `key: [a, b|`
  const valueMatch = /^(\s*)(-\s+)?([^\s#'"\-?:,[\]{}][^#:]*?)\s*:\s+(.*)$/.exec(before) ?? /^(\s*)(-\s+)?([^\s#'"\-?:,[\]{}][^#:]*?)\s*:()$/.exec(before);
  if (valueMatch) {
    const indent = valueMatch[1]!.length + (valueMatch[2]?.length ?? 0);
    const key = valueMatch[3]!;
    const rest = valueMatch[4] ?? '';
    const parents = enclosing(lines, indent);
    const { prefix, inList } = valuePrefix(rest);
    return { kind: 'value', path: [...parents, key], prefix, prefixStart: offset - prefix.length, inList };
  }

  // `  - item|` in a block list: the list belongs to the nearest opening key above.
  const itemMatch = /^(\s*)-\s+(.*)$/.exec(before) ?? /^(\s*)-()$/.exec(before);
  if (itemMatch && !/:\s/.test(itemMatch[2]!)) {
    const indent = itemMatch[1]!.length;
    for (let i = lines.length - 1; i >= 0; i--) {
      const l = lines[i]!;
      if (l.text.trim() === '' || (l.item && l.indent >= indent && !l.key)) continue;
      if (l.key !== undefined && l.opens && l.indent <= indent) {
        const { prefix } = valuePrefix(itemMatch[2]!);
        return { kind: 'value', path: [...enclosing(lines.slice(0, i), l.indent), l.key], prefix, prefixStart: offset - prefix.length, inList: true };
      }
      if (l.indent < indent || (l.indent === indent && !l.item)) break;
    }
    return { kind: 'none' };
  }

  // A key being typed: only letters, digits, dots, underscores and dashes so far.
  const keyMatch = /^(\s*)([\w.\-]*)$/.exec(before);
  if (keyMatch) {
    const indent = keyMatch[1]!.length;
    const path = enclosing(lines, indent);
    const after = text.slice(offset).split('\n');
    const siblings = siblingKeys(lines, after.slice(1).map(parseLine), indent);
    return { kind: 'key', path, siblings, prefix: keyMatch[2]!, prefixStart: offset - keyMatch[2]!.length, indent };
  }
  return { kind: 'none' };
}

function stripQuoted(s: string): string {
  return s.replace(/"[^"]*"|'[^']*'/g, '""');
}

/** Keys of the sections that enclose a line indented by `indent`. */
function enclosing(lines: readonly Line[], indent: number): string[] {
  const path: string[] = [];
  let limit = indent;
  for (let i = lines.length - 1; i >= 0 && limit > 0; i--) {
    const l = lines[i]!;
    if (l.text.trim() === '' || l.key === undefined) continue;
    if (l.indent < limit && l.opens) {
      path.unshift(l.key);
      limit = l.indent;
    } else if (l.indent < limit) {
      limit = l.indent;
    }
  }
  return path;
}

/** Keys at the same indentation in the same section, above and below the cursor. */
function siblingKeys(above: readonly Line[], below: readonly Line[], indent: number): Set<string> {
  const keys = new Set<string>();
  const scan = (lines: readonly Line[]): void => {
    for (const l of lines) {
      if (l.text.trim() === '') continue;
      if (l.indent < indent) break;
      if (l.indent === indent && l.key !== undefined) keys.add(l.key);
    }
  };
  scan([...above].reverse());
  scan(below);
  return keys;
}

function valuePrefix(rest: string): { prefix: string; inList: boolean } {
  const open = rest.lastIndexOf('[');
  if (open >= 0 && rest.indexOf(']', open) < 0) {
    const inside = rest.slice(open + 1);
    const item = inside.slice(inside.lastIndexOf(',') + 1).replace(/^\s+/, '');
    return { prefix: item, inList: true };
  }
  return { prefix: rest.replace(/^["']/, ''), inList: false };
}
