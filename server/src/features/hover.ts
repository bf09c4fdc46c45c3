/** Hover: what a key means (with the paper's context), what a value means, and parameter counts. */
import type { Hover, Position } from 'vscode-languageserver';
import { resolveFusedAdapter } from '../../../engine/config/fusionRefs';
import { bottleneckSize, describeSpec, hitAt, specForLocation, type Spec, type TreeNode } from '../../../engine/config';
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
  if (hit.on === 'value' && hit.node?.kind === 'scalar' && typeof hit.node.value === 'string' && (spec.type === 'enum' || spec.type === 'enumList' || spec.type === 'number')) {
    const valueDoc = spec.type === 'number' ? spec.keywordDocs?.[hit.node.value] : spec.valueDocs?.[hit.node.value];
    if (valueDoc) parts.splice(1, 0, `\`${hit.node.value}\`: ${valueDoc}`);
  }
  if (spec.default !== undefined) parts.push(`Default: \`${String(spec.default)}\``);
  if (spec.paper) parts.push(`*Paper:* ${spec.paper}`);
  const counts = parameterNote(state, dotted, hit.node, spec);
  if (counts) parts.push(counts);
  const fused = dotted === 'fusion.adapters' ? fusedNote(state, hit.node) : undefined;
  if (fused) parts.splice(1, 0, fused);
  return {
    contents: { kind: 'markdown', value: parts.join('\n\n') },
    range: { start: document.positionAt(hit.range.start), end: document.positionAt(hit.range.end) },
  };
}

/** On an entry of `fusion.adapters`: the adapter it resolved to, and where it came from. */
function fusedNote(state: DocumentState, node: TreeNode | undefined): string | undefined {
  if (node?.kind !== 'scalar' || (typeof node.value !== 'string' && typeof node.value !== 'number')) return undefined;
  const dir = fusedDirOf(state, String(node.value));
  const a = dir ? state.validation.fused.find((f) => f.dir === dir) : undefined;
  if (!a) return undefined;
  const where = a.runDir ? `run \`${a.runDir}\`` : `adapter folder \`${a.dir}\``;
  return `\`${String(node.value)}\` → adapter **${a.name}** from ${where}: sites ${a.sites.join(', ')}${a.size !== undefined ? `, bottleneck ${a.size}` : ''}, ${placementWords(a)}, trained on \`${a.modelRef ?? a.modelName ?? 'an unnamed model'}\`.`;
}

/** Where an adapter sits, in a few words: fused adapters must share one serial placement. */
function placementWords(a: { readonly placement: string; readonly input: string }): string {
  if (a.placement === 'parallel') return 'parallel (reads the sub-layer input x; not fusable)';
  return a.input === 'normalized' ? "Pfeiffer's placement (reads LN(x + h))" : "Houlsby's placement (reads the sub-layer output h)";
}

/** The adapter folder an entry resolves to (as validation resolved it). */
function fusedDirOf(state: DocumentState, ref: string): string | undefined {
  const e = state.validation.experiment;
  if (!e?.fusion || !state.filePath || state.runsDir === undefined) return undefined;
  const r = resolveFusedAdapter(ref, e.fusion.baseDir, state.runsDir);
  return r.ok ? r.info.dir : undefined;
}

/** Settings that change the adapters' parameter count: hover shows the count with the model's hidden size. */
const COUNTED = new Set(['adapter.size', 'adapter.preset', 'adapter.inner_norm', 'adapter.depth', 'adapter.scaling', 'adapter.share', 'adapter.sites', 'adapter.layers']);

/** On the adapter settings: `2md + d + m` (and what the variants add) evaluated with the model's hidden size. */
function parameterNote(state: DocumentState, dotted: string, node: TreeNode | undefined, spec: Spec): string | undefined {
  const model = state.validation.model;
  const experiment = state.validation.experiment;
  if (!COUNTED.has(dotted) || !model?.ok || !experiment) return undefined;
  const d = model.dims.hiddenSize;
  const a = experiment.adapter;
  const value = node?.kind === 'scalar' ? node.value : undefined;
  const m = dotted === 'adapter.size' && spec.type === 'number' && typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : bottleneckSize(a.size, d);
  const shape = { innerNorm: a.innerNorm === 'layernorm', depth: a.depth, learnedScaling: a.scaling === 'learned' };
  const per = adapterParameterCount(d, m, shape);
  const extras = [shape.innerNorm ? ` + 2·${d} (inner norm)` : '', shape.depth > 1 ? ` + ${shape.depth - 1}·(${m}² + ${m}) (hidden layers)` : '', shape.learnedScaling ? ' + 1 (learned scaling)' : ''].join('');
  const sized = typeof a.size === 'number' || dotted === 'adapter.size' ? '' : ` (m = ${d} // ${a.size.reductionFactor}, the preset's reduction factor)`;
  const lines = [`Parameters per adapter: 2·m·d + d + m${extras} = 2·${m}·${d} + ${d} + ${m}${extras ? ' + …' : ''} = **${per.toLocaleString('en-US')}** (d = ${d}, the model's hidden size)${sized}.`];
  const p = state.validation.parameters;
  if (p && experiment.method === 'adapter') {
    const shared = a.share === 'all_layers' ? ' (shared across layers: counted once per site)' : '';
    lines.push(`All adapters: ${p.adapterCount} × ${p.perAdapter.toLocaleString('en-US')} = ${p.adapters.toLocaleString('en-US')} (${formatCount(p.adapters)})${shared}; trainable in total ${p.trainable.toLocaleString('en-US')}, ${p.percentOfBase.toFixed(2)}% of the ${formatCount(p.base)}-parameter base model.`);
  }
  return lines.join('\n\n');
}
