// Markup to paragraphs: a small tolerant tag scanner for HTML and for SWORD's OSIS/ThML/GBF
// markup. Paragraph breaks come from block-level elements; whole elements that hold no prose
// (code blocks, tables, lists, navigation, notes, headings) are dropped with their content.
import { decodeEntities } from './text.mjs';

// Formatting elements that may sit inside a word: no space is put in their place.
const INLINE = new Set(['a', 'b', 'i', 'u', 'em', 'strong', 'font', 'span', 'small', 'big', 'abbr', 'acronym',
  'cite', 'dfn', 'q', 'hi', 'w', 'transchange', 'divinename', 'foreign', 'seg', 'name', 'index', 'code', 'tt',
  'kbd', 'samp', 'var', 'sub', 'sup', 'mark', 'ins', 'del', 's', 'strike', 'nobr', 'wbr']);

const TAG = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<[!?][^>]*>|<\/?([a-zA-Z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;

function attr(attrs, name) {
  const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(attrs);
  return m ? (m[2] ?? m[3] ?? m[4]) : undefined;
}

/**
 * Scans markup and returns paragraphs as { text, codeChars } (text still to be normalised).
 *   skip(name, attrs)  -> true to drop the element and everything inside it (an element
 *                         left unclosed drops the rest of the text)
 *   block(name, attrs) -> true when the tag starts or ends a paragraph
 *   code(name, attrs)  -> true for inline code elements: their text is kept and counted in
 *                         codeChars, so that the caller can drop paragraphs made of code
 */
export function scanMarkup(text, { skip, block, code }) {
  const paragraphs = [];
  let cur = '';
  let codeChars = 0;
  let skipping = null; // { name, depth }
  let codeDepth = 0;
  const flush = () => {
    const t = cur.replace(/\s+/g, ' ').trim();
    if (t) paragraphs.push({ text: t, codeChars });
    cur = ''; codeChars = 0;
  };
  let last = 0;
  TAG.lastIndex = 0;
  let m;
  const addText = (s) => {
    if (skipping || !s) return;
    const t = decodeEntities(s);
    cur += t;
    if (codeDepth > 0) codeChars += t.replace(/\s/g, '').length;
  };
  while ((m = TAG.exec(text))) {
    addText(text.slice(last, m.index));
    last = TAG.lastIndex;
    const name = m[1]?.toLowerCase();
    if (!name) continue; // comment, doctype, processing instruction
    const raw = m[0];
    const closing = raw[1] === '/';
    const selfClosing = /\/\s*>$/.test(raw);
    const attrs = m[2] ?? '';
    if (skipping) {
      if (name === skipping.name && !selfClosing) {
        skipping.depth += closing ? -1 : 1;
        if (skipping.depth === 0) skipping = null;
      }
      continue;
    }
    if (!closing && !selfClosing && skip(name, attrs)) {
      if (block(name, attrs)) flush();
      else cur += ' ';
      skipping = { name, depth: 1 };
      continue;
    }
    if (code?.(name, attrs) && !selfClosing) {
      codeDepth = Math.max(0, codeDepth + (closing ? -1 : 1));
      continue;
    }
    if (block(name, attrs)) flush();
    else if (!INLINE.has(name)) cur += ' ';
  }
  addText(text.slice(last));
  flush();
  return paragraphs;
}

const HTML_BLOCK = new Set([
  'p', 'div', 'section', 'article', 'main', 'aside', 'header', 'footer', 'br', 'hr', 'h1', 'h2',
  'h3', 'h4', 'h5', 'h6', 'li', 'dd', 'dt', 'dl', 'blockquote', 'table', 'tr', 'td', 'th', 'pre',
  'ul', 'ol', 'body', 'figure', 'figcaption', 'caption', 'center', 'address', 'form', 'html',
]);
const HTML_SKIP = new Set([
  'head', 'script', 'style', 'noscript', 'svg', 'math', 'pre', 'table', 'ul', 'ol', 'dt', 'nav',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'title', 'figure', 'figcaption', 'caption', 'form', 'button',
  'select', 'textarea', 'sup', 'object', 'iframe', 'map', 'footer', 'header',
]);
const HTML_SKIP_CLASSES = new Set([
  'navheader', 'navfooter', 'toc', 'sphinxsidebar', 'related', 'footer', 'header', 'mobile-nav',
  'menu-wrapper', 'highlight', 'literallayout', 'programlisting', 'screen', 'synopsis',
  'cmdsynopsis', 'funcsynopsis', 'refsynopsisdiv', 'table', 'informaltable', 'example-contents',
  'footnote', 'footnotes', 'admonition-title', 'versionmodified', 'deprecated-removed', 'sig',
  'index', 'breadcrumbs', 'navigation',
]);
const skipClass = (attrs) => (attr(attrs, 'class') ?? '').split(/\s+/).some((c) => HTML_SKIP_CLASSES.has(c) || c.startsWith('highlight-'));
const HTML_CODE = new Set(['code', 'tt', 'kbd', 'samp', 'var']);

/**
 * HTML to paragraphs (each { text, codeChars }). `mainOnly` keeps only what follows the
 * element with role="main" when the page has one (Sphinx pages). `layoutTables` keeps the
 * text of tables, for old pages that lay out their whole body in one.
 */
export function htmlToParagraphs(html, { mainOnly = false, layoutTables = false } = {}) {
  let body = html;
  if (mainOnly) {
    const i = html.search(/<div[^>]*role="main"[^>]*>/i);
    if (i >= 0) body = html.slice(i);
  }
  return scanMarkup(body, {
    skip: (name, attrs) => (HTML_SKIP.has(name) && !(layoutTables && name === 'table')) || skipClass(attrs) || attr(attrs, 'role') === 'navigation',
    block: (name) => HTML_BLOCK.has(name),
    code: (name) => HTML_CODE.has(name),
  });
}

// OSIS (and ThML/GBF) as used in SWORD modules.
const OSIS_SKIP = new Set(['note', 'title', 'reference', 'table', 'list', 'head', 'rdg', 'scripref', 'figure', 'speaker', 'catchword']);
const OSIS_BLOCK = new Set(['p', 'lg', 'chapter', 'div', 'br', 'lb', 'item', 'list', 'table', 'row', 'cell', 'pb', 'h1', 'h2', 'h3', 'h4', 'fi', 'cm', 'cl']);

/**
 * OSIS/ThML/GBF markup to paragraphs. Notes, titles, cross-references and tables are dropped;
 * paragraph divs, milestones of type x-p, chapters, line groups and line breaks end a
 * paragraph; words, divine names and the like keep their text.
 */
export function osisToParagraphs(text) {
  return scanMarkup(text, {
    skip: (name) => OSIS_SKIP.has(name),
    block: (name, attrs) => {
      // Pre-verse milestones mark where a verse's heading material sits: not a break.
      if (name === 'div' && /x-milestone|x-preverse/.test(attrs)) return false;
      if (OSIS_BLOCK.has(name)) return true;
      if (name === 'milestone') return /type="x-(p|extra-p)"|type="(line|cQuote)"/.test(attrs) && !/x-preverse/.test(attrs);
      return false;
    },
  });
}
