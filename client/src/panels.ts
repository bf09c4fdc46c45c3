/**
 * The result panels' host side: one webview panel per job and kind, drawn only from job
 * events (panelProtocol.ts). A panel starts from `init` (the live history of a job running
 * in this window, or the job replayed from the run store) and then gets live events in
 * batches. Panels come back after a window reload through a serializer per view type.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { JobEvent } from '../../engine/events';
import { describe, isLive } from '../../engine/runs/catalog';
import { jobLabel, replayJob, replayKind, type JobHistory } from '../../engine/runs/replay';
import { exampleSettings, fusionExampleArgs, fusionRowsArgs, parseFusionExample, parseFusionRows, runFusionQuery, type FusionQuery } from './fusionExample';
import type { JobService } from './jobs';
import { makeNonce, panelHtml } from './panelHtml';
import type { HostToPanel, PanelKind, PanelState, PanelToHost } from './panelProtocol';
import { parseRegimeId, replayRegimes } from './regimeHistories';
import { engineSettings } from './settings';

export const PANEL_VIEW_TYPES: Record<PanelKind, string> = {
  run: 'adapterLab.panel.run',
  sweep: 'adapterLab.panel.sweep',
  ablation: 'adapterLab.panel.ablation',
  compare: 'adapterLab.panel.compare',
};

/** Live events reach a panel at most this often (a few messages a second, however fast the steps). */
const FLUSH_MS = 250;

const EXPORT_FILTERS: Record<'png' | 'svg' | 'csv', Record<string, string[]>> = {
  png: { 'PNG image': ['png'] },
  svg: { 'SVG image': ['svg'] },
  csv: { 'CSV table': ['csv'] },
};

/** The panel kind that shows a store path: a sweep folder, a run folder, or an ablation file. */
export function kindOf(id: string): PanelKind {
  if (parseRegimeId(id)) return 'ablation';
  const kind = replayKind(id);
  return kind === 'ablation' || kind === 'drop-curve' ? 'ablation' : kind;
}

export function defaultTitle(kind: PanelKind, ids: readonly string[]): string {
  if (kind === 'compare') return `Compare ${ids.length} runs`;
  const first = ids[0] ?? '';
  if (kind === 'ablation') {
    const regimes = ids.map(parseRegimeId);
    if (regimes.length && regimes.every((r) => r)) return `AdapterDrop regimes: ${path.basename(path.dirname(regimes[0]!.file))}`;
    const runs = [...new Set(ids.map((id) => path.basename(path.dirname(id))))];
    return runs.length === 1 ? `Ablation: ${runs[0]}` : `AdapterDrop: ${runs.length} runs`;
  }
  return `${kind === 'sweep' ? 'Sweep' : 'Run'}: ${path.basename(first)}`;
}

class ResultPanel {
  /** Set when the webview has loaded and been sent `init`; false again while it is hidden (its page is discarded). */
  private ready = false;
  private readonly pending = new Map<string, JobEvent[]>();
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  /** The fusion example the engine is computing now: a newer request stops it. */
  private example: FusionQuery<unknown> | undefined;

  constructor(
    readonly panel: vscode.WebviewPanel,
    readonly state: PanelState,
    private readonly host: PanelHost,
  ) {
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: PanelToHost) => void this.receive(m)),
      panel.onDidChangeViewState(() => {
        if (!panel.visible) this.ready = false;
      }),
    );
  }

  get key(): string {
    return panelKey(this.state.kind, this.state.ids);
  }

  shows(id: string): boolean {
    return this.state.ids.includes(id);
  }

  /** Sends everything again (`init`), from the current histories; live events follow it. */
  reinit(): void {
    if (!this.ready) return; // the coming `ready` sends init anyway
    this.pending.clear();
    void this.post({ type: 'init', kind: this.state.kind, title: this.state.title, jobs: this.host.historiesOf(this.state.ids) });
  }

  /** Queues live events; they go out together at most every FLUSH_MS. */
  push(id: string, events: readonly JobEvent[]): void {
    if (!this.ready) return; // the next `ready` sends everything through `init`
    const list = this.pending.get(id);
    if (list) list.push(...events);
    else this.pending.set(id, [...events]);
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    this.timer = undefined;
    if (!this.ready) return void this.pending.clear();
    for (const [id, events] of this.pending) void this.post({ type: 'events', id, events });
    this.pending.clear();
  }

  private post(message: HostToPanel): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }

  private async receive(m: PanelToHost): Promise<void> {
    switch (m?.type) {
      case 'ready':
        this.pending.clear();
        // Ready before the await: events that arrive while init is posted queue behind it (postMessage keeps order).
        this.ready = true;
        await this.post({ type: 'init', kind: this.state.kind, title: this.state.title, jobs: this.host.historiesOf(this.state.ids) });
        return;
      case 'export':
        return saveExport(m);
      case 'open':
        return this.open(m.id);
      case 'fusion-example':
        return this.fusionExample(m);
      case 'fusion-rows':
        return this.fusionRows(m);
    }
  }

  /**
   * The engine's fusion weights for one example of this panel's run. The run is the panel's
   * own (never a path from the page); the text is passed as one argument, never through a shell.
   */
  private async fusionExample(m: Extract<PanelToHost, { type: 'fusion-example' }>): Promise<void> {
    const request = typeof m.request === 'number' ? m.request : 0;
    const answer = (a: { example?: Extract<HostToPanel, { type: 'fusion-example' }>['example']; error?: string }): void => void this.post({ type: 'fusion-example', request, ...a });
    const runDir = this.fusionRun();
    if (typeof runDir !== 'string') return answer({ error: runDir.error });
    if (typeof m.text !== 'string' || (m.pair !== undefined && typeof m.pair !== 'string')) return answer({ error: 'no text to weigh' });
    this.example?.cancel();
    const settings = exampleSettings(engineSettings(this.host.runsDir() ?? path.dirname(runDir)), { training: isLive(describe(runDir)) });
    const query = runFusionQuery({ cli: this.host.cli, args: fusionExampleArgs(runDir, { text: m.text, ...(m.pair !== undefined ? { pair: m.pair } : {}) }, settings), cwd: path.dirname(runDir) }, parseFusionExample);
    this.example = query;
    const r = await query.result;
    // A request replaced by a newer one is not answered: the newer one will be.
    if (this.example !== query) return;
    this.example = undefined;
    answer(r.ok ? { example: r.value } : { error: r.message });
  }

  /** The rows of this panel's fusion run's data, to pick an example from. */
  private async fusionRows(m: Extract<PanelToHost, { type: 'fusion-rows' }>): Promise<void> {
    const request = typeof m.request === 'number' ? m.request : 0;
    const runDir = this.fusionRun();
    if (typeof runDir !== 'string') return void this.post({ type: 'fusion-rows', request, error: runDir.error });
    const r = await runFusionQuery({ cli: this.host.cli, args: fusionRowsArgs(runDir), cwd: path.dirname(runDir) }, parseFusionRows).result;
    void this.post({ type: 'fusion-rows', request, ...(r.ok ? { rows: r.value } : { error: r.message }) });
  }

  /** The run folder a run panel shows, where the engine may run on it (a trusted workspace). */
  private fusionRun(): string | { readonly error: string } {
    if (!vscode.workspace.isTrusted) return { error: 'The engine runs only in a trusted workspace (Manage Workspace Trust).' };
    const runDir = this.state.kind === 'run' ? this.state.ids[0] : undefined;
    return runDir ?? { error: 'this panel shows no single run' };
  }

  /** Opens another job's panel (a trial from the sweep table); only paths inside what this panel shows or the runs folder. */
  private open(id: unknown): void {
    if (typeof id !== 'string') return;
    const target = path.resolve(id);
    const roots = [...this.state.ids.map((i) => (kindOf(i) === 'ablation' ? path.dirname(i) : i)), this.host.runsDir()].filter((r): r is string => r !== undefined);
    const inside = roots.some((r) => target === r || target.startsWith(r + path.sep));
    if (!inside || !fs.existsSync(target)) return void vscode.window.showWarningMessage(`Adapter Lab: cannot open ${path.basename(target)} (not in the runs folder).`);
    this.host.open(kindOf(target), [target]);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.example?.cancel();
    for (const d of this.disposables) d.dispose();
  }
}

function panelKey(kind: PanelKind, ids: readonly string[]): string {
  return `${kind}:${[...ids].sort().join('|')}`;
}

async function saveExport(m: Extract<PanelToHost, { type: 'export' }>): Promise<void> {
  const format = Object.hasOwn(EXPORT_FILTERS, m.format) ? m.format : undefined;
  if (!format || typeof m.data !== 'string') return;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  // The suggested name comes from the page: only its base name is used, never a path.
  const name = path.basename(String(m.suggestedName || `figure.${format}`)).replace(/[\\/:*?"<>|]+/g, '-');
  const target = await vscode.window.showSaveDialog({ filters: EXPORT_FILTERS[format], ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}) });
  if (!target) return;
  const bytes = format === 'png' ? Buffer.from(m.data, 'base64') : Buffer.from(m.data, 'utf8');
  try {
    await vscode.workspace.fs.writeFile(target, bytes);
    void vscode.window.showInformationMessage(`Saved ${path.basename(target.fsPath)}.`);
  } catch (e) {
    void vscode.window.showErrorMessage(`Could not save ${target.fsPath}: ${(e as Error).message}`);
  }
}

export class PanelHost implements vscode.Disposable {
  private readonly panels = new Map<string, ResultPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly webviewRoot: vscode.Uri;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly jobs: JobService,
    readonly runsDir: () => string | undefined,
    /** The bundled engine CLI, for what a panel asks of a finished run (a fusion's weights for one example). */
    readonly cli: string,
  ) {
    this.webviewRoot = vscode.Uri.joinPath(extensionUri, 'dist', 'webview');
    for (const [kind, viewType] of Object.entries(PANEL_VIEW_TYPES) as [PanelKind, string][]) {
      this.disposables.push(
        vscode.window.registerWebviewPanelSerializer(viewType, {
          deserializeWebviewPanel: async (panel, state: unknown) => this.restore(kind, panel, state),
        }),
      );
    }
    this.disposables.push(
      jobs.onDidEmit(({ id, events }) => {
        for (const p of this.panels.values()) if (p.shows(id)) p.push(id, events);
      }),
      // A job started again on the same files (a second ablation of a run) replaces what its panels show.
      jobs.onDidStartJob(({ ids }) => {
        for (const p of this.panels.values()) if (ids.some((id) => p.shows(id))) p.reinit();
      }),
    );
  }

  /** The jobs' events: live when they run in this window, else from the run store. */
  historiesOf(ids: readonly string[]): JobHistory[] {
    // The regimes of one drop-regimes job are read from its folder once.
    const regimes = new Map<string, JobHistory[]>();
    return ids.map((id) => {
      const regime = parseRegimeId(id);
      const live = this.jobs.history(id);
      if (live) return { id, label: regime ? regime.regime : jobLabel(id), events: [...live] };
      if (!regime) return replayJob(id);
      let histories = regimes.get(regime.file);
      if (!histories) regimes.set(regime.file, (histories = replayRegimes(regime.file)));
      return histories.find((h) => h.id === id) ?? { id, label: regime.regime, events: [] };
    });
  }

  /** Opens (or reveals) the panel of these jobs. */
  open(kind: PanelKind, ids: readonly string[], title = defaultTitle(kind, ids)): void {
    const resolved = ids.map((id) => path.resolve(id));
    const existing = this.panels.get(panelKey(kind, resolved));
    if (existing) return existing.panel.reveal(undefined, true);
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPES[kind], title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, this.options());
    this.attach(panel, { kind, title, ids: resolved });
  }

  private options(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    // Hidden panels are rebuilt from `init` when shown again, which costs less than keeping their pages alive.
    return { enableScripts: true, localResourceRoots: [this.webviewRoot], retainContextWhenHidden: false };
  }

  private attach(panel: vscode.WebviewPanel, state: PanelState): void {
    panel.webview.options = this.options();
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'client', 'media', 'adapter-lab.svg');
    const webview = panel.webview;
    webview.html = panelHtml({
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.webviewRoot, 'panel.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.webviewRoot, 'panel.css')).toString(),
      cspSource: webview.cspSource,
      nonce: makeNonce(),
      kind: state.kind,
      title: state.title,
    });
    const entry = new ResultPanel(panel, state, this);
    this.panels.set(entry.key, entry);
    panel.onDidDispose(() => {
      entry.dispose();
      if (this.panels.get(entry.key) === entry) this.panels.delete(entry.key);
    });
  }

  /** A panel coming back after a reload: its state names the jobs, which are read again from disk. */
  private restore(kind: PanelKind, panel: vscode.WebviewPanel, state: unknown): void {
    const s = state as Partial<PanelState> | undefined;
    const ids = Array.isArray(s?.ids) ? s.ids.filter((i): i is string => typeof i === 'string') : [];
    if (ids.length === 0) return void panel.dispose();
    const title = typeof s?.title === 'string' ? s.title : defaultTitle(kind, ids);
    if (this.panels.has(panelKey(kind, ids))) return void panel.dispose();
    this.attach(panel, { kind, title, ids });
  }

  /** Panels stay open: after a window reload the serializers bring them back. */
  dispose(): void {
    for (const p of this.panels.values()) p.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
