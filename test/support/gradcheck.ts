/**
 * Gradient checks: the graph's reverse-mode gradients against central finite differences
 * of the same graph's forward pass, in float64, executed by onnxruntime.
 */
import type { Graph, Value } from '../../engine/graph/graph';
import { gradients } from '../../engine/graph/autodiff';
import { Ops } from '../../engine/graph/ops';
import { EngineSession, type RunTensor } from '../../engine/runtime/session';

export interface CheckInput {
  readonly name: string;
  readonly shape: readonly number[];
  /** Values; random in [-1, 1] when omitted. */
  readonly data?: Float64Array;
  /** Whether the check differentiates with respect to it. */
  readonly differentiable?: boolean;
}

export interface CheckResult {
  readonly maxAbsError: number;
  readonly maxRelError: number;
  readonly analytic: Map<string, Float64Array | Float32Array>;
  readonly graph: Graph;
}

/** A seeded generator so failures are reproducible. */
export function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/**
 * Builds `f(inputs)`, reduces it to a scalar loss Σ f(x)·r with fixed random weights r
 * (so every output element matters), differentiates, and compares with finite differences.
 */
export async function gradCheck(
  inputs: readonly CheckInput[],
  build: (o: Ops, values: Value[]) => Value,
  {
    seed = 1,
    eps = 1e-6,
    dtype = 'float64' as 'float64' | 'float32',
    extraFeeds = {} as Record<string, RunTensor>,
    extraInputs = [] as { name: string; dtype: 'int64' | 'bool'; shape: number[] }[],
  } = {},
): Promise<CheckResult> {
  const rnd = random(seed);
  const o = new Ops();
  const values = inputs.map((i) => o.graph.input(i.name, dtype, i.shape));
  for (const e of extraInputs) values.push(o.graph.input(e.name, e.dtype, e.shape));
  const y = build(o, values);
  const concreteShape = y.shape.map((d) => (typeof d === 'number' ? d : NaN));
  if (concreteShape.some(Number.isNaN)) throw new Error('gradCheck needs a static output shape');
  const size = concreteShape.reduce((a, b) => a * b, 1);
  const weights = Array.from({ length: size }, () => rnd() * 2 - 1);
  const r = o.graph.initializer('r', dtype === 'float64' ? { dtype, shape: concreteShape, data: Float64Array.from(weights) } : { dtype, shape: concreteShape, data: Float32Array.from(weights) });
  const loss = o.reduceSum(o.mul(y, r), concreteShape.map((_, i) => i), false);
  o.graph.output(loss, 'loss');
  const wrt = inputs.map((inp, i) => (inp.differentiable === false ? undefined : values[i]!)).filter((v): v is Value => v !== undefined);
  const grads = gradients(o, loss, wrt);
  for (const v of wrt) o.graph.output(grads.get(v)!, `grad_${v.name}`);

  const session = await EngineSession.create(o.graph.toOnnx());
  const make = (values: ArrayLike<number>): Float64Array | Float32Array => (dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values));
  const data = new Map(inputs.map((i) => [i.name, make(i.data ?? Array.from({ length: i.shape.reduce((a, b) => a * b, 1) }, () => rnd() * 2 - 1))]));
  const feeds = (): Record<string, RunTensor> => {
    const f: Record<string, RunTensor> = { ...extraFeeds };
    for (const i of inputs) f[i.name] = { data: data.get(i.name)!, shape: i.shape };
    return f;
  };
  const base = await session.run(feeds());
  const analytic = new Map<string, Float64Array | Float32Array>();
  let maxAbsError = 0;
  let maxRelError = 0;
  for (const v of wrt) {
    const g = base[`grad_${v.name}`]!.data as Float64Array | Float32Array;
    analytic.set(v.name, g);
    const x = data.get(v.name)!;
    for (let k = 0; k < x.length; k++) {
      const keep = x[k]!;
      x[k] = keep + eps;
      const plus = ((await session.run(feeds(), ['loss'])).loss!.data as Float64Array | Float32Array)[0]!;
      x[k] = keep - eps;
      const minus = ((await session.run(feeds(), ['loss'])).loss!.data as Float64Array | Float32Array)[0]!;
      x[k] = keep;
      const numeric = (plus - minus) / (2 * eps);
      const abs = Math.abs(numeric - g[k]!);
      maxAbsError = Math.max(maxAbsError, abs);
      maxRelError = Math.max(maxRelError, abs / Math.max(1e-3, Math.abs(numeric), Math.abs(g[k]!)));
    }
  }
  await session.release();
  return { maxAbsError, maxRelError, analytic, graph: o.graph };
}
