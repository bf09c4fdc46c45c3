/**
 * The panels' entry point (bundled to dist/webview/panel.js). Receives `init` and batched
 * `events` from the host, folds events into models as they arrive and redraws at most once
 * per animation frame, so a fast run's many small batches cost one drawing per frame.
 */
import type { JobEvent } from '../../engine/events';
import type { HostToPanel, JobHistory, PanelKind } from '../src/panelProtocol';
import { el, replaceChildren } from './dom';
import { loadState, post, saveState } from './host';
import { ablationPanel } from './panels/ablation';
import { comparePanel } from './panels/compare';
import type { Panel } from './panels/panel';
import { runPanel } from './panels/run';
import { sweepPanel } from './panels/sweep';
import { applyEvents, foldJob, type JobModel } from './state';

const KINDS: readonly PanelKind[] = ['run', 'sweep', 'ablation', 'compare'];
const isKind = (v: unknown): v is PanelKind => typeof v === 'string' && (KINDS as readonly string[]).includes(v);

const app = document.getElementById('app') ?? document.body.appendChild(el('main', { id: 'app' }));
const restored = loadState();
let kind: PanelKind = isKind(document.body.dataset.kind) ? document.body.dataset.kind : restored?.kind ?? 'run';
let title = restored?.title ?? document.title;
let jobs: JobModel[] = [];
let panel: Panel | undefined;
let panelKind: PanelKind | undefined;
let frame = 0;

function makePanel(k: PanelKind): Panel {
  const t = () => title;
  switch (k) {
    case 'sweep':
      return sweepPanel(t);
    case 'ablation':
      return ablationPanel(t);
    case 'compare':
      return comparePanel(t);
    default:
      return runPanel(t);
  }
}

function render(): void {
  frame = 0;
  if (!panel || panelKind !== kind) {
    panel = makePanel(kind);
    panelKind = kind;
    replaceChildren(app, panel.root);
  }
  panel.render(jobs);
  // For tests and tools: how many events the drawing reflects.
  app.setAttribute('data-kind', kind);
  app.setAttribute('data-events', String(jobs.reduce((n, j) => n + j.eventCount, 0)));
}

function schedule(): void {
  if (!frame) frame = requestAnimationFrame(render);
}

function validHistory(h: unknown): h is JobHistory {
  const x = h as Partial<JobHistory> | null;
  return !!x && typeof x === 'object' && typeof x.id === 'string' && typeof x.label === 'string' && Array.isArray(x.events);
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const msg = event.data as Partial<HostToPanel> | null;
  if (!msg || typeof msg !== 'object') return;
  if (msg.type === 'init') {
    const m = msg as Extract<HostToPanel, { type: 'init' }>;
    if (!isKind(m.kind) || !Array.isArray(m.jobs)) return;
    kind = m.kind;
    title = typeof m.title === 'string' ? m.title : title;
    document.title = title;
    jobs = m.jobs.filter(validHistory).map(foldJob);
    saveState({ kind, title, ids: jobs.map((j) => j.id) });
    schedule();
  } else if (msg.type === 'events') {
    const m = msg as Extract<HostToPanel, { type: 'events' }>;
    const job = jobs.find((j) => j.id === m.id);
    if (!job || !Array.isArray(m.events)) return;
    applyEvents(job, m.events as readonly JobEvent[]);
    schedule();
  } else if (msg.type === 'fusion-example' || msg.type === 'fusion-rows') {
    if (typeof msg.request === 'number') panel?.receive?.(msg as HostToPanel);
  }
});

// A theme change (VS Code swaps the body's class) needs no redraw: colours are CSS
// variables, and exports read the computed colours when they run.
schedule();
post({ type: 'ready' });
