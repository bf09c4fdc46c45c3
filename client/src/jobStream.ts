/**
 * Reading the engine's standard output: JSON-lines job events (docs/events.md) mixed with
 * whatever else a command prints (evaluate prints its result as one JSON line; a native
 * library may print noise). Chunks split lines anywhere, so lines are reassembled first.
 */
import { EVENTS_VERSION, type JobEvent } from '../../engine/events';

export type StdoutLine =
  /** A job event, in the version this extension reads. */
  | { readonly kind: 'event'; readonly event: JobEvent }
  /** JSON that is not an event (a command's result). */
  | { readonly kind: 'data'; readonly value: unknown; readonly text: string }
  /** Anything else, kept for the log. */
  | { readonly kind: 'text'; readonly text: string };

/** Every type of the jobs' streams: a record, so that a type added to JobEvent does not compile until it is read here too. */
const JOB_EVENT_TYPES: Readonly<Record<JobEvent['type'], true>> = { start: true, 'trial-start': true, 'trial-state': true, 'trial-end': true, ablation: true, step: true, evaluation: true, 'fusion-weights': true, artifact: true, log: true, error: true, end: true };
const EVENT_TYPES: ReadonlySet<string> = new Set(Object.keys(JOB_EVENT_TYPES));

export function classifyLine(line: string): StdoutLine | undefined {
  const text = line.replace(/\r$/, '');
  if (!text.trim()) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'text', text };
  }
  if (isJobEvent(value)) return { kind: 'event', event: value };
  return { kind: 'data', value, text };
}

function isJobEvent(value: unknown): value is JobEvent {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { v?: unknown; type?: unknown; time?: unknown };
  return v.v === EVENTS_VERSION && typeof v.type === 'string' && EVENT_TYPES.has(v.type) && typeof v.time === 'string';
}

/** Turns a stream of text chunks into complete lines; a final line without a newline comes out at `end`. */
export class LineSplitter {
  private rest = '';

  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines;
  }

  end(): string[] {
    const last = this.rest;
    this.rest = '';
    return last ? [last] : [];
  }
}
