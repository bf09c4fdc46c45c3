// `npm run package`: builds, then packs the extension into
// adapter-lab-<version>-<target>.vsix for this machine's platform (or --target <platform>).
//
// The bundles in dist/ are self-contained except onnxruntime-node, a native addon loaded
// from node_modules at run time. It ships inside the .vsix with only the target's binaries.
// vsce packs a staging folder that holds exactly what runs: the files .vscodeignore lets
// through, a manifest whose only dependency is onnxruntime-node, and a node_modules with
// onnxruntime-node and onnxruntime-common reduced to their runtime files (so `npm list`,
// which vsce uses to find dependencies, sees a complete tree).
//
// Options:
//   --no-build        use the existing dist/ (the caller has just built)
//   --target <t>      a VS Code target such as linux-x64, linux-arm64, darwin-arm64, win32-x64
//   --out <path>      the .vsix file, or a folder to put it in (default: the repository root)
//   --keep-staging    leave the staging folder and print where it is
//   --quiet           print only the result line
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (!value || value.startsWith('--')) fail(`${name} needs a value`);
  return value;
};
const quiet = flag('--quiet');
const log = (msg) => quiet || console.log(msg);

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

// VS Code targets whose onnxruntime-node binaries exist (bin/napi-v*/<platform>/<arch>/).
const TARGETS = {
  'linux-x64': ['linux', 'x64'],
  'linux-arm64': ['linux', 'arm64'],
  'darwin-arm64': ['darwin', 'arm64'],
  'darwin-x64': ['darwin', 'x64'],
  'win32-x64': ['win32', 'x64'],
  'win32-arm64': ['win32', 'arm64'],
};
const target = option('--target') ?? `${process.platform}-${process.arch}`;
if (!TARGETS[target]) fail(`no onnxruntime-node binaries for target ${target}; one of: ${Object.keys(TARGETS).join(', ')}`);
const [platform, arch] = TARGETS[target];

const started = Date.now();
if (!flag('--no-build')) {
  log('building (node scripts/build.mjs --quiet)');
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet'], { stdio: 'inherit', cwd: root });
}
for (const f of ['dist/extension.js', 'dist/server.js', 'dist/cli.js']) {
  if (!existsSync(join(root, f))) fail(`${f} is missing; run npm run build first`);
}

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const outOption = option('--out');
const fileName = `${manifest.name}-${manifest.version}-${target}.vsix`;
let vsixPath = outOption ? resolve(outOption) : join(root, fileName);
if (outOption && (outOption.endsWith('/') || (existsSync(vsixPath) && statSync(vsixPath).isDirectory()))) vsixPath = join(vsixPath, fileName);
mkdirSync(dirname(vsixPath), { recursive: true });

const staging = mkdtempSync(join(tmpdir(), 'adapter-lab-vsix-'));
try {
  stage(staging);
  await pack(staging);
} finally {
  if (flag('--keep-staging')) log(`staging folder kept: ${staging}`);
  else rmSync(staging, { recursive: true, force: true });
}
report();

/** Copies what the extension runs into the staging folder; .vscodeignore filters it again when vsce packs. */
function stage(dir) {
  const noMaps = (src) => !src.endsWith('.map');
  const copy = (rel, filter = noMaps) => {
    const src = join(root, rel);
    if (existsSync(src)) cpSync(src, join(dir, rel), { recursive: true, filter });
  };
  for (const rel of ['README.md', 'LICENSE', '.vscodeignore', 'dist', 'syntaxes', 'schemas', 'client/media', 'examples', 'models']) copy(rel);
  if (!existsSync(join(dir, 'LICENSE'))) fail('LICENSE is missing');

  // The manifest as it is, minus what only development needs; its one dependency is the native addon.
  const ortVersion = readJson(require.resolve('onnxruntime-node/package.json')).version;
  const shipped = { ...manifest, dependencies: { 'onnxruntime-node': ortVersion } };
  for (const key of ['devDependencies', 'scripts', 'allowScripts']) delete shipped[key];
  writeJson(join(dir, 'package.json'), shipped);

  // onnxruntime-node: its JavaScript, and the native binaries of the target only. Its
  // install script and the packages only that script uses (to download GPU providers)
  // stay behind, so its manifest is trimmed to match; so are CUDA/TensorRT providers.
  const ortSrc = dirname(require.resolve('onnxruntime-node/package.json'));
  const ortDst = join(dir, 'node_modules/onnxruntime-node');
  const ortManifest = readJson(join(ortSrc, 'package.json'));
  const common = ortManifest.dependencies?.['onnxruntime-common'];
  if (!common) fail('onnxruntime-node no longer depends on onnxruntime-common; review scripts/package.mjs');
  for (const key of ['scripts', 'devDependencies']) delete ortManifest[key];
  ortManifest.dependencies = { 'onnxruntime-common': common };
  mkdirSync(ortDst, { recursive: true });
  writeJson(join(ortDst, 'package.json'), ortManifest);
  cpSync(join(ortSrc, 'dist'), join(ortDst, 'dist'), { recursive: true, filter: (src) => statSync(src).isDirectory() || src.endsWith('.js') });
  let binaries = 0;
  for (const napi of readdirSync(join(ortSrc, 'bin')).filter((d) => d.startsWith('napi-v'))) {
    const from = join(ortSrc, 'bin', napi, platform, arch);
    if (!existsSync(from)) continue;
    cpSync(from, join(ortDst, 'bin', napi, platform, arch), {
      recursive: true,
      filter: (src) => !/providers_(cuda|tensorrt)|nvinfer|cudnn|cublas/i.test(src),
    });
    binaries += readdirSync(from).length;
  }
  if (!binaries) fail(`onnxruntime-node has no binaries for ${platform}/${arch} (looked in ${relative(root, join(ortSrc, 'bin'))})`);

  // onnxruntime-common: the CommonJS build that onnxruntime-node requires.
  // (Its exports map hides package.json from require.resolve: look where Node would.)
  const commonSrc = [join(ortSrc, 'node_modules/onnxruntime-common'), join(root, 'node_modules/onnxruntime-common')].find((d) => existsSync(join(d, 'package.json')));
  if (!commonSrc) fail('onnxruntime-common is not installed');
  const commonDst = join(dir, 'node_modules/onnxruntime-common');
  mkdirSync(commonDst, { recursive: true });
  cpSync(join(commonSrc, 'package.json'), join(commonDst, 'package.json'));
  cpSync(join(commonSrc, 'dist/cjs'), join(commonDst, 'dist/cjs'), {
    recursive: true,
    filter: (src) => statSync(src).isDirectory() || src.endsWith('.js') || src.endsWith('package.json'),
  });
}

async function pack(dir) {
  const { createVSIX } = require('@vscode/vsce');
  log(`packing ${fileName} with vsce (target ${target})`);
  // vsce reads the working directory's npm configuration and prints its own progress.
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    await createVSIX({
      cwd: dir,
      packagePath: vsixPath,
      target,
      useYarn: false,
      dependencies: true,
      allowMissingRepository: true,
      // The README's links point into the repository (docs/), which the package does not hold.
      rewriteRelativeLinks: false,
      skipLicense: false,
    });
  } finally {
    process.chdir(cwd);
  }
}

function report() {
  const entries = listZip(readFileSync(vsixPath));
  const size = statSync(vsixPath).size;
  const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;
  const kb = (n) => (n >= 1048576 ? mb(n) : `${(n / 1024).toFixed(0)} KB`);
  log(`${entries.length} files; the biggest (unpacked → packed):`);
  for (const e of [...entries].sort((a, b) => b.size - a.size).slice(0, 10)) log(`  ${kb(e.size).padStart(8)} → ${kb(e.compressedSize).padStart(8)}  ${e.name}`);
  console.log(`${relative(process.cwd(), vsixPath) || vsixPath}: ${mb(size)} (${entries.length} files, ${target}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The entries of a zip file, from its central directory. */
function listZip(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail(`${vsixPath} is not a zip file`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) fail(`${vsixPath}: bad central directory`);
    const compressedSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLength = buf.readUInt16LE(p + 28);
    const extraLength = buf.readUInt16LE(p + 30);
    const commentLength = buf.readUInt16LE(p + 32);
    entries.push({ name: buf.toString('utf8', p + 46, p + 46 + nameLength), size, compressedSize });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function writeJson(file, value) {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}
