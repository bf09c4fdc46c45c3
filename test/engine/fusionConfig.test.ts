/**
 * `method: fusion` in the experiment language: the `fusion` block's settings, references to
 * the adapters (adapter folders, run folders, experiment names in the runs folder), the
 * located findings when they do not fit, and the parameter counts the editor shows.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { validateExperiment } from '../../engine/config';
import { latestCompletedRun } from '../../engine/config/fusionRefs';
import { builtinVocab } from '../../engine/model/builtin';
import { BUILTIN_MODELS } from '../../engine/model/dims';
import { vocabularyChecksum } from '../../engine/tokenizer/checksum';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fusion-config-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

const D = 64; // builtin:tiny-bert: hidden 64, 4 layers

function adapterFolder(dir: string, o: { name: string; hidden?: number; mh?: boolean; output?: boolean; model?: string; size?: number; vocabulary?: string; lnBefore?: boolean; parallel?: boolean }): string {
  fs.mkdirSync(dir, { recursive: true });
  const config = {
    config: { architecture: 'bottleneck', mh_adapter: o.mh ?? true, output_adapter: o.output ?? true, reduction_factor: D / (o.size ?? 16), non_linearity: 'gelu', leave_out: [], original_ln_before: o.lnBefore ?? false, residual_before_ln: true, original_ln_after: true, is_parallel: o.parallel ?? false },
    hidden_size: o.hidden ?? D,
    name: o.name,
    model_name: 'builtin:tiny-bert',
    adapter_lab: { method: 'adapter', model: o.model ?? 'builtin:tiny-bert', bottleneck_size: o.size ?? 16, ...(o.vocabulary ? { vocabulary: o.vocabulary } : {}) },
  };
  fs.writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify(config));
  return dir;
}

function runFolder(runsDir: string, folder: string, status: string, adapter: Parameters<typeof adapterFolder>[1]): string {
  const dir = path.join(runsDir, folder);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  fs.writeFileSync(path.join(dir, 'status.json'), JSON.stringify({ status }));
  adapterFolder(path.join(dir, 'adapter'), adapter);
  return dir;
}

fs.mkdirSync(path.join(root, 'data'));
fs.writeFileSync(path.join(root, 'data', 'train.tsv'), 'sentence\tlabel\ngood\tpos\nbad\tneg\n');
adapterFolder(path.join(root, 'hub', 'sst'), { name: 'sst' });
adapterFolder(path.join(root, 'hub', 'mnli'), { name: 'mnli', size: 8 });
adapterFolder(path.join(root, 'hub', 'wide'), { name: 'wide', hidden: 128 });
adapterFolder(path.join(root, 'hub', 'ffn-only'), { name: 'ffn_only', mh: false });
adapterFolder(path.join(root, 'hub', 'sst-again'), { name: 'sst' });
adapterFolder(path.join(root, 'hub', 'mini'), { name: 'mini', model: 'builtin:mini-bert' });
const TINY_VOCABULARY = vocabularyChecksum(builtinVocab(BUILTIN_MODELS['tiny-bert']!));
adapterFolder(path.join(root, 'hub', 'same-vocab'), { name: 'same_vocab', vocabulary: TINY_VOCABULARY });
adapterFolder(path.join(root, 'hub', 'other-vocab'), { name: 'other_vocab', vocabulary: '0123456789abcdef' });
// Pfeiffer's placement (AdapterHub's seq_bn: after the feed-forward sub-layer, original_ln_before), and a parallel adapter (par_bn).
adapterFolder(path.join(root, 'hub', 'pf-sst'), { name: 'pf_sst', mh: false, lnBefore: true });
adapterFolder(path.join(root, 'hub', 'pf-mnli'), { name: 'pf_mnli', mh: false, lnBefore: true, size: 8 });
adapterFolder(path.join(root, 'hub', 'par'), { name: 'par', mh: false, parallel: true });
const runsDir = path.join(root, '.adapter-lab', 'runs');
runFolder(runsDir, 'rte-20260101-100000', 'completed', { name: 'rte_old' });
runFolder(runsDir, 'rte-20260102-100000', 'completed', { name: 'rte' });
runFolder(runsDir, 'rte-20260103-100000', 'failed', { name: 'rte_failed' });
runFolder(runsDir, 'qnli-20260101-100000', 'running', { name: 'qnli' });
const FILE = path.join(root, 'fusion.adapter.yaml');

function experiment(adapters: string, extra = ''): string {
  return `name: fused\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: data/train.tsv\n  text: sentence\n  label: label\nmethod: fusion\nfusion:\n  adapters: ${adapters}\n${extra}`;
}

const errorsOf = (text: string) => validateExperiment(text, { filePath: FILE }).findings.filter((f) => f.severity === 'error');
const at = (text: string, range: { start: number; end: number }) => text.slice(range.start, range.end);

describe('fusion in the experiment language', () => {
  test('two adapter folders: valid, resolved with defaults, and the counts are the fusion layers and the head', () => {
    const text = experiment('[hub/sst, hub/mnli]');
    const v = validateExperiment(text, { filePath: FILE });
    assert.deepEqual(v.findings.filter((f) => f.severity === 'error'), []);
    assert.deepEqual(v.experiment!.fusion, { adapters: ['hub/sst', 'hub/mnli'], baseDir: root, config: 'dynamic', residualBefore: false, queryBeforeLn: false, temperature: false, valueInitialized: true, regularization: 0.01, dropout: undefined });
    assert.deepEqual(v.fused.map((a) => a.name), ['sst', 'mnli']);
    const p = v.parameters!;
    // 4 layers × 2 sites, each 3d² + 2d.
    assert.equal(p.fusion, 8 * (3 * D * D + 2 * D));
    // Frozen: sst (m = 16) and mnli (m = 8) at 8 sites each, 2·m·d + d + m per adapter.
    assert.equal(p.fusedAdapters, 8 * (2 * 16 * D + D + 16) + 8 * (2 * 8 * D + D + 8));
    assert.equal(p.adapters, 0);
    assert.equal(p.trainable, p.fusion + p.head);
  });

  test('static: 2d² + 2d per site; settings resolve', () => {
    const v = validateExperiment(experiment('[hub/sst, hub/mnli]', '  config: static\n  residual_before: true\n  temperature: true\n  regularization: 0\n  dropout: 0.2\n'), { filePath: FILE });
    assert.deepEqual(v.findings.filter((f) => f.severity === 'error'), []);
    assert.equal(v.parameters!.fusion, 8 * (2 * D * D + 2 * D));
    assert.deepEqual(v.experiment!.fusion, { adapters: ['hub/sst', 'hub/mnli'], baseDir: root, config: 'static', residualBefore: true, queryBeforeLn: false, temperature: true, valueInitialized: true, regularization: 0, dropout: 0.2 });
  });

  test("two adapters in Pfeiffer's placement: valid, one fusion layer per layer (their one site), query_before_ln resolves", () => {
    const v = validateExperiment(experiment('[hub/pf-sst, hub/pf-mnli]', '  query_before_ln: true\n'), { filePath: FILE });
    assert.deepEqual(v.findings.filter((f) => f.severity === 'error'), []);
    assert.deepEqual(v.fused.map((a) => [a.name, a.placement, a.input]), [['pf_sst', 'serial', 'normalized'], ['pf_mnli', 'serial', 'normalized']]);
    assert.equal(v.experiment!.fusion!.queryBeforeLn, true);
    assert.equal(v.parameters!.fusion, 4 * (3 * D * D + 2 * D));
  });

  test("adapters of two placements, and parallel adapters, do not fit: located on the entry, the placements named", () => {
    const text = experiment('[hub/pf-sst, hub/ffn-only, hub/par, hub/pf-mnli]');
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((f) => [f.code, at(text, f.range)]), [
      ['adapter-mismatch', 'hub/ffn-only'],
      ['adapter-mismatch', 'hub/par'],
    ]);
    assert.match(errors[0]!.message, /hub\/ffn-only: it reads the sub-layer's output h \(Houlsby's placement, original_ln_before: false\), but pf_sst reads the layer's normalised sum LN\(x \+ h\) \(Pfeiffer's placement, original_ln_before: true\): fused adapters need one placement/);
    assert.match(errors[1]!.message, /parallel adapters \(is_parallel: true\)/);
    // Houlsby's first: the Pfeiffer adapter is the one that does not fit.
    const houlsbyFirst = experiment('[hub/ffn-only, hub/pf-sst]');
    const reversed = errorsOf(houlsbyFirst);
    assert.deepEqual(reversed.map((f) => [f.code, at(houlsbyFirst, f.range)]), [['adapter-mismatch', 'hub/pf-sst']]);
    assert.match(reversed[0]!.message, /it reads the layer's normalised sum .* but ffn_only reads the sub-layer's output h/);
  });

  test('an experiment name is its latest completed run; a run folder is its adapter', () => {
    assert.equal(latestCompletedRun(runsDir, 'rte'), path.join(runsDir, 'rte-20260102-100000'));
    const v = validateExperiment(experiment('[rte, .adapter-lab/runs/rte-20260101-100000, hub/sst]'), { filePath: FILE });
    assert.deepEqual(v.findings.filter((f) => f.severity === 'error'), []);
    assert.deepEqual(v.fused.map((a) => a.name), ['rte', 'rte_old', 'sst']);
  });

  test('fewer than two adapters', () => {
    const text = experiment('[hub/sst]');
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((f) => f.code), ['too-few-adapters']);
    assert.equal(at(text, errors[0]!.range), '[hub/sst]');
  });

  test('a missing adapter, an unfinished run and an unknown experiment are reported on their entries', () => {
    const text = experiment('[hub/sst, hub/nothing, .adapter-lab/runs/qnli-20260101-100000, nosuchtask]');
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((f) => [f.code, at(text, f.range)]), [
      ['missing-file', 'hub/nothing'],
      ['bad-model', '.adapter-lab/runs/qnli-20260101-100000'],
      ['missing-file', 'nosuchtask'],
    ]);
    assert.match(errors[1]!.message, /running, not completed/);
  });

  test('another hidden size, another model shape, other sites and a repeated name do not fit', () => {
    const text = experiment('[hub/sst, hub/wide, hub/mini, hub/ffn-only, hub/sst-again]');
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((f) => [f.code, at(text, f.range)]), [
      ['adapter-mismatch', 'hub/wide'],
      ['adapter-mismatch', 'hub/mini'],
      ['adapter-mismatch', 'hub/ffn-only'],
      ['adapter-mismatch', 'hub/sst-again'],
    ]);
    assert.match(errors[0]!.message, /hidden size 128/);
    assert.match(errors[1]!.message, /builtin:mini-bert, whose layers is 6/);
    assert.match(errors[2]!.message, /same sites/);
    assert.match(errors[3]!.message, /distinct names/);
  });

  test('an adapter trained with another vocabulary does not fit; one with this model\'s does', () => {
    const text = experiment('[hub/sst, hub/same-vocab, hub/other-vocab]');
    const errors = errorsOf(text);
    assert.deepEqual(errors.map((f) => [f.code, at(text, f.range)]), [['adapter-mismatch', 'hub/other-vocab']]);
    assert.match(errors[0]!.message, new RegExp(`another vocabulary \\(checksum 0123456789abcdef; this model's is ${TINY_VOCABULARY}\\)`));
  });

  test('method fusion without the block, and the block without the method', () => {
    const base = 'name: fused\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: data/train.tsv\n  text: sentence\n  label: label\n';
    assert.deepEqual(errorsOf(base + 'method: fusion\n').map((f) => f.code), ['requires-key']);
    const stray = validateExperiment(base + 'method: adapter\nfusion:\n  adapters: [hub/sst, hub/mnli]\n', { filePath: FILE }).findings;
    assert.ok(stray.some((f) => f.code === 'irrelevant-key' && /apply to `method: fusion`/.test(f.message)));
  });

  test('drop applies to a fusion; adapter settings do not', () => {
    const findings = validateExperiment(experiment('[hub/sst, hub/mnli]', 'drop:\n  layers: 0..1\nadapter:\n  size: 8\n'), { filePath: FILE }).findings;
    assert.deepEqual(findings.filter((f) => f.code === 'irrelevant-key').map((f) => f.message.slice(0, 11)), ['`adapter` s']);
    const v = validateExperiment(experiment('[hub/sst, hub/mnli]', 'drop:\n  layers: 0..1\n'), { filePath: FILE });
    // Static drop of layers 0 and 1 leaves fusion layers at 2 layers × 2 sites.
    assert.equal(v.parameters!.fusion, 4 * (3 * D * D + 2 * D));
  });

  test('the config and regulariser values are checked like any setting', () => {
    const text = experiment('[hub/sst, hub/mnli]', '  config: dynamc\n  regularization: -1\n');
    assert.deepEqual(errorsOf(text).map((f) => f.code).sort(), ['not-in-enum', 'out-of-bounds']);
  });

  test('a sweep takes fusion.* and learning-rate axes', () => {
    const grid = (config: string) =>
      experiment('[hub/sst, hub/mnli]', `sweep:\n  grid:\n    fusion.config: ${config}\n    fusion.temperature: [false, true]\n    training.learning_rate: [5.0e-5, 1.0e-4]\n`).replace('  text: sentence\n', '  validation: data/train.tsv\n  text: sentence\n');
    const v = validateExperiment(grid('[dynamic, static]'), { filePath: FILE });
    assert.deepEqual(v.findings.filter((f) => f.severity === 'error').map((f) => f.message), []);
    assert.equal(v.sweep!.runs, 8);
    assert.deepEqual(errorsOf(grid('[dynamic, plain]')).map((f) => f.code), ['not-in-enum']);
  });
});
