/**
 * Messages between the extension host and the result panels (webviews). One file, so both
 * sides see the same types. A panel is drawn only from job events: live ones as the engine
 * streams them, and, after a restart, the same events replayed from the run store.
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

export type HostToPanel =
  /** Replaces everything the panel shows. Run and sweep panels get one job; compare gets two or more; ablation gets the heatmap job and/or AdapterDrop curves (one per training regime). */
  | { readonly type: 'init'; readonly kind: PanelKind; readonly title: string; readonly jobs: readonly JobHistory[] }
  /** Live events for one job, batched by the host (at most a few messages a second). */
  | { readonly type: 'events'; readonly id: string; readonly events: readonly JobEvent[] };

export type PanelToHost =
  /** Sent once the panel's script has loaded; the host answers with `init`. */
  | { readonly type: 'ready' }
  /** Save an exported figure or table: the host asks where and writes the file. `data` is text (SVG, CSV) or base64 (PNG). */
  | { readonly type: 'export'; readonly format: 'png' | 'svg' | 'csv'; readonly suggestedName: string; readonly data: string }
  /** Open the panel of another job (e.g. a trial's run from the sweep table). */
  | { readonly type: 'open'; readonly id: string };
