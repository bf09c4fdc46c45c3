/**
 * The "Runs" view: the run store as a tree (runs; sweeps with their trials; drop-regimes
 * jobs with their runs), read with the engine's own catalog so the view and
 * `adapter-lab runs list` always agree. What each node says is in runNodes.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listRuns } from '../../engine/runs/catalog';
import { ABLATION_FILE, DROP_CURVE_FILE } from '../../engine/runs/replay';
import { childrenOf, clusterState, describeNode, hasChildren, newestFirst, nodeOf, type DisplayStatus, type NodeKind, type RunNode } from './runNodes';

const ICONS: Record<DisplayStatus, vscode.ThemeIcon> = {
  pending: new vscode.ThemeIcon('watch'),
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
    const files = '{status.json,sweep.json,trials.jsonl,summary.json,ablation.json,drop-curve.json,regimes.json,slurm.json}';
    // A Slurm sweep's trials record themselves in records/; slurm.json is what Slurm last said of them.
    this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), `{*,*/${files},*/runs/*,*/runs/*/status.json,*/records/*}`));
    const on = (): void => this.refresh();
    this.watcher.onDidCreate(on);
    this.watcher.onDidChange(on);
    this.watcher.onDidDelete(on);
  }

  getChildren(node?: RunNode): RunNode[] {
    if (!node) {
      const dir = this.runsDir();
      return dir ? newestFirst(listRuns(dir)).map((entry) => nodeOf(entry)) : [];
    }
    // A sweep's trials in index order, a drop-regimes job's runs: as they ran.
    return childrenOf(node);
  }

  getParent(node: RunNode): RunNode | undefined {
    return node.sweep;
  }

  getTreeItem(node: RunNode): vscode.TreeItem {
    const e = node.entry;
    if (node.kind === 'trial') return trialItem(node);
    const item = new vscode.TreeItem(e.name, hasChildren(node) ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
    item.id = e.dir;
    item.resourceUri = vscode.Uri.file(e.dir);
    item.iconPath = node.kind === 'unreadable' ? ICONS.unknown : ICONS[node.status];
    item.description = describeNode(node);
    item.tooltip = tooltipOf(node);
    // Menus match on kind and status: `adapterLab.run.completed`, `adapterLab.sweep.running`, `adapterLab.regimes.completed`, …
    item.contextValue = node.kind === 'unreadable' ? 'adapterLab.unreadable' : `adapterLab.${node.kind}.${node.status}`;
    if (node.kind !== 'unreadable') item.command = { command: 'adapterLab.openResults', title: 'Open Results', arguments: [node] };
    return item;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.watcher?.dispose();
    this.changed.dispose();
  }
}

/** A trial of a Slurm sweep that has no run folder yet: it waits on the cluster (or was never submitted). Clicking it opens the sweep. */
function trialItem(node: RunNode): vscode.TreeItem {
  const item = new vscode.TreeItem(node.entry.name, vscode.TreeItemCollapsibleState.None);
  item.id = `${node.entry.dir}#trial`;
  item.iconPath = node.trial && node.trial.state !== 'pending' && node.trial.state !== 'not-submitted' ? ICONS[node.status] : ICONS.pending;
  item.description = describeNode(node);
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**').appendText(node.entry.name).appendMarkdown('**\n\n');
  if (node.trial) {
    md.appendMarkdown('State: ').appendText(clusterState(node.trial)).appendMarkdown('  \n');
    if (node.trial.record?.message) md.appendMarkdown('Why: ').appendText(node.trial.record.message).appendMarkdown('  \n');
    md.appendMarkdown('Settings: ').appendText(Object.entries(node.trial.assignments).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ') || '(the base experiment)').appendMarkdown(`, seed ${node.trial.seed}  \n`);
  }
  item.tooltip = md;
  item.contextValue = 'adapterLab.trial';
  if (node.sweep) item.command = { command: 'adapterLab.openResults', title: 'Open Results', arguments: [node.sweep] };
  return item;
}

/** How an interrupted job continues. */
const RESUME: Partial<Record<NodeKind, string>> = {
  run: '`adapter-lab resume <run folder>` continues it',
  sweep: '`adapter-lab sweep <file> --resume <sweep folder>` continues it',
};

function tooltipOf(node: RunNode): vscode.MarkdownString {
  const e = node.entry;
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**').appendText(e.name).appendMarkdown('**\n\n');
  const rows: [string, string | undefined][] = [
    ['Kind', node.kind === 'regimes' ? 'AdapterDrop regimes (standard, robust, specialized)' : e.kind],
    ['Status', node.status === 'interrupted' ? `interrupted (marked running, but its process is gone; ${RESUME[node.kind] ?? 'its runs are kept'})` : node.status],
    ['Experiment', e.experiment],
    ['Method', e.method],
    ['Started', e.started ? new Date(e.started).toLocaleString() : undefined],
    ['Steps', e.steps !== undefined ? String(e.steps) : undefined],
    ['Trials', e.trials !== undefined ? String(e.trials) : undefined],
    ['On Slurm', e.slurm ? `job array${e.slurm.jobs.length === 1 ? '' : 's'} ${e.slurm.jobs.join(', ')}` : node.trial ? clusterState(node.trial) : undefined],
    [e.kind === 'sweep' ? 'Best trial' : 'Best validation', e.metric ? `${e.metric.name} ${e.metric.value.toFixed(4)}` : undefined],
    ['Folder', e.dir],
  ];
  for (const [k, v] of rows) if (v !== undefined) md.appendMarkdown(`${k}: `).appendText(v).appendMarkdown('  \n');
  if (e.kind === 'run') {
    const extra = [fs.existsSync(path.join(e.dir, ABLATION_FILE)) ? 'ablation' : '', fs.existsSync(path.join(e.dir, DROP_CURVE_FILE)) ? 'AdapterDrop curve' : ''].filter(Boolean);
    if (extra.length) md.appendMarkdown('Results: ').appendText(extra.join(', ')).appendMarkdown('  \n');
  }
  return md;
}
