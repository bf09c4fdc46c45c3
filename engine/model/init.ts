/**
 * Initial weights: adapters near the identity (truncated normal weights, zero biases, as
 * Houlsby et al. require), new heads as BERT initialises them, and whole models for the
 * built-in (not pretrained) models.
 */
import { floatTensor, type FloatTensor, type WeightMap } from '../tensor';
import { Random } from '../util/random';
import { adapterOwner, adapterVariant } from './adapterVariant';
import { parameterShapes, type ModelSpec } from './bert';
import { identityValue } from './fusion';
import type { BertDims } from './dims';
import * as names from './names';

/** BERT's initializer_range. */
export const BERT_INIT_STD = 0.02;

export function normalTensor(shape: readonly number[], std: number, rng: Random, truncated: boolean): FloatTensor {
  const t = floatTensor(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = truncated ? rng.truncatedNormal(std) : rng.normal() * std;
  return t;
}

/**
 * Adds adapter weights: W ~ N(0, init_std²) truncated at ±2 std, biases zero; an inner layer
 * norm starts as the identity (scale 1, shift 0) and a learned scaling at 1, as AdapterHub's.
 * A shared adapter is initialised once. The draws for the down and up projections come
 * first in each adapter, so a Houlsby adapter's initial weights do not depend on the variants.
 */
export function initAdapters(weights: WeightMap, spec: ModelSpec, initStd: number, seed: number): void {
  const a = spec.adapters;
  if (!a) return;
  const rng = new Random(seed ^ 0x0ada9);
  const d = spec.dims.hiddenSize;
  const variant = adapterVariant(a);
  for (const layer of a.layers) {
    if (adapterOwner(a, layer) !== layer) continue;
    for (const site of a.sites) {
      const p = names.adapter(layer, site);
      weights.set(p.down.weight, normalTensor([a.size, d], initStd, rng, true));
      weights.set(p.down.bias, floatTensor([a.size]));
      weights.set(p.up.weight, normalTensor([d, a.size], initStd, rng, true));
      weights.set(p.up.bias, floatTensor([d]));
      for (let k = 0; k < variant.depth - 1; k++) {
        weights.set(p.hidden(k).weight, normalTensor([a.size, a.size], initStd, rng, true));
        weights.set(p.hidden(k).bias, floatTensor([a.size]));
      }
      if (variant.innerNorm === 'layernorm') {
        weights.set(p.norm.weight, floatTensor([d], new Float32Array(d).fill(1)));
        weights.set(p.norm.bias, floatTensor([d]));
      }
      if (variant.scaling === 'learned') weights.set(p.scaling, floatTensor([1], Float32Array.of(1)));
    }
  }
}

/**
 * Adds the fusion layers' weights as AdapterHub initialises them (`init_bert_weights`):
 * query and key N(0, 0.02²), biases 0; the value at the identity (1 on the diagonal, 1e-6
 * elsewhere) with `valueInitialized`, else N(0, 0.02²) as well.
 */
export function initFusion(weights: WeightMap, spec: ModelSpec, valueInitialized: boolean, seed: number): void {
  const f = spec.fusion;
  if (!f) return;
  const rng = new Random(seed ^ 0xf05e);
  const d = spec.dims.hiddenSize;
  for (const layer of f.layers) {
    for (const site of f.sites) {
      const p = names.fusion(layer, site);
      weights.set(p.query.weight, normalTensor([d, d], BERT_INIT_STD, rng, false));
      weights.set(p.query.bias, floatTensor([d]));
      weights.set(p.key.weight, normalTensor([d, d], BERT_INIT_STD, rng, false));
      weights.set(p.key.bias, floatTensor([d]));
      if (f.config === 'dynamic') weights.set(p.value.weight, valueInitialized ? floatTensor([d, d], identityValue(d)) : normalTensor([d, d], BERT_INIT_STD, rng, false));
    }
  }
}

/**
 * A whole randomly initialised BERT (the built-in models; they are not pretrained).
 * Projections get std 1/√fan_in and embeddings std 1 rather than BERT's 0.02: BERT's
 * small init suits pretraining, but a frozen random network initialised that way maps
 * every input to nearly the same [CLS] output, leaving adapters no signal to work with.
 */
export function initModel(spec: ModelSpec, seed: number): WeightMap {
  const rng = new Random(seed);
  const weights: WeightMap = new Map();
  for (const [name, shape] of parameterShapes({ ...spec, adapters: undefined })) {
    if (name.includes('LayerNorm.weight')) weights.set(name, floatTensor(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1)));
    else if (name.endsWith('.bias')) weights.set(name, floatTensor(shape));
    else if (name.startsWith('embeddings.')) weights.set(name, normalTensor(shape, 1, rng, false));
    else weights.set(name, normalTensor(shape, 1 / Math.sqrt(shape[1]!), rng, false));
  }
  return weights;
}

/**
 * A new BERT encoder as BERT initialises one for pretraining: weights N(0, std²) (0.02, not
 * truncated), biases 0, layer norms 1 and 0. No pooler and no head: the task adds its own.
 */
export function initPretraining(dims: BertDims, seed: number, std = BERT_INIT_STD): WeightMap {
  const rng = new Random(seed ^ 0x5c4a7c);
  const weights: WeightMap = new Map();
  const spec: ModelSpec = { dims, layerNormEps: 1e-12, adapters: undefined, head: { kind: 'span' } };
  for (const [name, shape] of parameterShapes(spec)) {
    if (name.startsWith('qa_outputs.')) continue;
    if (name.includes('LayerNorm.weight')) weights.set(name, floatTensor(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1)));
    else if (name.endsWith('.bias')) weights.set(name, floatTensor(shape));
    else weights.set(name, normalTensor(shape, std, rng, false));
  }
  return weights;
}
