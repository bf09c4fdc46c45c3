/**
 * Ops: each op's shape rule (forward) and gradient rule (backward) side by side.
 *
 * `Ops` emits ONNX nodes into a `Graph`. Gradient rules are written with the same `Ops`,
 * so a backward pass is just more graph. A gradient rule receives the node, the gradients
 * of its outputs and which inputs need a gradient, and must emit nodes only for those:
 * a frozen weight's gradient is never computed.
 */
import { Graph, type AttrValue, type ConstantData, type Dim, type DType, type Node, type Shape, type Value } from './graph';

type OutSpec = { dtype: DType; shape: Shape };
type GradRule = (o: Ops, node: Node, dOut: readonly (Value | undefined)[], needs: readonly boolean[]) => (Value | undefined)[];

/**
 * A value computed by several nodes from `inputs` and differentiated as one op, by `grad`
 * (the gradient of each input that needs one, from the value's gradient `dy`). The backward
 * then reads only what `grad` reads, so the composite's intermediates die after the forward.
 */
export interface Composite {
  readonly inputs: readonly Value[];
  readonly grad: (o: Ops, dy: Value, needs: readonly boolean[]) => (Value | undefined)[];
}

interface OpDef {
  /** Forward: output dtypes and shapes from the inputs and attributes. */
  readonly shape: (inputs: readonly (Value | undefined)[], attrs: Readonly<Record<string, AttrValue>>) => OutSpec[];
  /** Backward: gradients for the inputs that need one; absent for ops that do not carry gradients. */
  readonly grad?: GradRule;
}

const same = (i: readonly (Value | undefined)[]): OutSpec[] => [{ dtype: i[0]!.dtype, shape: i[0]!.shape }];
const bool = (i: readonly (Value | undefined)[]): OutSpec[] => [{ dtype: 'bool', shape: broadcast(i[0]!.shape, i[1]!.shape) }];
const binary = (i: readonly (Value | undefined)[]): OutSpec[] => [{ dtype: i[0]!.dtype, shape: broadcast(i[0]!.shape, i[1]!.shape) }];
const intAttr = (a: Readonly<Record<string, AttrValue>>, k: string, fallback: number): number => {
  const v = a[k];
  return v && 'int' in v ? v.int : fallback;
};
const intsAttr = (a: Readonly<Record<string, AttrValue>>, k: string): readonly number[] | undefined => {
  const v = a[k];
  return v && 'ints' in v ? v.ints : undefined;
};

/** Numpy broadcasting over possibly symbolic dims. */
export function broadcast(a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === 'number' && typeof y === 'number') throw new Error(`cannot broadcast [${a.join(', ')}] with [${b.join(', ')}]`);
    else out.push(typeof x === 'number' ? x : y);
  }
  return out;
}

const normAxis = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

export const OPS: Readonly<Record<string, OpDef>> = {
  Identity: { shape: same, grad: (_o, _n, [dy]) => [dy] },
  Add: {
    shape: binary,
    grad: (o, n, [dy], needs) => [needs[0] ? o.unbroadcast(dy!, n.inputs[0]!) : undefined, needs[1] ? o.unbroadcast(dy!, n.inputs[1]!) : undefined],
  },
  Sub: {
    shape: binary,
    grad: (o, n, [dy], needs) => [needs[0] ? o.unbroadcast(dy!, n.inputs[0]!) : undefined, needs[1] ? o.unbroadcast(o.neg(dy!), n.inputs[1]!) : undefined],
  },
  Mul: {
    shape: binary,
    grad: (o, n, [dy], needs) => {
      const [a, b] = n.inputs as Value[];
      return [needs[0] ? o.unbroadcast(o.mul(dy!, b!), a!) : undefined, needs[1] ? o.unbroadcast(o.mul(dy!, a!), b!) : undefined];
    },
  },
  Div: {
    shape: binary,
    grad: (o, n, [dy], needs) => {
      const [a, b] = n.inputs as Value[];
      const y = n.outputs[0]!;
      return [needs[0] ? o.unbroadcast(o.div(dy!, b!), a!) : undefined, needs[1] ? o.unbroadcast(o.neg(o.div(o.mul(dy!, y), b!)), b!) : undefined];
    },
  },
  Neg: { shape: same, grad: (o, _n, [dy]) => [o.neg(dy!)] },
  Exp: { shape: same, grad: (o, n, [dy]) => [o.mul(dy!, n.outputs[0]!)] },
  Log: { shape: same, grad: (o, n, [dy]) => [o.div(dy!, n.inputs[0]!)] },
  Sqrt: { shape: same, grad: (o, n, [dy]) => [o.div(dy!, o.mul(n.outputs[0]!, o.scalar(2, dy!.dtype)))] },
  Tanh: { shape: same, grad: (o, n, [dy]) => [o.mul(dy!, o.sub(o.scalar(1, dy!.dtype), o.mul(n.outputs[0]!, n.outputs[0]!)))] },
  Sigmoid: { shape: same, grad: (o, n, [dy]) => [o.mul(dy!, o.mul(n.outputs[0]!, o.sub(o.scalar(1, dy!.dtype), n.outputs[0]!)))] },
  Abs: { shape: same, grad: (o, n, [dy]) => [o.mul(dy!, o.where(o.less(n.inputs[0]!, o.scalar(0, dy!.dtype)), o.scalar(-1, dy!.dtype), o.scalar(1, dy!.dtype)))] },
  Relu: { shape: same, grad: (o, n, [dy]) => [o.mul(dy!, o.cast(o.greater(n.inputs[0]!, o.scalar(0, dy!.dtype)), dy!.dtype))] },
  Erf: {
    shape: same,
    // d/dx erf(x) = 2/√π · exp(−x²)
    grad: (o, n, [dy]) => {
      const x = n.inputs[0]!;
      return [o.mul(dy!, o.mul(o.scalar(2 / Math.sqrt(Math.PI), x.dtype), o.exp(o.neg(o.mul(x, x)))))];
    },
  },
  MatMul: {
    shape: (i) => {
      const [a, b] = [i[0]!.shape, i[1]!.shape];
      const batch = broadcast(a.slice(0, -2), b.slice(0, -2));
      return [{ dtype: i[0]!.dtype, shape: [...batch, a[a.length - 2]!, b[b.length - 1]!] }];
    },
    // dA = dY·Bᵀ, dB = Aᵀ·dY, each summed over broadcast batch dimensions.
    grad: (o, n, [dy], needs) => {
      const [a, b] = n.inputs as Value[];
      return [
        needs[0] ? o.unbroadcast(o.matmul(dy!, o.transposeLast(b!)), a!) : undefined,
        needs[1] ? o.unbroadcast(o.matmul(o.transposeLast(a!), dy!), b!) : undefined,
      ];
    },
  },
  Gemm: {
    // Used as Y = A·Bᵀ + C (transB = 1): A [n, in], B [out, in] (Hugging Face's layout), C [out].
    shape: (i, a) => {
      const A = i[0]!.shape;
      const B = i[1]!.shape;
      const rows = intAttr(a, 'transA', 0) ? A[1]! : A[0]!;
      const cols = intAttr(a, 'transB', 0) ? B[0]! : B[1]!;
      return [{ dtype: i[0]!.dtype, shape: [rows, cols] }];
    },
    grad: (o, n, [dy], needs) => {
      if (intAttr(n.attrs, 'transA', 0) || !intAttr(n.attrs, 'transB', 0)) throw new Error('Gemm gradients are defined for transA = 0, transB = 1');
      const [A, B] = n.inputs as Value[];
      return [
        needs[0] ? o.matmul(dy!, B!) : undefined,
        needs[1] ? o.gemm(dy!, A!, undefined, { transA: true }) : undefined,
        needs[2] ? o.reduceSum(dy!, [0], false) : undefined,
      ];
    },
  },
  Transpose: {
    shape: (i, a) => {
      const perm = intsAttr(a, 'perm') ?? i[0]!.shape.map((_, k) => i[0]!.shape.length - 1 - k);
      return [{ dtype: i[0]!.dtype, shape: perm.map((p) => i[0]!.shape[p]!) }];
    },
    grad: (o, n, [dy]) => {
      const perm = intsAttr(n.attrs, 'perm')!;
      const inverse = perm.map((_, k) => perm.indexOf(k));
      return [o.transpose(dy!, inverse)];
    },
  },
  Reshape: {
    // The output shape is given by the caller (see Ops.reshape); the shape input is not differentiable.
    shape: () => {
      throw new Error('Reshape shapes are declared by Ops.reshape');
    },
    grad: (o, n, [dy]) => [o.reshapeLike(dy!, n.inputs[0]!)],
  },
  ReduceSum: {
    shape: () => {
      throw new Error('ReduceSum shapes are declared by Ops.reduceSum');
    },
    grad: (o, n, [dy]) => {
      const x = n.inputs[0]!;
      const axes = o.constantInts(n.inputs[1]!);
      const keep = intAttr(n.attrs, 'keepdims', 1) === 1;
      const grad = keep ? dy! : o.unsqueeze(dy!, axes.map((a) => normAxis(a, x.shape.length)));
      return [o.expandLike(grad, x)];
    },
  },
  Softmax: {
    shape: same,
    // dX = y · (dY − Σ(dY·y)) over the softmax axis.
    grad: (o, n, [dy]) => {
      const y = n.outputs[0]!;
      const axis = intAttr(n.attrs, 'axis', -1);
      return [o.mul(y, o.sub(dy!, o.reduceSum(o.mul(dy!, y), [axis], true)))];
    },
  },
  LayerNormalization: {
    shape: (i, a) => {
      const x = i[0]!;
      const axis = normAxis(intAttr(a, 'axis', -1), x.shape.length);
      const stat = x.shape.map((d, k) => (k < axis ? d : 1));
      // onnxruntime keeps the mean and inverse std in float32 (stash_type 1) for every input type.
      return [{ dtype: x.dtype, shape: x.shape }, { dtype: 'float32', shape: stat }, { dtype: 'float32', shape: stat }];
    },
    // With x̂ = (x − μ)·σ⁻¹ and g = dY·γ: dX = σ⁻¹·(g − mean(g) − x̂·mean(g·x̂)), dγ = Σ dY·x̂, dβ = Σ dY.
    grad: (o, n, [dy], needs) => {
      const [x, scale, bias] = n.inputs as Value[];
      const mean = o.cast(n.outputs[1]!, x!.dtype);
      const invStd = o.cast(n.outputs[2]!, x!.dtype);
      const xhat = o.mul(o.sub(x!, mean), invStd);
      const lead = x!.shape.slice(0, -1).map((_, k) => k);
      let dx: Value | undefined;
      if (needs[0]) {
        const g = o.mul(dy!, scale!);
        const d = x!.shape[x!.shape.length - 1] as number;
        const inv = o.scalar(1 / d, x!.dtype);
        const meanG = o.mul(o.reduceSum(g, [-1], true), inv);
        const meanGX = o.mul(o.reduceSum(o.mul(g, xhat), [-1], true), inv);
        dx = o.mul(invStd, o.sub(o.sub(g, meanG), o.mul(xhat, meanGX)));
      }
      return [dx, needs[1] ? o.reduceSum(o.mul(dy!, xhat), lead, false) : undefined, needs[2] && bias ? o.reduceSum(dy!, lead, false) : undefined];
    },
  },
  Gather: {
    shape: (i, a) => {
      const [data, idx] = [i[0]!.shape, i[1]!.shape];
      const axis = normAxis(intAttr(a, 'axis', 0), data.length);
      return [{ dtype: i[0]!.dtype, shape: [...data.slice(0, axis), ...idx, ...data.slice(axis + 1)] }];
    },
    // Rows of the table receive the sum of the gradients of every position that read them.
    grad: (o, n, [dy], needs) => {
      if (intAttr(n.attrs, 'axis', 0) !== 0) throw new Error('Gather gradients are defined for axis 0');
      const [table, ids] = n.inputs as Value[];
      return [needs[0] ? o.scatterAdd(table!, ids!, dy!) : undefined, undefined];
    },
  },
  Where: {
    shape: (i) => [{ dtype: i[1]!.dtype, shape: broadcast(broadcast(i[0]!.shape, i[1]!.shape), i[2]!.shape) }],
    grad: (o, n, [dy], needs) => {
      const [c, a, b] = n.inputs as Value[];
      const zero = o.scalar(0, dy!.dtype);
      return [undefined, needs[1] ? o.unbroadcast(o.where(c!, dy!, zero), a!) : undefined, needs[2] ? o.unbroadcast(o.where(c!, zero, dy!), b!) : undefined];
    },
  },
  Expand: { shape: () => { throw new Error('Expand shapes are declared by Ops.expandLike'); }, grad: (o, n, [dy]) => [o.unbroadcast(dy!, n.inputs[0]!)] },
  Unsqueeze: { shape: () => { throw new Error('Unsqueeze shapes are declared by Ops.unsqueeze'); }, grad: (o, n, [dy]) => [o.reshapeLike(dy!, n.inputs[0]!)] },
  Cast: { shape: (_i, a) => [{ dtype: castTarget(a), shape: _i[0]!.shape }], grad: (o, n, [dy]) => [isFloat(n.inputs[0]!.dtype) ? o.cast(dy!, n.inputs[0]!.dtype) : undefined] },
  // Ops below carry no gradient: comparisons, shapes, indices, and maxima used only for numerical stability.
  ReduceMax: { shape: () => { throw new Error('ReduceMax shapes are declared by Ops.reduceMax'); } },
  Greater: { shape: bool },
  Less: { shape: bool },
  Equal: { shape: bool },
  Shape: { shape: (i) => [{ dtype: 'int64', shape: [i[0]!.shape.length] }] },
  ConstantOfShape: { shape: () => { throw new Error('ConstantOfShape shapes are declared by Ops.zerosLike'); } },
  ScatterND: { shape: same },
  GatherElements: { shape: (i) => [{ dtype: i[0]!.dtype, shape: i[1]!.shape }] },
  ArgMax: { shape: () => { throw new Error('ArgMax shapes are declared by Ops.argMax'); } },
  Range: { shape: () => { throw new Error('Range shapes are declared by Ops.range'); } },
  Mod: { shape: binary },
  BitwiseXor: { shape: binary },
  BitShift: { shape: binary },
  ReduceProd: { shape: () => { throw new Error('ReduceProd shapes are declared by Ops.elementCount'); } },
  Min: { shape: binary },
  Max: { shape: binary },
  Pow: { shape: binary },
  // Each part's gradient is its slice of dY along the axis (the parts' sizes there are known).
  Concat: {
    shape: () => {
      throw new Error('Concat shapes are declared by Ops.concat');
    },
    grad: (o, n, [dy], needs) => {
      const axis = normAxis(intAttr(n.attrs, 'axis', 0), dy!.shape.length);
      let start = 0;
      return n.inputs.map((part, k) => {
        const size = part!.shape[axis];
        if (typeof size !== 'number') throw new Error('Concat gradients need the parts\' sizes along the axis');
        const grad = needs[k] ? o.slice(dy!, axis, start, start + size, part!.shape) : undefined;
        start += size;
        return grad;
      });
    },
  },
  Slice: { shape: () => { throw new Error('Slice shapes are declared by Ops.slice'); } },
};

/** Abramowitz–Stegun 7.1.26: erf(x) ≈ 1 − t·Σ aₖ·tᵏ·exp(−x²), t = 1/(1 + p·x), x ≥ 0. */
const ERF_P = 0.3275911;
const ERF_A = [0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429] as const;

const isFloat = (d: DType): boolean => d === 'float32' || d === 'float64';
const DTYPE_CODES: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float64: 11, uint32: 12 };
function castTarget(a: Readonly<Record<string, AttrValue>>): DType {
  const to = intAttr(a, 'to', 1);
  return (Object.entries(DTYPE_CODES).find(([, c]) => c === to)?.[0] as DType | undefined) ?? 'float32';
}

/** Emits ops into a graph. Gradient rules use the same methods. */
export class Ops {
  /** Values gradients do not flow through (see stopGradient). */
  readonly detached = new Set<Value>();
  /** Values differentiated by a rule of their own, not through the nodes that compute them (see `composite`). */
  readonly composites = new Map<Value, Composite>();
  private readonly scalars = new Map<string, Value>();
  private readonly axesConstants = new Map<string, Value>();

  constructor(readonly graph: Graph = new Graph()) {}

  /** Adds a node of a registered op, with shapes from its shape rule (or declared). */
  apply(op: string, inputs: readonly (Value | undefined)[], attrs: Readonly<Record<string, AttrValue>> = {}, declared?: OutSpec[]): Value[] {
    const def = OPS[op];
    if (!def) throw new Error(`unknown op ${op}`);
    return this.graph.node(op, inputs, attrs, declared ?? def.shape(inputs, attrs));
  }

  private one(op: string, inputs: readonly (Value | undefined)[], attrs: Readonly<Record<string, AttrValue>> = {}, declared?: OutSpec[]): Value {
    return this.apply(op, inputs, attrs, declared)[0]!;
  }

  /** The values of an int64 constant made by `ints` (e.g. a node's axes). */
  constantInts(v: Value): number[] {
    const data = this.graph.initializers.get(v);
    if (!data || data.dtype !== 'int64') throw new Error(`${v.name} is not an int64 constant`);
    return Array.from(data.data, Number);
  }

  /** A scalar constant (shared between uses). */
  scalar(value: number, dtype: DType = 'float32'): Value {
    const key = `${dtype}:${value}`;
    let v = this.scalars.get(key);
    if (!v) {
      v = this.graph.initializer(`const_${dtype}_${String(value).replace(/[^0-9a-z]/gi, '_')}`, constantData(dtype, [], [value]));
      this.scalars.set(key, v);
    }
    return v;
  }

  ints(values: readonly number[]): Value {
    const key = values.join(',');
    let v = this.axesConstants.get(key);
    if (!v) {
      v = this.graph.initializer(`ints_${values.map((x) => String(x).replace('-', 'm')).join('_') || 'empty'}`, { dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
      this.axesConstants.set(key, v);
    }
    return v;
  }

  add(a: Value, b: Value): Value { return this.one('Add', [a, b]); }
  sub(a: Value, b: Value): Value { return this.one('Sub', [a, b]); }
  mul(a: Value, b: Value): Value { return this.one('Mul', [a, b]); }
  div(a: Value, b: Value): Value { return this.one('Div', [a, b]); }
  neg(a: Value): Value { return this.one('Neg', [a]); }
  exp(a: Value): Value { return this.one('Exp', [a]); }
  log(a: Value): Value { return this.one('Log', [a]); }
  sqrt(a: Value): Value { return this.one('Sqrt', [a]); }
  tanh(a: Value): Value { return this.one('Tanh', [a]); }
  sigmoid(a: Value): Value { return this.one('Sigmoid', [a]); }
  relu(a: Value): Value { return this.one('Relu', [a]); }
  abs(a: Value): Value { return this.one('Abs', [a]); }

  /**
   * erf. onnxruntime has no float64 Erf kernel, so float64 graphs (used for gradient
   * checks only) compose it from differentiable primitives with Abramowitz–Stegun 7.1.26
   * (|error| < 1.5e-7): erf(x) = sign(x)·(1 − poly(t)·exp(−x²)), t = 1/(1 + p|x|).
   */
  erf(a: Value): Value {
    if (a.dtype !== 'float64') return this.one('Erf', [a]);
    const c = (v: number): Value => this.scalar(v, 'float64');
    const ax = this.abs(a);
    const t = this.div(c(1), this.add(c(1), this.mul(c(ERF_P), ax)));
    let poly = c(ERF_A[4]);
    for (const k of [ERF_A[3], ERF_A[2], ERF_A[1], ERF_A[0]]) poly = this.add(this.mul(poly, t), c(k));
    poly = this.mul(poly, t);
    const y = this.sub(c(1), this.mul(poly, this.exp(this.neg(this.mul(a, a)))));
    return this.where(this.less(a, c(0)), this.neg(y), y);
  }

  /**
   * The derivative of `erf` as defined above, for rules that differentiate a composite
   * holding it: 2/√π·exp(−x²), and in float64 the approximation's own derivative, so that
   * finite differences of the float64 graph agree with it. With x = |a|, t = 1/(1 + p·x),
   * poly = Σ aₖ·tᵏ⁺¹: erf' = exp(−x²)·(2x·poly + p·t²·Σ (k+1)·aₖ·tᵏ).
   */
  erfDerivative(a: Value): Value {
    const dtype = a.dtype;
    const c = (v: number): Value => this.scalar(v, dtype);
    const gauss = this.exp(this.neg(this.mul(a, a)));
    if (dtype !== 'float64') return this.mul(gauss, c(2 / Math.sqrt(Math.PI)));
    const ax = this.abs(a);
    const t = this.div(c(1), this.add(c(1), this.mul(c(ERF_P), ax)));
    let poly = c(ERF_A[4]);
    let dpoly = c(5 * ERF_A[4]);
    for (let k = 3; k >= 0; k--) {
      poly = this.add(this.mul(poly, t), c(ERF_A[k]!));
      dpoly = this.add(this.mul(dpoly, t), c((k + 1) * ERF_A[k]!));
    }
    poly = this.mul(poly, t);
    const inner = this.add(this.mul(this.mul(c(2), ax), poly), this.mul(this.mul(c(ERF_P), this.mul(t, t)), dpoly));
    return this.mul(gauss, inner);
  }
  identity(a: Value): Value { return this.one('Identity', [a]); }
  greater(a: Value, b: Value): Value { return this.one('Greater', [a, b]); }
  less(a: Value, b: Value): Value { return this.one('Less', [a, b]); }
  equal(a: Value, b: Value): Value { return this.one('Equal', [a, b]); }
  where(c: Value, a: Value, b: Value): Value { return this.one('Where', [c, a, b]); }
  matmul(a: Value, b: Value): Value { return this.one('MatMul', [a, b]); }
  softmax(a: Value, axis = -1): Value { return this.one('Softmax', [a], { axis: { int: axis } }); }
  xor(a: Value, b: Value): Value { return this.one('BitwiseXor', [a, b]); }
  shiftRight(a: Value, b: Value): Value { return this.one('BitShift', [a, b], { direction: { string: 'RIGHT' } }); }
  mod(a: Value, b: Value): Value { return this.one('Mod', [a, b], { fmod: { int: a.dtype === 'float32' || a.dtype === 'float64' ? 1 : 0 } }); }
  min(a: Value, b: Value): Value { return this.one('Min', [a, b]); }

  /** The number of elements of `a` at run time, as a 0-d int64. */
  elementCount(a: Value): Value {
    return this.one('ReduceProd', [this.shapeOf(a)], { keepdims: { int: 0 } }, [{ dtype: 'int64', shape: [] }]);
  }
  max(a: Value, b: Value): Value { return this.one('Max', [a, b]); }
  pow(a: Value, b: Value): Value { return this.one('Pow', [a, b]); }
  cast(a: Value, to: DType): Value { return a.dtype === to ? a : this.one('Cast', [a], { to: { int: DTYPE_CODES[to] } }); }
  shapeOf(a: Value): Value { return this.one('Shape', [a]); }

  gemm(a: Value, b: Value, c: Value | undefined, opts: { transA?: boolean; transB?: boolean } = {}): Value {
    const attrs: Record<string, AttrValue> = {};
    if (opts.transA) attrs.transA = { int: 1 };
    if (opts.transB) attrs.transB = { int: 1 };
    return this.one('Gemm', c ? [a, b, c] : [a, b], attrs);
  }

  /** y = x·Wᵀ + b for x [n, in] and W [out, in]. */
  linear(x: Value, w: Value, b?: Value): Value {
    return this.gemm(x, w, b, { transB: true });
  }

  transpose(a: Value, perm: readonly number[]): Value {
    return this.one('Transpose', [a], { perm: { ints: perm } });
  }

  /** Swaps the last two axes. */
  transposeLast(a: Value): Value {
    const r = a.shape.length;
    return this.transpose(a, a.shape.map((_, i) => (i === r - 2 ? r - 1 : i === r - 1 ? r - 2 : i)));
  }

  /**
   * Reshape to `dims`: numbers are sizes (−1 infers one), strings are symbolic sizes taken
   * from `like` at run time via `shapeFrom` (a Value holding the target shape) when given.
   */
  reshape(a: Value, target: readonly number[] | Value, outShape: Shape): Value {
    const shape = Array.isArray(target) ? this.ints(target as number[]) : (target as Value);
    return this.one('Reshape', [a, shape], {}, [{ dtype: a.dtype, shape: outShape }]);
  }

  /** Reshape `a` to the run-time shape of `like`. */
  reshapeLike(a: Value, like: Value): Value {
    if (sameShape(a.shape, like.shape)) return a;
    // With at most one size known only at run time, the target is a constant (that size −1):
    // a Shape node reading `like` would keep all of it alive until the node runs, for a
    // gradient rule until the backward reaches it.
    const symbolic = like.shape.filter((d) => typeof d !== 'number').length;
    const target = symbolic <= 1 ? this.ints(like.shape.map((d) => (typeof d === 'number' ? d : -1))) : this.shapeOf(like);
    return this.one('Reshape', [a, target], {}, [{ dtype: a.dtype, shape: like.shape }]);
  }

  expandLike(a: Value, like: Value): Value {
    if (sameShape(a.shape, like.shape)) return a;
    return this.one('Expand', [a, this.shapeOf(like)], {}, [{ dtype: a.dtype, shape: broadcast(a.shape, like.shape) }]);
  }

  unsqueeze(a: Value, axes: readonly number[]): Value {
    const rank = a.shape.length + axes.length;
    const norm = axes.map((x) => normAxis(x, rank));
    const shape: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : a.shape[k++]!);
    return this.one('Unsqueeze', [a, this.ints(norm)], {}, [{ dtype: a.dtype, shape }]);
  }

  reduceSum(a: Value, axes: readonly number[], keepdims: boolean): Value {
    const norm = axes.map((x) => normAxis(x, a.shape.length));
    const shape = keepdims ? a.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : a.shape.filter((_, i) => !norm.includes(i));
    return this.one('ReduceSum', [a, this.ints(norm)], { keepdims: { int: keepdims ? 1 : 0 } }, [{ dtype: a.dtype, shape }]);
  }

  reduceMax(a: Value, axes: readonly number[], keepdims: boolean): Value {
    const norm = axes.map((x) => normAxis(x, a.shape.length));
    const shape = keepdims ? a.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : a.shape.filter((_, i) => !norm.includes(i));
    return this.one('ReduceMax', [a, this.ints(norm)], { keepdims: { int: keepdims ? 1 : 0 } }, [{ dtype: a.dtype, shape }]);
  }

  /** The same value, treated as a constant by differentiation (e.g. the max in log-sum-exp, whose gradient cancels). */
  stopGradient(a: Value): Value {
    const v = this.identity(a);
    this.detached.add(v);
    return v;
  }

  /**
   * Declares `output`, computed from `inputs` by nodes used nowhere else, a composite: its
   * gradient is `grad`'s, and the nodes between are not differentiated.
   */
  composite(output: Value, inputs: readonly Value[], grad: Composite['grad']): Value {
    const producer = output.producer;
    if (!producer || producer.outputs.length !== 1 || this.composites.has(output)) throw new Error(`${output.name} cannot be a composite's output`);
    this.composites.set(output, { inputs, grad });
    return output;
  }

  /** 0, 1, …, n−1 for a 0-d int64 `n` known at run time. */
  range(n: Value, length: Dim): Value {
    return this.one('Range', [this.scalar(0, 'int64'), n, this.scalar(1, 'int64')], {}, [{ dtype: 'int64', shape: [length] }]);
  }

  /** Concatenates 1-D int64 shape pieces (run-time shapes). */
  concatShapes(parts: readonly Value[], length: number): Value {
    return this.one('Concat', parts, { axis: { int: 0 } }, [{ dtype: 'int64', shape: [length] }]);
  }

  /** Joins values along an axis; every other dimension must agree, and the parts' sizes along it be known. */
  concat(parts: readonly Value[], axis: number): Value {
    if (parts.length === 1) return parts[0]!;
    const first = parts[0]!;
    const k = normAxis(axis, first.shape.length);
    const sizes = parts.map((p) => p.shape[k]);
    if (sizes.some((n) => typeof n !== 'number')) throw new Error('concat needs the parts\' sizes along the axis');
    const shape = first.shape.map((dim, i) => (i === k ? (sizes as number[]).reduce((a, b) => a + b, 0) : dim));
    return this.one('Concat', parts, { axis: { int: k } }, [{ dtype: first.dtype, shape }]);
  }

  /** Elements start..end−1 of `a` along one axis; `shape` is the result's. */
  slice(a: Value, axis: number, start: number, end: number, shape: Shape): Value {
    return this.one('Slice', [a, this.ints([start]), this.ints([end]), this.ints([axis])], {}, [{ dtype: a.dtype, shape }]);
  }

  /** Element `index` of a 1-D int64 value, as a 0-d value (e.g. one dimension of a run-time shape). */
  element(a: Value, index: number): Value {
    return this.one('Gather', [a, this.scalar(index, 'int64')], { axis: { int: 0 } }, [{ dtype: a.dtype, shape: [] }]);
  }

  argMax(a: Value, axis: number): Value {
    const ax = normAxis(axis, a.shape.length);
    return this.one('ArgMax', [a], { axis: { int: ax }, keepdims: { int: 0 } }, [{ dtype: 'int64', shape: a.shape.filter((_, i) => i !== ax) }]);
  }

  /** Layer norm over the last axis; also returns the mean and inverse std the gradient needs. */
  layerNorm(x: Value, scale: Value, bias: Value, epsilon: number): Value {
    return this.apply('LayerNormalization', [x, scale, bias], { axis: { int: -1 }, epsilon: { float: epsilon } })[0]!;
  }

  /** The elements of `data` at `indices` along `axis` (indices shaped like data but for that axis). */
  gatherElements(data: Value, indices: Value, axis: number): Value {
    return this.one('GatherElements', [data, indices], { axis: { int: axis } });
  }

  gather(table: Value, ids: Value): Value {
    return this.one('Gather', [table, ids], { axis: { int: 0 } });
  }

  zerosLike(a: Value): Value {
    const zero: ConstantData = a.dtype === 'float64' ? { dtype: 'float64', shape: [1], data: new Float64Array(1) } : { dtype: 'float32', shape: [1], data: new Float32Array(1) };
    return this.one('ConstantOfShape', [this.shapeOf(a)], { value: { tensor: zero } }, [{ dtype: a.dtype, shape: a.shape }]);
  }

  /** A tensor shaped like `table` holding, at each row `ids[i]`, the sum of `updates[i]`. */
  scatterAdd(table: Value, ids: Value, updates: Value): Value {
    const indices = this.unsqueeze(ids, [-1]);
    return this.one('ScatterND', [this.zerosLike(table), indices, updates], { reduction: { string: 'add' } });
  }

  /** Sums a broadcast gradient back to the shape of the input that was broadcast. */
  unbroadcast(grad: Value, input: Value): Value {
    const out = grad.shape;
    const target = input.shape;
    const lead = out.length - target.length;
    const axes: number[] = [];
    for (let i = 0; i < lead; i++) axes.push(i);
    for (let i = 0; i < target.length; i++) if (target[i] === 1 && out[lead + i] !== 1) axes.push(lead + i);
    if (axes.length === 0) return grad;
    let g = this.reduceSum(grad, axes, true);
    if (lead > 0) g = this.reshapeLike(g, input);
    return g;
  }
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function constantData(dtype: DType, shape: readonly number[], values: readonly number[]): ConstantData {
  switch (dtype) {
    case 'float32':
      return { dtype, shape, data: Float32Array.from(values) };
    case 'float64':
      return { dtype, shape, data: Float64Array.from(values) };
    case 'int64':
      return { dtype, shape, data: BigInt64Array.from(values.map((v) => BigInt(v))) };
    case 'bool':
      return { dtype, shape, data: Uint8Array.from(values) };
    case 'int32':
      return { dtype, shape, data: Int32Array.from(values) };
    case 'uint32':
      return { dtype, shape, data: Uint32Array.from(values) };
  }
}
