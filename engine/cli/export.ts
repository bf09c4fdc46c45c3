/** `adapter-lab export`: a trained run as an ONNX model, an AdapterHub-style adapter folder, or both. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stampAs, type ExportJobEvent, type PayloadOf } from '../events';
import { RUN_FILES } from '../runs/store';
import { exportOnnx } from '../jobs/export';
import { ADAPTER_FILES, exportAdapterFolder } from '../checkpoint/adapterFolder';
import { exportFusionRun, FUSION_RUN_DIRS } from '../checkpoint/fusionFolder';
import { RunFolderError } from '../jobs/predict';
import { emitFailure, errorCodeOf, eventWriter, failure, jobFlags, messageOf, parseFlags, providerFor } from './command';

export async function exportCommand(args: readonly string[], usage: (m: string) => number): Promise<number> {
  const parsed = parseFlags(args, ['onnx', 'adapter', 'threads', 'device'], ['force', 'events']);
  if (typeof parsed === 'string') return usage(parsed);
  const [runDir, ...extra] = parsed.positional;
  const onnx = parsed.flags.get('onnx');
  const adapter = parsed.flags.get('adapter');
  if (!runDir || extra.length || (typeof onnx !== 'string' && typeof adapter !== 'string')) return usage('export needs a run folder and --onnx FILE, --adapter DIR or both');
  if (parsed.flags.has('force') && typeof adapter !== 'string') return usage('--force goes with --adapter DIR');
  const flags = jobFlags(parsed);
  if (typeof flags === 'string') return usage(flags);
  const { threads, device } = flags;
  const write = eventWriter(parsed.flags.has('events'));
  const emit = (p: PayloadOf<ExportJobEvent>): void => write(stampAs<ExportJobEvent>(p));
  const started = Date.now();
  const run = path.basename(path.resolve(runDir));
  emit({ type: 'start', job: 'export', run, runDir: path.resolve(runDir), ...(typeof onnx === 'string' ? { onnx: path.resolve(onnx) } : {}), ...(typeof adapter === 'string' ? { adapter: path.resolve(adapter) } : {}) });
  let written = 0;
  try {
    if (typeof adapter === 'string') {
      // A fusion run: its adapters and the fusion, each in a folder of its own (AdapterHub's save_all_adapters).
      const fusion = fs.existsSync(path.join(runDir, FUSION_RUN_DIRS.fusion));
      const r = fusion ? exportFusionRun(runDir, adapter, { force: parsed.flags.has('force') }) : exportAdapterFolder(path.join(runDir, RUN_FILES.adapterDir), adapter, { force: parsed.flags.has('force') });
      written++;
      emit({ type: 'artifact', kind: 'adapter-folder', path: r.dir, bytes: r.bytes });
      process.stderr.write(`wrote ${r.dir} (${fusion ? 'the fused adapters and the fusion' : `${Object.keys(ADAPTER_FILES).length} files`}, ${(r.bytes / 2 ** 20).toFixed(2)} MiB)\n`);
    }
    if (typeof onnx === 'string') {
      if (importedWithoutData(runDir)) throw new RunFolderError(`${runDir} was imported without data, and --onnx checks the exported model on the run's validation examples: import it again with --data FILE`);
      const r = await exportOnnx(runDir, onnx, { threads, provider: await providerFor(device) });
      written++;
      emit({ type: 'artifact', kind: 'onnx', path: r.file, bytes: r.bytes, check: { maxDifference: r.maxDifference, examples: r.checked, tolerance: r.tolerance } });
      process.stderr.write(`wrote ${r.file} (${(r.bytes / 2 ** 20).toFixed(1)} MiB); its logits match the engine's to ${r.maxDifference.toExponential(1)} on ${r.checked} examples\n`);
    }
    emit({ type: 'end', status: 'completed', run, seconds: (Date.now() - started) / 1000, steps: written, metrics: {} });
    return 0;
  } catch (e) {
    emitFailure(write, errorCodeOf(e), messageOf(e), { run, started, steps: written });
    return failure(e);
  }
}

/** Whether a run came from `import` with no data file (its experiment names none). */
function importedWithoutData(runDir: string): boolean {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as { experiment?: { task?: { train?: string; validation?: string } } };
    const task = config.experiment?.task;
    return task !== undefined && !task.train && !task.validation;
  } catch {
    return false; // exportOnnx reports an unreadable run folder itself
  }
}
