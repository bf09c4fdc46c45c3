/**
 * The corpus builders' format readers and text cleaning (scripts/corpus/lib), on tiny files
 * written here: a SWORD zText module, an R data file, a dictd dictionary and HTML. No Debian
 * packages are needed.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as zlib from 'node:zlib';
import { after, describe, test } from 'node:test';

const LIB = path.resolve(__dirname, '..', '..', '..', 'scripts', 'corpus', 'lib');
const load = (name: string): Promise<any> => import(pathToFileURL(path.join(LIB, name)).href);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'corpus-formats-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const u32 = (...values: number[]): Buffer => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32LE(v, 4 * i));
  return b;
};

describe('SWORD zText reader', () => {
  test('reads entries through the block and verse indexes, and strips OSIS markup', async () => {
    const { readSwordModule } = await load('sword.mjs');
    const { osisToParagraphs } = await load('markup.mjs');
    const root = path.join(tmp, 'sword');
    const data = path.join(root, 'usr/share/sword/modules/texts/ztext/test');
    fs.mkdirSync(data, { recursive: true });
    fs.mkdirSync(path.join(root, 'usr/share/sword/mods.d'), { recursive: true });
    fs.writeFileSync(path.join(root, 'usr/share/sword/mods.d/test.conf'), '[Test]\nDataPath=./modules/texts/ztext/test/\nModDrv=zText\nSourceType=OSIS\n');
    const entries = [
      ['<title>Heading</title><div type="x-p" sID="p1"/>In the <w lemma="strong:G1">beginning</w><note placement="foot">a note</note> was the Word. '],
      ['And the Word was with God.<div type="x-p" eID="p1"/>', '<chapter n="2"/>Second block, its own paragraph.'],
    ];
    // Two blocks; the verse index has an empty slot first, then one slot per entry.
    const blocks = entries.map((list) => Buffer.from(list.join(''), 'utf8'));
    const compressed = blocks.map((b) => zlib.deflateSync(b));
    const bzs = Buffer.concat([u32(0, compressed[0].length, blocks[0].length), u32(compressed[0].length, compressed[1].length, blocks[1].length)]);
    const verse = (block: number, offset: number, size: number): Buffer => { const b = Buffer.alloc(10); b.writeUInt32LE(block, 0); b.writeUInt32LE(offset, 4); b.writeUInt16LE(size, 8); return b; };
    const slots = [verse(0, 0, 0)];
    entries.forEach((list, bi) => {
      let off = 0;
      for (const e of list) { const n = Buffer.byteLength(e); slots.push(verse(bi, off, n)); off += n; }
    });
    fs.writeFileSync(path.join(data, 'nt.bzs'), bzs);
    fs.writeFileSync(path.join(data, 'nt.bzv'), Buffer.concat(slots));
    fs.writeFileSync(path.join(data, 'nt.bzz'), Buffer.concat(compressed));

    const module = readSwordModule(root);
    assert.equal(module.conf.name, 'Test');
    assert.deepEqual(module.entries, ['', ...entries.flat()]);
    const paragraphs = osisToParagraphs(module.entries.join(' ')).map((p: { text: string }) => p.text);
    assert.deepEqual(paragraphs, ['In the beginning was the Word. And the Word was with God.', 'Second block, its own paragraph.']);
  });
});

describe('R data reader', () => {
  test('reads a gzip-compressed .rda holding a character vector with an NA', async () => {
    const { readRda } = await load('rdata.mjs');
    const int = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
    const chars = (s: string): Buffer => Buffer.concat([int(0x8009), int(Buffer.byteLength(s)), Buffer.from(s, 'utf8')]);
    const body = Buffer.concat([
      Buffer.from('RDX3\nX\n', 'latin1'), int(3), int(0x040201), int(0x030500), int(5), Buffer.from('UTF-8'),
      int(0x402), int(1), chars('novel'), // pairlist cell tagged with the symbol "novel"
      int(16), int(3), chars('It is a truth'), int(9), int(-1), chars('universally acknowledged — é'),
      int(254), // end of the pairlist
    ]);
    const file = path.join(tmp, 'test.rda');
    fs.writeFileSync(file, zlib.gzipSync(body));
    assert.deepEqual(readRda(file), { novel: ['It is a truth', null, 'universally acknowledged — é'] });
  });
});

describe('dictd reader', () => {
  test('decodes the index numbers and skips the database meta entries', async () => {
    const { readDictd, decodeB64Number } = await load('dictd.mjs');
    assert.equal(decodeB64Number('A'), 0);
    assert.equal(decodeB64Number('BA'), 64);
    const text = 'meta text\nABRIDGE, v.t.  To shorten.\n\nACCORD, n.  Harmony.\n';
    const b64 = (n: number): string => { const d = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'; let s = ''; do { s = d[n % 64] + s; n = Math.floor(n / 64); } while (n > 0); return s; };
    const at = (s: string): [number, number] => [text.indexOf(s), Buffer.byteLength(s)];
    const [o1, l1] = at('ABRIDGE, v.t.  To shorten.\n\n'), [o2, l2] = at('ACCORD, n.  Harmony.\n');
    fs.writeFileSync(path.join(tmp, 'd.index'), `00databaseinfo\tA\t${b64(10)}\nabridge\t${b64(o1)}\t${b64(l1)}\naccord\t${b64(o2)}\t${b64(l2)}\nconcord\t${b64(o2)}\t${b64(l2)}\n`);
    fs.writeFileSync(path.join(tmp, 'd.dict.dz'), zlib.gzipSync(Buffer.from(text)));
    const entries = readDictd(path.join(tmp, 'd.index'), path.join(tmp, 'd.dict.dz'));
    assert.deepEqual(entries, [
      { headwords: ['abridge'], text: 'ABRIDGE, v.t.  To shorten.\n\n' },
      { headwords: ['accord', 'concord'], text: 'ACCORD, n.  Harmony.\n' },
    ]);
  });
});

describe('HTML and text cleaning', () => {
  test('keeps prose paragraphs; drops code blocks, tables, lists, navigation and headings', async () => {
    const { htmlToParagraphs } = await load('markup.mjs');
    const { paragraphsToLines } = await load('text.mjs');
    const html = `<html><head><title>T</title></head><body><div class="navheader">Prev Next Up Home of the manual.</div>
      <h1>A heading that ends like a sentence.</h1>
      <p>The parser reads &ldquo;the&nbsp;whole&rdquo; file <code>at once</code> and then stops.</p>
      <pre>for x in range(10): print(x)</pre>
      <table><tr><td>A table cell that is a full sentence.</td></tr></table>
      <ul><li>A list item that is a full sentence too.</li></ul>
      <p>Too short.</p><p>x = compute_value(a_b, c_d) is how it is done.</p></body></html>`;
    const lines = paragraphsToLines(htmlToParagraphs(html).map((p: { text: string }) => p.text));
    assert.deepEqual(lines, ['The parser reads "the whole" file at once and then stops.']);
  });

  test('splits long paragraphs at sentence boundaries, not after abbreviations', async () => {
    const { splitParagraph, splitSentences, MAX_WORDS } = await load('text.mjs');
    assert.deepEqual(splitSentences('Mr. Darcy bowed. Dr. J. Smith left! "Why?" she asked.'), ['Mr. Darcy bowed.', 'Dr. J. Smith left!', '"Why?" she asked.']);
    const sentence = 'This sentence has exactly ten words in it, you see.';
    const paragraph = Array(40).fill(sentence).join(' ');
    const lines: string[] = splitParagraph(paragraph);
    assert.equal(lines.join(' '), paragraph);
    for (const l of lines) {
      assert.ok(l.split(' ').length <= MAX_WORDS);
      assert.ok(l.endsWith('see.'));
    }
  });
});
