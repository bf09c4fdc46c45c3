/** The extension bundle stays light: jobs run in child processes, so the host never loads the native runtime. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../support/lspClient';

test('dist/extension.js does not load onnxruntime-node or the training engine', () => {
  const bundle = fs.readFileSync(path.join(REPO_ROOT, 'dist', 'extension.js'), 'utf8');
  assert.doesNotMatch(bundle, /require\("onnxruntime-node"\)/);
  const engineModules = [...bundle.matchAll(/^\/\/ (engine\/\S+)$/gm)].map((m) => m[1]!);
  // The extension does read the run store (the Runs view): finding no engine module
  // at all means the bundle's module comments changed and this check reads nothing.
  assert.ok(engineModules.includes('engine/runs/catalog.ts'), `no engine module found in the bundle (found: ${engineModules.join(', ') || 'none'})`);
  assert.deepEqual(engineModules.filter((m) => /^engine\/(train|jobs|tasks|runtime|graph|checkpoint|model\/bert)\b/.test(m)), []);
});
