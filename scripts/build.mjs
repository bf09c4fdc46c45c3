// Builds the three bundles (extension, language server, engine CLI), compiles tests and
// benchmarks, and regenerates the JSON Schema and the key reference from the schema.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const log = (msg) => quiet || console.error(msg);

// The yaml package reads process.env.LOG_TOKENS once per token for its own debugging;
// each read is a slow environment lookup (a quarter of parse time on a 2,000-line file).
const yamlDebugFlags = {
  name: 'yaml-debug-flags',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]yaml[\\/]dist[\\/].*\.js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/node_process\.env\.LOG_(TOKENS|STREAM)/g, 'false'),
      loader: 'js',
    }));
  },
};

// onnxruntime-node is a native addon: it is loaded from node_modules at run time, not bundled.
const common = { plugins: [yamlDebugFlags], external: ['onnxruntime-node'], bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, logLevel: 'warning', absWorkingDir: root };
await Promise.all([
  build({ ...common, entryPoints: ['client/src/extension.ts'], outfile: 'dist/extension.js', external: ['vscode', 'onnxruntime-node'] }),
  build({ ...common, entryPoints: ['server/src/server.ts'], outfile: 'dist/server.js' }),
  build({ ...common, entryPoints: ['engine/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } }),
  build({ ...common, entryPoints: ['scripts/generate.ts'], outfile: 'out/generate.js' }),
]);
chmodSync(join(root, 'dist/cli.js'), 0o755);
log('bundled dist/extension.js, dist/server.js, dist/cli.js');

// The result panels' page script and stylesheet (webviews: a browser, not Node).
await build({ entryPoints: ['client/webview/main.ts'], outfile: 'dist/webview/panel.js', bundle: true, platform: 'browser', format: 'iife', target: 'es2020', minify: true, logLevel: 'warning', absWorkingDir: root });
mkdirSync(join(root, 'dist/webview'), { recursive: true });
copyFileSync(join(root, 'client/webview/panel.css'), join(root, 'dist/webview/panel.css'));
log(`bundled dist/webview/panel.js (${statSync(join(root, 'dist/webview/panel.js')).size} bytes) and panel.css`);

// Locally the generated files are refreshed; in CI a stale committed copy fails the build.
execFileSync(process.execPath, [join(root, 'out/generate.js'), ...(process.env.CI === 'true' ? [] : ['--write'])], { stdio: 'inherit', cwd: root });

if (!process.argv.includes('--no-tsc')) {
  // Type-checks everything and emits tests and benchmarks to out/, emptied first so that a
  // moved or deleted test never runs on from an old compile.
  for (const dir of ['test', 'engine', 'client', 'server', 'bench']) rmSync(join(root, 'out', dir), { recursive: true, force: true });
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit', cwd: root });
  log('type-checked; tests compiled to out/');
  // The panels' browser code has its own settings (DOM types, no Node); type-check only.
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'client/webview/tsconfig.json'], { stdio: 'inherit', cwd: root });
  log('type-checked client/webview');
}
