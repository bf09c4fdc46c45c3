/**
 * The server never crashes or hangs: random edits and truncations of valid files, and
 * hostile inputs, always yield diagnostics inside the document, and the next request is
 * answered.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { Random } from '../../engine/util/random';
import type { Diagnostic, Range } from 'vscode-languageserver-protocol';
import { VALID_EXPERIMENT } from '../support/fixtures';
import { fileUri, REPO_ROOT } from '../support/lspClient';
import { useServerSuite } from '../support/serverSuite';

/** A seeded generator, so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

const FRAGMENTS = ['', ':', ' ', '\n', '  ', '- ', '[', ']', '{', '}', ',', '&a ', '*a', '<<: ', '"', "'", '#', '0..', '..', '-1', '1e309', 'NaN', '.inf', '~', 'null', '!!binary ', '\t', '? ', '|\n', '>\n', '\u0000', '😀', '\r\n', 'adapter.size: [', 'x-'];

function mutate(text: string, random: () => number): string {
  const at = Math.floor(random() * (text.length + 1));
  const kind = random();
  if (kind < 0.25) return text.slice(0, at); // truncation
  if (kind < 0.5) return text.slice(0, at) + text.slice(Math.min(text.length, at + 1 + Math.floor(random() * 20)));
  if (kind < 0.85) return text.slice(0, at) + FRAGMENTS[Math.floor(random() * FRAGMENTS.length)] + text.slice(at);
  const other = Math.floor(random() * text.length);
  return text.slice(0, at) + text.slice(other, other + Math.floor(random() * 30)) + text.slice(at);
}

function endOf(text: string): { line: number; character: number } {
  const lines = text.split(/\r\n|\r|\n/);
  return { line: lines.length - 1, character: lines[lines.length - 1]!.length };
}

function inside(range: Range, text: string): boolean {
  const end = endOf(text);
  const lines = text.split(/\r\n|\r|\n/);
  const ok = (p: { line: number; character: number }) => p.line >= 0 && p.character >= 0 && (p.line < end.line || (p.line === end.line && p.character <= end.character)) && p.character <= (lines[p.line]?.length ?? 0) + 1;
  const ordered = range.start.line < range.end.line || (range.start.line === range.end.line && range.start.character <= range.end.character);
  return ok(range.start) && ok(range.end) && ordered;
}

describe('robustness', () => {
  const s = useServerSuite();
  const examples = fs.readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.adapter.yaml')).map((f) => fs.readFileSync(path.join(REPO_ROOT, 'examples', f), 'utf8'));

  test('random edits and truncations: diagnostics stay inside the document and every feature answers', async () => {
    const random = rng(20261122);
    const bases = [VALID_EXPERIMENT, ...examples];
    const uri = fileUri(s.ws.path('fuzz.adapter.yaml'));
    let text = bases[0]!;
    await s.client.open(uri, text);
    for (let i = 0; i < 300; i++) {
      text = i % 25 === 0 ? bases[Math.floor(random() * bases.length)]! : mutate(text, random);
      if (text.length > 20_000) text = text.slice(0, 20_000);
      const p = await s.client.replace(uri, text);
      for (const d of p.diagnostics as Diagnostic[]) assert.ok(inside(d.range, text), `iteration ${i}: ${JSON.stringify(d.range)} outside ${JSON.stringify(endOf(text))} (${d.code})\n${JSON.stringify(text)}`);
      if (i % 10 === 0) {
        const position = { line: Math.floor(random() * (endOf(text).line + 1)), character: Math.floor(random() * 20) };
        await s.client.completion(uri, position);
        await s.client.hover(uri, position);
        await s.client.codeLenses(uri);
        await s.client.documentSymbols(uri);
        await s.client.inlayHints(uri, { start: { line: 0, character: 0 }, end: endOf(text) });
        await s.client.codeActions(uri, { start: { line: 0, character: 0 }, end: endOf(text) }, p.diagnostics);
      }
    }
    assert.ok(s.client.alive, 'the server is still running');
    assert.deepEqual(s.client.stderr.join('').match(/failed:|uncaught/g) ?? [], [], s.client.stderr.join(''));
  });

  test('ranged (incremental) edits keep the server in step with the editor', async () => {
    const random = rng(7);
    const uri = fileUri(s.ws.path('incremental.adapter.yaml'));
    let text = VALID_EXPERIMENT;
    await s.client.open(uri, text);
    for (let i = 0; i < 60; i++) {
      const lines = text.split('\n');
      const line = Math.floor(random() * lines.length);
      const character = Math.floor(random() * (lines[line]!.length + 1));
      const insert = FRAGMENTS[Math.floor(random() * 12)]!;
      const offset = lines.slice(0, line).reduce((n, l) => n + l.length + 1, 0) + character;
      text = text.slice(0, offset) + insert + text.slice(offset);
      const p = await s.client.change(uri, [{ range: { start: { line, character }, end: { line, character } }, text: insert }]);
      for (const d of p.diagnostics) assert.ok(inside(d.range, text), JSON.stringify(d.range));
    }
    // Back to the valid text in one edit: the server's copy must equal ours.
    const p = await s.client.replace(uri, VALID_EXPERIMENT);
    assert.deepEqual(p.diagnostics.map((d) => d.code), ['sweep-size']);
  });

  const hostile: [string, string][] = [
    ['an empty file', ''],
    ['only a comment', '# nothing here\n'],
    ['a scalar document', '42\n'],
    ['a list document', '- a\n- b\n'],
    ['two documents', 'name: a\n---\nname: b\n'],
    ['a billion-laughs alias bomb', ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n') + '\n'],
    ['a self-referencing alias', 'name: &n [*n]\n'],
    ['a merge of a scalar', 'name: x\ntraining:\n  <<: 3\n'],
    ['very deep nesting', 'name: ' + '['.repeat(2000) + ']'.repeat(2000) + '\n'],
    ['a very long line', 'name: ' + 'x'.repeat(200_000) + '\n'],
    ['binary noise', String.fromCharCode(...Array.from({ length: 2000 }, (_, i) => (i * 7919) % 256))],
    ['a huge integer', 'name: x\nadapter:\n  size: 99999999999999999999999999\n'],
    ['tags and complex keys', '!!map\n? [a, b]\n: c\nname: !!str 3\n'],
    ['CRLF line endings', VALID_EXPERIMENT.replace(/\n/g, '\r\n')],
  ];
  for (const [name, text] of hostile) {
    test(`hostile input: ${name}`, async () => {
      const uri = fileUri(s.ws.path(`hostile-${name.replace(/\W+/g, '-')}.adapter.yaml`));
      const p = await s.client.open(uri, text);
      for (const d of p.diagnostics) assert.ok(inside(d.range, text), `${JSON.stringify(d.range)} (${d.code})`);
      await s.client.completion(uri, { line: 0, character: 3 });
      await s.client.hover(uri, { line: 0, character: 1 });
      assert.ok(s.client.alive);
    });
  }

  test('CRLF files report the same findings as LF files', async () => {
    const text = VALID_EXPERIMENT.replace('  size: 64', '  size: 0');
    const lf = await s.client.open(fileUri(s.ws.path('lf.adapter.yaml')), text);
    const crlf = await s.client.open(fileUri(s.ws.path('crlf.adapter.yaml')), text.replace(/\n/g, '\r\n'));
    assert.deepEqual(crlf.diagnostics.map((d) => [d.code, d.range]), lf.diagnostics.map((d) => [d.code, d.range]));
  });
});
