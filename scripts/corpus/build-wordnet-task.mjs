#!/usr/bin/env node
// Builds the WordNet noun supersense task: classify a noun synset's gloss (its definition
// and example sentences) into its lexicographer file (noun.animal, noun.artifact, ...: 26
// classes). On demand only (it downloads wordnet-base); never part of the tests.
//
//   node scripts/corpus/build-wordnet-task.mjs [--work DIR] [--out DIR] [--latest] [--offline]
//
// --work DIR  download and unpack folder (default: .corpus at the repository root)
// --out DIR   where the task goes (default: examples/data/wordnet-supersense)
// --latest    take apt's current wordnet-base if the pinned version is gone
// --offline   use only a .deb already in WORK/debs
//
// Writes train.tsv, dev.tsv and test.tsv (header `text<TAB>label`), LICENSE and README.md.
// The split is stratified and decided by a hash of each gloss, so it is the same on every
// run; the training split is subsampled (stratified, by the same hash) to keep the three
// files under 4.9 MB together.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchDeb, unpackDeb } from './lib/debian.mjs';
import { hash32 } from './lib/text.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const PACKAGE = 'wordnet-base';
const VERSION = '1:3.0-37';
/** The three files together stay under this many bytes. */
const MAX_BYTES = 4_900_000;
/** Share of each class in dev and in test. */
const HELD_SHARE = 0.05;
/** At least this many glosses of each class in dev and in test (when the class has them). */
const MIN_HELD = 2;
/** Subsampling keeps at least this many training glosses of a class (or all it has). */
const MIN_TRAIN = 100;

/** WordNet's lexicographer files, by number (lexnames(5WN)). */
const LEXNAMES = [
  'adj.all', 'adj.pert', 'adv.all', 'noun.Tops', 'noun.act', 'noun.animal', 'noun.artifact',
  'noun.attribute', 'noun.body', 'noun.cognition', 'noun.communication', 'noun.event',
  'noun.feeling', 'noun.food', 'noun.group', 'noun.location', 'noun.motive', 'noun.object',
  'noun.person', 'noun.phenomenon', 'noun.plant', 'noun.possession', 'noun.process',
  'noun.quantity', 'noun.relation', 'noun.shape', 'noun.state', 'noun.substance', 'noun.time',
  'verb.body', 'verb.change', 'verb.cognition', 'verb.communication', 'verb.competition',
  'verb.consumption', 'verb.contact', 'verb.creation', 'verb.emotion', 'verb.motion',
  'verb.perception', 'verb.possession', 'verb.social', 'verb.stative', 'verb.weather', 'adj.ppl',
];

/** Prints the comment at the top of this file. */
function printUsage() {
  const lines = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  const end = lines.findIndex((l) => !l.startsWith('//'));
  console.log(lines.slice(0, end).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
}

function parseArgs(argv) {
  const opts = { work: path.join(root, '.corpus'), out: path.join(root, 'examples/data/wordnet-supersense'), latest: false, offline: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--work') opts.work = path.resolve(argv[++i]);
    else if (a === '--out') opts.out = path.resolve(argv[++i]);
    else if (a === '--latest') opts.latest = true;
    else if (a === '--offline') opts.offline = true;
    else if (a === '--help' || a === '-h') { printUsage(); process.exit(0); }
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

/** The noun glosses of data.noun as [{ text, label }] (licence header lines skipped). */
export function readNounGlosses(file) {
  const out = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line || line.startsWith('  ')) continue;
    const bar = line.indexOf(' | ');
    if (bar < 0) throw new Error(`${file}: a synset line without a gloss: ${line.slice(0, 60)}`);
    const fields = line.slice(0, bar).split(' ');
    const lexFile = Number.parseInt(fields[1], 10);
    const label = LEXNAMES[lexFile];
    if (!label?.startsWith('noun.')) throw new Error(`${file}: lexicographer file ${fields[1]} is not a noun file`);
    const text = line.slice(bar + 3).replace(/[\t\r]/g, ' ').replace(/\s+/g, ' ').trim();
    if (text) out.push({ text, label });
  }
  return out;
}

/** Drops repeated glosses: one copy when they agree on the class, none when they do not. */
function dedupe(items) {
  const byText = new Map();
  for (const it of items) {
    const labels = byText.get(it.text) ?? new Set();
    labels.add(it.label);
    byText.set(it.text, labels);
  }
  const kept = [];
  let conflicting = 0;
  for (const [text, labels] of byText) {
    if (labels.size === 1) kept.push({ text, label: [...labels][0] });
    else conflicting++;
  }
  return { kept, repeated: items.length - byText.size, conflicting };
}

const rowBytes = (it) => Buffer.byteLength(`${it.text}\t${it.label}\n`);
const HEADER = 'text\tlabel\n';

function split(items) {
  const byClass = new Map();
  for (const it of items) {
    it.hash = hash32('wordnet-supersense\n' + it.text);
    if (!byClass.has(it.label)) byClass.set(it.label, []);
    byClass.get(it.label).push(it);
  }
  const order = (a, b) => a.hash - b.hash || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0);
  const parts = { train: [], dev: [], test: [] };
  const trainByClass = new Map();
  for (const label of [...byClass.keys()].sort()) {
    const list = byClass.get(label).sort(order);
    const held = Math.min(Math.floor(list.length / 3), Math.max(MIN_HELD, Math.round(list.length * HELD_SHARE)));
    parts.test.push(...list.slice(0, held));
    parts.dev.push(...list.slice(held, 2 * held));
    trainByClass.set(label, list.slice(2 * held));
  }
  // Subsample the training split, the same fraction of every class (by hash order), until
  // the three files fit the size limit.
  const heldBytes = 3 * HEADER.length + [...parts.dev, ...parts.test].reduce((n, it) => n + rowBytes(it), 0);
  const fullTrain = [...trainByClass.values()].flat();
  const fullBytes = fullTrain.reduce((n, it) => n + rowBytes(it), 0);
  let rate = Math.min(1, (MAX_BYTES - heldBytes) / fullBytes);
  for (;;) {
    const train = [];
    for (const [, list] of [...trainByClass].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      train.push(...list.slice(0, Math.min(list.length, Math.max(MIN_TRAIN, Math.floor(list.length * rate)))));
    }
    const bytes = heldBytes + train.reduce((n, it) => n + rowBytes(it), 0);
    if (bytes <= MAX_BYTES) { parts.train = train; break; }
    rate -= 0.002;
  }
  for (const k of Object.keys(parts)) parts[k].sort(order);
  return { parts, rate: Math.min(1, rate), fullTrain: fullTrain.length };
}

function counts(list) {
  const c = {};
  for (const it of list) c[it.label] = (c[it.label] ?? 0) + 1;
  return c;
}

function majority(train, test) {
  const c = counts(train);
  const top = Object.keys(c).sort((a, b) => c[b] - c[a] || (a < b ? -1 : 1))[0];
  const hits = test.filter((it) => it.label === top).length;
  return { label: top, accuracy: hits / test.length };
}

function licenceText(copyrightFile) {
  // The WordNet3.0 licence paragraph of the Debian copyright file, de-indented.
  const text = fs.readFileSync(copyrightFile, 'utf8');
  const m = /^License: WordNet3\.0\n((?: .*\n?)+)/m.exec(text);
  if (!m) throw new Error(`${copyrightFile}: no "License: WordNet3.0" paragraph`);
  return m[1].split('\n').map((l) => l.replace(/^ /, '')).map((l) => (l === '.' ? '' : l)).join('\n').trim();
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const log = (m) => console.log(m);
  const debs = path.join(opts.work, 'debs');
  let deb;
  try {
    deb = fetchDeb(PACKAGE, VERSION, debs, { log, offline: opts.offline });
  } catch (e) {
    if (!opts.latest || opts.offline) throw e;
    log(`  ${PACKAGE} ${VERSION} is not available; taking apt's current version (--latest)`);
    deb = fetchDeb(PACKAGE, undefined, debs, { log });
  }
  const dir = unpackDeb(deb.file, path.join(opts.work, 'pkg', PACKAGE));
  const all = readNounGlosses(path.join(dir, 'usr/share/wordnet/data.noun'));
  const { kept, repeated, conflicting } = dedupe(all);
  log(`${PACKAGE} ${deb.version}: ${all.length} noun glosses; ${repeated} repeats removed (${conflicting} glosses dropped for having two classes); ${kept.length} left`);
  const { parts, rate, fullTrain } = split(kept);

  fs.mkdirSync(opts.out, { recursive: true });
  const sizes = {};
  for (const [name, list] of Object.entries(parts)) {
    const body = HEADER + list.map((it) => `${it.text}\t${it.label}\n`).join('');
    fs.writeFileSync(path.join(opts.out, `${name}.tsv`), body);
    sizes[name] = Buffer.byteLength(body);
  }
  const labels = [...new Set(kept.map((it) => it.label))].sort();
  const perSplit = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, counts(v)]));
  const base = majority(parts.train, parts.test);
  const baseDev = majority(parts.train, parts.dev);
  const copyright = path.join(dir, 'usr/share/doc', PACKAGE, 'copyright');
  fs.writeFileSync(path.join(opts.out, 'LICENSE'), licenseFile(licenceText(copyright)));
  fs.writeFileSync(path.join(opts.out, 'README.md'), readme({ version: deb.version, all: all.length, kept: kept.length, repeated, conflicting, parts, perSplit, labels, sizes, rate, fullTrain, base, baseDev }));

  log('');
  log(`${'class'.padEnd(20)} ${'train'.padStart(6)} ${'dev'.padStart(5)} ${'test'.padStart(5)}`);
  for (const l of labels) log(`${l.padEnd(20)} ${String(perSplit.train[l] ?? 0).padStart(6)} ${String(perSplit.dev[l] ?? 0).padStart(5)} ${String(perSplit.test[l] ?? 0).padStart(5)}`);
  log(`${'total'.padEnd(20)} ${String(parts.train.length).padStart(6)} ${String(parts.dev.length).padStart(5)} ${String(parts.test.length).padStart(5)}`);
  log(`bytes: train ${sizes.train}, dev ${sizes.dev}, test ${sizes.test}, together ${sizes.train + sizes.dev + sizes.test}`);
  log(`training split kept ${parts.train.length} of ${fullTrain} (subsampling rate ${rate.toFixed(3)})`);
  log(`majority class ${base.label}: test accuracy ${(100 * base.accuracy).toFixed(2)}%, dev ${(100 * baseDev.accuracy).toFixed(2)}%`);
}

function licenseFile(licence) {
  return [
    'The glosses in train.tsv, dev.tsv and test.tsv are taken from WordNet 3.0',
    '(Princeton University), as packaged in Debian (wordnet-base), and are distributed',
    'under the WordNet 3.0 licence below. The labels are WordNet\'s lexicographer file names.',
    '',
    'George A. Miller (1995). WordNet: A Lexical Database for English.',
    'Communications of the ACM 38(11): 39-41.',
    'Christiane Fellbaum (1998, ed.). WordNet: An Electronic Lexical Database. MIT Press.',
    '',
    '----------------------------------------------------------------------------------------',
    '',
    licence,
    '',
  ].join('\n');
}

function readme(r) {
  const pct = (x) => `${(100 * x).toFixed(2)}%`;
  const rows = r.labels.map((l) => `| ${l} | ${r.perSplit.train[l] ?? 0} | ${r.perSplit.dev[l] ?? 0} | ${r.perSplit.test[l] ?? 0} |`);
  const total = r.sizes.train + r.sizes.dev + r.sizes.test;
  return `# WordNet noun supersenses

Classify the gloss of a WordNet noun synset — its definition, with its example sentences
when it has them — into the synset's *supersense*: the lexicographer file WordNet files it
under (\`noun.animal\`, \`noun.artifact\`, \`noun.feeling\`, …). ${r.labels.length} classes, all of
WordNet 3.0's noun files.

| file | rows | bytes |
|---|---:|---:|
| train.tsv | ${r.parts.train.length} | ${r.sizes.train} |
| dev.tsv | ${r.parts.dev.length} | ${r.sizes.dev} |
| test.tsv | ${r.parts.test.length} | ${r.sizes.test} |
| together | ${r.parts.train.length + r.parts.dev.length + r.parts.test.length} | ${total} |

Each file is tab-separated with a header row: \`text\` (the gloss) and \`label\`. An
experiment names them as \`text: text\` and \`label: label\`:

\`\`\`yaml
task:
  kind: classification
  train: ./data/wordnet-supersense/train.tsv
  validation: ./data/wordnet-supersense/dev.tsv
  text: text
  label: label
\`\`\`

Example rows (from test.tsv):

${r.parts.test.slice(0, 3).map((it) => `- \`${it.text}\` → \`${it.label}\``).join('\n')}

**Baseline.** Always answering the most frequent training class (\`${r.base.label}\`)
scores ${pct(r.base.accuracy)} accuracy on test (${pct(r.baseDev.accuracy)} on dev): the floor a
model must beat. The classes are skewed (see below): accuracy is dominated by the large
ones, so look at the small classes too.

## Classes

| label | train | dev | test |
|---|---:|---:|---:|
${rows.join('\n')}
| total | ${r.parts.train.length} | ${r.parts.dev.length} | ${r.parts.test.length} |

## How it was built

\`npm run task:wordnet\` (\`node scripts/corpus/build-wordnet-task.mjs\`) from the Debian
package \`wordnet-base\` ${r.version}:

1. \`data.noun\`: the licence header (lines starting with two spaces) skipped; for every
   synset the lexicographer file number (field 2) names the class, and the text after
   \`|\` is the gloss, white space collapsed, quoted examples kept. ${r.all} glosses.
2. Repeated glosses removed: ${r.repeated} repeats; ${r.conflicting} glosses that occur under two
   classes dropped altogether. ${r.kept} left.
3. Split per class by a hash of the gloss: ${pct(HELD_SHARE)} to test, ${pct(HELD_SHARE)} to dev (at least
   ${MIN_HELD} each), the rest to train. No gloss is in two files.
4. The full training split (${r.fullTrain} glosses) would take the three files past
   ${MAX_BYTES / 1e6} MB, so it is subsampled: every class keeps the same share of its glosses
   (${r.rate.toFixed(3)}, the first in hash order), but at least ${MIN_TRAIN} (or all it has).
5. Rows are written in hash order.

The same package version gives the same files, byte for byte. WordNet text is never part
of the project's pretraining corpus, so a model pretrained on it has not seen these glosses.

Licence: WordNet 3.0 licence (see LICENSE), © 2006 Princeton University.
`;
}

try {
  main();
} catch (e) {
  console.error(`build-wordnet-task: ${e.message}`);
  process.exit(1);
}
