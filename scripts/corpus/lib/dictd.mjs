// Reader for dictd dictionaries: NAME.index (headword TAB offset TAB length, the numbers in
// dictd's base64 digits) and NAME.dict.dz (dictzip, which is gzip: plain gunzip reads it).
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes a dictd base64 number. */
export function decodeB64Number(s) {
  let n = 0;
  for (const ch of s) {
    const d = B64.indexOf(ch);
    if (d < 0) throw new Error(`bad dictd number ${JSON.stringify(s)}`);
    n = n * 64 + d;
  }
  return n;
}

/**
 * Reads a dictionary: returns its entries in file order, one per distinct (offset, length),
 * as { headwords, text }; the 00-database-* meta entries are left out.
 */
export function readDictd(indexFile, dictFile) {
  const raw = fs.readFileSync(dictFile);
  const data = raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw) : raw;
  const byOffset = new Map();
  for (const line of fs.readFileSync(indexFile, 'utf8').split('\n')) {
    if (!line) continue;
    const [word, off, len] = line.split('\t');
    if (/^00-?database/.test(word)) continue;
    const offset = decodeB64Number(off), length = decodeB64Number(len);
    const key = `${offset}:${length}`;
    const entry = byOffset.get(key);
    if (entry) entry.headwords.push(word);
    else byOffset.set(key, { offset, length, headwords: [word] });
  }
  return [...byOffset.values()]
    .sort((a, b) => a.offset - b.offset || a.length - b.length)
    .map((e) => ({ headwords: e.headwords, text: data.subarray(e.offset, e.offset + e.length).toString('utf8') }));
}
