// Fetching and unpacking Debian packages without installing them: `apt-get download` into a
// cache folder (a package already there at the wanted version is not fetched again), then
// `dpkg-deb -x` into a folder of its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
  if (r.error?.code === 'ENOENT') throw new Error(`the "${cmd}" command is not available (this builder needs a Debian system with apt and dpkg)`);
  return r;
}

/** The version apt would download now (its candidate), or null when apt does not know the package. */
export function candidateVersion(pkg) {
  const r = run('apt-cache', ['policy', pkg]);
  const m = /Candidate:\s*(\S+)/.exec(r.stdout ?? '');
  return m && m[1] !== '(none)' ? m[1] : null;
}

/** Runs `apt-get update` once per process. */
let updated = false;
export function aptUpdate(log) {
  if (updated) return;
  log('apt-get update');
  const r = run('apt-get', ['update', '-qq']);
  if (r.status !== 0) throw new Error(`apt-get update failed:\n${r.stderr}`);
  updated = true;
}

/** A .deb file's control fields { Package, Version, ... }. */
export function debInfo(file) {
  const out = execFileSync('dpkg-deb', ['-f', file, 'Package', 'Version', 'Architecture'], { encoding: 'utf8' });
  const info = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) info[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return info;
}

function cachedDeb(cacheDir, pkg, version) {
  if (!fs.existsSync(cacheDir)) return null;
  for (const name of fs.readdirSync(cacheDir).sort()) {
    if (!name.startsWith(pkg + '_') || !name.endsWith('.deb')) continue;
    const file = path.join(cacheDir, name);
    const info = debInfo(file);
    if (info.Package === pkg && (version === undefined || info.Version === version)) return { file, version: info.Version };
  }
  return null;
}

/**
 * Makes sure `pkg` (at `version` when given; else apt's candidate) is in `cacheDir`;
 * returns { file, version }. Throws an error naming the package when it cannot be had.
 */
export function fetchDeb(pkg, version, cacheDir, { log = () => {}, offline = false } = {}) {
  fs.mkdirSync(cacheDir, { recursive: true });
  const have = cachedDeb(cacheDir, pkg, version);
  if (have) return have;
  if (offline) throw new Error(`package ${pkg}${version ? ` ${version}` : ''} is not in ${cacheDir} and --offline forbids downloading it`);
  aptUpdate(log);
  const want = version ?? candidateVersion(pkg);
  if (!want) throw new Error(`package ${pkg} is not known to apt (apt-cache policy ${pkg} shows no candidate): check its name and the apt sources`);
  log(`apt-get download ${pkg}=${want}`);
  const r = run('apt-get', ['download', '-q', `${pkg}=${want}`], { cwd: cacheDir });
  if (r.status !== 0) {
    const cand = candidateVersion(pkg);
    const hint = cand && cand !== want ? ` (apt now offers ${cand}; run with --latest to take it and record the new version)` : '';
    throw new Error(`could not download package ${pkg} ${want}${hint}:\n${(r.stderr || r.stdout).trim()}`);
  }
  const got = cachedDeb(cacheDir, pkg, want);
  if (!got) throw new Error(`apt-get download ${pkg}=${want} reported success but no .deb for it is in ${cacheDir}`);
  return got;
}

/** Unpacks a .deb into `dir` (emptied first). */
export function unpackDeb(file, dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('dpkg-deb', ['-x', file, dir]);
  return dir;
}
