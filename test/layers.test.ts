/**
 * The layering drawn in docs/architecture.md, as rules dependency-cruiser checks
 * (`.dependency-cruiser.cjs`): no import circles, no engine folder importing a higher
 * layer, the engine free of the editor, the server on engine/config only. The rules are
 * run on the real tree, and on planted trees to show that they can fail.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Compiled to out/test/layers.test.js, so the repository root is two folders up. */
const ROOT = path.resolve(__dirname, '..', '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Violation {
  readonly from: string;
  readonly to: string;
  readonly rule: { readonly name: string };
  readonly cycle?: readonly { readonly name: string }[];
}
interface CruiseResult {
  readonly summary: { readonly violations: readonly Violation[]; readonly totalCruised: number };
}

function cruise(cwd: string, config: string): CruiseResult {
  const r = spawnSync(process.execPath, [DEPCRUISE, 'engine', 'server', 'client', '--config', config, '--output-type', 'json'], { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.ok(r.stdout.trim().startsWith('{'), `dependency-cruiser printed no result (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as CruiseResult;
}

/** A tree with the project's rules and the given files (path → source). */
function plantedTree(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-layers-'));
  fs.copyFileSync(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true }, include: ['engine', 'server', 'client'] }));
  for (const top of ['engine', 'server', 'client']) fs.mkdirSync(path.join(dir, top));
  for (const [file, source] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), source);
  }
  return dir;
}

const ruleNames = (r: CruiseResult) => r.summary.violations.map((v) => v.rule.name).sort();

describe('the layering rules', () => {
  test('hold on the repository', () => {
    const r = cruise(ROOT, '.dependency-cruiser.cjs');
    // A misconfigured run that finds no module would pass vacuously.
    assert.ok(r.summary.totalCruised > 100, `only ${r.summary.totalCruised} modules cruised`);
    assert.deepEqual(
      r.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`),
      [],
    );
  });

  test('fail on an import from a lower layer to a higher one', () => {
    const dir = plantedTree({
      'engine/model/bert.ts': "import { step } from '../train/trainer';\nexport const model = step;\n",
      'engine/train/trainer.ts': 'export const step = 1;\n',
      'engine/jobs/train.ts': "import { step } from '../train/trainer';\nexport const job = step;\n",
    });
    try {
      const r = cruise(dir, '.dependency-cruiser.cjs');
      assert.deepEqual(ruleNames(r), ['engine-layer-model']);
      assert.equal(r.summary.violations[0]!.from, 'engine/model/bert.ts');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fail on an import circle, within one folder too', () => {
    const dir = plantedTree({
      'engine/jobs/a.ts': "import { b } from './b';\nexport const a = () => b;\n",
      'engine/jobs/b.ts': "import { a } from './a';\nexport const b = () => a;\n",
    });
    try {
      const r = cruise(dir, '.dependency-cruiser.cjs');
      assert.deepEqual(ruleNames(r), ['no-circular']);
      const v = r.summary.violations[0]!;
      assert.deepEqual([v.from, ...(v.cycle ?? []).map((c) => c.name)].sort(), ['engine/jobs/a.ts', 'engine/jobs/a.ts', 'engine/jobs/b.ts']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fail when the engine imports the editor, or the server reaches past engine/config', () => {
    const dir = plantedTree({
      'engine/jobs/train.ts': "import * as vscode from 'vscode';\nexport const w = vscode;\n",
      'engine/train/trainer.ts': 'export const step = 1;\n',
      'server/src/server.ts': "import { step } from '../../engine/train/trainer';\nexport const s = step;\n",
    });
    try {
      const r = cruise(dir, '.dependency-cruiser.cjs');
      assert.deepEqual(ruleNames(r), ['engine-knows-no-editor', 'server-on-engine-config']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
