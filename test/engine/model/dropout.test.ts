/** Seeded dropout: the right rate and scale, the same masks for the same (seed, step), different ones otherwise. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ops } from '../../../engine/graph/ops';
import { DropoutHasher, stepSeed } from '../../../engine/model/dropout';
import { EngineSession } from '../../../engine/runtime/session';

async function masks(rate: number, shape: number[], seeds: bigint[], sites = ['layer0.output']): Promise<Float32Array[]> {
  const o = new Ops();
  const x = o.graph.input('x', 'float32', shape);
  const seed = o.graph.input('seed', 'int64', []);
  const hasher = new DropoutHasher(o, seed);
  sites.forEach((site, i) => o.graph.output(hasher.apply(x, rate, site), `y${i}`));
  const session = await EngineSession.create(o.graph.toOnnx());
  const n = shape.reduce((a, b) => a * b, 1);
  const out: Float32Array[] = [];
  for (const s of seeds) {
    const r = await session.run({ x: { data: new Float32Array(n).fill(1), shape }, seed: { data: BigInt64Array.of(s), shape: [] } });
    for (let i = 0; i < sites.length; i++) out.push(r[`y${i}`]!.data as Float32Array);
  }
  await session.release();
  return out;
}

describe('dropout', () => {
  test('drops the given fraction and scales what it keeps by 1/(1 − rate)', async () => {
    const [m] = await masks(0.1, [64, 1024], [stepSeed(42, 1)]);
    const kept = m!.filter((v) => v !== 0);
    assert.ok(kept.every((v) => Math.abs(v - 1 / 0.9) < 1e-6));
    const dropped = 1 - kept.length / m!.length;
    assert.ok(Math.abs(dropped - 0.1) < 0.005, `dropped ${dropped}`);
  });

  test('the same seed gives the same mask; another step or site gives another', async () => {
    const [a, b, c] = await masks(0.5, [32, 256], [stepSeed(1, 7), stepSeed(1, 7), stepSeed(1, 8)]);
    assert.deepEqual(a, b);
    const same = a!.filter((v, i) => (v === 0) === (c![i] === 0)).length / a!.length;
    assert.ok(same > 0.45 && same < 0.55, `agreement with the next step ${same}`);
    const [s0, s1] = await masks(0.5, [32, 256], [stepSeed(1, 7)], ['layer0.output', 'layer1.output']);
    const sameSite = s0!.filter((v, i) => (v === 0) === (s1![i] === 0)).length / s0!.length;
    assert.ok(sameSite > 0.45 && sameSite < 0.55, `agreement between sites ${sameSite}`);
  });

  test('neighbouring elements are not correlated', async () => {
    const [m] = await masks(0.5, [1, 65536], [stepSeed(3, 1)]);
    let agree = 0;
    for (let i = 1; i < m!.length; i++) if ((m![i] === 0) === (m![i - 1] === 0)) agree++;
    const rate = agree / (m!.length - 1);
    assert.ok(Math.abs(rate - 0.5) < 0.01, `neighbour agreement ${rate}`);
  });
});
