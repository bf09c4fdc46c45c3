/**
 * Code lenses: the actions an experiment file offers (Train, Train Fusion on a `fusion`
 * block, Run sweep (N runs), Run ablation; ids in protocol.ts, implemented by the
 * extension) and the trainable-parameter count above `method`.
 */
import type { CodeLens } from 'vscode-languageserver';
import { entryOf, type MapEntry } from '../../../engine/config';
import { formatCount, type ParameterCounts } from '../../../engine/model/parameters';
import type { DocumentState } from '../documentState';
import { Commands } from '../protocol';

export function codeLenses(state: DocumentState): CodeLens[] {
  const { document, validation } = state;
  const root = validation.tree.root;
  if (root?.kind !== 'map' || root.entries.length === 0) return [];
  const at = (entry: MapEntry) => ({ start: document.positionAt(entry.keyRange.start), end: document.positionAt(entry.keyRange.end) });
  const args = [document.uri];
  const lenses: CodeLens[] = [];
  const first = root.entries.find((e) => !e.merged) ?? root.entries[0]!;
  lenses.push({ range: at(first), command: { title: '▶ Train', command: Commands.train, arguments: args } });
  // A fusion trains from its block too: the adapters it names are right there.
  const fusion = entryOf(root, 'fusion');
  if (fusion && validation.experiment?.method === 'fusion') lenses.push({ range: at(fusion), command: { title: `▶ Train Fusion (${validation.fused.length} adapters)`, command: Commands.train, arguments: args } });
  const sweep = entryOf(root, 'sweep');
  if (sweep && validation.sweep) {
    const n = validation.sweep.runs;
    lenses.push({ range: at(sweep), command: { title: `▶ Run sweep (${n} run${n === 1 ? '' : 's'})`, command: Commands.runSweep, arguments: args } });
  }
  const ablation = entryOf(root, 'ablation');
  if (ablation) lenses.push({ range: at(ablation), command: { title: '▶ Run ablation', command: Commands.runAblation, arguments: args } });
  const method = entryOf(root, 'method') ?? first;
  if (validation.parameters) lenses.push({ range: at(method), command: { title: parameterTitle(validation.parameters), command: '' } });
  return lenses;
}

export function parameterTitle(p: ParameterCounts): string {
  const parts: string[] = [];
  if (p.adapters) parts.push(`adapters ${formatCount(p.adapters)}`);
  if (p.fineTuned) parts.push(`fine-tuned ${formatCount(p.fineTuned)}`);
  if (p.layerNorms) parts.push(`layer norms ${formatCount(p.layerNorms)}`);
  if (p.fusion) parts.push(`fusion ${formatCount(p.fusion)}`);
  parts.push(`head ${formatCount(p.head)}`);
  // The fused adapters are frozen: shown beside the trainable count, not in it.
  if (p.fusedAdapters) parts.push(`fused adapters ${formatCount(p.fusedAdapters)} frozen`);
  return `Trainable: ${p.trainable.toLocaleString('en-US')} (${p.percentOfBase < 0.01 ? p.percentOfBase.toExponential(1) : p.percentOfBase.toFixed(2)}% of ${formatCount(p.base)}) — ${parts.join(' · ')}`;
}
