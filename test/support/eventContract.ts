/**
 * The event contract as docs/events.md states it, read from its tables: the fields of every
 * event type (and of every job's `start`), their types and whether they are required, the
 * artifact kinds and the error codes. Tests check real event streams against it, so the page
 * and the engine cannot drift apart without a test failing.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './lspClient';

export const EVENTS_DOC = path.join(REPO_ROOT, 'docs', 'events.md');

type FieldType =
  | { readonly kind: 'string' | 'number' | 'integer' | 'boolean' | 'time' | 'object' | 'metric' | 'metrics' | 'string[]' | 'integer[]' }
  | { readonly kind: 'one of'; readonly values: readonly string[] };

interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly required: boolean;
}

/** The fields of one section: top-level names, and dotted names for fields of an object field. */
type Section = readonly Field[];

export interface EventContract {
  /** Problems with one event (empty when it is as documented). */
  check(event: unknown): string[];
  /** Event types with a section (`start` once per job). */
  readonly types: readonly string[];
  readonly startJobs: readonly string[];
  readonly artifactKinds: readonly string[];
  readonly errorCodes: readonly string[];
  /** The JSON lines of the page's example stream. */
  readonly example: readonly string[];
}

export function loadEventContract(file = EVENTS_DOC): EventContract {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  let common: Section | undefined;
  const sections = new Map<string, Section>();
  let artifactKinds: string[] = [];
  let errorCodes: string[] = [];
  const example: string[] = [];
  let inExample = false;
  let fence = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) {
      fence = !fence;
      if (!fence) inExample = false;
      else if (line === '```json') inExample = true;
      continue;
    }
    if (fence) {
      if (inExample && line.trim()) example.push(line);
      continue;
    }
    if (line === '## Every event') common = fieldTable(tableAfter(lines, i));
    else if (line === '## Artifact kinds') artifactKinds = tableAfter(lines, i).flatMap((row) => ticked(row[0]!));
    else if (line === '## Error codes') errorCodes = tableAfter(lines, i).flatMap((row) => ticked(row[0]!));
    else if (line.startsWith('### `')) {
      const [type, ...jobs] = ticked(line);
      const fields = fieldTable(tableAfter(lines, i));
      if (type === 'start') for (const job of jobs) sections.set(`start:${job}`, fields);
      else sections.set(type!, fields);
    }
  }
  if (!common) throw new Error(`${file}: no "## Every event" table`);
  const base = common;
  return {
    types: [...sections.keys()],
    startJobs: [...sections.keys()].filter((k) => k.startsWith('start:')).map((k) => k.slice('start:'.length)),
    artifactKinds,
    errorCodes,
    example,
    check(event: unknown): string[] {
      if (!isObject(event)) return [`not an object: ${JSON.stringify(event)}`];
      const key = event.type === 'start' ? `start:${String(event.job)}` : String(event.type);
      const section = sections.get(key);
      if (!section) return [`${key}: not a documented event`];
      return checkFields(event, [...base, ...section], '', key);
    },
  };
}

function checkFields(value: Readonly<Record<string, unknown>>, fields: readonly Field[], prefix: string, where: string): string[] {
  const problems: string[] = [];
  const here = fields.filter((f) => f.name.startsWith(prefix) && !f.name.slice(prefix.length).includes('.'));
  for (const key of Object.keys(value)) {
    if (!here.some((f) => f.name === prefix + key)) problems.push(`${where}: field ${prefix + key} is not documented`);
  }
  for (const f of here) {
    const v = value[f.name.slice(prefix.length)];
    if (v === undefined) {
      if (f.required) problems.push(`${where}: required field ${f.name} is missing`);
      continue;
    }
    const wrong = typeProblem(v, f.type);
    if (wrong) problems.push(`${where}: ${f.name} ${wrong}`);
    const children = fields.filter((c) => c.name.startsWith(`${f.name}.`));
    if (children.length && isObject(v)) problems.push(...checkFields(v, fields, `${f.name}.`, where));
  }
  return problems;
}

function typeProblem(v: unknown, t: FieldType): string | undefined {
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const ok = ((): boolean => {
    switch (t.kind) {
      case 'string':
        return typeof v === 'string';
      case 'number':
        return finite(v);
      case 'integer':
        return finite(v) && Number.isInteger(v);
      case 'boolean':
        return typeof v === 'boolean';
      case 'time':
        return typeof v === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) && !Number.isNaN(Date.parse(v));
      case 'object':
        return isObject(v);
      case 'metric':
        return v === null || finite(v);
      case 'metrics':
        return isObject(v) && Object.values(v).every((x) => x === null || finite(x));
      case 'string[]':
        return Array.isArray(v) && v.every((x) => typeof x === 'string');
      case 'integer[]':
        return Array.isArray(v) && v.every((x) => finite(x) && Number.isInteger(x));
      case 'one of':
        return t.values.some((lit) => (/^-?\d+(\.\d+)?$/.test(lit) ? v === Number(lit) : v === lit));
    }
  })();
  return ok ? undefined : `should be ${t.kind === 'one of' ? `one of ${t.values.join(', ')}` : t.kind}, found ${JSON.stringify(v)}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The body rows of the first table after line `i` (cells trimmed, header and rule skipped). */
function tableAfter(lines: readonly string[], i: number): string[][] {
  let j = i + 1;
  while (j < lines.length && !lines[j]!.startsWith('|')) {
    if (lines[j]!.startsWith('#')) throw new Error(`no table under "${lines[i]}"`);
    j++;
  }
  const rows: string[][] = [];
  for (; j < lines.length && lines[j]!.startsWith('|'); j++) rows.push(lines[j]!.slice(1, -1).split('|').map((c) => c.trim()));
  return rows.slice(2);
}

function fieldTable(rows: readonly string[][]): Field[] {
  return rows.map((row) => {
    const [name, type, presence] = row;
    const field = ticked(name!)[0];
    if (!field || (presence !== 'required' && presence !== 'optional')) throw new Error(`a field row that is not "| \`name\` | type | required/optional | … |": ${row.join(' | ')}`);
    return { name: field, type: typeOf(type!), required: presence === 'required' };
  });
}

function typeOf(text: string): FieldType {
  if (text.startsWith('one of ')) return { kind: 'one of', values: ticked(text) };
  const kinds = ['string', 'number', 'integer', 'boolean', 'time', 'object', 'metric', 'metrics', 'string[]', 'integer[]'] as const;
  const kind = kinds.find((k) => k === text);
  if (!kind) throw new Error(`unknown field type "${text}"`);
  return { kind };
}

/** The `backticked` words of a line, in order. */
function ticked(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
}

/** An event of a stream, as read from JSON. */
export interface StreamEvent { readonly type: string; readonly [k: string]: unknown }

/** Every event as documented, and the stream as the page says streams go. */
export function assertContract(contract: EventContract, events: readonly StreamEvent[], what: string): void {
  assert.ok(events.length > 0, `${what}: no events`);
  for (const e of events) assert.deepEqual(contract.check(e), [], `${what}: ${JSON.stringify(e)}`);
  const last = events[events.length - 1]!;
  assert.equal(last.type, 'end', `${what}: the last event is the end`);
  const open: StreamEvent[] = [];
  for (const [i, e] of events.entries()) {
    if (e.type === 'start') open.push(e);
    if (e.type === 'end') {
      // An end with nothing open: a job that failed before it started, and then it is the whole stream's end.
      if (!open.pop()) assert.ok(i === events.length - 1 && !events.some((x) => x.type === 'start'), `${what}: an unpaired end at ${i}`);
      if (open.length === 0) assert.equal(i, events.length - 1, `${what}: nothing follows the job's end`);
    }
    if (e.type === 'error') assert.equal(events[events.length - 1]!.status, 'failed', `${what}: a job with an error ends failed`);
  }
  assert.equal(open.length, 0, `${what}: every start has its end`);
}

