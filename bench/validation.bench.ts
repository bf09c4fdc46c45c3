/**
 * Validation and completion latency on a 2,000-line experiment file (p50, p95).
 * Targets: p50 under 20 ms for a full validation, under 10 ms for completion.
 *
 * `npm run bench` (or, once built, `node out/bench/validation.bench.js`). The bench only
 * measures and prints: it exits non-zero only when the generated file does not validate
 * or the language server dies, never because a latency misses its target.
 *
 * 1. Engine: `validateExperiment` on the file's text with a shared `ProjectFiles` (as the
 *    server keeps one), one tiny edit per iteration so nothing is reused by text.
 * 2. Language server over stdio (`node dist/server.js --stdio`, the way the editor meets
 *    it): a ranged didChange until the publishDiagnostics of that version arrives; this
 *    includes the server's fixed 50 ms debounce, also shown subtracted.
 * 3. Completion at four representative positions, both as the first request after an edit
 *    (which re-validates the new version) and repeated on the same version (cached).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Position, TextDocumentContentChangeEvent } from 'vscode-languageserver-protocol';
import { parseExperimentText, ProjectFiles, validateExperiment, type Finding } from '../engine/config';
import { fileUri, LspClient } from '../test/support/lspClient';
import { createBenchWorkspace, type BenchWorkspace } from './fixtures';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const SERVER = path.join(REPO_ROOT, 'dist', 'server.js');

const TARGET_LINES = 2000;
/** The server waits this long after the last change before it validates and publishes (server/src/server.ts). */
const DEBOUNCE_MS = 50;
const TARGET_VALIDATION_MS = 20;
const TARGET_COMPLETION_MS = 10;

const ENGINE = { warmup: 30, runs: 200 };
const LSP_DIAGNOSTICS = { warmup: 10, runs: 100 };
const COMPLETION_AFTER_EDIT = { warmup: 3, runs: 40 };
const COMPLETION_REPEAT = { warmup: 10, runs: 200 };

interface Stats {
  readonly n: number;
  readonly p50: number;
  readonly p95: number;
  readonly mean: number;
}

interface Row {
  readonly metric: string;
  readonly stats: Stats;
  /** Milliseconds; undefined for rows shown only to explain the others. */
  readonly target: number | undefined;
  readonly targetNote?: string;
}

class BenchFailure extends Error {}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

function stats(samples: readonly number[], minus = 0): Stats {
  const sorted = samples.map((s) => s - minus).sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

/** The text as the bench keeps it in step with the server, and the one edit it makes. */
class EditableText {
  private counter = 0;
  readonly counterPosition: Position;

  constructor(
    public text: string,
    private readonly counterOffset: number,
  ) {
    this.counterPosition = positionAt(text, counterOffset);
    if (!/^\d{4}$/.test(text.slice(counterOffset, counterOffset + 4))) throw new BenchFailure('the edit counter is not where the generator said');
  }

  /** Rewrites the 4-digit counter in a comment: a new text every time, the same meaning. */
  edit(): TextDocumentContentChangeEvent {
    this.counter = (this.counter % 9999) + 1;
    const digits = String(this.counter).padStart(4, '0');
    this.text = this.text.slice(0, this.counterOffset) + digits + this.text.slice(this.counterOffset + 4);
    const { line, character } = this.counterPosition;
    return { range: { start: { line, character }, end: { line, character: character + 4 } }, text: digits };
  }
}

function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

/** The position `delta` characters after the start of the first match of `needle`. */
function positionOfNeedle(text: string, needle: string | RegExp, delta: number): Position {
  const index = typeof needle === 'string' ? text.indexOf(needle) : (needle.exec(text)?.index ?? -1);
  if (index < 0) throw new BenchFailure(`completion anchor ${String(needle)} not found in the generated file`);
  return positionAt(text, index + delta);
}

function lastIndexOfLine(text: string, pattern: RegExp): number {
  let last = -1;
  for (const m of text.matchAll(pattern)) last = m.index;
  if (last < 0) throw new BenchFailure(`completion anchor ${String(pattern)} not found in the generated file`);
  return last;
}

function describeFinding(f: Finding, text: string): string {
  const p = positionAt(text, f.range.start);
  return `  ${f.severity} [${f.code}] line ${p.line + 1}:${p.character + 1}: ${f.message}`;
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function timeAsync<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const value = await fn();
  return [performance.now() - t0, value];
}

function checkWorkload(ws: BenchWorkspace): void {
  const validation = validateExperiment(ws.text, { filePath: ws.file, files: new ProjectFiles() });
  const bySeverity = new Map<string, number>();
  for (const f of validation.findings) bySeverity.set(f.severity, (bySeverity.get(f.severity) ?? 0) + 1);
  const summary = [...bySeverity].map(([s, n]) => `${n} ${s}`).join(', ') || 'none';
  console.log(`Workload: ${ws.lineCount} lines, ${ws.text.length} characters (${path.basename(ws.file)} in ${ws.root}); findings: ${summary}`);
  for (const f of validation.findings) if (f.severity !== 'error') console.log(describeFinding(f, ws.text));
  const errors = validation.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0 || !validation.ok) {
    for (const f of errors) console.error(describeFinding(f, ws.text));
    throw new BenchFailure(`the generated experiment file has ${errors.length} error finding(s); the benchmark needs a valid file`);
  }
  const low = Math.floor(TARGET_LINES * 0.98);
  const high = Math.ceil(TARGET_LINES * 1.02);
  if (ws.lineCount < low || ws.lineCount > high) throw new BenchFailure(`the generated file has ${ws.lineCount} lines, outside ${low}..${high}`);
}

function benchEngine(ws: BenchWorkspace, rows: Row[]): void {
  const files = new ProjectFiles();
  const doc = new EditableText(ws.text, ws.counterOffset);
  const validate = (): void => {
    doc.edit();
    validateExperiment(doc.text, { filePath: ws.file, files });
  };
  for (let i = 0; i < ENGINE.warmup; i++) validate();
  const samples: number[] = [];
  for (let i = 0; i < ENGINE.runs; i++) samples.push(time(validate));
  rows.push({ metric: 'engine: validateExperiment (full validation)', stats: stats(samples), target: TARGET_VALIDATION_MS });

  // Not a target of its own: how much of the above is the YAML parse and tree building.
  const parseSamples: number[] = [];
  for (let i = 0; i < ENGINE.runs; i++) {
    doc.edit();
    parseSamples.push(time(() => parseExperimentText(doc.text)));
  }
  rows.push({ metric: '  of which: parseExperimentText (YAML parse + tree)', stats: stats(parseSamples), target: undefined });
}

interface CompletionSite {
  readonly name: string;
  readonly position: Position;
  /** A label the answer must contain, so that the bench times real work, not an empty answer. */
  readonly expect: string;
}

function completionSites(text: string): CompletionSite[] {
  const adapterSection = text.indexOf('\nadapter:\n');
  const sizeKey = text.indexOf('\n  size:', adapterSection) + 1;
  const lastRate = lastIndexOfLine(text, /^ {6}- \d\.\d{4}e-\d+$/gm);
  return [
    { name: 'key inside `adapter:`', position: positionAt(text, sizeKey + '  si'.length), expect: 'non_linearity' },
    { name: 'value after `method: `', position: positionOfNeedle(text, /^method: /m, 'method: '.length), expect: 'full' },
    { name: 'grid axis list item (last of the learning rates)', position: positionAt(text, lastRate + '      - '.length), expect: '3.0e-4' },
    { name: 'path after `train: `', position: positionOfNeedle(text, /^ {2}train: \.\/data\//m, '  train: ./data/'.length), expect: './data/train.tsv' },
  ];
}

async function benchServer(ws: BenchWorkspace, rows: Row[]): Promise<void> {
  if (!fs.existsSync(SERVER)) throw new BenchFailure(`${path.relative(REPO_ROOT, SERVER)} is missing: run \`node scripts/build.mjs\` first`);
  const client = await LspClient.start();
  const uri = fileUri(ws.file);
  const alive = (): void => {
    if (!client.alive) throw new BenchFailure(`the language server exited; its stderr:\n${client.stderr.join('')}`);
  };
  try {
    const doc = new EditableText(ws.text, ws.counterOffset);
    const opened = await client.open(uri, doc.text);
    const serverErrors = opened.diagnostics.filter((d) => d.severity === 1);
    if (serverErrors.length > 0) {
      for (const d of serverErrors) console.error(`  server error line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`);
      throw new BenchFailure('the language server reports errors on the generated file');
    }

    // Diagnostics: a ranged edit until publishDiagnostics for that version arrives.
    const diagnosticSamples: number[] = [];
    for (let i = 0; i < LSP_DIAGNOSTICS.warmup + LSP_DIAGNOSTICS.runs; i++) {
      const [ms, published] = await timeAsync(() => client.change(uri, [doc.edit()]));
      if (published.diagnostics.some((d) => d.severity === 1)) throw new BenchFailure('an edit of a comment produced an error diagnostic');
      if (i >= LSP_DIAGNOSTICS.warmup) diagnosticSamples.push(ms);
      alive();
    }
    rows.push({
      metric: 'LSP: didChange → publishDiagnostics (raw)',
      stats: stats(diagnosticSamples),
      target: TARGET_VALIDATION_MS + DEBOUNCE_MS,
      targetNote: `${TARGET_VALIDATION_MS} + ${DEBOUNCE_MS} debounce`,
    });
    rows.push({ metric: `LSP: didChange → publishDiagnostics − ${DEBOUNCE_MS} ms debounce`, stats: stats(diagnosticSamples, DEBOUNCE_MS), target: TARGET_VALIDATION_MS });

    for (const site of completionSites(doc.text)) {
      // First request after an edit: the server validates the new version to answer it.
      const firstSamples: number[] = [];
      for (let i = 0; i < COMPLETION_AFTER_EDIT.warmup + COMPLETION_AFTER_EDIT.runs; i++) {
        const published = client.change(uri, [doc.edit()]);
        const [ms, items] = await timeAsync(() => client.completion(uri, site.position));
        await published; // let the debounced publish (now served from the cache) go out before the next edit
        if (i === 0 && !items.some((item) => item.label === site.expect)) {
          console.log(`  note: completion at ${site.name} (line ${site.position.line + 1}:${site.position.character + 1}) did not offer "${site.expect}"; got ${items.slice(0, 8).map((x) => x.label).join(', ') || 'nothing'}`);
        }
        if (i >= COMPLETION_AFTER_EDIT.warmup) firstSamples.push(ms);
        alive();
      }
      rows.push({ metric: `completion, first after an edit: ${site.name}`, stats: stats(firstSamples), target: TARGET_COMPLETION_MS });

      // Repeat requests on the same version: the validation is cached.
      const repeatSamples: number[] = [];
      for (let i = 0; i < COMPLETION_REPEAT.warmup + COMPLETION_REPEAT.runs; i++) {
        const [ms] = await timeAsync(() => client.completion(uri, site.position));
        if (i >= COMPLETION_REPEAT.warmup) repeatSamples.push(ms);
      }
      alive();
      rows.push({ metric: `completion, repeat (same version): ${site.name}`, stats: stats(repeatSamples), target: TARGET_COMPLETION_MS });
    }
    await client.close(uri);
  } finally {
    await client.stop();
  }
}

function formatMs(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
}

function printTable(rows: readonly Row[]): void {
  const header = ['metric', 'n', 'p50 ms', 'p95 ms', 'mean ms', 'target p50 ms', 'p50 / target'];
  const body = rows.map((r) => [
    r.metric,
    String(r.stats.n),
    formatMs(r.stats.p50),
    formatMs(r.stats.p95),
    formatMs(r.stats.mean),
    r.target === undefined ? '—' : r.targetNote ? `< ${r.target} (${r.targetNote})` : `< ${r.target}`,
    r.target === undefined ? '—' : `${(r.stats.p50 / r.target).toFixed(2)}${r.stats.p50 < r.target ? '' : ' (missed)'}`,
  ]);
  console.log('');
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map((_h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
  for (const cells of body) console.log(`| ${cells.join(' | ')} |`);
  console.log('');
}

function machineFacts(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() || 'unknown';
  return `node ${process.version}, ${os.platform()} ${os.release()} ${os.arch()}, ${cpus.length} CPUs (os.cpus().length), cpu model "${model}", ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory`;
}

async function main(): Promise<number> {
  const started = performance.now();
  console.log(`Adapter Lab benchmark: validation and completion latency on a ${TARGET_LINES}-line experiment file`);
  console.log(`Machine: ${machineFacts()}`);
  const ws = createBenchWorkspace(TARGET_LINES);
  try {
    checkWorkload(ws);
    const rows: Row[] = [];
    benchEngine(ws, rows);
    await benchServer(ws, rows);
    printTable(rows);
    console.log(`LSP rows include the server's fixed ${DEBOUNCE_MS} ms diagnostics debounce (DIAGNOSTICS_DELAY_MS); the "− ${DEBOUNCE_MS} ms" row subtracts it.`);
    console.log('Completion "first after an edit" answers from the new text with the previous validation (model shape, data columns); "repeat" is the same version again.');
    console.log(`Total time ${((performance.now() - started) / 1000).toFixed(1)} s.`);
    return 0;
  } catch (e) {
    if (e instanceof BenchFailure) {
      console.error(`bench: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    ws.dispose();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`bench: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  },
);
