/** The panel page: its CSP, the nonce on the only script, and escaping of the title. */
import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeNonce, panelCsp, panelHtml } from '../../client/src/panelHtml';

const opts = { scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/panel.js', styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview/panel.css', cspSource: 'https://*.vscode-cdn.net', nonce: 'bm9uY2Ugbm9uY2Ugbm9uY2U=', kind: 'sweep' as const, title: 'houlsby' };

test('the page carries the CSP: nonce-only scripts, no inline style, no eval', () => {
  const html = panelHtml(opts);
  const csp = `default-src 'none'; img-src ${opts.cspSource} data:; style-src ${opts.cspSource}; script-src 'nonce-${opts.nonce}'; font-src ${opts.cspSource};`;
  assert.equal(panelCsp(opts.cspSource, opts.nonce), csp);
  assert.ok(html.includes(`<meta http-equiv="Content-Security-Policy" content="${csp.replace(/'/g, '&#39;')}">`));
  assert.doesNotMatch(html, /unsafe-inline|unsafe-eval/);
  assert.ok(html.startsWith('<!DOCTYPE html>'));
});

test('one script, by nonce and URI; the stylesheet by URI; no inline code', () => {
  const html = panelHtml(opts);
  const scripts = [...html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 1);
  assert.equal(scripts[0]![0], `<script nonce="${opts.nonce}" src="${opts.scriptUri}"></script>`);
  assert.ok(html.includes(`<link rel="stylesheet" href="${opts.styleUri}">`));
  assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=/i);
  assert.ok(html.includes('data-kind="sweep"'));
});

test('the title is text, whatever it holds', () => {
  const html = panelHtml({ ...opts, title: '</title><script>alert(1)</script>"\'&' });
  assert.ok(html.includes('<title>&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;</title>'));
  assert.equal(html.match(/<script\b/g)?.length, 1);
});

test('nonces are fresh base64 of 128 bits', () => {
  const a = makeNonce();
  const b = makeNonce();
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9+/]{22}==$/);
  assert.equal(Buffer.from(a, 'base64').length, 16);
});
