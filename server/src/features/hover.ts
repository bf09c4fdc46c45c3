/** Hover: what a key means (with the paper's context), what a value means, and parameter counts. */
import type { Hover, Position } from 'vscode-languageserver';
import { describeSpec, hitAt, specForLocation, type Spec, type TreeNode } from '../../../engine/config';
import { adapterParameterCount, formatCount } from '../../../engine/model/parameters';
import type { DocumentState } from '../documentState';

export function hover(state: DocumentState, position: Position): Hover | null {
  const { document, validation } = state;
  const offset = document.offsetAt(position);
  const hit = hitAt(validation.tree.root, offset);
  if (!hit) return null;
  const located = specForLocation(hit.path);
  if (!located) return null;
  const { spec, dotted } = located;
  const parts: string[] = [`**${dotted}** — ${describeSpec(spec)}`, spec.doc];
  if (hit.on === 'value' && hit.node?.kind === 'scalar' && typeof hit.node.value === 'string' && (spec.type === 'enum' || spec.type === 'enumList')) {
    const valueDoc = spec.valueDocs?.[hit.node.value];
    if (valueDoc) parts.splice(1, 0, `\`${hit.node.value}\`: ${valueDoc}`);
  }
  if (spec.default !== undefined) parts.push(`Default: \`${String(spec.default)}\``);
  if (spec.paper) parts.push(`*Paper:* ${spec.paper}`);
  const counts = parameterNote(state, dotted, hit.node, spec);
  if (counts) parts.push(counts);
  return {
    contents: { kind: 'markdown', value: parts.join('\n\n') },
    range: { start: document.positionAt(hit.range.start), end: document.positionAt(hit.range.end) },
  };
}

/** On `adapter.size`: `2md + d + m` evaluated with the model's hidden size. */
function parameterNote(state: DocumentState, dotted: string, node: TreeNode | undefined, spec: Spec): string | undefined {
  const model = state.validation.model;
  if (dotted !== 'adapter.size' || spec.type !== 'number' || !model?.ok) return undefined;
  const d = model.dims.hiddenSize;
  const value = node?.kind === 'scalar' ? node.value : undefined;
  const m = typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : state.validation.experiment?.adapter.size ?? 64;
  const per = adapterParameterCount(d, m);
  const lines = [`Parameters per adapter: 2·m·d + d + m = 2·${m}·${d} + ${d} + ${m} = **${per.toLocaleString('en-US')}** (d = ${d}, the model's hidden size).`];
  const p = state.validation.parameters;
  if (p && state.validation.experiment?.method === 'adapter') {
    lines.push(`All adapters: ${p.adapters.toLocaleString('en-US')} (${formatCount(p.adapters)}); trainable in total ${p.trainable.toLocaleString('en-US')}, ${p.percentOfBase.toFixed(2)}% of the ${formatCount(p.base)}-parameter base model.`);
  }
  return lines.join('\n\n');
}
