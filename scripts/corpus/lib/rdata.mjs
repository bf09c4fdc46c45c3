// A minimal reader for R's serialization format (XDR binary, versions 2 and 3), enough for
// data: character, numeric, integer and logical vectors, lists and data frames with their
// attributes. Reads .rda/.RData files (gzip, bzip2 or xz compressed; "RDX2"/"RDX3" header),
// .rds files, and an installed package's lazy-load database (data/Rdata.rdx + .rdb).
//
// Values come back as plain JavaScript: a character vector is an array of strings (NA as
// null), numeric/integer/logical vectors are arrays, a list is an array; attributes (names,
// class, row.names, ...) are kept on `.attributes` of the array as a plain object.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';

const NILVALUE = 254, GLOBALENV = 253, UNBOUNDVALUE = 252, MISSINGARG = 251, BASENAMESPACE = 250;
const NAMESPACESXP = 249, PACKAGESXP = 248, PERSISTSXP = 247, EMPTYENV = 242, BASEENV = 241;
const ATTRLANGSXP = 240, ATTRLISTSXP = 239, ALTREP = 238, REFSXP = 255;
const NA_INTEGER = -2147483648;

/** A symbol (R's SYMSXP): kept distinct from strings so pairlist tags are recognisable. */
export class RSymbol {
  constructor(name) { this.name = name; }
}

/** Undoes gzip, bzip2 or xz compression by magic bytes; returns the buffer unchanged if none. */
export function decompress(buf) {
  if (buf[0] === 0x1f && buf[1] === 0x8b) return zlib.gunzipSync(buf);
  if (buf[0] === 0x42 && buf[1] === 0x5a && buf[2] === 0x68) return execTool('bzip2', buf);
  if (buf[0] === 0xfd && buf.subarray(1, 6).toString('latin1') === '7zXZ\0') return execTool('xz', buf);
  return buf;
}

function execTool(tool, buf) {
  try {
    return execFileSync(tool, ['-dc'], { input: buf, maxBuffer: 1 << 30 });
  } catch (e) {
    if (e.code === 'ENOENT') throw new Error(`the "${tool}" command is needed to decompress R data (Debian: ${tool === 'xz' ? 'xz-utils' : 'bzip2'})`);
    throw e;
  }
}

class Reader {
  constructor(buf) { this.buf = buf; this.pos = 0; this.refs = []; }
  int() { const v = this.buf.readInt32BE(this.pos); this.pos += 4; return v; }
  double() { const v = this.buf.readDoubleBE(this.pos); this.pos += 8; return v; }
  bytes(n) { const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  length() {
    const n = this.int();
    if (n !== -1) return n;
    const hi = this.int(), lo = this.int();
    return hi * 2 ** 32 + (lo >>> 0);
  }

  header() {
    const magic = this.bytes(2).toString('latin1');
    if (magic !== 'X\n') throw new Error(`unsupported R serialization format ${JSON.stringify(magic)} (only XDR binary is read)`);
    const version = this.int();
    this.int(); this.int();
    if (version === 3) this.bytes(this.int());
    else if (version !== 2) throw new Error(`unsupported R serialization version ${version}`);
  }

  persistentStrings() {
    if (this.int() !== 0) throw new Error('bad persistent string vector');
    const n = this.int();
    const out = [];
    for (let i = 0; i < n; i++) out.push(this.item());
    return out;
  }

  item() {
    const flags = this.int();
    const type = flags & 0xff;
    const hasAttr = (flags & (1 << 9)) !== 0;
    const hasTag = (flags & (1 << 10)) !== 0;
    switch (type) {
      case NILVALUE: return null;
      case EMPTYENV: case BASEENV: case GLOBALENV: case UNBOUNDVALUE: case MISSINGARG: case BASENAMESPACE:
        return { env: type };
      case REFSXP: {
        let i = flags >> 8;
        if (i === 0) i = this.int();
        return this.refs[i - 1];
      }
      case PERSISTSXP: case NAMESPACESXP: case PACKAGESXP: {
        const v = { persistent: this.persistentStrings() };
        this.refs.push(v);
        return v;
      }
      case 1: { // SYMSXP
        const sym = new RSymbol(this.item());
        this.refs.push(sym);
        return sym;
      }
      case 4: { // ENVSXP
        const env = { env: 'closure' };
        this.refs.push(env);
        this.int(); // locked
        env.enclos = this.item(); env.frame = this.item(); env.hashtab = this.item(); env.attributes = this.item();
        return env;
      }
      case 2: case 6: case 3: case 5: case 17: case ATTRLANGSXP: case ATTRLISTSXP: {
        // Pairlist-like: walk the CDR chain iteratively.
        const cells = [];
        let f = flags;
        for (;;) {
          const t = f & 0xff;
          const cell = {};
          if (f & (1 << 9)) cell.attributes = this.item();
          if (f & (1 << 10)) cell.tag = this.item();
          cell.value = this.item();
          cells.push(cell);
          const next = this.int();
          const nt = next & 0xff;
          if (nt === NILVALUE) break;
          if (![2, 6, 3, 5, 17, ATTRLANGSXP, ATTRLISTSXP].includes(nt) || t !== nt) {
            this.pos -= 4;
            cells.push({ value: this.item(), improper: true });
            break;
          }
          f = next;
        }
        return { pairlist: cells, type };
      }
      case 9: { // CHARSXP
        const n = this.int();
        if (n === -1) return null;
        const levels = flags >> 12;
        const b = this.bytes(n);
        return (levels & 4) ? b.toString('latin1') : b.toString('utf8');
      }
      case 10: case 13: { // LGLSXP, INTSXP
        const n = this.length();
        const out = new Array(n);
        for (let i = 0; i < n; i++) { const v = this.int(); out[i] = v === NA_INTEGER ? null : v; }
        return this.attrs(out, hasAttr);
      }
      case 14: { const n = this.length(); const out = new Array(n); for (let i = 0; i < n; i++) out[i] = this.double(); return this.attrs(out, hasAttr); }
      case 15: { const n = this.length(); const out = new Array(n); for (let i = 0; i < n; i++) out[i] = [this.double(), this.double()]; return this.attrs(out, hasAttr); }
      case 16: { // STRSXP
        const n = this.length();
        const out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.item();
        return this.attrs(out, hasAttr);
      }
      case 19: case 20: { // VECSXP, EXPRSXP
        const n = this.length();
        const out = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.item();
        return this.attrs(out, hasAttr);
      }
      case 24: { const n = this.length(); return this.attrs(Array.from(this.bytes(n)), hasAttr); }
      case 25: { const out = []; return this.attrs(out, hasAttr); } // S4SXP: attributes only
      case 7: case 8: { return { builtin: this.bytes(this.int()).toString('latin1') }; }
      case 22: { const p = {}; this.refs.push(p); p.prot = this.item(); p.tag = this.item(); return this.attrs(p, hasAttr); }
      case 23: { const w = {}; this.refs.push(w); return this.attrs(w, hasAttr); }
      case ALTREP: {
        const info = this.item(), state = this.item(), attr = this.item();
        const value = expandAltrep(info, state);
        if (attr && Array.isArray(value)) value.attributes = pairlistToObject(attr);
        return value;
      }
      default:
        throw new Error(`unsupported R object type ${type} at byte ${this.pos - 4}`);
    }
    void hasTag;
  }

  attrs(value, hasAttr) {
    if (hasAttr) value.attributes = pairlistToObject(this.item());
    return value;
  }
}

function pairlistToObject(pl) {
  const out = {};
  if (!pl || !pl.pairlist) return out;
  for (const c of pl.pairlist) if (c.tag instanceof RSymbol) out[c.tag.name] = c.value;
  return out;
}

function expandAltrep(info, state) {
  const cls = info?.pairlist?.[0]?.value;
  const name = cls instanceof RSymbol ? cls.name : '';
  if (name === 'compact_intseq' || name === 'compact_realseq') {
    const [n, start, step] = state;
    return Array.from({ length: n }, (_, i) => start + i * step);
  }
  if (name.startsWith('wrap_')) return state[0];
  if (name === 'deferred_string') {
    const arg = state.pairlist ? state.pairlist[0].value : state;
    return arg.map((v) => (v === null ? null : String(v)));
  }
  throw new Error(`unsupported ALTREP class ${name}`);
}

/** Unserializes one R object from a (decompressed) serialization stream. */
export function unserialize(buf) {
  const r = new Reader(buf);
  r.header();
  return r.item();
}

/** Reads an .rds file (one object). */
export function readRds(file) {
  return unserialize(decompress(fs.readFileSync(file)));
}

/** Reads an .rda/.RData file: returns { name: value } for the objects it holds. */
export function readRda(file) {
  const buf = decompress(fs.readFileSync(file));
  const magic = buf.subarray(0, 5).toString('latin1');
  if (magic !== 'RDX2\n' && magic !== 'RDX3\n') throw new Error(`${file}: not an R data file (starts ${JSON.stringify(magic)})`);
  return pairlistToObject(unserialize(buf.subarray(5)));
}

/**
 * Reads every object of an installed package's lazy-load database: `base` is the path
 * without extension (e.g. .../data/Rdata). Returns { name: value }.
 */
export function readLazyLoadDb(base) {
  const index = readRds(base + '.rdx');
  const idx = namedList(index);
  const vars = namedList(idx.variables);
  const rdb = fs.readFileSync(base + '.rdb');
  const out = {};
  for (const name of Object.keys(vars).sort()) {
    const [offset, length] = vars[name];
    out[name] = unserialize(lazyLoadBlob(rdb.subarray(offset, offset + length)));
  }
  return out;
}

function lazyLoadBlob(blob) {
  const rawLength = blob.readUInt32BE(0);
  const tag = String.fromCharCode(blob[4]);
  let data;
  if (tag === 'Z') data = zlib.inflateSync(blob.subarray(5));
  else if (tag === '2') data = execTool('bzip2', blob.subarray(5));
  else if (tag === 'X') data = execTool('xz', blob.subarray(5));
  else if (tag === '0') data = blob.subarray(5);
  else data = zlib.inflateSync(blob.subarray(4)); // compress = TRUE: zlib right after the length
  if (data.length !== rawLength) throw new Error(`lazy-load entry: expected ${rawLength} bytes, got ${data.length}`);
  return data;
}

/** A named R list as { name: value }. */
export function namedList(list) {
  const names = list?.attributes?.names;
  if (!Array.isArray(list) || !Array.isArray(names)) throw new Error('expected a named list');
  const out = {};
  names.forEach((n, i) => { out[n] = list[i]; });
  return out;
}
