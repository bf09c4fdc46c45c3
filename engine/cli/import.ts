/** `adapter-lab import`: a saved AdapterHub-style adapter folder as a new, completed run. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FUSION_FILES } from '../checkpoint/fusionFolder';
import type { ImportJobEvent } from '../events';
import { formatCount } from '../model/parameters';
import { importAdapter, importFusion } from '../jobs/import';
import { emitFailure, eventWriter, failure, messageOf, parseFlags } from './command';

/** `adapter-lab import`: a saved adapter folder becomes a new, completed run in the run store. */
export async function importCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['model', 'runs', 'name', 'data'], ['events']);
  if (typeof parsed === 'string') return usage(parsed);
  const [adapterDir, ...extra] = parsed.positional;
  if (!adapterDir || extra.length) return usage('import needs one adapter folder');
  const flag = (name: string) => (typeof parsed.flags.get(name) === 'string' ? (parsed.flags.get(name) as string) : undefined);
  const runsDir = path.resolve(flag('runs') ?? path.join('.adapter-lab', 'runs'));
  const write = eventWriter(parsed.flags.has('events'));
  const started = Date.now();
  let begun = false;
  const emit = (e: ImportJobEvent): void => {
    if (e.type === 'start') begun = true;
    write(e);
  };
  try {
    // A fusion folder (AdapterHub's save_adapter_fusion): its adapters are the folders beside it.
    if (fs.existsSync(path.join(adapterDir, FUSION_FILES.config))) {
      const model = flag('model');
      if (!model) return usage('import of a fusion needs --model: its config names no model the engine can load');
      const r = importFusion({ fusionDir: adapterDir, runsDir, model, name: flag('name'), data: flag('data') });
      process.stderr.write(`imported the fusion ${path.resolve(adapterDir)} (${formatCount(r.parameters.fusion)} fusion parameters) on ${r.experiment.model}\n  run folder ${r.runDir}\n`);
      return 0;
    }
    const r = await importAdapter({ adapterDir, runsDir, model: flag('model'), name: flag('name'), data: flag('data'), emit });
    process.stderr.write(`imported ${path.resolve(adapterDir)} (${r.experiment.method}, ${formatCount(r.parameters.trainable)} trained parameters) on ${r.experiment.model}\n  run folder ${r.runDir}\n`);
    return 0;
  } catch (e) {
    // Refused before a run folder existed (the folder fails validation): the import wrote no events yet.
    if (!begun) emitFailure(write, 'import-failed', messageOf(e), { run: '', started });
    return failure(e);
  }
}
