/**
 * The adapters an experiment builds on a model of known shape: their layers (after static
 * AdapterDrop), their spec for the graph and what counting needs. The engine's plan
 * (engine/train/plan.ts) and the editor's parameter counts (validate.ts) both read them
 * here, so the counts the editor shows are the ones a run records.
 */
import type { AdapterSpec } from '../model/bert';
import type { BertDims } from '../model/dims';
import type { TrainingPlan } from '../model/parameters';
import { bottleneckSize, type Experiment } from './experiment';
import { layersOf } from './layers';

/** Layers that hold adapters: `adapter.layers` less the static AdapterDrop layers (none unless `method: adapter`). */
export function adapterLayersOf(e: Experiment, layers: number): number[] {
  if (e.method !== 'adapter') return [];
  const dropped = e.drop.mode === 'static' ? new Set(layersOf(e.drop.layers, layers)) : new Set<number>();
  return layersOf(e.adapter.layers, layers).filter((l) => !dropped.has(l));
}

/** The adapters' spec for the graph, or undefined when the method trains none. */
export function adapterSpecOf(e: Experiment, dims: BertDims): AdapterSpec | undefined {
  if (e.method !== 'adapter') return undefined;
  const a = e.adapter;
  return {
    size: bottleneckSize(a.size, dims.hiddenSize),
    sites: a.sites,
    layers: adapterLayersOf(e, dims.layers),
    nonLinearity: a.nonLinearity,
    placement: a.placement,
    input: a.input,
    scaling: a.scaling,
    innerNorm: a.innerNorm,
    depth: a.depth,
    share: a.share,
  };
}

/** The adapter part of a counting plan (engine/model/parameters.ts). */
export function adapterCountingOf(e: Experiment, dims: BertDims): Pick<TrainingPlan, 'adapterSize' | 'sites' | 'adapterLayers' | 'trainLayerNorm' | 'adapterShape' | 'sharedAdapters'> {
  const a = e.adapter;
  return {
    adapterSize: bottleneckSize(a.size, dims.hiddenSize),
    sites: a.sites,
    adapterLayers: adapterLayersOf(e, dims.layers),
    trainLayerNorm: a.trainLayerNorm,
    adapterShape: { innerNorm: a.innerNorm === 'layernorm', depth: a.depth, learnedScaling: a.scaling === 'learned' },
    sharedAdapters: a.share === 'all_layers',
  };
}
