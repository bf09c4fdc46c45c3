/**
 * Dropout whose masks are a pure function of (seed, step, site, element): the same seed
 * gives the same run, and a resumed run draws exactly the masks an uninterrupted one would.
 * No mask crosses from the host: each element's keep/drop decision comes from a hash of
 * its index, computed in the graph on uint32 with xor-shift-multiply rounds (the murmur3
 * finaliser), which vectorise well; integer division, much slower, is avoided.
 */
import type { Shape, Value } from '../graph/graph';
import type { Ops } from '../graph/ops';

const GOLDEN = 0x9e3779b1;
const M1 = 0x85ebca6b;
const M2 = 0xc2b2ae35;

/** Per graph: element indices × GOLDEN, by element count signature, shared by every site of that size. */
export class DropoutHasher {
  private readonly scaled = new Map<string, Value>();

  constructor(
    private readonly o: Ops,
    /** A 0-d int64 input set per step (see `stepSeed`). */
    private readonly seed: Value,
  ) {}

  /**
   * x · mask / (1 − rate), mask = hash(index, seed, site) ≥ rate. The site is named, not
   * counted, so a graph that holds only some of the model's layers (a segment after a
   * cached prefix) draws the same masks at the same sites as the whole model.
   */
  apply(x: Value, rate: number, siteName: string): Value {
    return applyDropout(this.o, x, this.mask(x, rate, siteName));
  }

  /** The mask `apply` draws at a site; none when the rate is 0. */
  mask(x: Value, rate: number, siteName: string): DropoutMask | undefined {
    const o = this.o;
    const site = siteId(siteName);
    if (rate <= 0) return undefined;
    const u32 = (v: number): Value => o.scalar(v >>> 0, 'uint32');
    const index = this.indices(x);
    // Each site and step starts from a different offset: seed·M1 + site·M2 (mod 2^32).
    const offset = o.add(o.mul(o.cast(this.seed, 'uint32'), u32(M1)), u32(Math.imul(site + 1, M2)));
    let h = o.add(index, offset);
    h = o.xor(h, o.shiftRight(h, u32(16)));
    h = o.mul(h, u32(M1));
    h = o.xor(h, o.shiftRight(h, u32(13)));
    h = o.mul(h, u32(M2));
    h = o.xor(h, o.shiftRight(h, u32(16)));
    // The top 24 bits as a float in [0, 1): exact in float32.
    const u = o.mul(o.cast(o.shiftRight(h, u32(8)), 'float32'), o.scalar(1 / 16777216, 'float32'));
    return { keep: o.greater(o.reshapeLike(u, x), o.scalar(rate, 'float32')), scale: o.scalar(1 / (1 - rate), x.dtype) };
  }

  private indices(x: Value): Value {
    const key = signature(x.shape);
    let v = this.scaled.get(key);
    if (!v) {
      const o = this.o;
      v = o.mul(o.cast(o.range(o.elementCount(x), 'elements'), 'uint32'), o.scalar(GOLDEN, 'uint32'));
      this.scaled.set(key, v);
    }
    return v;
  }
}

/** Where dropout keeps an element (bool, x's shape) and the scale of what it keeps, 1/(1 − rate). */
export interface DropoutMask {
  readonly keep: Value;
  readonly scale: Value;
}

/** x·mask/(1 − rate). The mask the backward keeps is the bool (a byte an element, not a float's four). */
export function applyDropout(o: Ops, x: Value, mask: DropoutMask | undefined): Value {
  return mask ? o.where(mask.keep, o.mul(x, mask.scale), o.scalar(0, x.dtype)) : x;
}

/**
 * dropout(x)·y, differentiated as one op: the backward draws nothing again but computes the
 * dropped x again from x and the mask, which it keeps anyway, instead of keeping the dropped
 * x too (for attention, one [batch, heads, sequence, sequence] float tensor per layer less).
 */
export function dropoutMatmul(o: Ops, x: Value, mask: DropoutMask | undefined, y: Value): Value {
  if (!mask) return o.matmul(x, y);
  const out = o.matmul(applyDropout(o, x, mask), y);
  const zero = o.scalar(0, x.dtype);
  // Written unlike the forward's where(keep, x·scale, 0), so that onnxruntime's
  // common-subexpression elimination does not merge the two and keep the forward's.
  const dropped = (v: Value): Value => o.mul(o.where(mask.keep, v, zero), mask.scale);
  return o.composite(out, [x, y], (o, dy, needs) => [
    needs[0] ? o.unbroadcast(dropped(o.matmul(dy, o.transposeLast(y))), x) : undefined,
    needs[1] ? o.unbroadcast(o.matmul(o.transposeLast(dropped(x)), dy), y) : undefined,
  ]);
}

/** FNV-1a of the site's name: a stable 32-bit id. */
function siteId(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Tensors with the same symbolic element count share their index tensor. */
function signature(shape: Shape): string {
  const symbols = shape.filter((d): d is string => typeof d === 'string').sort();
  const numeric = shape.filter((d): d is number => typeof d === 'number').reduce((a, b) => a * b, 1);
  return `${symbols.join('*')}*${numeric}`;
}

/** The dropout seed of a step: distinct per (run seed, step). */
export function stepSeed(runSeed: number, step: number): bigint {
  return BigInt(((runSeed % 65521) * 1000003 + step * 7919 + 12345) % 2147483647);
}

/** Dropout probabilities of a model (from its config.json). */
export interface DropoutRates {
  /** hidden_dropout_prob of config.json. */
  readonly hidden: number;
  /** attention_probs_dropout_prob of config.json. */
  readonly attention: number;
}
