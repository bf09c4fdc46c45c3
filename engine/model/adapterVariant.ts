/**
 * Bottleneck adapter variants: where an adapter sits and what is inside it.
 *
 * - placement `serial` (Houlsby et al.): the adapter transforms the sub-layer's projected
 *   output h, with its own residual: `LN(x + h + s·f(h))`, x the sub-layer's input.
 *   With input `normalized` (Pfeiffer et al.; AdapterHub's `original_ln_before`) it reads
 *   the layer's own residual add and layer norm instead, keeps h as its residual, and the
 *   same layer norm is applied again after: `LN(x + h + s·f(LN(x + h)))`.
 * - placement `parallel` (He et al., 2022): the adapter reads the sub-layer's input and is
 *   added beside it: `LN(x + h + s·f(x))`.
 *
 * f is the bottleneck: an optional layer norm (`inner_norm`), the down projection d→m and
 * the non-linearity, `depth − 1` further m→m layers each with the non-linearity, the up
 * projection m→d. s is a fixed scaling or a learned scalar. With `share: all_layers` one
 * adapter per site serves every adapter layer: its weights are held under the names of the
 * lowest adapter layer.
 */
import * as names from './names';
import type { AdapterSite } from './parameters';

export type AdapterPlacement = 'serial' | 'parallel';
/** What a serial adapter reads: the sub-layer's projected output, or the layer norm of the residual sum. */
export type AdapterInput = 'output' | 'normalized';
export type AdapterScaling = number | 'learned';
export type AdapterInnerNorm = 'none' | 'layernorm';
export type AdapterShare = 'none' | 'all_layers';

/** The variant fields of an adapter spec; each absent field takes the Houlsby default. */
export interface AdapterVariantFields {
  readonly placement?: AdapterPlacement;
  readonly input?: AdapterInput;
  readonly scaling?: AdapterScaling;
  readonly innerNorm?: AdapterInnerNorm;
  /** Hidden layers in the bottleneck (1: down, non-linearity, up). */
  readonly depth?: number;
  readonly share?: AdapterShare;
}

export type AdapterVariant = Required<AdapterVariantFields>;

export const HOULSBY_VARIANT: AdapterVariant = { placement: 'serial', input: 'output', scaling: 1, innerNorm: 'none', depth: 1, share: 'none' };

/**
 * The inner layer norm's epsilon: torch's nn.LayerNorm default, which AdapterHub's
 * `ln_before` uses (not the model's layer_norm_eps).
 */
export const INNER_NORM_EPS = 1e-5;

export function adapterVariant(a: AdapterVariantFields): AdapterVariant {
  return {
    placement: a.placement ?? HOULSBY_VARIANT.placement,
    input: a.input ?? HOULSBY_VARIANT.input,
    scaling: a.scaling ?? HOULSBY_VARIANT.scaling,
    innerNorm: a.innerNorm ?? HOULSBY_VARIANT.innerNorm,
    depth: a.depth ?? HOULSBY_VARIANT.depth,
    share: a.share ?? HOULSBY_VARIANT.share,
  };
}

/** The layer whose parameter names hold the adapter used at `layer` (the lowest adapter layer when shared). */
export function adapterOwner(a: AdapterVariantFields & { readonly layers: readonly number[] }, layer: number): number {
  return a.share === 'all_layers' && a.layers.length > 0 ? Math.min(...a.layers) : layer;
}

/**
 * The parameters of one adapter, in a fixed order, with shapes: the inner layer norm, the
 * down projection, the hidden layers, the up projection, the learned scaling.
 */
export function adapterParameters(variant: AdapterVariant, layer: number, site: AdapterSite, hiddenSize: number, size: number, p: names.AdapterNames = names.adapter(layer, site)): [string, readonly number[]][] {
  const d = hiddenSize;
  const m = size;
  const out: [string, readonly number[]][] = [];
  if (variant.innerNorm === 'layernorm') out.push([p.norm.weight, [d]], [p.norm.bias, [d]]);
  out.push([p.down.weight, [m, d]], [p.down.bias, [m]]);
  for (let k = 0; k < variant.depth - 1; k++) out.push([p.hidden(k).weight, [m, m]], [p.hidden(k).bias, [m]]);
  out.push([p.up.weight, [d, m]], [p.up.bias, [d]]);
  if (variant.scaling === 'learned') out.push([p.scaling, [1]]);
  return out;
}
