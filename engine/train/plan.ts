/**
 * From a resolved experiment and a model's shape to what is built and trained: the model
 * spec (adapters after static AdapterDrop, the head) and the trainable parameters of the
 * method. The trainable set agrees with engine/model/parameters.ts by construction: tests
 * sum the shapes here and compare with the counting code.
 */
import { adapterCountingOf, adapterLayersOf, adapterSpecOf, fusionCountingOf, fusionSpecOf } from '../config/adapterPlan';
import type { Experiment } from '../config/experiment';
import { layersOf } from '../config/layers';
import { parameterShapes, type FusedAdapter, type ModelSpec } from '../model/bert';
import { adapterVariant } from '../model/adapterVariant';
import type { BertDims } from '../model/dims';
import type { TrainingPlan } from '../model/parameters';
import { taskKind } from '../tasks';

export interface RunPlan {
  readonly spec: ModelSpec;
  readonly trainable: readonly string[];
  /** Layers whose adapters robust AdapterDrop may switch off (empty unless `drop.mode: robust`). */
  readonly robustDrop: readonly number[];
  readonly counting: TrainingPlan;
}

/** `fused`: with `method: fusion`, the adapters to fuse, at the layers they were trained in (engine/jobs/fusion.ts reads them). */
export function planRun(e: Experiment, dims: BertDims, numLabels: number, layerNormEps = 1e-12, fused: readonly FusedAdapter[] = []): RunPlan {
  if (e.method === 'fusion' && fused.length === 0) throw new Error('a fusion run needs the adapters it fuses');
  const L = dims.layers;
  const dropped = layersOf(e.drop.layers, L);
  const adapterLayers = adapterLayersOf(e, L);
  const task = taskKind(e.task.kind);
  const head = task.headSpec(numLabels);
  const spec: ModelSpec = {
    dims,
    layerNormEps,
    adapters: adapterSpecOf(e, dims),
    ...(e.method === 'fusion' ? { fusion: fusionSpecOf(e, dims, fused) } : {}),
    head,
  };
  const all = [...parameterShapes(spec).keys()];
  const headNames = task.headParameters(head);
  const inLayers = (layers: readonly number[]) => (n: string) => layers.some((l) => n.startsWith(`encoder.layer.${l}.`));
  const isLn = (n: string) => n.includes('LayerNorm');
  let trainable: string[];
  switch (e.method) {
    case 'adapter':
      trainable = all.filter((n) => n.includes('.adapter.') || (e.adapter.trainLayerNorm && isLn(n) && inLayers(adapterLayers)(n)));
      break;
    case 'full':
      trainable = all.filter((n) => !headNames.includes(n));
      break;
    case 'top_k': {
      const k = Math.min(e.topK ?? 1, L);
      const top = Array.from({ length: k }, (_, i) => L - k + i);
      // What the head has above the top layer (the pooler, a masked-LM transform) is trained with it.
      const above = new Set(task.aboveTopLayer(head));
      trainable = all.filter((n) => inLayers(top)(n) || above.has(n));
      break;
    }
    case 'layernorm':
      trainable = all.filter(isLn);
      break;
    case 'fusion':
      // The fusion layers only: base model and fused adapters stay frozen.
      trainable = all.filter((n) => n.includes('.adapter_fusion_layer.'));
      break;
  }
  trainable.push(...headNames);
  const counting: TrainingPlan = {
    method: e.method,
    ...adapterCountingOf(e, dims),
    topK: e.topK ?? 1,
    ...(spec.fusion ? { fusion: fusionCountingOf(spec.fusion, dims.hiddenSize, spec.fusion.adapters.map((a) => fusedShapeOf(a))) } : {}),
    head: head.kind,
    numLabels: head.kind === 'span' ? 2 : head.kind === 'mlm' ? head.vocabSize : head.numLabels,
  };
  const robustDrop = (e.method === 'adapter' || e.method === 'fusion') && e.drop.mode === 'robust' ? dropped : [];
  return { spec, trainable, robustDrop, counting };
}

function fusedShapeOf(a: FusedAdapter) {
  const v = adapterVariant(a.adapter);
  return { innerNorm: v.innerNorm === 'layernorm', depth: v.depth, learnedScaling: v.scaling === 'learned', shared: v.share === 'all_layers' };
}

/**
 * How many lowest layers hold nothing trainable: the frozen prefix that can run forward
 * only (and be cached). Undefined when an embedding weight is trained.
 */
export function frozenPrefixLayers(trainable: readonly string[], layers: number): number | undefined {
  let lowest = layers;
  for (const n of trainable) {
    if (n.startsWith('embeddings.')) return undefined;
    const m = /^encoder\.layer\.(\d+)\./.exec(n);
    if (m) lowest = Math.min(lowest, Number(m[1]));
  }
  return lowest;
}

/**
 * The plan once the run has drawn its head: head parts it had to create beyond the usual
 * head (a pooler for a checkpoint without one, a masked-LM transform) are trained and saved
 * with the run, so that every job on the finished run finds them.
 */
export function withCreatedHead(plan: RunPlan, created: readonly string[]): RunPlan {
  const shapes = parameterShapes(plan.spec);
  const extra = created.filter((n) => !plan.trainable.includes(n));
  if (extra.length === 0) return plan;
  const count = extra.reduce((sum, n) => sum + (shapes.get(n) ?? []).reduce((a, b) => a * b, 1), 0);
  return { ...plan, trainable: [...plan.trainable, ...extra], counting: { ...plan.counting, createdHeadParameters: count } };
}
