/**
 * Robust AdapterDrop (Rücklé et al.): at every training step the adapters of a random number
 * n of the lowest droppable layers are switched off, n uniform over 0..D (D droppable
 * layers; mean D/2). The draw is a function of (seed, step) only, so a resumed run draws what
 * the uninterrupted run drew.
 */
import { Random } from '../util/random';

/**
 * The adapter gates for one step: [layer × (attention, ffn)], 0 for the adapters dropped at
 * this step, 1 elsewhere. `droppable` are the layers `drop.layers` names; the lowest n of
 * them are dropped.
 */
export function robustDropGates(droppable: readonly number[], layers: number, seed: number, step: number): Float32Array {
  const gates = new Float32Array(layers * 2).fill(1);
  const n = droppedAt(droppable.length, seed, step);
  for (const l of [...droppable].sort((a, b) => a - b).slice(0, n)) gates[l * 2] = gates[l * 2 + 1] = 0;
  return gates;
}

/** How many of `droppable` lowest layers are dropped at `step` (1-based). */
export function droppedAt(droppable: number, seed: number, step: number): number {
  return new Random((seed ^ 0xd809) + Math.imul(step, 0x9e3779b1)).int(droppable + 1);
}
