// `npm test`: build everything, then run every suite under out/test with node's test runner.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
const only = process.argv.slice(2);
const files = only.length ? only : readdirSync(join(root, 'out/test'), { recursive: true })
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => join('out/test', f))
  .sort();
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
