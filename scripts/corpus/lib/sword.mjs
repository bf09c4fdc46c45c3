// Reader for SWORD compressed verse-keyed modules (zText, zCom and their "4" variants).
//
// A testament is three files, named by block type (b = book, c = chapter, v = verse):
//   <t>.Xzs  block index: per block, uint32 LE offset into .Xzz, compressed size, raw size
//   <t>.Xzv  entry index: per verse slot, uint32 block, uint32 offset in the raw block,
//            and the entry's size (uint16 in zVerse, uint32 in zVerse4)
//   <t>.Xzz  the blocks, each zlib-compressed
// Slots come in versification order: module heading, testament heading, then per book a
// book heading and per chapter a chapter heading followed by the verses. The reader does not
// need the versification: it returns the entries in slot order.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

/** Parses a SWORD .conf file into { name, fields } (repeated keys keep the last value). */
export function parseSwordConf(text) {
  const fields = {};
  let name;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^\[(.+)\]$/.exec(line);
    if (m) { name ??= m[1]; continue; }
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return { name, fields };
}

/** Which index-entry width (10 or 12 bytes) fits the block index; throws if neither does. */
function entryWidth(vbuf, blocks, preferred) {
  const fits = (w) => {
    if (vbuf.length % w !== 0) return false;
    for (let o = 0; o + w <= vbuf.length; o += w) {
      const b = vbuf.readUInt32LE(o), off = vbuf.readUInt32LE(o + 4);
      const size = w === 10 ? vbuf.readUInt16LE(o + 8) : vbuf.readUInt32LE(o + 8);
      if (size === 0) continue;
      if (b >= blocks.length || off + size > blocks[b].rawSize) return false;
    }
    return true;
  };
  const order = preferred === 12 ? [12, 10] : [10, 12];
  for (const w of order) if (fits(w)) return w;
  throw new Error('the verse index fits neither the 10- nor the 12-byte entry layout');
}

/**
 * Reads one testament of a module: `dir` holds the files, `prefix` is "ot" or "nt".
 * Returns the entries' texts (UTF-8 strings, empty slots as '') in slot order.
 */
export function readTestament(dir, prefix, { wide } = {}) {
  const names = fs.readdirSync(dir);
  const zs = names.find((n) => n.startsWith(prefix + '.') && /^.zs$/.test(n.slice(prefix.length + 1)));
  if (!zs) return [];
  const letter = zs[prefix.length + 1];
  const read = (ext) => fs.readFileSync(path.join(dir, `${prefix}.${letter}${ext}`));
  const sbuf = read('zs'), vbuf = read('zv'), zbuf = read('zz');
  if (sbuf.length === 0) return [];
  const blocks = [];
  for (let o = 0; o + 12 <= sbuf.length; o += 12) {
    blocks.push({ offset: sbuf.readUInt32LE(o), size: sbuf.readUInt32LE(o + 4), rawSize: sbuf.readUInt32LE(o + 8), data: null });
  }
  const width = entryWidth(vbuf, blocks, wide ? 12 : 10);
  const out = [];
  for (let o = 0; o + width <= vbuf.length; o += width) {
    const b = vbuf.readUInt32LE(o), off = vbuf.readUInt32LE(o + 4);
    const size = width === 10 ? vbuf.readUInt16LE(o + 8) : vbuf.readUInt32LE(o + 8);
    if (size === 0) { out.push(''); continue; }
    const block = blocks[b];
    block.data ??= zlib.inflateSync(zbuf.subarray(block.offset, block.offset + block.size));
    out.push(block.data.subarray(off, off + size).toString('utf8'));
  }
  return out;
}

/**
 * Reads a whole module given the unpacked package root (the folder holding usr/share/sword).
 * Returns { conf, entries } with the entries of both testaments in order.
 */
export function readSwordModule(root) {
  const swordDir = path.join(root, 'usr/share/sword');
  const confs = fs.readdirSync(path.join(swordDir, 'mods.d')).filter((n) => n.endsWith('.conf')).sort();
  if (confs.length !== 1) throw new Error(`expected one module .conf in ${swordDir}/mods.d, found ${confs.length}`);
  const conf = parseSwordConf(fs.readFileSync(path.join(swordDir, 'mods.d', confs[0]), 'utf8'));
  const driver = conf.fields.ModDrv ?? '';
  if (!/^z(Text|Com)4?$/i.test(driver)) throw new Error(`unsupported SWORD driver ${driver}`);
  const dir = path.join(swordDir, conf.fields.DataPath.replace(/^\.\//, ''));
  const wide = driver.endsWith('4');
  const entries = [...readTestament(dir, 'ot', { wide }), ...readTestament(dir, 'nt', { wide })];
  return { conf, entries };
}
