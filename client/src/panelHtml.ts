/**
 * The result panels' HTML page. Pure (no `vscode` import), so the extension host and the
 * panels' browser tests load exactly the same document. The page only loads the bundled
 * script (by nonce) and stylesheet from the webview's own resource origin: no inline
 * script or style, no eval, no network.
 */
import { randomBytes } from 'node:crypto';
import type { PanelKind } from './panelProtocol';

export interface PanelHtmlOptions {
  /** dist/webview/panel.js as a webview URI. */
  readonly scriptUri: string;
  /** dist/webview/panel.css as a webview URI. */
  readonly styleUri: string;
  /** The webview's `cspSource` (the origin its resources are served from). */
  readonly cspSource: string;
  /** A fresh value per page load: only the script carrying it runs. */
  readonly nonce: string;
  readonly kind: PanelKind;
  readonly title: string;
}

/** 128 random bits, base64: a CSP nonce. */
export function makeNonce(): string {
  return randomBytes(16).toString('base64');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The Content-Security-Policy the page carries. */
export function panelCsp(cspSource: string, nonce: string): string {
  return `default-src 'none'; img-src ${cspSource} data:; style-src ${cspSource}; script-src 'nonce-${nonce}'; font-src ${cspSource};`;
}

export function panelHtml(o: PanelHtmlOptions): string {
  // The policy goes into an attribute: escaping cannot change a well-formed cspSource or
  // nonce, and stops a malformed one from ending the attribute.
  const csp = escapeHtml(panelCsp(o.cspSource, o.nonce));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(o.styleUri)}">
<title>${escapeHtml(o.title)}</title>
</head>
<body data-kind="${escapeHtml(o.kind)}">
<main id="app" data-kind="${escapeHtml(o.kind)}"></main>
<script nonce="${escapeHtml(o.nonce)}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>
`;
}
