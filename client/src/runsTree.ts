/**
 * The "Runs" view: the run store as a tree (runs, and sweeps with their trials), read with
 * the engine's own catalog so the view and `adapter-lab runs list` always agree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describe, isLive, listRuns, type RunEntry } from '../../engine/runs/catalog';
import { SWEEP_FILES } from '../../engine/runs/replay';
import { RUN_FILES } from '../../engine/runs/store';

/** What the view shows for a folder: a run's status, with `interrupted` for a run whose process is gone. */
export type DisplayStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted' | 'unknown';

export interface RunNode {
  readonly entry: RunEntry;
  readonly status: DisplayStatus;
  /** The sweep a trial belongs to. */
  readonly sweep?: RunNode;
}

export function isRunNode(value: unknown): value is RunNode {
  return typeof value === 'object' && value !== null && 'entry' in value && 'status' in value;
}

export function displayStatus(entry: RunEntry): DisplayStatus {
  // The catalog calls an unfinished sweep cancelled; it is running while one of its trials is.
  if (entry.kind === 'sweep' && entry.status !== 'completed') return listRuns(path.join(entry.dir, SWEEP_FILES.runs)).some(isLive) ? 'running' : entry.status;
  if (entry.status !== 'running') return entry.status;
  return isLive(entry) ? 'running' : 'interrupted';
}

/** The creation time in a store folder's name (`<name>-<yyyymmdd-hhmmss>[-n]`), for newest-first order. */
function stampOf(name: string): string {
  const m = /-(\d{8}-\d{6})(?:-(\d+))?$/.exec(name);
  return m ? `${m[1]}-${(m[2] ?? '0').padStart(4, '0')}` : '';
}

export function newestFirst(entries: readonly RunEntry[]): RunEntry[] {
  return [...entries].sort((a, b) => stampOf(b.name).localeCompare(stampOf(a.name)) || a.name.localeCompare(b.name));
}

/** The run's key settings, read from its config.json (small) for the description. */
interface KeySettings {
  readonly learningRate?: number;
  readonly adapterSize?: number;
  readonly epochs?: number;
  readonly method?: string;
  readonly validation?: string;
  readonly train?: string;
}

export function keySettings(runDir: string): KeySettings {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as { experiment?: { method?: string; adapter?: { size?: number }; training?: { learningRate?: number; epochs?: number }; task?: { validation?: string; train?: string } } };
    const e = c.experiment ?? {};
    return { learningRate: e.training?.learningRate, adapterSize: e.method === 'adapter' || e.method === 'top_k' ? e.adapter?.size : undefined, epochs: e.training?.epochs, method: e.method, validation: e.task?.validation, train: e.task?.train };
  } catch {
    return {};
  }
}

const ICONS: Record<DisplayStatus, vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('sync~spin'),
  completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  cancelled: new vscode.ThemeIcon('circle-slash'),
  interrupted: new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('list.warningForeground')),
  unknown: new vscode.ThemeIcon('question'),
};

export class RunsTreeProvider implements vscode.TreeDataProvider<RunNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private timer: NodeJS.Timeout | undefined;
  private watcher: vscode.FileSystemWatcher | undefined;
  private watched: string | undefined;

  constructor(private readonly runsDir: () => string | undefined) {
    this.watch();
  }

  /** Re-reads the store soon; bursts (a sweep writing many files) refresh once. */
  refresh(delayMs = 300): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.watch();
      this.changed.fire(undefined);
    }, delayMs);
  }

  /** Watches the runs folder's structure and status files (not metrics.jsonl, which grows every step). */
  private watch(): void {
    const dir = this.runsDir();
    if (dir === this.watched) return;
    this.watcher?.dispose();
    this.watched = dir;
    if (!dir) return;
    const files = '{status.json,sweep.json,trials.jsonl,summary.json,ablation.json,drop-curve.json}';
    this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), `{*,*/${files},*/runs/*,*/runs/*/status.json}`));
    const on = (): void => this.refresh();
    this.watcher.onDidCreate(on);
    this.watcher.onDidChange(on);
    this.watcher.onDidDelete(on);
  }

  getChildren(node?: RunNode): RunNode[] {
    if (!node) {
      const dir = this.runsDir();
      return dir ? newestFirst(listRuns(dir)).map((entry) => ({ entry, status: displayStatus(entry) })) : [];
    }
    if (node.entry.kind !== 'sweep') return [];
    // Trials in index order, as the sweep ran them.
    return listRuns(path.join(node.entry.dir, SWEEP_FILES.runs)).map((entry) => ({ entry, status: displayStatus(entry), sweep: node }));
  }

  getParent(node: RunNode): RunNode | undefined {
    return node.sweep;
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    const e = node.entry;
    const item = new vscode.TreeItem(e.name, e.kind === 'sweep' ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = e.dir;
    item.resourceUri = vscode.Uri.file(e.dir);
    item.iconPath = e.kind === 'unreadable' ? ICONS.unknown : ICONS[node.status];
    item.description = describeNode(node);
    item.tooltip = tooltipOf(node);
    // Menus match on kind and status: `adapterLab.run.completed`, `adapterLab.sweep.running`, …
    item.contextValue = e.kind === 'unreadable' ? 'adapterLab.unreadable' : `adapterLab.${e.kind}.${node.status}`;
    if (e.kind !== 'unreadable') item.command = { command: 'adapterLab.openResults', title: 'Open Results', arguments: [node] };
    return item;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.dispose();
    this.changed.dispose();
  }
}

function formatNumber(v: number): string {
  return Math.abs(v) < 1e-2 && v !== 0 ? v.toExponential(0) : String(v);
}

export function describeNode(node: RunNode): string {
  const e = node.entry;
  if (e.kind === 'unreadable') return 'unreadable';
  const parts: string[] = [node.status];
  if (e.kind === 'sweep') {
    if (e.trials !== undefined) parts.push(`${e.trials} trials`);
    if (e.metric) parts.push(`best ${e.metric.name} ${e.metric.value.toFixed(4)}`);
    return parts.join(' · ');
  }
  const k = keySettings(e.dir);
  if (e.method) parts.push(e.method);
  const hyper = [k.learningRate !== undefined ? `lr ${formatNumber(k.learningRate)}` : '', k.adapterSize !== undefined ? `size ${k.adapterSize}` : '', k.epochs !== undefined ? `${k.epochs} ep` : ''].filter(Boolean).join(' ');
  if (hyper) parts.push(hyper);
  if (e.metric) parts.push(`${e.metric.name} ${e.metric.value.toFixed(4)}`);
  return parts.join(' · ');
}

function tooltipOf(node: RunNode): vscode.MarkdownString {
  const e = node.entry;
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**').appendText(e.name).appendMarkdown('**\n\n');
  const rows: [string, string | undefined][] = [
    ['Kind', e.kind],
    ['Status', node.status === 'interrupted' ? 'interrupted (marked running, but its process is gone; `adapter-lab resume` continues it)' : node.status],
    ['Experiment', e.experiment],
    ['Method', e.method],
    ['Started', e.started ? new Date(e.started).toLocaleString() : undefined],
    ['Steps', e.steps !== undefined ? String(e.steps) : undefined],
    ['Trials', e.trials !== undefined ? String(e.trials) : undefined],
    [e.kind === 'sweep' ? 'Best' : 'Validation', e.metric ? `${e.metric.name} ${e.metric.value.toFixed(4)}` : undefined],
    ['Folder', e.dir],
  ];
  for (const [k, v] of rows) if (v !== undefined) md.appendMarkdown(`${k}: `).appendText(v).appendMarkdown('  \n');
  if (e.kind === 'run') {
    const extra = [fs.existsSync(path.join(e.dir, 'ablation.json')) ? 'ablation' : '', fs.existsSync(path.join(e.dir, 'drop-curve.json')) ? 'AdapterDrop curve' : ''].filter(Boolean);
    if (extra.length) md.appendMarkdown('Results: ').appendText(extra.join(', ')).appendMarkdown('  \n');
  }
  return md;
}

/** Re-reads one entry (after a job changed it). */
export function nodeFor(dir: string): RunNode {
  const entry = describe(dir);
  return { entry, status: displayStatus(entry) };
}
