/**
 * The training step as one ONNX graph: forward, loss, backward for the trainable
 * parameters only, global-norm gradient clipping, the learning-rate schedule and the
 * Adam/AdamW update. One `session.run` is one optimizer step:
 *   in:  batch, `step` (1-based), trainable parameters, Adam moments
 *   out: loss, learning rate, gradient norm, updated parameters and moments.
 * Every node that reads a parameter or a moment runs before the node that writes its new
 * value (each update depends on the global gradient norm, so on every gradient), so the
 * updated values may be written over the arrays fed in (the trainer does).
 */
import { gradients } from '../graph/autodiff';
import type { Value } from '../graph/graph';
import { Ops } from '../graph/ops';
import type { BuildOptions, ModelSpec } from '../model/bert';
import { buildBertSegment, taskKind } from '../tasks';
import { DropoutHasher, type DropoutRates } from '../model/dropout';
import { temperatureAt } from '../model/fusion';

export type { DropoutRates };
import type { WeightMap } from '../tensor';

export interface OptimizerSpec {
  readonly kind: 'adam' | 'adamw';
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly maxGradNorm: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly epsilon?: number;
}

export interface TrainingGraph {
  readonly model: Uint8Array;
  /** Trainable parameter names, in the order of the graph's inputs and outputs. */
  readonly trainable: readonly string[];
  /** Input names: `<param>`, `adam_m.<param>`, `adam_v.<param>`; outputs: `new.<…>` of each. */
  readonly labelInput: string;
  /** Number of backward (gradient) nodes, for tests that check what is differentiated. */
  readonly nodeCount: { forward: number; total: number };
  /** Names of every value that received a gradient (for AdapterDrop checks). */
  readonly differentiated: ReadonlySet<string>;
  /** Whether the graph takes a `dropout_seed` input. */
  readonly dropout: boolean;
}

/**
 * AdapterFusion's value regulariser, weight·Σ_sites ‖I − W_v‖² over the trained value
 * matrices (AdapterHub's `get_fusion_regularization_loss`); undefined when there is none.
 */
function valueRegularizer(o: Ops, fusion: NonNullable<ModelSpec['fusion']>, params: ReadonlyMap<string, Value>, dtype: 'float32' | 'float64'): Value | undefined {
  if (fusion.config !== 'dynamic' || fusion.regularization <= 0) return undefined;
  const values = [...params].filter(([name]) => name.endsWith('.adapter_fusion_layer.value.weight')).map(([, v]) => v);
  if (values.length === 0) return undefined;
  const d = values[0]!.shape[0] as number;
  const eye = new Float64Array(d * d);
  for (let i = 0; i < d; i++) eye[i * d + i] = 1;
  const identity = o.graph.initializer('fusion_identity', dtype === 'float64' ? { dtype, shape: [d, d], data: eye } : { dtype, shape: [d, d], data: Float32Array.from(eye) });
  const terms = values.map((v) => {
    const diff = o.sub(identity, v);
    return o.reduceSum(o.mul(diff, diff), [0, 1], false);
  });
  return o.mul(terms.reduce((a, b) => o.add(a, b)), o.scalar(fusion.regularization, dtype));
}

/** Weight decay skips biases and layer norms, as Hugging Face's Trainer does. */
export function decays(name: string): boolean {
  return !name.endsWith('.bias') && !name.includes('LayerNorm');
}


/**
 * A frozen prefix: the embeddings and layers 0..layers−1 hold nothing trainable and run
 * without dropout, so their output is a fixed function of the input. With `cached`, the
 * graph starts at layer `layers` and takes that output as its input `hidden_in`.
 */
export interface FrozenPrefix {
  readonly layers: number;
  readonly cached: boolean;
}

export function buildTrainingGraph(
  spec: ModelSpec,
  weights: WeightMap,
  trainable: readonly string[],
  opt: OptimizerSpec,
  options: Omit<BuildOptions, 'trainable' | 'dropout'> & { dropout?: DropoutRates; prefix?: FrozenPrefix } = {},
): TrainingGraph {
  const o = new Ops();
  const dtype = options.dtype ?? 'float32';
  // The 1-based step: the schedule's, and the fusion temperature's.
  const step = o.graph.input('step', dtype, []);
  const rates = options.dropout;
  const prefix = options.prefix;
  const fusion = spec.fusion;
  const seed = rates && (rates.hidden > 0 || rates.attention > 0 || (fusion?.dropout ?? 0) > 0) ? o.graph.input('dropout_seed', 'int64', []) : undefined;
  const hasher = seed ? new DropoutHasher(o, seed) : undefined;
  const inPrefix = (site: string): boolean => prefix !== undefined && (site === 'embeddings' || Number(/^layer(\d+)\./.exec(site)?.[1] ?? Infinity) < prefix.layers);
  const bert = buildBertSegment(o, spec, weights, {
    ...options,
    trainable: new Set(trainable),
    from: prefix?.cached ? prefix.layers : undefined,
    dropout: hasher && rates ? (x, site, kind) => (inPrefix(site) ? undefined : hasher.mask(x, typeof kind === 'number' ? kind : rates[kind], site)) : undefined,
    fusionTemperature: fusion?.temperature ? temperatureAt(o, step) : undefined,
  });
  if (!bert.logits) throw new Error('the training graph needs the head');
  const forwardNodes = o.graph.nodes.length;
  const params = trainable.map((n) => {
    const v = bert.params.get(n);
    if (!v) throw new Error(`trainable parameter ${n} is not used by the model`);
    return v;
  });

  const task = taskKind(spec.head.kind).loss(o, bert.logits, spec.head, dtype);
  const labelInput = task.labelInput;
  const loss = fusion ? o.add(task.loss, valueRegularizer(o, fusion, bert.params, dtype) ?? o.scalar(0, dtype)) : task.loss;
  const grads = gradients(o, loss, params);
  const differentiated = new Set(o.graph.nodes.slice(forwardNodes).flatMap((n) => n.inputs.filter((i): i is Value => i !== undefined).map((i) => i.name)));

  // Global-norm clipping: g ← g · min(1, max_norm / (‖g‖ + 1e-6)). The squares are summed in
  // the order the backward computes the gradients (from the head down). onnxruntime runs the
  // nodes in a depth-first order from the outputs, so this order is the order it computes
  // them in: in parameter order it would first follow the input gradients down to the
  // embeddings, keeping every layer's output gradient alive until its weight gradient ran.
  const position = new Map(o.graph.nodes.map((n, i) => [n, i]));
  const backwardOrder = [...params].sort((a, b) => (position.get(grads.get(a)!.producer!) ?? Infinity) - (position.get(grads.get(b)!.producer!) ?? Infinity));
  const sq = backwardOrder.map((p) => o.reduceSum(o.mul(grads.get(p)!, grads.get(p)!), p.shape.map((_, i) => i), false));
  const norm = o.sqrt(sq.reduce((a, b) => o.add(a, b)));
  const clip = o.min(o.scalar(1, dtype), o.div(o.scalar(opt.maxGradNorm, dtype), o.add(norm, o.scalar(1e-6, dtype))));

  // Linear warm-up to the peak rate, then linear decay to zero at the last step.
  const peak = o.scalar(opt.learningRate, dtype);
  const warm = Math.max(0, opt.warmupSteps);
  const decayLength = Math.max(1, opt.totalSteps - warm);
  const up = warm > 0 ? o.div(step, o.scalar(warm, dtype)) : o.scalar(1, dtype);
  const down = o.div(o.sub(o.scalar(opt.totalSteps, dtype), step), o.scalar(decayLength, dtype));
  const lr = o.mul(peak, o.max(o.scalar(0, dtype), o.min(up, down)));

  const b1 = opt.beta1 ?? 0.9;
  const b2 = opt.beta2 ?? 0.999;
  const eps = opt.epsilon ?? 1e-8;
  const c1 = o.sub(o.scalar(1, dtype), o.pow(o.scalar(b1, dtype), step));
  const c2 = o.sub(o.scalar(1, dtype), o.pow(o.scalar(b2, dtype), step));
  params.forEach((p) => {
    const name = p.name;
    let g = o.mul(grads.get(p)!, clip);
    const wd = opt.weightDecay > 0 && decays(name) ? o.scalar(opt.weightDecay, dtype) : undefined;
    if (wd && opt.kind === 'adam') g = o.add(g, o.mul(p, wd));
    const m = o.graph.input(`adam_m.${name}`, dtype, p.shape);
    const v = o.graph.input(`adam_v.${name}`, dtype, p.shape);
    const m2 = o.add(o.mul(m, o.scalar(b1, dtype)), o.mul(g, o.scalar(1 - b1, dtype)));
    const v2 = o.add(o.mul(v, o.scalar(b2, dtype)), o.mul(o.mul(g, g), o.scalar(1 - b2, dtype)));
    let update = o.div(o.div(m2, c1), o.add(o.sqrt(o.div(v2, c2)), o.scalar(eps, dtype)));
    if (wd && opt.kind === 'adamw') update = o.add(update, o.mul(p, wd));
    o.graph.output(o.sub(p, o.mul(update, lr)), `new.${name}`);
    o.graph.output(m2, `new.adam_m.${name}`);
    o.graph.output(v2, `new.adam_v.${name}`);
  });
  o.graph.output(loss, 'loss');
  o.graph.output(lr, 'lr');
  o.graph.output(norm, 'grad_norm');
  return { model: o.graph.toOnnx(), trainable, labelInput, nodeCount: { forward: forwardNodes, total: o.graph.nodes.length }, differentiated, dropout: seed !== undefined };
}
