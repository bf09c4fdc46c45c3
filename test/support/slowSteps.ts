/**
 * Preloaded with `NODE_OPTIONS=--require <this file>`: makes onnxruntime training steps
 * slow the way a BERT-base step is, by blocking the calling thread before the native run
 * (nothing else in that process runs meanwhile, signal handlers included). Inference runs
 * are untouched. Settings come from the environment:
 *   SLOW_STEP_MS    how long each slow step blocks;
 *   SLOW_STEP_FROM  the first training step (1-based, per process) that is slow.
 */
import * as ort from 'onnxruntime-node';

const ms = Number(process.env.SLOW_STEP_MS ?? 0);
const from = Number(process.env.SLOW_STEP_FROM ?? 1);
if (ms > 0) {
  const proto = (ort.InferenceSession as unknown as { prototype: { run: (feeds: Record<string, unknown>, ...rest: unknown[]) => Promise<unknown> } }).prototype;
  const run = proto.run;
  let steps = 0;
  proto.run = function (this: unknown, feeds: Record<string, unknown>, ...rest: unknown[]) {
    // A training step is the only run fed labels.
    if ('labels' in feeds && ++steps >= from) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    return run.call(this, feeds, ...rest);
  };
}
