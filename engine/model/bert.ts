/**
 * BERT as an ONNX graph, identical in function to Hugging Face's BertModel (post-LN layers,
 * exact erf GELU, additive attention mask), with bottleneck adapters. A task head, when the
 * caller gives one (engine/tasks builds the whole model), goes on top of the last layer.
 *
 * Each parameter is either trainable (a graph input, fed at every step) or frozen (an
 * initializer, loaded once with the session). Houlsby adapters sit after each sub-layer's
 * output projection and before its residual add and layer norm:
 *   x = LN(x + A(Proj(sublayer(x)))),  A(h) = h + W_up·f(W_down·h + b_down) + b_up.
 * The variants (parallel, Pfeiffer's input, scaling, inner norm, depth, sharing) are
 * described in adapterVariant.ts.
 * The hidden state is kept as [tokens, d] (tokens = batch × sequence) so every projection
 * is one Gemm; only attention reshapes to [batch, heads, sequence, head_dim].
 */
import type { Value } from '../graph/graph';
import type { Ops } from '../graph/ops';
import type { WeightMap } from '../tensor';
import { adapterOwner, adapterParameters, adapterVariant, INNER_NORM_EPS, type AdapterVariant, type AdapterVariantFields } from './adapterVariant';
import type { BertDims } from './dims';
import { applyDropout, dropoutMatmul, type DropoutMask } from './dropout';
import { fuse, fusedInputOf, fusionParameters, fusionWeightsOutput, type FusedBottlenecks, type FusionLayerSpec } from './fusion';
import { headShapes, type HeadSpec } from './heads';
import * as names from './names';
import type { AdapterSite } from './parameters';

export type NonLinearityName = 'gelu' | 'relu' | 'swish' | 'tanh';

/** An adapter configuration; the variant fields, when absent, are Houlsby's (adapterVariant.ts). */
export interface AdapterSpec extends AdapterVariantFields {
  readonly size: number;
  readonly sites: readonly AdapterSite[];
  /** Layers that hold adapters (after static AdapterDrop). */
  readonly layers: readonly number[];
  readonly nonLinearity: NonLinearityName;
}

export type { HeadSpec };

/** One adapter of a fusion: frozen, under its own name, at its own layers and sites. */
export interface FusedAdapter {
  /** AdapterHub's adapter name; its weights are `names.fusedAdapter(name, …)`. */
  readonly name: string;
  /** Its layers are where it is used (a pruned or dropped adapter leaves layers out). */
  readonly adapter: AdapterSpec;
}

/**
 * AdapterFusion (engine/model/fusion.ts): a fusion layer at each of `sites` in each of
 * `layers`, over the fused adapters present there. A site where none is present is the
 * plain sub-layer end; where one is, the softmax gives it weight 1. The adapters share one
 * serial placement (their `input`), which decides what the fusion reads.
 */
export interface FusionSpec extends FusionLayerSpec {
  readonly adapters: readonly FusedAdapter[];
  readonly layers: readonly number[];
  readonly sites: readonly AdapterSite[];
}

export interface ModelSpec {
  readonly dims: BertDims;
  readonly layerNormEps: number;
  readonly adapters: AdapterSpec | undefined;
  /** Fused adapters and their fusion layers (`method: fusion`); then `adapters` is undefined. */
  readonly fusion?: FusionSpec;
  readonly head: HeadSpec;
}

export interface BuildOptions {
  /** Names of parameters fed as inputs (trainable); every other weight is an initializer. */
  readonly trainable: ReadonlySet<string>;
  /** Adds an input `adapter_gates` [layers × 2] that scales each adapter's branch (1 on, 0 removed). */
  readonly gates?: boolean;
  /** The dropout mask at a site, at the given rate (training); none: no dropout there. */
  readonly dropout?: (x: Value, site: string, rate: 'hidden' | 'attention' | number) => DropoutMask | undefined;
  /** Float precision of the graph (float64 only for gradient checks). */
  readonly dtype?: 'float32' | 'float64';
  /** A scalar the fusion scores are divided by (the annealed temperature while training); none: 1. */
  readonly fusionTemperature?: Value;
  /** Adds an output `fusion_weights.<layer>.<site>` [tokens, N] per fusion layer: each present adapter's softmax weight. */
  readonly fusionWeights?: boolean;
}

/**
 * A part of the model: layers `from` .. `to`−1. Without `from` the segment starts at the
 * token ids (embeddings); with it, at an input `hidden_in` [tokens, d], the hidden state
 * that enters layer `from`. Without `to` it ends with the head's logits; with it, at the
 * hidden state that leaves layer `to`−1. Segments let a frozen prefix run once and be
 * reused (prefix caching, ablation rows, multi-task inference).
 */
export interface SegmentOptions extends BuildOptions {
  readonly from?: number;
  readonly to?: number;
  /** The task head on the last layer's output; its value is the segment's `logits`. */
  readonly head?: HeadBuilder;
}

/** What a head is built from: the final hidden state and the model's weights and dropout. */
export interface HeadContext {
  readonly o: Ops;
  /** [tokens, d] */
  readonly hidden: Value;
  /** Run-time [batch, sequence]. */
  readonly ioShape: Value;
  readonly hiddenSize: number;
  readonly layerNormEps: number;
  /** A parameter: a graph input when trainable, else an initializer. */
  readonly weight: (name: string) => Value;
  readonly linear: (x: Value, p: { readonly weight: string; readonly bias: string }) => Value;
  readonly dropout: (x: Value, site: string) => Value;
}

export type HeadBuilder = (ctx: HeadContext) => Value;

export interface BertSegment {
  /** Present when the segment starts at the embeddings. */
  readonly inputIds: Value | undefined;
  readonly tokenTypeIds: Value | undefined;
  /** Present when the segment starts at a layer: [tokens, d]. */
  readonly hiddenIn: Value | undefined;
  /** int64 [batch, sequence]; it also carries the batch's shape. */
  readonly attentionMask: Value;
  readonly gates: Value | undefined;
  /** Trainable parameters by name, in a fixed order. */
  readonly params: Map<string, Value>;
  /** The hidden state [tokens, d] where the segment ends (after its last layer). */
  readonly hidden: Value;
  /** Present when the segment ends with the head. */
  readonly logits: Value | undefined;
}

export interface BertGraph extends BertSegment {
  readonly inputIds: Value;
  readonly tokenTypeIds: Value;
  readonly hiddenIn: undefined;
  /** [batch, labels] for classification and regression; [batch, sequence, 2] for span. */
  readonly logits: Value;
}

/** float32's most negative value: Hugging Face's additive mask for padded keys. */
const MASK_VALUE = -3.4028234663852886e38;

/** The encoder, or a segment of it, with the head that `options.head` builds (engine/tasks/model.ts gives the task's). */
export function buildEncoderSegment(o: Ops, spec: ModelSpec, weights: WeightMap, options: SegmentOptions): BertSegment {
  const { dims } = spec;
  const dtype = options.dtype ?? 'float32';
  const d = dims.hiddenSize;
  const headDim = d / dims.heads;
  const from = options.from;
  const to = options.to ?? dims.layers;
  if (from !== undefined && (!Number.isInteger(from) || from < 0 || from > to)) throw new RangeError(`segment start ${from} is outside 0..${to}`);
  if (!Number.isInteger(to) || to < 0 || to > dims.layers) throw new RangeError(`segment end ${to} is outside 0..${dims.layers}`);
  const params = new Map<string, Value>();
  // A weight used more than once (a shared adapter) is one input or one initializer.
  const frozen = new Map<string, Value>();
  const w = (name: string): Value => {
    const tensor = weights.get(name);
    if (!tensor) throw new Error(`missing weight ${name}`);
    if (options.trainable.has(name)) {
      let v = params.get(name);
      if (!v) {
        v = o.graph.input(name, dtype, tensor.shape);
        params.set(name, v);
      }
      return v;
    }
    let v = frozen.get(name);
    if (!v) {
      v = dtype === 'float64' ? o.graph.initializer(name, { dtype, shape: tensor.shape, data: Float64Array.from(tensor.data) }) : o.graph.floatInitializer(name, tensor);
      frozen.set(name, v);
    }
    return v;
  };
  const linear = (x: Value, p: { weight: string; bias: string }): Value => o.linear(x, w(p.weight), w(p.bias));
  const drop = (x: Value, site: string, rate: 'hidden' | 'attention' | number): Value => applyDropout(o, x, options.dropout?.(x, site, rate));

  const inputIds = from === undefined ? o.graph.input('input_ids', 'int64', ['batch', 'sequence']) : undefined;
  const tokenTypeIds = from === undefined ? o.graph.input('token_type_ids', 'int64', ['batch', 'sequence']) : undefined;
  const hiddenIn = from === undefined ? undefined : o.graph.input('hidden_in', dtype, ['tokens', d]);
  const attentionMask = o.graph.input('attention_mask', 'int64', ['batch', 'sequence']);
  const gates = options.gates ? o.graph.input('adapter_gates', dtype, [dims.layers * 2]) : undefined;

  // Run-time sizes: batch × sequence, used to reshape between [tokens, d] and attention's 4-D layout.
  const ioShape = o.shapeOf(attentionMask);

  let h: Value;
  if (inputIds && tokenTypeIds) {
    // Embeddings: word + position + token type, then layer norm.
    const positions = o.range(o.element(ioShape, 1), 'sequence');
    const E = names.embeddings;
    let x = o.add(o.add(o.gather(w(E.word), inputIds), o.gather(w(E.position), positions)), o.gather(w(E.tokenType), tokenTypeIds));
    x = o.layerNorm(x, w(E.lnWeight), w(E.lnBias), spec.layerNormEps);
    x = drop(x, 'embeddings', 'hidden');
    h = o.reshape(x, [-1, d], ['tokens', d]);
  } else h = hiddenIn!;

  // Attention's constants, built only when the segment has layers (unused ones would be pruned, with a warning).
  const attention = (from ?? 0) < to ? attentionConstants() : undefined;
  function attentionConstants() {
    // Additive mask [batch, 1, 1, sequence]: 0 where attended, float32 min where padded.
    const maskF = o.cast(attentionMask, dtype);
    const maskBias = o.unsqueeze(o.mul(o.sub(o.scalar(1, dtype), maskF), o.scalar(MASK_VALUE, dtype)), [1, 2]);
    return { maskBias, headsShape: o.concatShapes([ioShape, o.ints([dims.heads, headDim])], 4), scale: o.scalar(1 / Math.sqrt(headDim), dtype) };
  }

  const adapterLayers = new Set(spec.adapters?.layers ?? []);
  const variant = spec.adapters ? adapterVariant(spec.adapters) : undefined;
  /** The adapter's branch s·f(v), times its gate: what the adapter adds. */
  const branchOf = (v: Value, layer: number, site: AdapterSite): Value => {
    const a = spec.adapters!;
    let branch = bottleneck(v, a, names.adapter(adapterOwner(a, layer), site));
    if (gates) branch = o.mul(branch, o.element(gates, layer * 2 + (site === 'attention' ? 0 : 1)));
    return branch;
  };
  /** An adapter's bottleneck s·f(v), without its skip connection. */
  const bottleneck = (v: Value, a: AdapterSpec, p: names.AdapterNames): Value => {
    const branch = linear(bottleneckHidden(v, a, p), p.up);
    const scale = scaleOf(adapterVariant(a), p);
    return scale ? o.mul(branch, scale) : branch;
  };
  /** The adapter's scaling s: its learned scalar, or a constant; none when it is 1. */
  const scaleOf = (variant: AdapterVariant, p: names.AdapterNames): Value | undefined => (variant.scaling === 'learned' ? w(p.scaling) : variant.scaling !== 1 ? o.scalar(variant.scaling, dtype) : undefined);
  /** The bottleneck's last activation, before the up projection: [tokens, m]. */
  const bottleneckHidden = (v: Value, a: AdapterSpec, p: names.AdapterNames): Value => {
    const { innerNorm, depth } = adapterVariant(a);
    let t = innerNorm === 'layernorm' ? o.layerNorm(v, w(p.norm.weight), w(p.norm.bias), INNER_NORM_EPS) : v;
    t = activation(o, linear(t, p.down), a.nonLinearity);
    for (let k = 0; k < depth - 1; k++) t = activation(o, linear(t, p.hidden(k)), a.nonLinearity);
    return t;
  };
  /**
   * The fused adapters at a site as the fusion reads them (engine/model/fusion.ts). Plain
   * bottlenecks with one non-linearity share one down projection, their weights stacked.
   */
  const fusedBottlenecks = (v: Value, present: readonly FusedAdapter[], layer: number, site: AdapterSite): FusedBottlenecks => {
    const parts = present.map((f) => ({ f, p: names.fusedAdapter(f.name, adapterOwner(f.adapter, layer), site), variant: adapterVariant(f.adapter) }));
    const plain = parts.every(({ f, variant }) => variant.innerNorm === 'none' && variant.depth === 1 && f.adapter.nonLinearity === present[0]!.adapter.nonLinearity);
    const hidden =
      plain && parts.length > 1
        ? activation(o, o.linear(v, o.concat(parts.map(({ p }) => w(p.down.weight)), 0), o.concat(parts.map(({ p }) => w(p.down.bias)), 0)), present[0]!.adapter.nonLinearity)
        : o.concat(parts.map(({ f, p }) => bottleneckHidden(v, f.adapter, p)), 1);
    return {
      hidden,
      adapters: parts.map(({ f, p, variant }) => {
        const scale = scaleOf(variant, p);
        return { size: f.adapter.size, up: { weight: w(p.up.weight), bias: w(p.up.bias) }, ...(scale ? { scale } : {}) };
      }),
    };
  };
  const fusion = spec.fusion;
  const fusionLayers = new Set(fusion?.layers ?? []);
  const fusionInput = fusion && fusion.adapters.length > 0 ? fusedInputOf(fusion.adapters) : undefined;
  /**
   * The fusion's contribution at a site (what is added to x + h), or undefined where no
   * fused adapter is present. A gate removes the fusion and its adapters together.
   * `normalized` is LN(x + h), the input of adapters in Pfeiffer's placement.
   */
  const fusedAt = (h: Value, normalized: () => Value, layer: number, site: AdapterSite): Value | undefined => {
    if (!fusion || !fusionLayers.has(layer) || !fusion.sites.includes(site)) return undefined;
    const present = fusion.adapters.filter((f) => f.adapter.layers.includes(layer) && f.adapter.sites.includes(site));
    if (present.length === 0) return undefined;
    // What the adapters and the query read (engine/model/fusion.ts); the residual is h in both placements.
    const read = fusionInput === 'normalized' ? normalized() : h;
    const p = names.fusion(layer, site);
    const siteName = `layer${layer}.${site}.fusion`;
    const inputs = { query: fusion.queryBeforeLn === true ? h : read, residual: h };
    const constantWeights = [p.query.weight, p.query.bias, p.key.weight, p.value.weight].every((n) => !options.trainable.has(n));
    // The key bias only shifts every score alike (engine/model/fusion.ts): fed where it is trained.
    const keyBias = options.trainable.has(p.key.bias) ? { keyBias: w(p.key.bias) } : {};
    const fused = fuse(o, inputs, fusedBottlenecks(read, present, layer, site), { query: { weight: w(p.query.weight), bias: w(p.query.bias) }, key: w(p.key.weight), ...keyBias, value: fusion.config === 'dynamic' ? w(p.value.weight) : undefined }, {
      residualBefore: fusion.residualBefore,
      constantWeights,
      temperature: options.fusionTemperature,
      ...(options.dropout ? { dropScores: (s: Value) => drop(s, `${siteName}.scores`, fusion.dropout ?? 'attention') } : {}),
    });
    if (options.fusionWeights) o.graph.output(fused.weights, fusionWeightsOutput(layer, site));
    return gates ? o.mul(fused.added, o.element(gates, layer * 2 + (site === 'attention' ? 0 : 1))) : fused.added;
  };
  /**
   * A sub-layer's end: its residual add and layer norm around x (the sub-layer's input) and
   * h (its projected output), with the layer's adapter at this site where it has one.
   */
  const residualNorm = (x: Value, h: Value, layer: number, site: AdapterSite, ln: { readonly weight: string; readonly bias: string }): Value => {
    const norm = (v: Value): Value => o.layerNorm(v, w(ln.weight), w(ln.bias), spec.layerNormEps);
    const fused = fusedAt(h, () => norm(o.add(x, h)), layer, site);
    if (fused) return norm(o.add(x, o.add(h, fused)));
    const a = spec.adapters;
    if (!a || !adapterLayers.has(layer) || !a.sites.includes(site)) return norm(o.add(x, h));
    if (variant!.placement === 'parallel') return norm(o.add(x, o.add(h, branchOf(x, layer, site))));
    const input = variant!.input === 'normalized' ? norm(o.add(x, h)) : h;
    return norm(o.add(x, o.add(h, branchOf(input, layer, site))));
  };

  for (let i = from ?? 0; i < to; i++) {
    const { maskBias, headsShape, scale } = attention!;
    const L = names.layer(i);
    const split = (t: Value): Value => o.transpose(o.reshape(t, headsShape, ['batch', 'sequence', dims.heads, headDim]), [0, 2, 1, 3]);
    const q = split(linear(h, L.query));
    const kT = o.transpose(o.reshape(linear(h, L.key), headsShape, ['batch', 'sequence', dims.heads, headDim]), [0, 2, 3, 1]);
    const v = split(linear(h, L.value));
    const probs = o.softmax(o.add(o.mul(o.matmul(q, kT), scale), maskBias), -1);
    const probsMask = options.dropout?.(probs, `layer${i}.attention.probs`, 'attention');
    const context = o.reshape(o.transpose(dropoutMatmul(o, probs, probsMask, v), [0, 2, 1, 3]), [-1, d], ['tokens', d]);
    const attn = drop(linear(context, L.attentionOutput), `layer${i}.attention.output`, 'hidden');
    h = residualNorm(h, attn, i, 'attention', L.attentionLn);

    const out = drop(linearOfGelu(o, linear(h, L.intermediate), w(L.output.weight), w(L.output.bias)), `layer${i}.output`, 'hidden');
    h = residualNorm(h, out, i, 'ffn', L.outputLn);
  }

  const logits = options.to === undefined && options.head ? options.head({ o, hidden: h, ioShape, hiddenSize: d, layerNormEps: spec.layerNormEps, weight: w, linear, dropout: (x, site) => drop(x, site, 'hidden') }) : undefined;
  return { inputIds, tokenTypeIds, hiddenIn, attentionMask, gates, params, hidden: h, logits };
}

/**
 * Exact (erf) GELU: 0.5·x·(1 + erf(x/√2)), as BERT uses. Differentiated as one op, from x
 * alone (y' recomputed in the backward): differentiating its five nodes instead kept three
 * more tensors of x's size per use until the backward (x/2, x/√2 and 1 + erf).
 */
export function gelu(o: Ops, x: Value): Value {
  const t = x.dtype;
  const c = (v: number): Value => o.scalar(v, t);
  const y = o.mul(o.mul(x, c(0.5)), o.add(c(1), o.erf(o.mul(x, c(Math.SQRT1_2)))));
  return o.composite(y, [x], (o, dy) => [o.mul(dy, geluAgain(o, x, { derivative: true }).derivative!)]);
}

/**
 * A linear layer over GELU(x), as BERT's feed-forward output: its weight gradient needs
 * GELU(x), which the backward computes again from x instead of keeping it from the forward
 * (for BERT-base, a [tokens, 3072] tensor per layer less between the forward and backward).
 */
export function linearOfGelu(o: Ops, x: Value, weight: Value, bias: Value): Value {
  const y = o.linear(gelu(o, x), weight, bias);
  return o.composite(y, [x, weight, bias], (o, dy, needs) => {
    const again = geluAgain(o, x, { derivative: needs[0], value: needs[1] });
    return [
      needs[0] ? o.mul(o.matmul(dy, weight), again.derivative!) : undefined,
      needs[1] ? o.gemm(dy, again.value!, undefined, { transA: true }) : undefined,
      needs[2] ? o.reduceSum(dy, [0], false) : undefined,
    ];
  });
}

/**
 * GELU(x) = x·Φ(x) and GELU'(x) = Φ(x) + x·φ(x), those asked for, for the backward. x/√2 is
 * written as a division: the forward's x·(1/√2) written again would be merged with it by
 * onnxruntime's common-subexpression elimination, and the forward's intermediates kept.
 */
function geluAgain(o: Ops, x: Value, want: { value?: boolean; derivative?: boolean }): { value?: Value; derivative?: Value } {
  const t = x.dtype;
  const c = (v: number): Value => o.scalar(v, t);
  const u = o.div(x, c(Math.SQRT2));
  const phi = o.mul(o.add(o.erf(u), c(1)), c(0.5));
  return {
    value: want.value ? o.mul(x, phi) : undefined,
    // x·φ(x) = x·erf'(u)/(2√2)
    derivative: want.derivative ? o.add(phi, o.mul(x, o.div(o.erfDerivative(u), c(2 * Math.SQRT2)))) : undefined,
  };
}

export function activation(o: Ops, x: Value, f: NonLinearityName): Value {
  switch (f) {
    case 'gelu':
      return gelu(o, x);
    case 'relu':
      return o.relu(x);
    case 'swish':
      return o.mul(x, o.sigmoid(x));
    case 'tanh':
      return o.tanh(x);
  }
}

/** Names of every parameter of the model the spec describes, in a fixed order, with shapes. */
export function parameterShapes(spec: ModelSpec): Map<string, readonly number[]> {
  const { dims } = spec;
  const d = dims.hiddenSize;
  const out = new Map<string, readonly number[]>();
  const E = names.embeddings;
  out.set(E.word, [dims.vocabSize, d]).set(E.position, [dims.maxPositions, d]).set(E.tokenType, [dims.typeVocabSize, d]).set(E.lnWeight, [d]).set(E.lnBias, [d]);
  for (let i = 0; i < dims.layers; i++) {
    const L = names.layer(i);
    for (const p of [L.query, L.key, L.value, L.attentionOutput]) out.set(p.weight, [d, d]).set(p.bias, [d]);
    out.set(L.attentionLn.weight, [d]).set(L.attentionLn.bias, [d]);
    out.set(L.intermediate.weight, [dims.intermediateSize, d]).set(L.intermediate.bias, [dims.intermediateSize]);
    out.set(L.output.weight, [d, dims.intermediateSize]).set(L.output.bias, [d]);
    out.set(L.outputLn.weight, [d]).set(L.outputLn.bias, [d]);
    const a = spec.adapters;
    // A shared adapter's parameters appear once, under the lowest adapter layer's names.
    if (a && a.layers.includes(i) && adapterOwner(a, i) === i) {
      for (const site of a.sites) for (const [name, shape] of adapterParameters(adapterVariant(a), i, site, d, a.size)) out.set(name, shape);
    }
    const f = spec.fusion;
    if (f && f.layers.includes(i)) {
      for (const fa of f.adapters) {
        if (!fa.adapter.layers.includes(i) || adapterOwner(fa.adapter, i) !== i) continue;
        for (const site of fa.adapter.sites) for (const [name, shape] of adapterParameters(adapterVariant(fa.adapter), i, site, d, fa.adapter.size, names.fusedAdapter(fa.name, i, site))) out.set(name, shape);
      }
      for (const site of f.sites) for (const [name, shape] of fusionParameters(f.config, i, site, d)) out.set(name, shape);
    }
  }
  for (const [name, shape] of headShapes(spec.head, d)) out.set(name, shape);
  return out;
}
