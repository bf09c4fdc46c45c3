/**
 * The adapters an experiment builds on a model of known shape: their layers (after static
 * AdapterDrop), their spec for the graph and what counting needs. The engine's plan
 * (engine/train/plan.ts) and the editor's parameter counts (validate.ts) both read them
 * here, so the counts the editor shows are the ones a run records.
 */
import type { AdapterSpec, FusedAdapter, FusionSpec } from '../model/bert';
import type { BertDims } from '../model/dims';
import { adapterParameterCount, type TrainingPlan } from '../model/parameters';
import { bottleneckSize, type Experiment } from './experiment';
import { layersOf } from './layers';

/** Layers static AdapterDrop removes: adapters (and with fusion, the fusion layers) are left out there. */
export function staticDropOf(e: Experiment, layers: number): Set<number> {
  return e.drop.mode === 'static' ? new Set(layersOf(e.drop.layers, layers)) : new Set<number>();
}

/**
 * A fusion's spec from the adapters it fuses (each at the layers it was trained in): fusion
 * layers wherever one of them is present and static AdapterDrop leaves the layer, at the
 * sites they share.
 */
export function fusionSpecOf(e: Experiment, dims: BertDims, adapters: readonly FusedAdapter[]): FusionSpec {
  const f = e.fusion;
  if (!f) throw new Error('fusionSpecOf: the experiment is not a fusion');
  const dropped = staticDropOf(e, dims.layers);
  const kept = adapters.map((a) => ({ name: a.name, adapter: { ...a.adapter, layers: a.adapter.layers.filter((l) => !dropped.has(l)) } }));
  const layers = [...new Set(kept.flatMap((a) => a.adapter.layers))].sort((a, b) => a - b);
  const sites = (['attention', 'ffn'] as const).filter((s) => kept.every((a) => a.adapter.sites.includes(s)));
  return { adapters: kept, layers, sites, config: f.config, residualBefore: f.residualBefore, queryBeforeLn: f.queryBeforeLn, temperature: f.temperature, regularization: f.config === 'dynamic' ? f.regularization : 0, dropout: f.dropout };
}

/** The fusion part of a counting plan: fusion layers (trained) and the fused adapters' parameters (frozen). */
export function fusionCountingOf(spec: FusionSpec, hiddenSize: number, shapes: readonly (Parameters<typeof adapterParameterCount>[2] & { readonly shared?: boolean })[]): NonNullable<TrainingPlan['fusion']> {
  const adapterParameters = spec.adapters.reduce((sum, a, i) => {
    const per = adapterParameterCount(hiddenSize, a.adapter.size, shapes[i]);
    const copies = shapes[i]?.shared ? Math.min(1, a.adapter.layers.length) : a.adapter.layers.length;
    return sum + per * copies * a.adapter.sites.length;
  }, 0);
  return { config: spec.config, fusionLayers: spec.layers.length * spec.sites.length, adapterParameters };
}

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
