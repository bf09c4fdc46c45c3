/** The engine CLI (`dist/cli.js`, the package's `adapter-lab` bin) as a user runs it. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { standardWorkspace, VALID_EXPERIMENT, variant, type Workspace } from '../support/fixtures';
import { REPO_ROOT } from '../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

function run(args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('adapter-lab validate', () => {
  let ws: Workspace;
  before(() => {
    ws = standardWorkspace();
    ws.write('good.adapter.yaml', VALID_EXPERIMENT);
    ws.write('bad.adapter.yaml', variant('  size: 64', '  size: 0').replace('text: sentence', 'text: sentense'));
    ws.write('warn.adapter.yaml', variant('  size: 64', '  size: 768'));
  });
  after(() => ws.dispose());

  test('a valid file: exit 0, findings on stdout, a summary with parameter counts on stderr', () => {
    const r = run(['validate', 'good.adapter.yaml'], ws.root);
    assert.equal(r.status, 0);
    assert.equal(r.stdout, 'good.adapter.yaml:29:1: information: The sweep expands to 90 runs (3 learning_rate × 2 epochs × 3 size = 18 configurations × 5 seeds) [sweep-size]\n');
    assert.match(r.stderr, /good.adapter.yaml: valid \(0 warnings\) · method adapter · trainable 1\.41M of 109\.48M \(1\.29% of the base model\) · sweep of 90 runs/);
  });

  test('errors: exit 1 and file:line:column: severity: message [code], in file order', () => {
    const r = run(['validate', 'bad.adapter.yaml'], ws.root);
    assert.equal(r.status, 1);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 2), [
      'bad.adapter.yaml:7:9: error: Column "sentense" is not in the train file; its columns are "sentence", "label"; did you mean "sentence"? [unknown-column]',
      'bad.adapter.yaml:13:9: error: `adapter.size` must be >= 1, found 0 [out-of-bounds]',
    ]);
    assert.match(r.stderr, /bad.adapter.yaml: 2 errors, 0 warnings/);
  });

  test('warnings alone do not fail', () => {
    const r = run(['validate', 'warn.adapter.yaml'], ws.root);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /warn.adapter.yaml:13:9: warning: Adapter size 768 is not a bottleneck/);
  });

  test('--json prints findings, parameter counts and the sweep size', () => {
    const r = run(['validate', '--json', 'good.adapter.yaml'], ws.root);
    const report = JSON.parse(r.stdout) as { ok: boolean; findings: { code: string }[]; parameters: { trainable: number; base: number }; sweep: { runs: number } };
    assert.equal(report.ok, true);
    assert.equal(report.parameters.base, 109_482_240);
    assert.equal(report.sweep.runs, 90);
    assert.deepEqual(report.findings.map((f) => f.code), ['sweep-size']);
  });

  test('several files: the worst exit code wins', () => {
    assert.equal(run(['validate', 'good.adapter.yaml', 'bad.adapter.yaml'], ws.root).status, 1);
  });

  test('a missing file: exit 2 and a clear message', () => {
    const r = run(['validate', 'nope.adapter.yaml'], ws.root);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /nope.adapter.yaml: error: cannot read the experiment file \(no such file\)/);
  });

  test('the built-in quickstart validates from any folder', () => {
    const r = run(['validate', '--builtin'], ws.root);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    // Adapters of size 32 on builtin:english-bert (6 layers, hidden 256), and the pooler its
    // masked-LM checkpoint lacks, which the run draws and trains (65,792 = 256² + 256).
    assert.match(r.stderr, /quickstart.adapter.yaml: valid .* method adapter · trainable 278\.7k of 6\.94M/);
  });

  test('usage errors exit 2; --help and --version exit 0', () => {
    assert.equal(run([], ws.root).status, 2);
    assert.equal(run(['validate'], ws.root).status, 2);
    assert.equal(run(['validate', '--frobnicate', 'good.adapter.yaml'], ws.root).status, 2);
    assert.equal(run(['train-everything'], ws.root).status, 2);
    assert.match(run(['--help'], ws.root).stdout, /adapter-lab validate/);
    assert.match(run(['--version'], ws.root).stdout, /^\d+\.\d+\.\d+\n$/);
  });

  test('schema prints the same JSON Schema the extension contributes', () => {
    const r = run(['schema'], ws.root);
    assert.equal(r.stdout, fs.readFileSync(path.join(REPO_ROOT, 'schemas', 'adapter-experiment.schema.json'), 'utf8'));
  });

  test('every example validates without errors or warnings', () => {
    const examples = fs.readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.adapter.yaml'));
    assert.ok(examples.length >= 4);
    for (const f of examples) {
      const r = run(['validate', '--json', path.join('examples', f)], REPO_ROOT);
      const report = JSON.parse(r.stdout) as { findings: { severity: string; code: string }[] };
      // A file whose first line says `# needs: a.adapter.yaml …` fuses what those train: before they
      // have run, its only findings are the missing adapters, one per file it needs (after, it
      // validates clean: test/engine/jobs/fusion.test.ts).
      const needs = /^# needs: (.+)$/.exec(fs.readFileSync(path.join(REPO_ROOT, 'examples', f), 'utf8').split('\n')[0]!)?.[1]?.trim().split(/\s+/);
      if (needs) {
        assert.equal(r.status, 1, f);
        assert.deepEqual(report.findings.filter((x) => x.severity !== 'information').map((x) => x.code), needs.map(() => 'missing-file'), f);
        continue;
      }
      assert.equal(r.status, 0, f);
      assert.deepEqual(report.findings.filter((x) => x.severity !== 'information'), [], f);
    }
  });
});
