/** Every differentiable op: reverse-mode gradients equal central finite differences (float64). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Value } from '../../../engine/graph/graph';
import { OPS, type Ops } from '../../../engine/graph/ops';
import { gelu, linearOfGelu } from '../../../engine/model/bert';
import { dropoutMatmul } from '../../../engine/model/dropout';
import { crossEntropy } from '../../../engine/tasks/loss';
import { gradCheck, type CheckInput } from '../../support/gradcheck';

const positive = (n: number, seed = 3): Float64Array => Float64Array.from({ length: n }, (_, i) => 0.5 + ((i * 7919 + seed) % 97) / 50);
/** Values kept away from Relu's kink, where the derivative jumps. */
const awayFromZero = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * (0.2 + ((i * 31) % 17) / 20));

interface Case {
  readonly name: string;
  readonly inputs: CheckInput[];
  readonly build: (o: Ops, v: Value[]) => Value;
  readonly extra?: { name: string; dtype: 'int64' | 'bool'; shape: number[]; data: BigInt64Array | Uint8Array }[];
}

const CASES: Case[] = [
  { name: 'Add with a broadcast bias', inputs: [{ name: 'x', shape: [2, 3] }, { name: 'b', shape: [3] }], build: (o, [x, b]) => o.add(x!, b!) },
  { name: 'Sub with broadcasting on both sides', inputs: [{ name: 'a', shape: [2, 1, 3] }, { name: 'b', shape: [4, 1] }], build: (o, [a, b]) => o.sub(a!, b!) },
  { name: 'Mul with broadcasting on both sides', inputs: [{ name: 'a', shape: [2, 1, 3] }, { name: 'b', shape: [4, 1] }], build: (o, [a, b]) => o.mul(a!, b!) },
  { name: 'Div', inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3], data: positive(3) }], build: (o, [a, b]) => o.div(a!, b!) },
  { name: 'Neg', inputs: [{ name: 'x', shape: [5] }], build: (o, [x]) => o.neg(x!) },
  { name: 'Exp', inputs: [{ name: 'x', shape: [5] }], build: (o, [x]) => o.exp(x!) },
  { name: 'Log', inputs: [{ name: 'x', shape: [5], data: positive(5) }], build: (o, [x]) => o.log(x!) },
  { name: 'Sqrt', inputs: [{ name: 'x', shape: [5], data: positive(5) }], build: (o, [x]) => o.sqrt(x!) },
  { name: 'Tanh', inputs: [{ name: 'x', shape: [5] }], build: (o, [x]) => o.tanh(x!) },
  { name: 'Sigmoid', inputs: [{ name: 'x', shape: [5] }], build: (o, [x]) => o.sigmoid(x!) },
  { name: 'Relu', inputs: [{ name: 'x', shape: [6], data: awayFromZero(6) }], build: (o, [x]) => o.relu(x!) },
  { name: 'MatMul, batched by 2-D', inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [4, 5] }], build: (o, [a, b]) => o.matmul(a!, b!) },
  { name: 'MatMul, batched by batched', inputs: [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [2, 4, 2] }], build: (o, [a, b]) => o.matmul(a!, b!) },
  { name: 'Gemm as a linear layer (x·Wᵀ + b)', inputs: [{ name: 'x', shape: [3, 4] }, { name: 'w', shape: [5, 4] }, { name: 'b', shape: [5] }], build: (o, [x, w, b]) => o.linear(x!, w!, b!) },
  { name: 'Transpose', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (o, [x]) => o.transpose(x!, [2, 0, 1]) },
  { name: 'Reshape', inputs: [{ name: 'x', shape: [2, 6] }], build: (o, [x]) => o.reshape(x!, [3, 2, 2], [3, 2, 2]) },
  { name: 'ReduceSum keeping dims', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (o, [x]) => o.reduceSum(x!, [1], true) },
  { name: 'ReduceSum dropping dims', inputs: [{ name: 'x', shape: [2, 3, 4] }], build: (o, [x]) => o.reduceSum(x!, [0, 2], false) },
  { name: 'Softmax over the last axis', inputs: [{ name: 'x', shape: [2, 5] }], build: (o, [x]) => o.softmax(x!, -1) },
  { name: 'LayerNormalization (input, scale, bias)', inputs: [{ name: 'x', shape: [3, 6] }, { name: 'g', shape: [6] }, { name: 'b', shape: [6] }], build: (o, [x, g, b]) => o.layerNorm(x!, g!, b!, 1e-12) },
  { name: 'Unsqueeze', inputs: [{ name: 'x', shape: [2, 3] }], build: (o, [x]) => o.unsqueeze(x!, [1]) },
  { name: 'Expand', inputs: [{ name: 'x', shape: [1, 3] }, { name: 'like', shape: [4, 3], differentiable: false }], build: (o, [x, like]) => o.expandLike(x!, like!) },
  {
    name: 'Gather rows of a table, with repeated ids',
    inputs: [{ name: 'table', shape: [5, 3] }],
    extra: [{ name: 'ids', dtype: 'int64', shape: [2, 3], data: BigInt64Array.from([1n, 3n, 1n, 0n, 4n, 1n]) }],
    build: (o, [table, ids]) => o.gather(table!, ids!),
  },
  {
    name: 'Where',
    inputs: [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }],
    extra: [{ name: 'c', dtype: 'bool', shape: [2, 3], data: Uint8Array.from([1, 0, 1, 0, 0, 1]) }],
    build: (o, [a, b, c]) => o.where(c!, a!, b!),
  },
  {
    name: 'erf with erfDerivative as its rule (float64: the approximation and its own derivative)',
    inputs: [{ name: 'x', shape: [8], data: Float64Array.from({ length: 8 }, (_, i) => -2.6 + i * 0.7) }],
    build: (o, [x]) => o.composite(o.erf(x!), [x!], (o, dy) => [o.mul(dy, o.erfDerivative(x!))]),
  },
  // Composites: differentiated by their own rules, not through their nodes.
  { name: 'GELU as one op (its rule reads x alone)', inputs: [{ name: 'x', shape: [2, 5], data: Float64Array.from({ length: 10 }, (_, i) => -3 + i * 0.65) }], build: (o, [x]) => gelu(o, x!) },
  {
    name: 'a linear layer over GELU as one op (GELU recomputed for the weight gradient)',
    inputs: [{ name: 'x', shape: [3, 4] }, { name: 'w', shape: [2, 4] }, { name: 'b', shape: [2] }],
    build: (o, [x, w, b]) => linearOfGelu(o, x!, w!, b!),
  },
  {
    name: 'dropout then MatMul as one op (the dropped input computed again from the mask)',
    inputs: [{ name: 'x', shape: [2, 3, 4] }, { name: 'y', shape: [2, 4, 5] }],
    extra: [{ name: 'keep', dtype: 'bool', shape: [2, 3, 4], data: Uint8Array.from({ length: 24 }, (_, i) => (i * 7) % 3 ? 1 : 0) }],
    build: (o, [x, y, keep]) => dropoutMatmul(o, x!, { keep: keep!, scale: o.scalar(1 / 0.7, 'float64') }, y!),
  },
  {
    name: 'cross-entropy as one op ((softmax − one-hot)/n from the log-probabilities)',
    inputs: [{ name: 'logits', shape: [4, 5] }],
    extra: [{ name: 'labels', dtype: 'int64', shape: [4], data: BigInt64Array.from([3n, 0n, 4n, 3n]) }],
    build: (o, [logits, labels]) => crossEntropy(o, logits!, labels!, 5, 'float64'),
  },
  {
    name: 'a value used twice (gradients accumulate)',
    inputs: [{ name: 'x', shape: [4] }],
    build: (o, [x]) => o.mul(o.tanh(x!), o.exp(x!)),
  },
];

describe('gradient checks (float64, finite differences)', () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const extraFeeds = Object.fromEntries((c.extra ?? []).map((e) => [e.name, { data: e.data, shape: e.shape }]));
      const r = await gradCheck(c.inputs, c.build, { extraFeeds, extraInputs: (c.extra ?? []).map(({ name, dtype, shape }) => ({ name, dtype, shape })) });
      assert.ok(r.maxRelError < 1e-6, `max relative error ${r.maxRelError.toExponential(2)} (abs ${r.maxAbsError.toExponential(2)})`);
    });
  }

  test('Erf (onnxruntime has no float64 kernel: float32 with a wider step)', async () => {
    const r = await gradCheck([{ name: 'x', shape: [6] }], (o, [x]) => o.erf(x!), { dtype: 'float32', eps: 1e-2 });
    assert.ok(r.maxRelError < 2e-3, `max relative error ${r.maxRelError.toExponential(2)}`);
  });

  test('a wrong gradient rule is caught by the check', async () => {
    const rules = OPS as Record<string, { grad?: unknown }>;
    const right = rules.Tanh!.grad;
    // Claims d tanh(x)/dx = 1 − y (instead of 1 − y²).
    rules.Tanh!.grad = ((o: Ops, n: { outputs: Value[] }, [dy]: Value[]) => [o.mul(dy!, o.sub(o.scalar(1, dy!.dtype), n.outputs[0]!))]) as typeof right;
    try {
      const r = await gradCheck([{ name: 'x', shape: [5] }], (o, [x]) => o.tanh(x!));
      assert.ok(r.maxRelError > 1e-2, `the wrong rule passed with error ${r.maxRelError}`);
    } finally {
      rules.Tanh!.grad = right;
    }
  });
});
