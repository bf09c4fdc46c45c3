/**
 * Dynamic masking for masked-language modelling (Devlin et al.; RoBERTa's masks drawn anew
 * at every step). Of the non-special tokens, each is selected with probability p (with
 * whole-word masking, each word, all its pieces together); a selected token becomes [MASK]
 * with probability 0.8, a random token with 0.1, and stays with 0.1. The loss is computed
 * at the selected positions only.
 *
 * The draw is a pure function of (seed, step, example), so a resumed run draws exactly the
 * masks the uninterrupted run would have, whatever the batch composition.
 */
import { Random } from '../util/random';

export interface MaskingOptions {
  /** Selection probability of a token (or word), 0.15 in BERT. */
  readonly probability: number;
  /** Select whole words: a piece that continues a word (`continues[i]`) goes with its word. */
  readonly wholeWord: boolean;
  readonly maskId: number;
  /** Random replacements are drawn from ids 0..vocabSize−1 that are not special. */
  readonly vocabSize: number;
  /** [CLS], [SEP], [PAD], [MASK], [UNK]…: never selected, never drawn as a replacement. */
  readonly specialIds: ReadonlySet<number>;
}

export interface MaskedSequence {
  /** The input with its selected tokens replaced (or kept). */
  readonly inputIds: number[];
  /** Selected positions, ascending. */
  readonly positions: number[];
  /** The original token at each selected position. */
  readonly labels: number[];
}

/** A 32-bit hash of (seed, step, example): the seed of one sequence's draw. */
export function maskSeed(seed: number, step: number, example: number): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (const v of [step, example]) {
    h = Math.imul(h ^ (v >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
    h = (h ^ (h >>> 15)) >>> 0;
  }
  return h;
}

/**
 * Masks one sequence. `continues[i]` says that token i continues the word of token i−1
 * (a `##` piece); only whole-word masking reads it. A sequence with at least one ordinary
 * token always gets at least one selected position, so that no batch has an empty loss.
 */
export function maskSequence(ids: readonly number[], continues: readonly boolean[] | undefined, o: MaskingOptions, seed: number, step: number, example: number): MaskedSequence {
  if (!(o.probability > 0 && o.probability <= 1)) throw new RangeError(`masking probability ${o.probability} is outside (0, 1]`);
  const rng = new Random(maskSeed(seed, step, example));
  const ordinary = ids.map((id) => !o.specialIds.has(id));
  // Words: runs of ordinary tokens, each starting where a token does not continue the previous one.
  const words: number[][] = [];
  for (let i = 0; i < ids.length; i++) {
    if (!ordinary[i]) continue;
    const joins = o.wholeWord && continues?.[i] === true && i > 0 && ordinary[i - 1] && words.length > 0;
    if (joins) words[words.length - 1]!.push(i);
    else words.push([i]);
  }
  const selected: number[] = [];
  for (const w of words) if (rng.next() < o.probability) selected.push(...w);
  if (selected.length === 0 && words.length > 0) selected.push(...words[Math.floor(rng.next() * words.length)]!);
  selected.sort((a, b) => a - b);

  const inputIds = ids.slice();
  const labels: number[] = [];
  for (const p of selected) {
    labels.push(ids[p]!);
    const r = rng.next();
    if (r < 0.8) inputIds[p] = o.maskId;
    else if (r < 0.9) inputIds[p] = randomOrdinary(rng, o);
  }
  return { inputIds, positions: selected, labels };
}

function randomOrdinary(rng: Random, o: MaskingOptions): number {
  // Rejection: special ids are a handful among thousands, so this ends after a try or two.
  for (;;) {
    const id = Math.floor(rng.next() * o.vocabSize);
    if (!o.specialIds.has(id)) return id;
  }
}
