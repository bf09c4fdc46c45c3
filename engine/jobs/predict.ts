/**
 * Predictions from a finished run: rebuild its model from the run folder (the base model
 * it names, plus its trained weights) and run a data file through it, in file order.
 */
import { readTable } from '../data/table';
import type { EncodedExample } from '../tasks/batches';
import { predictAll, taskTokenizer } from '../tasks/index';
import { loadRun, RunFolderError } from './runModel';
import { Trainer } from '../train/trainer';

export { RunFolderError };

export interface Prediction {
  readonly index: number;
  readonly logits: readonly number[];
  /** The label (classification) or value (regression). */
  readonly prediction: string | number;
}

export async function predictFile(runDir: string, dataFile: string, threads?: number): Promise<Prediction[]> {
  const { experiment: e, spec, labels, model, weights } = loadRun(runDir);
  if (e.task.kind === 'span') throw new RunFolderError('predict reads .tsv/.csv/.jsonl text tasks; span runs are evaluated with their SQuAD file');
  const table = readTable(dataFile, { columns: [...e.task.text] });
  const tokenizer = taskTokenizer(e, model.tokenizer);
  const examples: EncodedExample[] = table.rows.map((row, i) => {
    const enc = tokenizer.encode(String(row.cells[0] ?? ''), e.task.text.length > 1 ? String(row.cells[1] ?? '') : undefined, { maxLength: e.task.maxLength });
    return { index: i, inputIds: enc.inputIds, tokenTypeIds: enc.tokenTypeIds, label: 0 };
  });
  const trainer = await Trainer.create(spec, weights, [], undefined, { threads });
  try {
    const { predictions, logits } = await predictAll(trainer, examples, e);
    return examples.map((x) => ({
      index: x.index,
      logits: logits[x.index]!,
      prediction: e.task.kind === 'regression' ? predictions[x.index]! : (labels?.labels[predictions[x.index]!] ?? predictions[x.index]!),
    }));
  } finally {
    await trainer.release();
  }
}
