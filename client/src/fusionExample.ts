/**
 * A fusion run's weights for one example, and its data rows to pick one from, for the run
 * panel: the engine's `fusion weights <run> --text …` and `fusion examples <run>` run as a
 * process, their JSON read back defensively (it comes from a process, not this bundle).
 * Short queries, not jobs: they take no slot of the job queue and show no progress.
 * No `vscode` here, so the tests run it against the real CLI.
 */
import type { EngineSettings } from './cliArgs';
import type { FusionExample, FusionRow, FusionRows, FusionRowSet } from './panelProtocol';
import { failureDetail } from './jobFailure';
import { JobProcess } from './jobProcess';

/** How many rows of each file the panel offers. */
export const ROW_LIMIT = 100;

export type QueryResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

function common(settings: Pick<EngineSettings, 'threads' | 'device'>): string[] {
  return [...(settings.threads ? ['--threads', String(settings.threads)] : []), ...(settings.device !== 'auto' ? ['--device', settings.device] : [])];
}

/**
 * The engine settings of an example query. Beside a run that is still training, one CPU
 * thread: the query is one short forward pass, and should not slow the training or take the
 * GPU's memory from it.
 */
export function exampleSettings(settings: Pick<EngineSettings, 'threads' | 'device'>, beside: { readonly training: boolean }): Pick<EngineSettings, 'threads' | 'device'> {
  return beside.training ? { threads: 1, device: 'cpu' } : settings;
}

export function fusionExampleArgs(runDir: string, example: { readonly text: string; readonly pair?: string }, settings: Pick<EngineSettings, 'threads' | 'device'>): string[] {
  return ['fusion', 'weights', runDir, '--text', example.text, ...(example.pair !== undefined ? ['--pair', example.pair] : []), ...common(settings)];
}

export function fusionRowsArgs(runDir: string, limit = ROW_LIMIT): string[] {
  return ['fusion', 'examples', runDir, '--limit', String(limit)];
}

/** A started query: its result, and a way to stop it when a newer one replaces it. */
export interface FusionQuery<T> {
  readonly result: Promise<QueryResult<T>>;
  cancel(): void;
}

/** Runs one engine command that prints one JSON document, and reads it with `parse`. */
export function runFusionQuery<T>(opts: { readonly cli: string; readonly args: readonly string[]; readonly cwd?: string; readonly execPath?: string }, parse: (v: unknown) => T | undefined): FusionQuery<T> {
  const data: unknown[] = [];
  const stderr: string[] = [];
  const job = JobProcess.start({ cli: opts.cli, args: opts.args, cwd: opts.cwd, execPath: opts.execPath, killAfterMs: 5000 }, { onData: (v) => data.push(v), onLog: (line, stream) => stream === 'stderr' && stderr.push(line) });
  const result = job.exited.then((exit): QueryResult<T> => {
    if (exit.outcome === 'cancelled') return { ok: false, message: 'replaced by a newer request' };
    if (exit.outcome !== 'completed') {
      // The command's own reason (`error: …`, or `adapter-lab: …` before its usage text), else what the job runner makes of the exit.
      const said = stderr.filter((l) => /^(error|adapter-lab):\s/.test(l)).pop();
      return { ok: false, message: said ? said.replace(/^(error|adapter-lab):\s*/, '') : failureDetail(exit, stderr.slice(-20)) };
    }
    const value = data.length === 1 ? parse(data[0]) : undefined;
    return value === undefined ? { ok: false, message: 'the engine printed no result it could read' } : { ok: true, value };
  });
  return { result, cancel: () => job.cancel() };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

export function parseFusionExample(v: unknown): FusionExample | undefined {
  if (!isObject(v) || !isStrings(v.adapters) || !isStrings(v.pieces) || typeof v.tokens !== 'number' || typeof v.text !== 'string' || typeof v.truncated !== 'boolean' || !isObject(v.weights)) return undefined;
  const n = v.adapters.length;
  const weights = v.weights;
  if (!Object.values(weights).every((w) => Array.isArray(w) && w.length === n && w.every((x) => x === null || typeof x === 'number'))) return undefined;
  return { adapters: v.adapters, weights: weights as Record<string, (number | null)[]>, tokens: v.tokens, text: v.text, ...(typeof v.pair === 'string' ? { pair: v.pair } : {}), pieces: v.pieces, truncated: v.truncated, ...(Number.isInteger(v.checkpointStep) && (v.checkpointStep as number) >= 0 ? { checkpointStep: v.checkpointStep as number } : {}) };
}

function rowSet(v: unknown): FusionRowSet | undefined {
  if (!isObject(v) || typeof v.file !== 'string' || !Array.isArray(v.rows)) return undefined;
  const rows: FusionRow[] = [];
  for (const r of v.rows) {
    if (!isObject(r) || typeof r.index !== 'number' || typeof r.text !== 'string' || typeof r.label !== 'string') return undefined;
    rows.push({ index: r.index, text: r.text, ...(typeof r.pair === 'string' ? { pair: r.pair } : {}), label: r.label });
  }
  return { file: v.file, rows };
}

export function parseFusionRows(v: unknown): FusionRows | undefined {
  if (!isObject(v) || !isStrings(v.columns)) return undefined;
  const train = rowSet(v.train);
  const validation = v.validation === undefined ? undefined : rowSet(v.validation);
  if (!train || (v.validation !== undefined && !validation)) return undefined;
  return { columns: v.columns, train, ...(validation ? { validation } : {}) };
}
