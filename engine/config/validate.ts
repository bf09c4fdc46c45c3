/**
 * Validation of an experiment file: YAML syntax, the schema, then the rules. The one
 * entry point shared by the engine (which refuses files with errors), the CLI's
 * `validate` and the language server.
 */
import * as path from 'node:path';
import { countParameters, createdPoolerCount, type HeadKind, type ParameterCounts } from '../model/parameters';
import { resolveExperiment, sweepSize, type Experiment, type SweepSize } from './experiment';
import { finding, hasErrors, type Finding } from './findings';
import { adapterCountingOf, fusionCountingOf, fusionSpecOf } from './adapterPlan';
import { fusedAdapterOf, type FusedAdapterInfo } from './fusionRefs';
import { ProjectFiles, type ModelInfo } from './projectFiles';
import { checkRules } from './rules';
import { checkSchema, plainOf } from './schemaCheck';
import { applySuppressions } from './suppress';
import { entryOf, parseExperimentText, type ExperimentTree } from './tree';

export interface ValidateOptions {
  /** Absolute path of the file; relative paths resolve against its folder. Omit for unsaved text. */
  readonly filePath?: string;
  /** A shared cache of model and data files (the language server keeps one). */
  readonly files?: ProjectFiles;
  /** The runs folder in which `fusion.adapters` finds experiments by name; default: `.adapter-lab/runs` beside the file. */
  readonly runsDir?: string;
}

export interface Validation {
  readonly tree: ExperimentTree;
  /** Sorted by position. */
  readonly findings: readonly Finding[];
  readonly ok: boolean;
  /** The resolved settings (defaults filled in); tolerant of mistakes, so check `ok` before running. */
  readonly experiment: Experiment | undefined;
  /** The plain value of the document, for sweep expansion. */
  readonly plain: unknown;
  readonly model: ModelInfo | undefined;
  readonly parameters: ParameterCounts | undefined;
  readonly sweep: SweepSize | undefined;
  /** `method: fusion`: the adapters `fusion.adapters` resolved to (those that did). */
  readonly fused: readonly FusedAdapterInfo[];
}

const defaultFiles = new ProjectFiles();

export function validateExperiment(text: string, options: ValidateOptions = {}): Validation {
  const files = options.files ?? defaultFiles;
  const tree = parseExperimentText(text);
  const findings: Finding[] = tree.syntax.map((s) =>
    s.severity === 'error' ? finding('yaml-syntax', s.message, s.range) : { ...finding('yaml-syntax', s.message, s.range), severity: 'warning' as const },
  );
  const syntaxBroken = findings.some((f) => f.severity === 'error');
  const schemaFindings = checkSchema(tree.root, text);
  // In a half-typed file the parser's recovery can hide keys; a "missing" report would be noise.
  findings.push(...(syntaxBroken ? schemaFindings.filter((f) => f.code !== 'missing-key') : schemaFindings));

  const plain = tree.root ? plainOf(tree.root) : undefined;
  const baseDir = options.filePath ? path.dirname(options.filePath) : process.cwd();
  const experiment = tree.root?.kind === 'map' ? resolveExperiment(plain, baseDir) : undefined;
  let model: ModelInfo | undefined;
  let fused: readonly FusedAdapterInfo[] = [];
  if (experiment && tree.root && !syntaxBroken) {
    const rules = checkRules({ root: tree.root, text, experiment, files, onDisk: options.filePath !== undefined, baseDir, ...(options.runsDir ? { runsDir: options.runsDir } : {}) });
    findings.push(...rules.findings);
    model = rules.model;
    fused = rules.fused;
  }
  const sweep = experiment?.sweep ? sweepSize(experiment) : undefined;
  const sweepEntry = tree.root ? entryOf(tree.root, 'sweep') : undefined;
  if (sweep && sweepEntry && experiment?.sweep && !syntaxBroken) {
    const axes = experiment.sweep.grid.map((a) => `${a.values.length} ${a.path.split('.').pop()}`).join(' × ');
    // Grid points that differ only in settings their method ignores run once (expandSweep).
    const configurations = sweep.configurations === sweep.combinations ? `${sweep.configurations} configurations` : `${sweep.combinations} combinations → ${sweep.configurations} distinct configurations`;
    const detail = axes ? `${axes} = ${configurations} × ${sweep.seeds} seed${sweep.seeds === 1 ? '' : 's'}` : `${sweep.seeds} seed${sweep.seeds === 1 ? '' : 's'}`;
    findings.push(finding('sweep-size', `The sweep expands to ${sweep.runs} run${sweep.runs === 1 ? '' : 's'} (${detail})`, sweepEntry.keyRange));
  }
  const parameters = experiment && model?.ok ? parametersOf(experiment, model, files, fused) : undefined;
  const kept = applySuppressions(text, findings).sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
  return { tree, findings: kept, ok: !hasErrors(kept), experiment, plain, model, parameters, sweep, fused };
}

function parametersOf(experiment: Experiment, model: ModelInfo & { ok: true }, files: ProjectFiles, fused: readonly FusedAdapterInfo[]): ParameterCounts {
  const dims = model.dims;
  const fusion = experiment.method === 'fusion' && experiment.fusion ? fusionCountingOf(fusionSpecOf(experiment, dims, fused.map((a) => fusedAdapterOf(a, dims))), dims.hiddenSize, fused.map((a) => ({ ...a.shape, shared: a.shared }))) : undefined;
  return countParameters(model.dims, {
    ...(fusion ? { fusion } : {}),
    method: experiment.method,
    ...adapterCountingOf(experiment, model.dims),
    topK: experiment.topK ?? 1,
    head: experiment.task.kind as HeadKind,
    // What the run will count once it has drawn its head (train/plan.ts withCreatedHead).
    createdHeadParameters: createdPoolerCount(dims, experiment.method, experiment.task.kind as HeadKind, model.hasPooler),
    // A masked-LM head's decoder bias has one entry per vocabulary token.
    numLabels: experiment.task.kind === 'mlm' ? model.dims.vocabSize : labelCount(experiment, files),
  });
}

/** Classes seen in the training file's label column (at least two), or 2 when they cannot be read. */
export function labelCount(experiment: Experiment, files: ProjectFiles): number {
  if (experiment.task.kind !== 'classification' || !experiment.task.label) return 1;
  const labels = files.labelValues(experiment.task.train, experiment.task.label);
  return Math.max(2, labels?.length ?? 2);
}
