/**
 * Findings: what validation says about an experiment file, each on an exact source range.
 *
 * Ranges are UTF-16 offsets into the text (the same unit as JavaScript strings and LSP
 * positions), so the language server and the CLI convert them without re-reading the file.
 */

export interface TextRange {
  readonly start: number;
  readonly end: number;
}

export type Severity = 'error' | 'warning' | 'information' | 'hint';

/** Every finding code, its default severity and what it means (docs/config.md lists them). */
export const FINDING_CODES = {
  'yaml-syntax': { severity: 'error', doc: 'The file is not valid YAML.' },
  'unknown-key': { severity: 'error', doc: 'A key the schema does not know (with a "did you mean" suggestion).' },
  'missing-key': { severity: 'error', doc: 'A required key is absent.' },
  'wrong-type': { severity: 'error', doc: 'A value of the wrong type (a string where a number is expected, a list where a mapping is expected, …).' },
  'not-in-enum': { severity: 'error', doc: 'A value outside the allowed set.' },
  'not-integer': { severity: 'error', doc: 'A fractional number where an integer is required.' },
  'out-of-bounds': { severity: 'error', doc: 'A number outside its allowed bounds (size >= 1, warmup in [0, 1), learning rate > 0, …).' },
  'duplicate-value': { severity: 'warning', doc: 'The same value twice in a list or grid axis.' },
  'bad-range': { severity: 'error', doc: 'A layer range that is not `a..b` with 0 <= a <= b.' },
  'irrelevant-key': { severity: 'warning', doc: 'A key that has no effect with the chosen method (`top_k` without `method: top_k`, `adapter` with `method: full`, …).' },
  'metric-mismatch': { severity: 'error', doc: "A metric that does not fit the task kind (accuracy on regression, …)." },
  'requires-key': { severity: 'error', doc: 'A setting that needs another key (`method: top_k` needs `top_k`; sweeps and ablations need `task.validation`).' },
  'not-bottleneck': { severity: 'warning', doc: 'An adapter size at or above the hidden size: no bottleneck.' },
  'layer-out-of-range': { severity: 'error', doc: "A layer index or range outside the model's layers 0..L-1." },
  'top-k-too-large': { severity: 'error', doc: 'top_k is larger than the number of layers.' },
  'max-length-too-large': { severity: 'error', doc: "max_length exceeds the model's position embeddings." },
  'no-trainable-adapter': { severity: 'error', doc: 'Dropped layers cover every adapter layer, so nothing is left to train.' },
  'drop-not-lowest': { severity: 'warning', doc: 'Dropped layers do not start at layer 0, so backpropagation cannot stop early and AdapterDrop saves almost nothing.' },
  'missing-file': { severity: 'error', doc: 'A model folder or data file that does not exist.' },
  'bad-model': { severity: 'error', doc: 'A model folder without a readable config.json, weights or vocabulary.' },
  'bad-data': { severity: 'error', doc: 'A data file of an unsupported format or without a readable header.' },
  'unknown-column': { severity: 'error', doc: "A text or label column that is not in the data file's header." },
  'unknown-grid-path': { severity: 'error', doc: 'A sweep grid key that is not a dotted path of a setting.' },
  'empty-grid-axis': { severity: 'error', doc: 'A sweep grid key with no values.' },
  'sweep-size': { severity: 'information', doc: 'How many runs the sweep expands to.' },
  'bad-format': { severity: 'error', doc: 'A value that does not follow its format: a Slurm time limit, a memory size, a GPU count, an `sbatch` option.' },
  'threads-exceed-cpus': { severity: 'warning', doc: "A Slurm sweep's trials run more threads (`runtime.threads`) than the CPUs each is given (`sweep.slurm.cpus_per_task`), so the threads contend for them." },
  'too-few-adapters': { severity: 'error', doc: 'A fusion (`method: fusion`) names fewer than two distinct adapters.' },
  'adapter-mismatch': { severity: 'error', doc: "A fused adapter that does not fit the others or the model: another base model shape or vocabulary, other sites, another placement (Houlsby's or Pfeiffer's) or a parallel one, a name used twice, or no adapters at all." },
  'bad-suppression': { severity: 'warning', doc: 'A suppression comment that names no finding, an unknown finding, or an error (errors cannot be silenced).' },
} as const satisfies Record<string, { severity: Severity; doc: string }>;

export type FindingCode = keyof typeof FINDING_CODES;

/** A text edit that fixes a finding; applied by quick fixes. */
export interface TextEdit {
  readonly range: TextRange;
  readonly newText: string;
}
export interface Fix {
  readonly title: string;
  readonly edits: readonly TextEdit[];
  /** The one obvious fix; editors may apply it on save or offer it first. */
  readonly preferred?: boolean;
}

export interface Finding {
  readonly code: FindingCode;
  readonly severity: Severity;
  readonly message: string;
  readonly range: TextRange;
  readonly fixes?: readonly Fix[];
}

export function finding(code: FindingCode, message: string, range: TextRange, fixes?: readonly Fix[]): Finding {
  return fixes && fixes.length > 0
    ? { code, severity: FINDING_CODES[code].severity, message, range, fixes }
    : { code, severity: FINDING_CODES[code].severity, message, range };
}

export function isFindingCode(code: string): code is FindingCode {
  return Object.prototype.hasOwnProperty.call(FINDING_CODES, code);
}

/** One-based line and column, as editors and compilers print them. */
export interface LineColumn {
  readonly line: number;
  readonly column: number;
}

/** Converts an offset to a one-based line and column (columns in UTF-16 units). */
export function lineColumnAt(text: string, offset: number): LineColumn {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** `file:line:column: severity: message [code]`, the format of compilers and linters. */
export function formatFinding(file: string, text: string, f: Finding): string {
  const { line, column } = lineColumnAt(text, f.range.start);
  return `${file}:${line}:${column}: ${f.severity}: ${f.message} [${f.code}]`;
}

export function hasErrors(findings: readonly Finding[]): boolean {
  return findings.some((f) => f.severity === 'error');
}
