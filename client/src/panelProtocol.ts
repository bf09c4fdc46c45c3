/**
 * Messages between the extension host and the result panels (webviews). One file, so both
 * sides see the same types. A panel is drawn only from job events: live ones as the engine
 * streams them, and, after a restart, the same events replayed from the run store. The one
 * exception is what the user asks of a finished fusion run (its weights for one example),
 * which the host answers by running the engine.
 */
import type { JobEvent } from '../../engine/events';

export type PanelKind = 'run' | 'sweep' | 'ablation' | 'compare';

/** The events of one job (a run, a sweep, an ablation or AdapterDrop curve), oldest first. */
export interface JobHistory {
  /** The run or sweep folder: stable across restarts, used to route live events. */
  readonly id: string;
  /** What the panel shows for it (a run name, a training regime …); data, so shown as text. */
  readonly label: string;
  readonly events: readonly JobEvent[];
}

/** What a panel keeps across a window reload (through the webview's state and the serializer). */
export interface PanelState {
  readonly kind: PanelKind;
  readonly title: string;
  /** The job folders the panel shows; the host re-reads them from disk when it restores the panel. */
  readonly ids: readonly string[];
}

/** What `adapter-lab fusion weights <run> --text` prints (client/src/fusionExample.ts reads it): each adapter's weight per site, averaged over the example's tokens. */
export interface FusionExample {
  readonly adapters: readonly string[];
  /** By site `<layer>.<site>`: one weight per adapter, null where it is absent. */
  readonly weights: Readonly<Record<string, readonly (number | null)[]>>;
  /** The example's tokens ([CLS] and [SEP] included): what the weights are averaged over. */
  readonly tokens: number;
  readonly text: string;
  readonly pair?: string;
  /** The tokens themselves, as the model read them. */
  readonly pieces: readonly string[];
  /** task.max_length cut the example short. */
  readonly truncated: boolean;
  /** The run has not finished (it trains, or stopped): the step of the checkpoint the weights come from. */
  readonly checkpointStep?: number;
}

/** A row of the run's data (`fusion examples`). */
export interface FusionRow {
  readonly index: number;
  readonly text: string;
  readonly pair?: string;
  readonly label: string;
}

export interface FusionRowSet {
  readonly file: string;
  readonly rows: readonly FusionRow[];
}

/** What `adapter-lab fusion examples <run>` prints: the first rows of the run's training and validation files. */
export interface FusionRows {
  /** The task's text columns: one, or two for pairs. */
  readonly columns: readonly string[];
  readonly train: FusionRowSet;
  readonly validation?: FusionRowSet;
}

export type HostToPanel =
  /** Replaces everything the panel shows. Run and sweep panels get one job; compare gets two or more; ablation gets the heatmap job and/or AdapterDrop curves (one per training regime). */
  | { readonly type: 'init'; readonly kind: PanelKind; readonly title: string; readonly jobs: readonly JobHistory[] }
  /** Live events for one job, batched by the host (at most a few messages a second). */
  | { readonly type: 'events'; readonly id: string; readonly events: readonly JobEvent[] }
  /** The answer to a `fusion-example` request: the engine's weights for that example, or why there are none. */
  | { readonly type: 'fusion-example'; readonly request: number; readonly example?: FusionExample; readonly error?: string }
  /** The answer to `fusion-rows`: the run's data rows to pick an example from, or why there are none. */
  | { readonly type: 'fusion-rows'; readonly request: number; readonly rows?: FusionRows; readonly error?: string };

export type PanelToHost =
  /** Sent once the panel's script has loaded; the host answers with `init`. */
  | { readonly type: 'ready' }
  /** Save an exported figure or table: the host asks where and writes the file. `data` is text (SVG, CSV) or base64 (PNG). */
  | { readonly type: 'export'; readonly format: 'png' | 'svg' | 'csv'; readonly suggestedName: string; readonly data: string }
  /** Open the panel of another job (e.g. a trial's run from the sweep table). */
  | { readonly type: 'open'; readonly id: string }
  /**
   * A run panel of a fusion run: the fusion weights for one example (the engine's `fusion
   * weights --text`, run by the host on the panel's own run). `request` pairs the answer with
   * the question; a newer request replaces an older one.
   */
  | { readonly type: 'fusion-example'; readonly request: number; readonly text: string; readonly pair?: string }
  /** A run panel of a fusion run: the rows of the run's data, to pick an example from (`fusion examples`). */
  | { readonly type: 'fusion-rows'; readonly request: number };
