/**
 * Dropout whose masks are a pure function of (seed, step, site, element): the same seed
 * gives the same run, and a resumed run draws exactly the masks an uninterrupted one would.
 * No mask crosses from the host: each element's keep/drop decision comes from an integer
 * hash of its index, computed in the graph with exact int64 arithmetic modulo a prime.
 */
import type { Value } from '../graph/graph';
import type { Ops } from '../graph/ops';

/** 2^31 − 1, a prime; products of two residues stay below 2^62, exact in int64. */
const P = 2147483647;
/** Round constants of the squaring rounds. */
const ROUNDS = [1013904223, 374761393, 668265263] as const;

/**
 * x · mask / (1 − rate), mask = hash(index, seed, site) ≥ rate. `seed` is a 0-d int64 input
 * that the trainer sets from the run's seed and the step (see `stepSeed`).
 */
export function dropout(o: Ops, x: Value, rate: number, seed: Value, site: number): Value {
  if (rate <= 0) return x;
  const p = o.scalar(P, 'int64');
  const n = o.elementCount(x);
  let h = o.range(n, 'elements');
  // A linear start (idx·m + seed·k + site), then squaring rounds, which are not linear, so
  // nearby indices, seeds and sites end up unrelated; adding the high part spreads bits down.
  const seedTerm = o.mod(o.mul(seed, o.scalar(69621, 'int64')), p);
  h = o.mod(o.add(o.add(o.mul(h, o.scalar(48271, 'int64')), seedTerm), o.scalar((site * 7919 + 1) % P, 'int64')), p);
  for (const c of ROUNDS) {
    h = o.mod(o.add(o.mul(h, h), o.scalar(c, 'int64')), p);
    h = o.mod(o.add(h, o.div(h, o.scalar(65536, 'int64'))), p);
  }
  const u = o.div(o.cast(h, 'float32'), o.scalar(P, 'float32'));
  const keep = o.cast(o.greater(o.reshapeLike(u, x), o.scalar(rate, 'float32')), x.dtype);
  return o.mul(x, o.mul(keep, o.scalar(1 / (1 - rate), x.dtype)));
}

/** The dropout seed of a step: distinct per (run seed, step), below P. */
export function stepSeed(runSeed: number, step: number): bigint {
  return BigInt(((runSeed % 65521) * 1000003 + step * 7919 + 12345) % P);
}
