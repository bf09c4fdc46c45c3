/**
 * Export of a finished run as an ONNX model for inference: every weight an initializer,
 * inputs `input_ids`, `token_type_ids`, `attention_mask` (int64 [batch, sequence]), output
 * `logits`. The file is checked before it is kept: loaded into a fresh onnxruntime session,
 * it must give the engine's logits on the run's validation examples (or a sample of them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ops } from '../graph/ops';
import { buildBert } from '../tasks';
import { writeAtomic } from '../runs/store';
import { EngineSession, type SessionOptions } from '../runtime/session';
import { makeBatches } from '../tasks';
import { loadRun } from './runModel';
import { prepareEvaluation } from '../tasks/index';
import { Trainer } from '../train/trainer';

export interface ExportResult {
  readonly file: string;
  readonly bytes: number;
  /** Largest difference between the exported model's logits and the engine's, on the checked examples. */
  readonly maxDifference: number;
  readonly checked: number;
  readonly tolerance: number;
}

/** Exported logits must match the engine's this closely (both run float32 on onnxruntime). */
export const EXPORT_TOLERANCE = 1e-4;

export interface ExportOptions extends SessionOptions {
  /** The largest difference from the engine's logits the file may show (default EXPORT_TOLERANCE). */
  readonly tolerance?: number;
}

/** The exported model did not give the engine's logits: nothing was written. */
export class ExportMismatchError extends Error {
  constructor(
    readonly maxDifference: number,
    readonly tolerance: number,
  ) {
    super(`the exported model's logits differ from the engine's by ${maxDifference} (more than ${tolerance}); nothing was written`);
  }
}

export async function exportOnnx(runDir: string, file: string, options: ExportOptions = {}): Promise<ExportResult> {
  const { tolerance = EXPORT_TOLERANCE, ...session } = options;
  const run = loadRun(runDir);
  const o = new Ops();
  const bert = buildBert(o, run.spec, run.weights, { trainable: new Set() });
  o.graph.output(bert.logits, 'logits');
  const bytes = o.graph.toOnnx(18, `Adapter Lab export of ${path.basename(runDir)} (${run.experiment.method}, ${run.experiment.model})`);

  // The check: the exported bytes in a fresh session against the engine's own forward pass.
  const exported = await EngineSession.create(bytes, session);
  const engine = await Trainer.create(run.spec, run.weights, [], undefined, session);
  let maxDifference = 0;
  let checked = 0;
  try {
    const dataFile = run.experiment.task.validation ?? run.experiment.task.train;
    const inputs = prepareEvaluation(run.experiment, run.model.tokenizer, run.labels, dataFile).inputs.slice(0, 64);
    for (const batch of makeBatches(inputs, 16, 0, run.experiment.task.kind, false)) {
      const shape = [batch.batchSize, batch.sequenceLength];
      const out = await exported.run({ input_ids: { data: batch.inputIds, shape }, token_type_ids: { data: batch.tokenTypeIds, shape }, attention_mask: { data: batch.attentionMask, shape } });
      const got = out.logits!.data as Float32Array;
      const want = (await engine.logits(batch)).data;
      for (let i = 0; i < want.length; i++) maxDifference = Math.max(maxDifference, Math.abs(got[i]! - want[i]!));
      checked += batch.batchSize;
    }
  } finally {
    await exported.release();
    await engine.release();
  }
  // Checked before anything is written, and written atomically: a refused or failed export leaves no file.
  if (!(maxDifference <= tolerance)) throw new ExportMismatchError(maxDifference, tolerance);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeAtomic(file, bytes);
  return { file: path.resolve(file), bytes: bytes.length, maxDifference, checked, tolerance };
}
