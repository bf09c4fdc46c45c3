// `npm run pretrain:builtin`: pretrains the built-in English BERT with the engine itself, in
// stretches. Each call does what is left: build the corpus (Debian packages), train the
// vocabulary, then train the model — or resume the run a stopped call left (its checkpoint
// is written every 200 steps). Hours of CPU: run it in the background, never in CI.
//   node scripts/build.mjs --quiet --no-tsc && node scripts/builtin/pretrain.mjs [--threads N] [--stop-after STEP]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(root, 'dist', 'cli.js');
const work = join(root, '.pretrain');
const runs = join(work, 'runs');
const experiment = join(root, 'scripts', 'builtin', 'pretrain.adapter.yaml');
const passOn = (flag) => (process.argv.includes(flag) ? [flag, process.argv[process.argv.indexOf(flag) + 1]] : []);
// --stop-after N stops at step N of the planned schedule (the shipped model is such a step); a later call resumes.
const threads = [...passOn('--threads'), ...passOn('--stop-after')];

function run(what, command, args) {
  process.stderr.write(`\npretrain: ${what}\n`);
  const r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    process.stderr.write(`pretrain: ${what} failed (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status ?? 1);
  }
}

if (!existsSync(cli)) run('building the engine', process.execPath, [join(root, 'scripts', 'build.mjs'), '--quiet', '--no-tsc']);
if (!existsSync(join(root, '.corpus', 'train.txt'))) run('building the corpus (npm run corpus:build)', process.execPath, [join(root, 'scripts', 'corpus', 'build-corpus.mjs')]);
if (!existsSync(join(work, 'vocab.txt'))) {
  run('training the vocabulary', process.execPath, [cli, 'vocab', join(root, '.corpus', 'train.txt'), '--size', '8192', '--heldout', join(root, '.corpus', 'heldout.txt'), '--out', `${work}/`]);
}

const status = (dir) => JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8')).status;
const existing = existsSync(runs) ? readdirSync(runs).filter((n) => n.startsWith('builtin-pretrain-')).sort().map((n) => join(runs, n)) : [];
const last = existing[existing.length - 1];
if (last && status(last) === 'completed') process.stderr.write(`pretrain: ${last} has completed; its model is in ${join(last, 'model')}\n`);
else if (last && existsSync(join(last, 'checkpoint.safetensors'))) run(`resuming ${last}`, process.execPath, [cli, 'resume', last, ...threads]);
else run('training', process.execPath, [cli, 'train', experiment, '--runs', runs, '--checkpoint-every', '200', ...threads]);
