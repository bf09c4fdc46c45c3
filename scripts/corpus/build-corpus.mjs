#!/usr/bin/env node
// Builds the English pretraining corpus from public-domain and permissively licensed text
// in Debian packages. On demand only (it downloads packages); never part of the tests.
//
//   node scripts/corpus/build-corpus.mjs [--out DIR] [--latest] [--offline] [--only a,b]
//
// --out DIR   work and output folder (default: .corpus at the repository root)
// --latest    take apt's current version of a package whose pinned version is gone
// --offline   use only the .deb files already in DIR/debs
// --only      build only these sources (ids below); only their text/<source>.txt is written
// --rejected  also write DIR/text/<source>.rejected.tsv: the lines dropped, with the reason
//
// Writes DIR/text/<source>.txt, DIR/train.txt (shuffled with a fixed seed), DIR/heldout.txt
// (about 1% of the lines, picked by a hash of the line), DIR/heldout-sample.txt (about
// 200 KB of the held-out public-domain lines), DIR/sources.json, DIR/SOURCES.md and
// DIR/licences/<package>.copyright. The same packages give byte-identical output.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchDeb, unpackDeb } from './lib/debian.mjs';
import { readSwordModule } from './lib/sword.mjs';
import { readLazyLoadDb, readRda } from './lib/rdata.mjs';
import { readDictd } from './lib/dictd.mjs';
import { htmlToParagraphs, osisToParagraphs } from './lib/markup.mjs';
import { joinOpenParagraphs, paragraphsToLines, hash32, shuffle, wordCount } from './lib/text.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Seed of the training-set shuffle. */
const SHUFFLE_SEED = 0x5eed2024;
/** One line in HELDOUT_MODULUS goes to the held-out set (by a hash of the line). */
const HELDOUT_MODULUS = 100;
/** Size of the shipped held-out sample, in bytes. */
const SAMPLE_BYTES = 200_000;
/** Paragraphs where inline code makes up more than this share of the characters are dropped. */
const MAX_CODE_SHARE = 0.2;

/**
 * The sources, in the order they are merged (an exact duplicate line is kept in the first
 * source that has it). `version` pins the package version the recorded numbers come from;
 * `join` marks running text, where a paragraph that stops mid-sentence goes on in the next.
 * Never add WordNet here (the project's labelled task is built from it) or any fortune
 * package (kept out of the project altogether).
 */
const SOURCES = [
  { id: 'web', title: 'World English Bible (with Deuterocanon)', package: 'sword-text-web', version: '426.0-1', licence: 'Public domain', publicDomain: true, join: true, extract: swordText },
  { id: 'kjv', title: 'King James Version', package: 'sword-text-kjv', version: '14.3-1', licence: 'Public domain', publicDomain: true, join: true, extract: swordText },
  { id: 'mhcc', title: "Matthew Henry's Concise Commentary", package: 'sword-comm-mhcc', version: '2.0-1', licence: 'Public domain', publicDomain: true, join: true, extract: swordCommentary },
  { id: 'tdavid', title: "C. H. Spurgeon's Treasury of David", package: 'sword-comm-tdavid', version: '2.1-1', licence: 'Public domain', publicDomain: true, join: true, extract: swordCommentary },
  { id: 'austen', title: "Jane Austen's six novels", package: 'r-cran-janeaustenr', version: '1.0.0-1', licence: 'Public domain text (R package MIT)', publicDomain: true, join: true, extract: austen },
  { id: 'novels', title: 'Dickens, Great Expectations; Wells, The War of the Worlds; Verne, Twenty Thousand Leagues under the Sea', package: 'r-cran-tidytext', version: '0.4.1-1', licence: 'Public domain text (R package MIT)', publicDomain: true, join: true, extract: tidytextBooks },
  { id: 'cfi', title: 'Copyright Does Not Exist (Linus Walleij)', package: 'cfi-en', version: '3.0-10.2', licence: 'Public domain', publicDomain: true, join: true, extract: cfi },
  { id: 'devil', title: "Ambrose Bierce, The Devil's Dictionary", package: 'dict-devil', version: '1.0-13.1', licence: 'Public domain', publicDomain: true, extract: devil },
  { id: 'jargon', title: 'The Jargon File 4.4.7', package: 'dict-jargon', version: '4.4.7-3.1', licence: 'Public domain', publicDomain: true, extract: jargon },
  { id: 'python-docs', title: 'Python 3.11 documentation', package: 'python3.11-doc', version: '3.11.2-6+deb12u9', licence: 'PSF-2.0 (Python documentation licence)', publicDomain: false, extract: pythonDocs },
  { id: 'postgresql-docs', title: 'PostgreSQL 15 documentation', package: 'postgresql-doc-15', version: '15.20-0+deb12u1', licence: 'PostgreSQL (BSD-style)', publicDomain: false, extract: postgresDocs },
];

/** Packages that must never feed the corpus: WordNet (in any packaging) and the fortunes. */
const FORBIDDEN = /^(wordnet|dict-wn|fortune)/;

// ---------------------------------------------------------------------------------------
// Extractors: unpacked package folder -> raw paragraphs (strings, normalised later).

function swordText(dir) {
  const { entries } = readSwordModule(dir);
  return osisToParagraphs(entries.join(' ')).map((p) => p.text);
}

function swordCommentary(dir) {
  const { entries } = readSwordModule(dir);
  const out = [];
  let previous = null;
  for (const e of entries) {
    // A comment on a range of verses is linked from each of them: read it once.
    if (!e || e === previous) continue;
    previous = e;
    for (const p of osisToParagraphs(e)) out.push(stripVerseLabel(p.text));
  }
  return out;
}

/**
 * Drops a leading "Verse 3." / "Verses 3-5" label and scripture references ("Ps 41:1",
 * "(ver. 4)", "(Psalms 19:104)"): numbers that are not prose.
 */
function stripVerseLabel(p) {
  return p
    .replace(/^\s*(Verses?|Ver\.|Vs?\.)\s*\d+[\d\s,\-–—:;&.and]*\s*/i, '')
    .replace(/\(\s*(?:(?:verses?|ver\.|v\.|vs\.)\s*)?\d+(?:[:.]\d+)?(?:\s*[-–,]\s*\d+(?:[:.]\d+)?)*\s*\)/gi, '')
    .replace(/\([^()]*\d+:\d+[^()]*\)/g, '')
    .replace(/(?:\b[1-3]\s?)?\b[A-Z][a-z]{1,11}\.?\s*[—–-]?\s*\d{1,3}:\d{1,3}(?:\s?[-–,;]\s?\d{1,3}(?::\d{1,3})?)*/g, '')
    .replace(/\b\d{1,3}:\d{1,3}(?:[-–]\d{1,3})?\b/g, '');
}

/** An R character vector of a novel's printed lines -> paragraphs (blank lines separate). */
function linesToParagraphs(lines) {
  const out = [];
  let cur = [];
  for (const line of lines) {
    if (line === null || line.trim() === '') {
      if (cur.length) out.push(cur.join(' '));
      cur = [];
    } else cur.push(line.trim());
  }
  if (cur.length) out.push(cur.join(' '));
  return out;
}

function rPackageDir(dir, name) {
  return path.join(dir, 'usr/lib/R/site-library', name);
}

function austen(dir) {
  const objects = readLazyLoadDb(path.join(rPackageDir(dir, 'janeaustenr'), 'data/Rdata'));
  const novels = ['sensesensibility', 'prideprejudice', 'mansfieldpark', 'emma', 'northangerabbey', 'persuasion'];
  for (const n of novels) if (!Array.isArray(objects[n])) throw new Error(`janeaustenr: no character vector "${n}"`);
  return novels.flatMap((n) => linesToParagraphs(objects[n]));
}

function tidytextBooks(dir) {
  const file = path.join(rPackageDir(dir, 'tidytext'), 'extdata/books.rda');
  const books = readRda(file).books;
  const names = books?.attributes?.names ?? [];
  const col = (n) => books[names.indexOf(n)];
  const ids = col('gutenberg_id'), text = col('text'), title = col('title');
  if (!ids || !text || !title) throw new Error(`${file}: expected a data frame with gutenberg_id, text and title`);
  const byBook = new Map();
  ids.forEach((id, i) => {
    // Pride and Prejudice (Gutenberg 1342) is also in janeaustenr: take it from there only.
    if (id === 1342) return;
    if (!byBook.has(id)) byBook.set(id, { title: title[i], lines: [] });
    byBook.get(id).lines.push(text[i]);
  });
  return [...byBook.keys()].sort((a, b) => a - b).flatMap((id) => linesToParagraphs(byBook.get(id).lines));
}

function cfi(dir) {
  const html = path.join(dir, 'usr/share/doc/cfi-en/html');
  const files = fs.readdirSync(html).filter((f) => /\.html?$/.test(f) && !/^(index|mainindex)\./.test(f)).sort(naturalOrder);
  return files.flatMap((f) => paragraphsWithoutCode(htmlToParagraphs(readLatin(path.join(html, f)), { layoutTables: true })));
}

function dictd(dir, name) {
  const base = path.join(dir, 'usr/share/dictd', name);
  return readDictd(base + '.index', base + '.dict.dz');
}

/** Blocks of an entry (separated by blank lines) with their smallest indentation. */
function blocks(text) {
  return text.split(/\n\s*\n/).map((b) => {
    const lines = b.split('\n').filter((l) => l.trim());
    const indent = Math.min(...lines.map((l) => /^ */.exec(l)[0].length));
    return { lines, indent, text: lines.map((l) => l.trim()).join(' ') };
  }).filter((b) => b.lines.length);
}

function devil(dir) {
  const out = [];
  for (const entry of dictd(dir, 'devil')) {
    for (const b of blocks(entry.text)) {
      // Indented blocks are verse and quotations with their attributions.
      if (b.indent > 0) continue;
      const m = /^([A-Z][A-Z'\- ]*[A-Z]),\s+((?:[a-z]+\.\s*)+)\s*(?:\[[^\]]*\]\s*)?(.*)$/.exec(b.text);
      if (m) out.push(`${titleCase(m[1])}: ${m[3]}`);
      else out.push(b.text);
    }
  }
  return out;
}

function jargon(dir) {
  const out = [];
  for (const entry of dictd(dir, 'jargon')) {
    const bs = blocks(entry.text);
    if (!bs.length) continue;
    const base = bs.length > 1 ? bs[1].indent : 0;
    for (const b of bs.slice(1)) {
      // Deeper-indented blocks are code, verse and quoted listings.
      if (b.indent > base) continue;
      out.push(b.text
        .replace(/\{\s*([^{}]*?)\s*\}/g, '$1')
        .replace(/^(\d+\.\s+)?(\[[^\]]*\]\s*)?((?:n|v|adj|adv|vt|vi|interj|prep|pl)\.(?:,\s*\w+\.)*\s+)?/, ''));
    }
  }
  return out;
}

function pythonDocs(dir) {
  const html = path.join(dir, 'usr/share/doc/python3.11/html');
  const files = walk(html)
    .filter((f) => f.endsWith('.html'))
    .filter((f) => !/(^|\/)(_|genindex|py-modindex|modindex|search\.html|contents\.html|whatsnew\/changelog\.html)/.test(path.relative(html, f)));
  return files.flatMap((f) => paragraphsWithoutCode(htmlToParagraphs(fs.readFileSync(f, 'utf8'), { mainOnly: true })));
}

function postgresDocs(dir) {
  const html = path.join(dir, 'usr/share/doc/postgresql-doc-15/html');
  const files = fs.readdirSync(html).filter((f) => f.endsWith('.html') && !/^(bookindex|index)\.html$/.test(f)).sort().map((f) => path.join(html, f));
  return files.flatMap((f) => paragraphsWithoutCode(htmlToParagraphs(fs.readFileSync(f, 'utf8'))));
}

function paragraphsWithoutCode(paragraphs) {
  return paragraphs.filter((p) => p.codeChars / Math.max(1, p.text.replace(/\s/g, '').length) <= MAX_CODE_SHARE).map((p) => p.text);
}

function readLatin(file) {
  const buf = fs.readFileSync(file);
  const utf8 = buf.toString('utf8');
  return utf8.includes('\ufffd') ? buf.toString('latin1') : utf8;
}

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function naturalOrder(a, b) {
  return a.localeCompare(b, 'en', { numeric: true });
}

function titleCase(s) {
  return s.toLowerCase().replace(/(^|[\s-])([a-z])/g, (_, a, c) => a + c.toUpperCase());
}

// ---------------------------------------------------------------------------------------

/** Prints the comment at the top of this file. */
function printUsage() {
  const lines = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  const end = lines.findIndex((l) => !l.startsWith('//'));
  console.log(lines.slice(0, end).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
}

function parseArgs(argv) {
  const opts = { out: path.join(root, '.corpus'), latest: false, offline: false, only: null, rejected: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') opts.out = path.resolve(argv[++i]);
    else if (a === '--latest') opts.latest = true;
    else if (a === '--offline') opts.offline = true;
    else if (a === '--rejected') opts.rejected = true;
    else if (a === '--only') opts.only = new Set(argv[++i].split(','));
    else if (a === '--help' || a === '-h') { printUsage(); process.exit(0); }
    else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

const MB = (bytes) => bytes / 1e6;
const fmt = (n, d = 0) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const log = (m) => console.log(m);
  const sources = SOURCES.filter((s) => !opts.only || opts.only.has(s.id));
  if (opts.only) for (const id of opts.only) if (!SOURCES.some((s) => s.id === id)) throw new Error(`unknown source ${id} (sources: ${SOURCES.map((s) => s.id).join(', ')})`);
  for (const s of sources) if (FORBIDDEN.test(s.package)) throw new Error(`${s.package} must not be used in the corpus`);

  const debs = path.join(opts.out, 'debs');
  const text = path.join(opts.out, 'text');
  const licences = path.join(opts.out, 'licences');
  fs.mkdirSync(text, { recursive: true });
  fs.mkdirSync(licences, { recursive: true });

  const seen = new Set();
  const results = [];
  for (const s of sources) {
    let deb;
    try {
      deb = fetchDeb(s.package, s.version, debs, { log, offline: opts.offline });
    } catch (e) {
      if (!opts.latest || opts.offline) throw e;
      log(`  ${s.package} ${s.version} is not available; taking apt's current version (--latest)`);
      deb = fetchDeb(s.package, undefined, debs, { log });
    }
    const dir = unpackDeb(deb.file, path.join(opts.out, 'pkg', s.package));
    const copyright = path.join(dir, 'usr/share/doc', s.package, 'copyright');
    if (!fs.existsSync(copyright)) throw new Error(`package ${s.package} has no copyright file`);
    fs.copyFileSync(copyright, path.join(licences, `${s.package}.copyright`));

    const stats = {};
    const extracted = s.extract(dir);
    const paragraphs = s.join ? joinOpenParagraphs(extracted) : extracted;
    const lines = [];
    let duplicates = 0;
    const rejected = opts.rejected ? [] : undefined;
    for (const line of paragraphsToLines(paragraphs, stats, rejected)) {
      if (seen.has(line)) { duplicates++; continue; }
      seen.add(line);
      lines.push(line);
    }
    const body = lines.join('\n') + (lines.length ? '\n' : '');
    fs.writeFileSync(path.join(text, `${s.id}.txt`), body);
    const rejectedFile = path.join(text, `${s.id}.rejected.tsv`);
    if (rejected) fs.writeFileSync(rejectedFile, rejected.join('\n') + '\n');
    else fs.rmSync(rejectedFile, { force: true });
    const r = {
      id: s.id, title: s.title, package: s.package, version: deb.version, licence: s.licence,
      publicDomain: s.publicDomain, lines: lines.length, words: lines.reduce((n, l) => n + wordCount(l), 0),
      bytes: Buffer.byteLength(body), lineList: lines,
    };
    results.push(r);
    const dropped = Object.entries(stats).sort().map(([k, v]) => `${k} ${v}`).join(', ');
    log(`${s.id.padEnd(16)} ${s.package} ${deb.version}: ${fmt(r.lines)} lines, ${fmt(r.words)} words, ${fmt(MB(r.bytes), 2)} MB (dropped: ${dropped || 'none'}; duplicates ${duplicates})`);
  }

  const record = results.map(({ lineList, ...r }) => ({ ...r, mb: Number(MB(r.bytes).toFixed(3)) }));
  if (!opts.only) {
    writeMerged(opts.out, results, log);
    fs.writeFileSync(path.join(opts.out, 'sources.json'), JSON.stringify({ sources: record, totals: totals(record) }, null, 2) + '\n');
    fs.writeFileSync(path.join(opts.out, 'SOURCES.md'), sourcesMarkdown(record));
  }

  log('');
  log(`${'source'.padEnd(16)} ${'package'.padEnd(20)} ${'version'.padEnd(18)} ${'lines'.padStart(9)} ${'words'.padStart(11)} ${'MB'.padStart(7)}  licence`);
  for (const r of record) log(`${r.id.padEnd(16)} ${r.package.padEnd(20)} ${r.version.padEnd(18)} ${fmt(r.lines).padStart(9)} ${fmt(r.words).padStart(11)} ${fmt(r.mb, 2).padStart(7)}  ${r.licence}`);
  const t = totals(record);
  log(`${'total'.padEnd(57)} ${fmt(t.lines).padStart(9)} ${fmt(t.words).padStart(11)} ${fmt(t.mb, 2).padStart(7)}`);
}

function totals(record) {
  const lines = record.reduce((n, r) => n + r.lines, 0);
  const words = record.reduce((n, r) => n + r.words, 0);
  const bytes = record.reduce((n, r) => n + r.bytes, 0);
  return { lines, words, bytes, mb: Number(MB(bytes).toFixed(3)) };
}

function writeMerged(out, results, log) {
  const train = [], heldout = [], sampleCandidates = [];
  for (const r of results) {
    for (const line of r.lineList) {
      if (hash32('heldout\n' + line) % HELDOUT_MODULUS === 0) {
        heldout.push(line);
        if (r.publicDomain) sampleCandidates.push(line);
      } else train.push(line);
    }
  }
  shuffle(train, SHUFFLE_SEED);
  fs.writeFileSync(path.join(out, 'train.txt'), train.join('\n') + '\n');
  fs.writeFileSync(path.join(out, 'heldout.txt'), heldout.join('\n') + '\n');
  // The sample: held-out public-domain lines in the order of another hash, up to SAMPLE_BYTES.
  const ranked = sampleCandidates.map((l) => [hash32('sample\n' + l), l]).sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
  const sample = [];
  let bytes = 0;
  for (const [, l] of ranked) {
    const b = Buffer.byteLength(l) + 1;
    if (bytes + b > SAMPLE_BYTES) break;
    sample.push(l); bytes += b;
  }
  fs.writeFileSync(path.join(out, 'heldout-sample.txt'), sample.join('\n') + '\n');
  log(`train.txt ${fmt(train.length)} lines; heldout.txt ${fmt(heldout.length)} lines; heldout-sample.txt ${fmt(sample.length)} lines, ${fmt(bytes)} bytes`);
}

function sourcesMarkdown(record) {
  const t = totals(record);
  const rows = record.map((r) => `| ${r.title} | ${r.package} | ${r.version} | ${r.licence} | ${fmt(r.lines)} | ${fmt(r.words)} | ${fmt(r.mb, 2)} |`);
  return [
    '# Pretraining corpus: sources',
    '',
    'English text extracted from these Debian packages by `scripts/corpus/build-corpus.mjs`:',
    'markup, code, tables and lists removed, one paragraph (at most about 150 words) per line,',
    'exact duplicates and lines under 5 words dropped. Each package\'s copyright file is in',
    '`licences/`. The Debian packaging of some of these packages is GPL-2+; the texts are not.',
    '',
    '| source | package | version | licence | lines | words | MB |',
    '|---|---|---|---|---:|---:|---:|',
    ...rows,
    `| total | | | | ${fmt(t.lines)} | ${fmt(t.words)} | ${fmt(t.mb, 2)} |`,
    '',
  ].join('\n');
}

try {
  main();
} catch (e) {
  console.error(`build-corpus: ${e.message}`);
  process.exit(1);
}
