/** The whole model of a task: the encoder (engine/model/bert.ts) with its task kind's head on top. */
import type { Ops } from '../graph/ops';
import { buildEncoderSegment, type BertGraph, type BertSegment, type BuildOptions, type ModelSpec, type SegmentOptions } from '../model/bert';
import type { WeightMap } from '../tensor';
import { taskKind } from './registry';

/** Token ids in, the head's logits out. */
export function buildBert(o: Ops, spec: ModelSpec, weights: WeightMap, options: BuildOptions): BertGraph {
  return buildBertSegment(o, spec, weights, options) as BertGraph;
}

/** Layers `from`..`to`−1 (see SegmentOptions); without `to` it ends with the head's logits. */
export function buildBertSegment(o: Ops, spec: ModelSpec, weights: WeightMap, options: Omit<SegmentOptions, 'head'>): BertSegment {
  return buildEncoderSegment(o, spec, weights, { ...options, head: taskKind(spec.head.kind).head(spec.head) });
}

/** Adds the task head's weights where the checkpoint has none of the right shape (N(0, 0.02²) weights, zero biases); returns the names created. */
export function initHead(weights: WeightMap, spec: ModelSpec, seed: number): readonly string[] {
  return taskKind(spec.head.kind).initHead(weights, spec, seed);
}
