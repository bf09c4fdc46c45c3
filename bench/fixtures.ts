/**
 * The benchmark's workload: a valid experiment file of a given length, written the way
 * people grow real ones — long comment blocks that record why each choice was made, `x-`
 * anchors merged into the sections (`<<: *anchor`), a sweep grid whose axes are block
 * lists with one value per line, and an ablation over explicit layer spans — next to the
 * small train and dev TSV files it names. The model is `builtin:mini-bert` (6 layers,
 * hidden size 128), so nothing is downloaded.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface BenchWorkspace {
  /** The temporary folder holding everything below; remove it with `dispose()`. */
  readonly root: string;
  readonly file: string;
  readonly text: string;
  readonly lineCount: number;
  /** Offset of a 4-digit counter inside a comment: rewriting it changes the text, not the meaning. */
  readonly counterOffset: number;
  dispose(): void;
}

/** mini-bert's shape: adapter sizes must stay below the hidden size, layers within 0..5. */
const HIDDEN = 128;
const LAST_LAYER = 5;

export const COUNTER_MARK = 'edit counter ';

export function createBenchWorkspace(targetLines: number): BenchWorkspace {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-bench-'));
  fs.mkdirSync(path.join(root, 'data'));
  fs.writeFileSync(path.join(root, 'data', 'train.tsv'), tsv(240, 1));
  fs.writeFileSync(path.join(root, 'data', 'dev.tsv'), tsv(60, 2));
  const text = experimentText(targetLines);
  const file = path.join(root, 'glue-sweep.adapter.yaml');
  fs.writeFileSync(file, text);
  const counterOffset = text.indexOf(COUNTER_MARK) + COUNTER_MARK.length;
  return {
    root,
    file,
    text,
    lineCount: lineCountOf(text),
    counterOffset,
    dispose: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

export function lineCountOf(text: string): number {
  const lines = text.split('\n');
  return text.endsWith('\n') ? lines.length - 1 : lines.length;
}

const WORDS = ['the', 'film', 'is', 'a', 'quietly', 'moving', 'dull', 'sharp', 'story', 'plot', 'ending', 'cast', 'truly', 'awful', 'wonderful', 'slow'];

function tsv(rows: number, salt: number): string {
  const out = ['sentence\tlabel'];
  for (let i = 0; i < rows; i++) {
    const words = Array.from({ length: 5 + ((i * 7 + salt) % 6) }, (_, k) => WORDS[(i * 13 + k * 5 + salt) % WORDS.length]);
    out.push(`${words.join(' ')}\t${(i + salt) % 2}`);
  }
  return out.join('\n') + '\n';
}

/** The experiment, with the learning-rate axis sized so that the whole file has `targetLines` lines. */
function experimentText(targetLines: number): string {
  const before = head();
  const after = tail();
  const fixed = lineCountOf(before.join('\n') + '\n') + lineCountOf(after.join('\n') + '\n') + 1; // + the axis key line
  const axis = learningRateAxis(targetLines - fixed);
  return [...before, '    training.learning_rate:', ...axis, ...after].join('\n') + '\n';
}

function head(): string[] {
  const lines: string[] = [];
  const comment = (...text: string[]): void => void lines.push(...text.map((t) => (t ? `# ${t}` : '#')));
  comment(
    'GLUE-style adapter sweep on the built-in mini-bert (6 layers, hidden 128).',
    '',
    'This file is the lab notebook for the sentiment experiments: every block below says',
    'what was tried before and why the current values were chosen, so that the sweep can',
    'be re-run months from now without guessing. Keep the comments up to date when a value',
    'changes; the reviewers read them.',
    '',
    'Protocol (Houlsby et al., 2019, section 3.1): for each task, sweep the learning rate,',
    'the number of epochs and the adapter size; re-run every configuration with several',
    'seeds; select the best trial on the validation split. AdapterDrop (Ruckle et al., 2021)',
    'is layered on top: the lowest layers carry no adapter, so backpropagation stops early.',
    '',
    'History',
    '-------',
  );
  for (let i = 1; i <= 48; i++) {
    comment(`  run ${String(i).padStart(2, '0')}: lr ${(i * 2.5e-5).toExponential(2)}, size ${(i * 5) % 63 + 1}, epochs ${(i % 5) + 2}; dev accuracy ${(0.61 + i * 0.006).toFixed(3)}; notes: ${i % 3 === 0 ? 'diverged in epoch 1, lowered warmup' : i % 3 === 1 ? 'stable, slow to converge' : 'best so far on dev, kept as reference'}`);
  }
  comment('', `${COUNTER_MARK}0000 (touched by the benchmark on every edit)`, '');
  lines.push('name: sst-like-adapter-sweep', 'model: builtin:mini-bert   # 6 layers, hidden 128: sizes must stay below 128', '');

  comment('Shared task settings: every experiment in this folder reads the same columns.');
  lines.push(
    'x-data: &data',
    '  kind: classification',
    '  text: sentence',
    '  label: label',
    '  metric: accuracy',
    '',
  );
  comment('The training protocol of the paper, shared with the baseline experiments.');
  lines.push(
    'x-protocol: &protocol',
    '  learning_rate: 3.0e-4          # the paper\'s middle value',
    '  epochs: 3',
    '  batch_size: 32                 # as in Houlsby et al.',
    '  warmup: 0.1                    # 10% linear warm-up',
    '  weight_decay: 0.0',
    '  optimizer: adamw',
    '  max_grad_norm: 1.0',
    '  seed: 42',
    '',
  );
  comment('Adapter defaults shared by all sentiment experiments.');
  lines.push(
    'x-adapter: &adapter-defaults',
    '  sites:',
    '    - attention',
    '    - ffn',
    '  non_linearity: gelu',
    '  init_std: 1.0e-2               # robust for std <= 1e-2 (paper, section 3.6)',
    '  train_layernorm: true',
    '',
  );
  comment('Where it runs: CPU by default so that results are comparable across laptops.');
  lines.push('x-runtime: &runtime', '  device: cpu', '  threads: 2', '');

  lines.push(
    'task:',
    '  <<: *data',
    '  train: ./data/train.tsv        # 240 rows, balanced',
    '  validation: ./data/dev.tsv     # 60 rows, held out, never tuned on by hand',
    '  max_length: 64                 # 99% of sentences fit in 64 tokens',
    '',
  );
  comment('Adapters are the method under test; the grid below also runs the three baselines.');
  lines.push('method: adapter', '');
  lines.push('adapter:', '  <<: *adapter-defaults', '  size: 16                       # overridden by the grid', '  layers: all', '');
  comment('AdapterDrop: no adapters in the lowest two layers (static mode).');
  lines.push('drop:', '  layers: 0..1', '  mode: static', '');
  lines.push('training:', '  <<: *protocol', '');
  lines.push('runtime:', '  <<: *runtime', '');

  comment(
    'The sweep. Each axis is a block list, one value per line, so that a diff shows exactly',
    'which value was added or removed. Values were added over time as the notes say.',
  );
  lines.push('sweep:', '  seeds:');
  for (const s of [42, 43, 44, 45, 46, 101, 202, 303]) lines.push(`    - ${s}`);
  lines.push('  select: validation', '  grid:');

  lines.push('    # Which parameters are trained: adapters against the three baselines of the paper.', '    method:');
  for (const m of ['adapter', 'full', 'top_k', 'layernorm']) lines.push(`      - ${m}`);
  lines.push('    top_k:');
  for (let k = 1; k <= LAST_LAYER + 1; k++) lines.push(`      - ${k}`);

  lines.push('    # Every bottleneck size below the hidden size (128): 1 .. 63.', '    adapter.size:');
  for (let m = 1; m < HIDDEN / 2; m++) {
    if (m % 8 === 1) lines.push(`      # sizes ${m}..${Math.min(m + 7, HIDDEN / 2 - 1)}: ${2 * m * HIDDEN + HIDDEN + m} parameters per adapter at the low end`);
    lines.push(`      - ${m}`);
  }
  lines.push('    adapter.non_linearity:');
  for (const f of ['gelu', 'relu', 'swish', 'tanh']) lines.push(`      - ${f}`);
  lines.push('    adapter.layers:');
  for (const l of ['all', `0..${LAST_LAYER}`, `1..${LAST_LAYER}`, `2..${LAST_LAYER}`, `3..${LAST_LAYER}`]) lines.push(`      - ${l}`);
  lines.push(
    '    # Initialisation scale: the paper finds results robust for std <= 1e-2 and worse above;',
    '    # we re-check that on the small model with a fine log-spaced scan, 1e-7 .. 1e-2.',
    '    adapter.init_std:',
  );
  lines.push(...logSpaced(200, -7, -2, 10, 'init_std'));
  lines.push('    drop.layers:');
  for (const d of ['none', '0..0', '0..1', '0..2', '0..3']) lines.push(`      - ${d}`);
  lines.push('    # Epochs: the paper uses {3, 20}; the notes above show the curve in between.', '    training.epochs:');
  for (let e = 1; e <= 30; e++) lines.push(`      - ${e}`);
  lines.push('    training.batch_size:');
  for (let b = 8; b <= 128; b += 8) lines.push(`      - ${b}`);
  lines.push('    # Warm-up fraction in steps of 0.1%, 0 .. 30% (the paper warms up over 10%).', '    training.warmup:');
  for (let w = 0; w <= 300; w++) {
    if (w % 25 === 0) lines.push(`      # warm-up ${(w / 10).toFixed(1)}% and up`);
    lines.push(`      - ${(w / 1000).toFixed(3)}`);
  }
  lines.push('    # Weight decay, log-spaced 1e-5 .. 1e-1 (AdamW, not applied to biases and layer norms).', '    training.weight_decay:');
  lines.push(...logSpaced(100, -5, -1, 10, 'weight_decay'));
  lines.push('    # Learning rates, log-spaced from 1e-6 to 1e-2; each comment marks a new decade or a', '    # block that was added after a review.');
  return lines;
}

/** `count` lines: distinct log-spaced learning rates, with a comment line every 8 values. */
function learningRateAxis(count: number): string[] {
  let values = count;
  while (values + Math.ceil(values / 8) > count) values--;
  if (values < 100) throw new Error(`target too small: only ${count} lines left for the learning-rate axis`);
  const lines = logSpaced(values, -6, -2, 8, 'learning rates');
  while (lines.length < count) lines.push(`      # (spare line ${lines.length})`);
  return lines;
}

/** A block list of `n` distinct log-spaced values from 10^from to 10^to, a comment line before every `per` values. */
function logSpaced(n: number, from: number, to: number, per: number, what: string): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (i % per === 0) lines.push(`      # ${what} ${i + 1}..${Math.min(i + per, n)} of ${n}${i === 0 ? ' (added in the first review)' : ''}`);
    const [mantissa, exponent] = Math.pow(10, from + ((to - from) * i) / (n - 1)).toExponential(4).split('e');
    const value = `${mantissa}e${exponent}`;
    if (seen.has(value)) throw new Error(`duplicate ${what} value ${value}`);
    seen.add(value);
    lines.push(`      - ${value}`);
  }
  return lines;
}

function tail(): string[] {
  const lines = [
    '',
    '# Ablation (Houlsby et al., Fig. 6): remove the adapters of these spans from the best',
    '# trained adapter, without retraining, and evaluate on dev. Every span i..j of the',
    '# six layers, lowest first.',
    'ablation:',
    '  spans:',
  ];
  for (let i = 0; i <= LAST_LAYER; i++) {
    lines.push(`    # spans starting at layer ${i}`);
    for (let j = i; j <= LAST_LAYER; j++) lines.push(`    - ${i}..${j}`);
  }
  lines.push('', '# end of file');
  return lines;
}
