/**
 * The .vsix as users install it: `scripts/package.mjs` (what `npm run package` runs after
 * building) packs the built bundles; the package holds only what runs, with onnxruntime-node
 * for this platform alone, and the engine CLI works from the unpacked package on its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../support/lspClient';
import { extractZip, listZip, readEntry, type ZipEntry } from './zip';

const TARGET = `${process.platform}-${process.arch}`;
const PACKAGED_PLATFORMS = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];
const PREFIX = 'extension/';

describe('the .vsix', { skip: PACKAGED_PLATFORMS.includes(TARGET) ? false : `onnxruntime-node ships no binaries for ${TARGET}` }, () => {
  let tmp: string;
  let vsix: Buffer;
  let entries: ZipEntry[];
  let names: Set<string>;
  let manifest: Record<string, unknown>;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-vsix-test-'));
    // `npm test` has just built dist/; packaging alone takes a few seconds.
    const out = path.join(tmp, 'adapter-lab.vsix');
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/package.mjs'), '--no-build', '--quiet', '--out', out], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, `scripts/package.mjs failed:\n${r.stdout}\n${r.stderr}`);
    vsix = fs.readFileSync(out);
    entries = listZip(vsix);
    names = new Set(entries.map((e) => e.name));
    manifest = JSON.parse(readEntry(vsix, entries.find((e) => e.name === `${PREFIX}package.json`)!).toString('utf8'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const has = (rel: string) => names.has(PREFIX + rel.replace(/^\.\//, ''));
  const files = () => [...names].filter((n) => n.startsWith(PREFIX)).map((n) => n.slice(PREFIX.length));

  test('is a VS Code package for this platform with the manifest, readme and license', () => {
    assert.ok(names.has('extension.vsixmanifest') && names.has('[Content_Types].xml'));
    const vsixManifest = readEntry(vsix, entries.find((e) => e.name === 'extension.vsixmanifest')!).toString('utf8');
    assert.match(vsixManifest, new RegExp(`TargetPlatform="${TARGET}"`));
    assert.ok(has('package.json') && has('readme.md') && has('LICENSE.txt'), files().join('\n'));
    const source = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.equal(manifest.name, source.name);
    assert.equal(manifest.version, source.version);
    assert.deepEqual(manifest.contributes, source.contributes);
    assert.equal(manifest.devDependencies, undefined);
    assert.equal(manifest.scripts, undefined);
    assert.deepEqual(Object.keys(manifest.dependencies as object), ['onnxruntime-node']);
  });

  test('main, the three bundles and every file the manifest refers to are inside', () => {
    assert.equal(typeof manifest.main, 'string');
    assert.ok(has(manifest.main as string), `main ${manifest.main} is not in the package`);
    for (const f of ['dist/extension.js', 'dist/server.js', 'dist/cli.js']) assert.ok(has(f), `${f} is missing`);
    const referenced = new Set<string>();
    const walk = (v: unknown): void => {
      if (typeof v === 'string' && /^(\.\/)?[\w.@-]+(\/[\w.@-]+)+\.\w+$/.test(v)) referenced.add(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk({ ...manifest, dependencies: undefined, engines: undefined });
    assert.ok(referenced.size >= 4, `expected grammar, language configuration and schema references, found ${[...referenced].join(', ')}`);
    for (const ref of referenced) assert.ok(has(ref), `the manifest refers to ${ref}, which is not in the package`);
    assert.ok(files().some((f) => f.startsWith('syntaxes/') && f.endsWith('.tmLanguage.json')), 'no grammar in syntaxes/');
    assert.ok(has('schemas/adapter-experiment.schema.json'));
    assert.ok(has('examples/quickstart.adapter.yaml'));
    // What Create Example Experiment copies beside it: the WordNet task and its licence.
    for (const f of ['train.tsv', 'dev.tsv', 'test.tsv', 'LICENSE']) assert.ok(has(`examples/data/wordnet-supersense/${f}`), f);
  });

  test('the webview bundle is inside', (t) => {
    if (!fs.existsSync(path.join(REPO_ROOT, 'dist/webview/panel.js'))) return t.skip('dist/webview/panel.js is not built yet: no webview bundle to check');
    assert.ok(has('dist/webview/panel.js'), 'dist/webview/panel.js is missing');
    if (fs.existsSync(path.join(REPO_ROOT, 'dist/webview/panel.css'))) assert.ok(has('dist/webview/panel.css'), 'dist/webview/panel.css is missing');
  });

  test('onnxruntime-node ships with this platform’s binaries only', () => {
    const bin = files().filter((f) => f.startsWith('node_modules/onnxruntime-node/bin/'));
    const own = new RegExp(`^node_modules/onnxruntime-node/bin/napi-v\\d+/${process.platform}/${process.arch}/`);
    assert.ok(bin.some((f) => own.test(f) && f.endsWith('/onnxruntime_binding.node')), `no onnxruntime binding for ${TARGET}:\n${bin.join('\n')}`);
    assert.deepEqual(bin.filter((f) => !own.test(f)), [], 'binaries of other platforms');
    assert.deepEqual(bin.filter((f) => /providers_(cuda|tensorrt)/i.test(f)), [], 'CUDA/TensorRT providers');
    const packages = new Set(files().filter((f) => f.startsWith('node_modules/')).map((f) => f.split('/')[1]));
    assert.deepEqual([...packages].sort(), ['onnxruntime-common', 'onnxruntime-node']);
  });

  test('the pretrained built-in model and the quickstart task ship with it', () => {
    const all = new Set(files());
    for (const f of ['models/english-bert/config.json', 'models/english-bert/vocab.txt', 'models/english-bert/model.safetensors', 'models/english-bert/SOURCES.md', 'examples/data/wordnet-supersense/train.tsv', 'examples/data/wordnet-supersense/LICENSE']) assert.ok(all.has(f), `${f} is not in the package`);
  });

  test('no sources, tests, source maps or development files', () => {
    const offending = files().filter(
      (f) =>
        /\.(ts|mts|cts|map|tsbuildinfo)$/.test(f) ||
        /(^|\/)(test|tests|__tests__)\//.test(f) ||
        /\.test\.js$/.test(f) ||
        /^(client\/src|server|engine|scripts|bench|out|docs|\.ci|\.e2e)\//.test(f) ||
        /^(tsconfig\.json|package-lock\.json|\.gitignore|\.vscodeignore)$/.test(f) ||
        /\.vsix$/.test(f),
    );
    assert.deepEqual(offending, []);
    assert.ok(vsix.length < 40 * 1024 * 1024, `the package is ${(vsix.length / 1048576).toFixed(1)} MB`);
  });

  describe('unpacked', () => {
    let dir: string;
    let env: NodeJS.ProcessEnv;
    before(() => {
      const unpacked = path.join(tmp, 'unpacked');
      extractZip(vsix, unpacked);
      dir = path.join(unpacked, 'extension');
      env = { ...process.env };
      delete env.NODE_PATH;
      delete env.NODE_OPTIONS;
    });

    test('resolves onnxruntime-node from inside the package', () => {
      // Nothing above the unpacked folder may provide it.
      for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) assert.ok(!fs.existsSync(path.join(d, 'node_modules', 'onnxruntime-node')), `${d} has its own onnxruntime-node`);
      const r = spawnSync(process.execPath, ['-e', `process.stdout.write(require.resolve('onnxruntime-node', { paths: [${JSON.stringify(path.join(dir, 'dist'))}] }))`], { cwd: dir, env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.startsWith(dir + path.sep), r.stdout);
    });

    test('dist/cli.js --version', () => {
      const r = spawnSync(process.execPath, ['dist/cli.js', '--version'], { cwd: dir, env, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), manifest.version);
    });

    test('dist/cli.js demo --max-steps 3 trains with the packaged onnxruntime', () => {
      // A preload records which onnxruntime libraries the process actually loaded.
      const probe = path.join(tmp, 'probe.js');
      const loaded = path.join(tmp, 'loaded.json');
      fs.writeFileSync(
        probe,
        `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(process.report.getReport().sharedObjects.filter((s) => /onnxruntime/.test(s)))));\n`,
      );
      const r = spawnSync(process.execPath, ['--require', probe, 'dist/cli.js', 'demo', '--max-steps', '3', '--threads', '1', '--runs', path.join(tmp, 'runs')], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout + r.stderr, /completed/);
      const libraries: string[] = JSON.parse(fs.readFileSync(loaded, 'utf8'));
      assert.ok(libraries.some((s) => s.endsWith('onnxruntime_binding.node')), `no onnxruntime binding loaded: ${libraries.join(', ')}`);
      for (const lib of libraries) assert.ok(fs.realpathSync(lib).startsWith(fs.realpathSync(dir) + path.sep), `${lib} was loaded from outside the package`);
    });
  });
});
