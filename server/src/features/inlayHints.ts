/** Inlay hints: parameter counts next to the settings that decide them (adapter size, top_k). */
import { InlayHintKind, type InlayHint, type Range } from 'vscode-languageserver';
import { nodeAt } from '../../../engine/config';
import { baseParameterCounts, formatCount, fusionParameterCount } from '../../../engine/model/parameters';
import type { DocumentState } from '../documentState';

export function inlayHints(state: DocumentState, range: Range): InlayHint[] {
  const { document, validation } = state;
  const p = validation.parameters;
  const model = validation.model;
  const experiment = validation.experiment;
  if (!p || !model?.ok || !experiment) return [];
  const from = document.offsetAt(range.start);
  const to = document.offsetAt(range.end);
  const hints: InlayHint[] = [];
  const add = (path: string[], label: string): void => {
    const node = nodeAt(validation.tree.root, path);
    if (!node || node.kind !== 'scalar' || node.range.end < from || node.range.end > to) return;
    hints.push({ position: document.positionAt(node.range.end), label, kind: InlayHintKind.Type, paddingLeft: true });
  };
  if (experiment.method === 'adapter') {
    const shared = experiment.adapter.share === 'all_layers' ? ' (shared)' : '';
    const label = `${formatCount(p.perAdapter)} params/adapter × ${p.adapterCount}${shared} = ${formatCount(p.adapters)}`;
    add(['adapter', 'size'], label);
    // With a preset and no size, the count sits beside the preset that sizes the adapters.
    if (!nodeAt(validation.tree.root, ['adapter', 'size'])) add(['adapter', 'preset'], `m = ${p.adapterSize}: ${label}`);
  }
  if (experiment.method === 'fusion' && experiment.fusion) {
    const sites = p.fusion / fusionParameterCount(experiment.fusion.config, model.dims.hiddenSize);
    add(['fusion', 'config'], `${formatCount(fusionParameterCount(experiment.fusion.config, model.dims.hiddenSize))} params/site × ${sites} = ${formatCount(p.fusion)}`);
  }
  if (experiment.method === 'top_k') {
    add(['top_k'], `${formatCount(baseParameterCounts(model.dims).perLayer)} params/layer, ${formatCount(p.fineTuned)} fine-tuned`);
  }
  return hints;
}
