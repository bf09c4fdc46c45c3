/**
 * Exports: a chart as SVG (serialized with its computed colours and fonts inlined, so the
 * file looks the same outside the webview's theme) or PNG (that SVG drawn into a canvas),
 * a table as CSV. The host asks where to save and writes the file.
 */
import { safeFileName } from './format';
import { post } from './host';

/** Presentation properties copied from the live chart's computed style into the export. */
const STYLE_PROPS = ['fill', 'fill-opacity', 'stroke', 'stroke-width', 'stroke-opacity', 'stroke-dasharray', 'opacity', 'font-family', 'font-size', 'font-weight', 'text-anchor', 'dominant-baseline', 'visibility'] as const;

export function serializeSvg(svg: SVGSVGElement): string {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const from = [svg, ...Array.from(svg.querySelectorAll('*'))];
  const to = [clone, ...Array.from(clone.querySelectorAll('*'))];
  from.forEach((node, i) => {
    const target = to[i];
    if (!target || !(node instanceof SVGElement)) return;
    const cs = getComputedStyle(node);
    // Attributes, not style="…": the export must not depend on the page's stylesheet.
    for (const p of STYLE_PROPS) {
      const v = cs.getPropertyValue(p);
      if (v) target.setAttribute(p, v);
    }
    target.removeAttribute('class');
  });
  const box = svg.viewBox.baseVal;
  const width = box && box.width ? box.width : svg.clientWidth;
  const height = box && box.height ? box.height : svg.clientHeight;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(width));
  clone.setAttribute('height', String(height));
  // The theme's background, so dark-theme text stays readable in the file.
  const bg = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  bg.setAttribute('width', '100%');
  bg.setAttribute('height', '100%');
  bg.setAttribute('fill', getComputedStyle(document.body).backgroundColor || '#ffffff');
  clone.insertBefore(bg, clone.firstChild);
  return '<?xml version="1.0" encoding="UTF-8"?>\n' + new XMLSerializer().serializeToString(clone);
}

function base64OfText(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** The SVG drawn at twice its size into a canvas; the image is a data: URL, which the CSP's img-src allows. */
export async function pngBase64(svg: SVGSVGElement, scale = 2): Promise<string> {
  const text = serializeSvg(svg);
  const box = svg.viewBox.baseVal;
  const width = Math.max(1, Math.round((box?.width || svg.clientWidth) * scale));
  const height = Math.max(1, Math.round((box?.height || svg.clientHeight) * scale));
  const img = new Image(width, height);
  await new Promise<void>((resolve, reject) => {
    img.onload = () => resolve();
    img.onerror = () => reject(new Error('the chart could not be rendered to an image'));
    img.src = `data:image/svg+xml;base64,${base64OfText(text)}`;
  });
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas');
  ctx.drawImage(img, 0, 0, width, height);
  return canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
}

export async function exportChart(svg: SVGSVGElement, format: 'svg' | 'png', baseName: string): Promise<void> {
  const suggestedName = `${safeFileName(baseName)}.${format}`;
  const data = format === 'svg' ? serializeSvg(svg) : await pngBase64(svg);
  post({ type: 'export', format, suggestedName, data });
}

export function exportCsv(csv: string, baseName: string): void {
  post({ type: 'export', format: 'csv', suggestedName: `${safeFileName(baseName)}.csv`, data: csv });
}
