/**
 * A fusion's softmax weights averaged over real tokens: the measure of the `fusion-weights`
 * event, of `fusion weights` (a data file), of a training run's evaluations (its validation
 * data, live) and of one example. A graph built with `fusionWeights: true` outputs
 * `fusion_weights.<layer>.<site>` [tokens, present adapters] at each fusion layer; this sums
 * them over the tokens the attention mask keeps, so padding never counts.
 */
import type { FusedAdapter, FusionSpec } from './bert';
import { fusionWeightsOutput } from './fusion';
import type { AdapterSite } from './parameters';

/**
 * Average fusion weights: by site `<layer>.<site>` (`3.ffn`), one weight per adapter of
 * `adapters` (the fusion's order), null where that adapter is absent; over `tokens` real tokens.
 */
export interface AveragedFusionWeights {
  readonly adapters: readonly string[];
  readonly weights: Readonly<Record<string, readonly (number | null)[]>>;
  readonly tokens: number;
}

/** The key of a site in AveragedFusionWeights.weights. */
export function siteKey(layer: number, site: AdapterSite): string {
  return `${layer}.${site}`;
}

interface Site {
  readonly layer: number;
  readonly site: AdapterSite;
  /** The adapters present there, in the fusion's order: the output's columns. */
  readonly present: readonly string[];
}

/** Sums of each fusion layer's weights over real tokens, from one forward pass after another. */
export class FusionWeightSums {
  private readonly sites: readonly Site[];
  private readonly sums: Float64Array[];
  private count = 0;

  constructor(private readonly fusion: FusionSpec) {
    this.sites = fusion.layers.flatMap((layer) => fusion.sites.map((site) => ({ layer, site, present: presentAt(fusion.adapters, layer, site) }))).filter((s) => s.present.length > 0);
    this.sums = this.sites.map((s) => new Float64Array(s.present.length));
  }

  /** The graph outputs a forward pass must return for add(). */
  get outputs(): string[] {
    return this.sites.map((s) => fusionWeightsOutput(s.layer, s.site));
  }

  get tokens(): number {
    return this.count;
  }

  /** Adds one batch: `out` holds the outputs named by `outputs`, row t of each being the batch's flat token t. */
  add(out: Readonly<Record<string, { readonly data: unknown } | undefined>>, attentionMask: BigInt64Array): void {
    this.sites.forEach((s, k) => {
      const name = fusionWeightsOutput(s.layer, s.site);
      const w = out[name]?.data;
      if (!(w instanceof Float32Array)) throw new Error(`the forward pass did not return ${name}`);
      const n = s.present.length;
      const sum = this.sums[k]!;
      for (let t = 0; t < attentionMask.length; t++) if (attentionMask[t] === 1n) for (let j = 0; j < n; j++) sum[j]! += w[t * n + j]!;
    });
    for (const m of attentionMask) if (m === 1n) this.count++;
  }

  /** The averages so far (zeros before any token). */
  average(): AveragedFusionWeights {
    const names = this.fusion.adapters.map((a) => a.name);
    const weights = Object.fromEntries(this.sites.map((s, k) => [siteKey(s.layer, s.site), names.map((name) => (s.present.includes(name) ? this.sums[k]![s.present.indexOf(name)]! / Math.max(1, this.count) : null))]));
    return { adapters: names, weights, tokens: this.count };
  }

  /** Starts again from nothing. */
  reset(): void {
    for (const s of this.sums) s.fill(0);
    this.count = 0;
  }
}

function presentAt(adapters: readonly FusedAdapter[], layer: number, site: AdapterSite): string[] {
  return adapters.filter((a) => a.adapter.layers.includes(layer) && a.adapter.sites.includes(site)).map((a) => a.name);
}
