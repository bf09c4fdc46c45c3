/**
 * `adapter-lab`: the engine's command line. Human output goes to standard error and
 * machine output (findings, JSON) to standard output, so both can be piped.
 *
 * Exit codes: 0 success, 1 the experiment has errors, 2 usage or I/O error.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { experimentJsonSchema } from '../config/jsonSchema';
import { formatCount } from '../model/parameters';
import { findingLines, loadExperimentFile } from './load';
import { dropRegimesCommand } from './dropRegimes';
import { multitaskCommand } from './multitask';
import { ablateCommand } from './ablate';
import { evaluateCommand } from './evaluate';
import { predictCommand } from './predict';
import { exportCommand } from './export';
import { fusionCommand } from './fusion';
import { importCommand } from './import';
import { runsCommand } from './runs';
import { sweepCommand, sweepTrialCommand } from './sweep';
import { demoCommand } from './demo';
import { resumeCommand, trainCommand } from './train';
import { vocabCommand } from './vocab';

const VERSION = '0.1.0';

const HELP = `adapter-lab ${VERSION} — bottleneck-adapter and AdapterDrop experiments

Usage:
  adapter-lab demo [--max-steps N] [--threads N] [--runs DIR] [--events]
      train adapters and full fine-tuning side by side on the built-in model and a
      generated task (no files needed; the built-in model is not pretrained)
  adapter-lab train <file.adapter.yaml> [--max-steps N] [--stop-after N] [--threads N] [--device D] [--runs DIR] [--checkpoint-every N] [--events]
      train one run; the run folder goes under .adapter-lab/runs beside the file
  adapter-lab resume <run-folder> [--stop-after N] [--threads N] [--device D] [--events]
      continue a killed or cancelled run from its last checkpoint to the same end
  adapter-lab predict <run-folder> <data-file> [--out FILE] [--threads N] [--events]
      one JSON line per example, in file order, with its logits and prediction
      (--events needs --out: standard output carries the events)
  adapter-lab sweep <file.adapter.yaml> [--resume SWEEP-FOLDER] [--workers N] [--max-steps N] [--threads N] [--device D] [--runs DIR] [--events]
      run the grid × seeds, trial after trial or in N worker processes (at most one per
      core, the threads split between them); select the best trial per group on validation
  adapter-lab sweep <file.adapter.yaml> --slurm [--wait [--interval S] [--events]] [--json] [--resume SWEEP-FOLDER] [--max-steps N] [--threads N] [--device D] [--runs DIR]
      on a Slurm cluster (also with sweep.executor: slurm; --local runs it here): one job
      array, one task per trial (sweep.slurm: partition, time, CPUs, memory, GPUs, …);
      --wait follows it to its end; --resume submits the trials that did not complete
  adapter-lab sweep --status SWEEP-FOLDER [--json]     each trial of a Slurm sweep: pending,
      running, completed, failed, cancelled, timed out, node failure; the summary once ended
  adapter-lab sweep --follow SWEEP-FOLDER [--interval S] [--events]   follow a Slurm sweep
  adapter-lab sweep --cancel SWEEP-FOLDER              scancel its job arrays
  adapter-lab ablate <run-folder> [--drop-curve] [--data FILE] [--threads N] [--events]
      remove the adapters of every span of layers i..j (and each single site) from a
      trained run and evaluate, without retraining; writes ablation.json to the run;
      --drop-curve: the AdapterDrop curve, n lowest layers removed (drop-curve.json)
  adapter-lab export <run-folder> [--onnx FILE] [--adapter DIR [--force]] [--threads N] [--events]
      --onnx: the adapted model as an ONNX file for inference (checked against the engine);
      --adapter: the trained adapter in AdapterHub's folder layout (a non-empty DIR only
      with --force)
  adapter-lab import <adapter-folder> [--model REF] [--data FILE] [--runs DIR] [--name NAME] [--events]
      a saved adapter as a new completed run, for evaluate, predict, ablate and export;
      --model: the base model (default: the one the adapter names); --data: a labelled
      file that serves as the run's validation data; a fusion folder (adapter_fusion_config.json,
      the fused adapters' folders beside it, as AdapterHub saves them) imports as a fusion run
      (--model required)
  adapter-lab drop-regimes <file.adapter.yaml> [--n 2,4,...] [--max-steps N] [--threads N] [--device D] [--runs DIR] [--events]
      AdapterDrop's curve (metric vs n lowest layers dropped) for three training regimes:
      standard, robust, and one run per n with layers 0..n-1 dropped (regimes.json)
  adapter-lab multitask <data-file> <run-folder>... [--out FILE] [--compare] [--threads N] [--events]
      several trained adapters over one base model in one pass: the lower layers no run
      adapts are computed once and shared; each task is scored when the file has its
      labels; --compare also times one pass per task (--events needs --out)
  adapter-lab evaluate <run-folder | adapter-folder> <data-file> [--model REF] [--threads N] [--device D] [--events]
      the metrics of a run, or of a saved adapter folder (on --model or the base model it
      names), on a labelled file (one JSON line on standard output)
  adapter-lab evaluate <builtin:NAME | model-folder> <text-file> [--threads N]
      a model itself, with its own masked-LM head: masked accuracy, loss and perplexity
      on running text (the masks drawn from seed 1)
  adapter-lab fusion weights <fusion-run> [--data FILE] [--threads N]
      each fused adapter's average fusion weight per layer and site over the real tokens
      of FILE (default: the run's training data); writes fusion-weights.json to the run
  adapter-lab fusion weights <fusion-run> --text TEXT [--pair TEXT] [--threads N]
      the same for one example, averaged over its tokens (--pair: a pair task's second
      text); writes nothing to the run. A run that has not finished answers from its
      last checkpoint (checkpointStep in the output)
  adapter-lab fusion examples <fusion-run> [--limit N]
      the first N (100) rows of the run's training and validation data, to pick from
  adapter-lab fusion prune <fusion-run> --data FILE [--per-layer] [--threads N]
      the fusion with only its top-k adapters kept (ranked by their average weights on the
      training data), k = 1..N, the same k everywhere or per layer: metric and time on
      FILE; writes fusion-pruning.json to the run
  adapter-lab vocab <file.txt>... --size N --out vocab.txt [--cased] [--min-frequency F] [--limit-alphabet A] [--heldout FILE]
      train a WordPiece vocabulary (uncased unless --cased) on text files, one paragraph
      per line; writes vocab.txt and tokenizer_config.json (a folder the tokenizer loads);
      --heldout: the share of [UNK] and tokens per word on that text
  adapter-lab runs list|show <run>|delete <run> --yes [--runs DIR] [--json]
      the runs and sweeps in .adapter-lab/runs (or DIR)
  adapter-lab validate [--json] [--runs DIR] <file.adapter.yaml>...   check experiment files
      (--runs: where a fusion's adapters named by experiment are; default beside each file)
  adapter-lab validate --builtin                          check the built-in quickstart experiment
  adapter-lab schema [--out FILE]                         print the experiment JSON Schema
  adapter-lab --help | --version

Findings print as file:line:column: severity: message [code].
--device auto|cpu|webgpu|cuda overrides the file's runtime.device (train, resume, sweep);
ablate, evaluate and export run on the CPU unless given --device.
--events writes JSON-lines job events (docs/events.md) to standard output; progress goes
to standard error.
Exit codes: 0 ok, 1 the experiment has errors or the job failed, 2 usage or I/O error,
130 cancelled (SIGINT/SIGTERM: the run stops at once and is kept with status cancelled;
resume continues from its last checkpoint).
`;

/** The built-in experiment: a small adapter run on a model the engine makes itself. */
export const BUILTIN_EXPERIMENT = path.join(__dirname, '..', 'examples', 'quickstart.adapter.yaml');

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    case '-v':
    case '--version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'validate':
      return validateCommand(rest);
    case 'schema':
      return schemaCommand(rest);
    case 'train':
      return trainCommand(rest, usage);
    case 'predict':
      return predictCommand(rest, usage);
    case 'demo':
      return demoCommand(rest, usage);
    case 'ablate':
      return ablateCommand(rest, usage);
    case 'sweep':
      return sweepCommand(rest, usage);
    case 'sweep-trial':
      return sweepTrialCommand(rest, usage);
    case 'runs':
      return runsCommand(rest, usage);
    case 'evaluate':
      return evaluateCommand(rest, usage);
    case 'resume':
      return resumeCommand(rest, usage);
    case 'export':
      return exportCommand(rest, usage);
    case 'import':
      return importCommand(rest, usage);
    case 'multitask':
      return multitaskCommand(rest, usage);
    case 'drop-regimes':
      return dropRegimesCommand(rest, usage);
    case 'vocab':
      return vocabCommand(rest, usage);
    case 'fusion':
      return fusionCommand(rest, usage);
    default:
      process.stderr.write(`adapter-lab: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

function validateCommand(argv: readonly string[]): number {
  // --runs DIR: where `fusion.adapters` finds experiments by name (as train and sweep take it).
  const at = argv.indexOf('--runs');
  if (at >= 0 && (argv[at + 1] === undefined || argv[at + 1]!.startsWith('-'))) return usage('--runs needs a folder');
  const runsDir = at >= 0 ? path.resolve(argv[at + 1]!) : undefined;
  const args = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 2)] : argv;
  const json = args.includes('--json');
  const unknown = args.filter((a) => a.startsWith('-') && a !== '--json' && a !== '--builtin');
  if (unknown.length) return usage(`unknown option ${unknown[0]}`);
  const files = args.filter((a) => !a.startsWith('-'));
  if (args.includes('--builtin')) files.push(path.relative(process.cwd(), BUILTIN_EXPERIMENT));
  if (files.length === 0) return usage('validate needs a file (or --builtin)');
  let worst = 0;
  const report: unknown[] = [];
  for (const file of files) {
    const loaded = loadExperimentFile(file, runsDir);
    const validation = loaded.validation;
    if (!validation || loaded.text === undefined) {
      process.stderr.write(`${'message' in loaded ? loaded.message : ''}\n`);
      worst = Math.max(worst, 2);
      continue;
    }
    if (json) report.push({ file, ok: validation.ok, findings: validation.findings, parameters: validation.parameters, sweep: validation.sweep });
    else {
      for (const line of findingLines(file, loaded.text, validation)) process.stdout.write(line + '\n');
      process.stderr.write(summary(file, validation) + '\n');
    }
    if (!validation.ok) worst = Math.max(worst, 1);
  }
  if (json) process.stdout.write(JSON.stringify(report.length === 1 ? report[0] : report, null, 2) + '\n');
  return worst;
}

function summary(file: string, v: NonNullable<ReturnType<typeof loadExperimentFile>['validation']>): string {
  const errors = v.findings.filter((f) => f.severity === 'error').length;
  const warnings = v.findings.filter((f) => f.severity === 'warning').length;
  if (errors) return `${file}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  const e = v.experiment!;
  const parts = [`${file}: valid (${warnings} warning${warnings === 1 ? '' : 's'})`, `method ${e.method}`];
  if (v.parameters) parts.push(`trainable ${formatCount(v.parameters.trainable)} of ${formatCount(v.parameters.base)} (${v.parameters.percentOfBase.toFixed(2)}% of the base model)`);
  if (v.sweep) parts.push(`sweep of ${v.sweep.runs} runs`);
  return parts.join(' · ');
}

function schemaCommand(args: readonly string[]): number {
  const text = JSON.stringify(experimentJsonSchema(), null, 2) + '\n';
  const i = args.indexOf('--out');
  if (i < 0) {
    process.stdout.write(text);
    return 0;
  }
  const out = args[i + 1];
  if (!out) return usage('--out needs a file');
  try {
    fs.writeFileSync(out, text);
  } catch (e) {
    process.stderr.write(`adapter-lab: cannot write ${out}: ${(e as Error).message}\n`);
    return 2;
  }
  return 0;
}

function usage(message: string): number {
  process.stderr.write(`adapter-lab: ${message}\n\n${HELP}`);
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e: unknown) => {
      process.stderr.write(`adapter-lab: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
