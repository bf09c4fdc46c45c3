/**
 * `adapter-lab demo`, the README's first command: the papers' comparison on the built-in
 * pretrained model and a real English task, with no files of the user's. Adapters, full
 * fine-tuning and layer-norm-only training of `builtin:english-bert` on WordNet supersense
 * classification side by side, and the same adapters on its unpretrained twin, to show
 * what pretraining buys. Sized to finish in under three minutes on two cores (92 s measured): a slice of
 * the task's training and dev files, two epochs.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { validateExperiment } from '../config/validate';
import { formatCount } from '../model/parameters';
import { runTrainJob, type TrainJobResult } from '../jobs/train';
import { findShipped } from '../util/shipped';
import { cancellation, emitFailure, eventWriter, exitCodeOf, jobFlags, messageOf, parseFlags, sinkFor } from './command';

/** The task's shipped files, relative to the repository or the installed extension. */
const TASK_DIR = path.join('examples', 'data', 'wordnet-supersense');
const TRAIN_ROWS = 2500;
const DEV_ROWS = 500;

interface DemoRun {
  readonly label: string;
  readonly model: string;
  readonly method: 'adapter' | 'full' | 'layernorm';
  readonly learningRate: string;
}

/** Learning rates from a small sweep on this task: adapters and layer norms want more than full fine-tuning. */
const RUNS: readonly DemoRun[] = [
  { label: 'adapters', model: 'builtin:english-bert', method: 'adapter', learningRate: '2.0e-3' },
  { label: 'full fine-tuning', model: 'builtin:english-bert', method: 'full', learningRate: '3.0e-4' },
  { label: 'layer norms only', model: 'builtin:english-bert', method: 'layernorm', learningRate: '3.0e-3' },
  { label: 'adapters, unpretrained twin', model: 'builtin:english-bert-random', method: 'adapter', learningRate: '2.0e-3' },
];

function experimentSource(r: DemoRun, index: number): string {
  return [
    `name: demo-${index + 1}-${r.method}${r.model.endsWith('-random') ? '-unpretrained' : ''}`,
    `model: ${r.model}`,
    'task:',
    '  kind: classification',
    '  train: ./train.tsv',
    '  validation: ./dev.tsv',
    '  text: text',
    '  label: label',
    '  metric: accuracy',
    '  max_length: 32',
    `method: ${r.method}`,
    ...(r.method === 'adapter' ? ['adapter:', '  size: 32'] : []),
    'training:',
    `  learning_rate: ${r.learningRate}`,
    '  epochs: 2',
    '  batch_size: 32',
    '  seed: 42',
    '',
  ].join('\n');
}

/** The header and the first `rows` rows of a shipped TSV file. */
function head(file: string, rows: number): string {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  return lines.slice(0, rows + 1).join('\n') + '\n';
}

/** The share of the most frequent label in a TSV's last column. */
function majorityShare(tsv: string): number {
  const counts = new Map<string, number>();
  const rows = tsv.split('\n').slice(1).filter((l) => l.trim());
  for (const r of rows) {
    const label = r.slice(r.lastIndexOf('\t') + 1);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return rows.length ? Math.max(...counts.values()) / rows.length : 0;
}

export async function demoCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['runs', 'threads', 'max-steps'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  if (parsed.positional.length) return usage('demo takes no files');
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { maxSteps, threads } = flags;
  const events = parsed.flags.has('events');
  const started = Date.now();
  const train = findShipped(path.join(TASK_DIR, 'train.tsv'));
  const dev = findShipped(path.join(TASK_DIR, 'dev.tsv'));
  if (!train || !dev) {
    const message = `the demo's task (${TASK_DIR}/train.tsv and dev.tsv) is not installed beside the engine`;
    emitFailure(eventWriter(events), 'setup-failed', message, { run: '', started });
    process.stderr.write(`error: ${message}\n`);
    return 1;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-demo-'));
  const runsDir = typeof parsed.flags.get('runs') === 'string' ? path.resolve(parsed.flags.get('runs') as string) : path.resolve('.adapter-lab', 'runs');
  fs.writeFileSync(path.join(dir, 'train.tsv'), head(train, TRAIN_ROWS));
  const devText = head(dev, DEV_ROWS);
  fs.writeFileSync(path.join(dir, 'dev.tsv'), devText);
  const majority = majorityShare(devText);
  process.stderr.write(
    'Adapter Lab demo: WordNet noun supersenses (26 classes) from the definition of a word sense,\n' +
      `on builtin:english-bert, the built-in pretrained English BERT (docs/builtin-model.md).\n` +
      `Adapters, full fine-tuning and layer norms only side by side, then the same adapters on its\n` +
      `unpretrained twin. ${TRAIN_ROWS.toLocaleString('en-US')} training and ${DEV_ROWS} dev rows, 2 epochs.\n\n`,
  );
  const { signal, dispose } = cancellation();
  const results: { run: DemoRun; result: TrainJobResult }[] = [];
  try {
    for (const [i, run] of RUNS.entries()) {
      const source = experimentSource(run, i);
      const file = path.join(dir, `demo-${i + 1}.adapter.yaml`);
      fs.writeFileSync(file, source);
      const v = validateExperiment(source, { filePath: file });
      if (!v.ok) throw new Error(`the demo experiment is invalid: ${v.findings.map((f) => f.message).join('; ')}`);
      process.stderr.write(`[${i + 1}/${RUNS.length}] ${run.label}\n`);
      const result = await runTrainJob({ experiment: v.experiment!, source, runsDir, maxSteps, threads, emit: sinkFor(events), signal });
      results.push({ run, result });
      if (result.status !== 'completed') break;
    }
  } catch (e) {
    emitFailure(eventWriter(events), 'setup-failed', messageOf(e), { run: '', started });
    process.stderr.write(`error: ${messageOf(e)}\n`);
    return 1;
  } finally {
    dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const accuracy = (r: TrainJobResult) => r.metrics.accuracy;
  const rows = results.map(({ run, result }) => [run.label, run.model, formatCount(result.parameters.trainable), `${result.parameters.percentOfBase.toFixed(2)}%`, accuracy(result) !== undefined ? accuracy(result)!.toFixed(4) : '—', result.status, path.relative(process.cwd(), result.runDir)]);
  const header = ['training', 'model', 'trainable', '% of base', 'dev accuracy', 'status', 'run folder'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  process.stderr.write(`\n${line(header)}\n${rows.map(line).join('\n')}\n`);
  const pretrained = results.find((r) => r.run === RUNS[0])?.result;
  const twin = results.find((r) => r.run === RUNS[3])?.result;
  if (pretrained && twin && accuracy(pretrained) !== undefined && accuracy(twin) !== undefined) {
    const gain = 100 * (accuracy(pretrained)! - accuracy(twin)!);
    process.stderr.write(`\nPretraining buys ${gain >= 0 ? '+' : ''}${gain.toFixed(1)} points of accuracy for the same adapters (always answering the most frequent class scores ${(100 * majority).toFixed(1)}%).\n`);
  }
  process.stderr.write(`Elapsed ${((Date.now() - started) / 1000).toFixed(0)} s. The papers' findings at scale: docs/findings.md.\n`);
  return results.every((r) => r.result.status === 'completed') ? 0 : exitCodeOf(results[results.length - 1]!.result);
}
