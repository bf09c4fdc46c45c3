/** Scales, ticks and downsampling for the SVG charts. Pure. */

export interface Scale {
  (v: number): number;
  readonly domain: readonly [number, number];
  readonly ticks: readonly number[];
  readonly log: boolean;
}

/** A "nice" step (1, 2 or 5 × 10^k) giving about `count` ticks over the span. */
function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step = niceStep(hi - lo, count);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Extent of finite values, widened when empty or flat so a scale never divides by zero. */
export function extent(values: Iterable<number>, log = false): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v) || (log && v <= 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return log ? [1, 10] : [0, 1];
  if (lo === hi) return log ? [lo / 2, hi * 2] : lo === 0 ? [-1, 1] : [lo - Math.abs(lo) * 0.1, hi + Math.abs(hi) * 0.1];
  return [lo, hi];
}

export function linearScale(domain: [number, number], range: [number, number], nice = true, tickCount = 5): Scale {
  let [d0, d1] = domain;
  const ticks = linearTicks(d0, d1, tickCount);
  if (nice && ticks.length > 1) {
    const step = ticks[1]! - ticks[0]!;
    d0 = Math.min(d0, Number((Math.floor(d0 / step) * step).toPrecision(12)));
    d1 = Math.max(d1, Number((Math.ceil(d1 / step) * step).toPrecision(12)));
  }
  const [r0, r1] = range;
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  const f = ((v: number) => r0 + (v - d0) * k) as Scale;
  return Object.assign(f, { domain: [d0, d1] as const, ticks: linearTicks(d0, d1, tickCount), log: false });
}

/** Log10 scale over whole decades; ticks at the powers of ten inside the domain. */
export function logScale(domain: [number, number], range: [number, number]): Scale {
  const l0 = Math.floor(Math.log10(domain[0]));
  const l1 = Math.max(l0 + 1, Math.ceil(Math.log10(domain[1])));
  const [r0, r1] = range;
  const k = (r1 - r0) / (l1 - l0);
  const f = ((v: number) => r0 + (Math.log10(Math.max(v, Number.MIN_VALUE)) - l0) * k) as Scale;
  const ticks: number[] = [];
  for (let e = l0; e <= l1; e++) ticks.push(10 ** e);
  return Object.assign(f, { domain: [10 ** l0, 10 ** l1] as const, ticks, log: true });
}

export interface XY {
  readonly x: number;
  readonly y: number;
}

/**
 * At most about `max` points for drawing, keeping each bucket's first, minimum, maximum
 * and last point: spikes (a loss blow-up) stay visible, and the line's shape survives.
 * The data itself is never thinned; only what is drawn.
 */
export function downsample<P extends XY>(points: readonly P[], max = 2000): readonly P[] {
  if (points.length <= max) return points;
  const buckets = Math.max(1, Math.floor(max / 4));
  const size = points.length / buckets;
  const out: P[] = [];
  for (let b = 0; b < buckets; b++) {
    const start = Math.floor(b * size);
    const end = Math.min(points.length, Math.floor((b + 1) * size));
    if (end <= start) continue;
    let lo = start;
    let hi = start;
    for (let i = start; i < end; i++) {
      if (points[i]!.y < points[lo]!.y) lo = i;
      if (points[i]!.y > points[hi]!.y) hi = i;
    }
    for (const i of [...new Set([start, lo, hi, end - 1])].sort((a, c) => a - c)) out.push(points[i]!);
  }
  return out;
}

/** A colour ramp (viridis, 5 stops) for heatmaps: readable on light and dark backgrounds. */
const RAMP = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
] as const;

export function rampColor(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i]!;
  const b = RAMP[i + 1]!;
  const c = (k: 0 | 1 | 2) => Math.round(a[k] + (b[k] - a[k]) * f);
  return `rgb(${c(0)}, ${c(1)}, ${c(2)})`;
}
