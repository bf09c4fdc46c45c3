/**
 * What the Runs view shows for each folder of the run store: its status (with
 * `interrupted` for a run whose process is gone), its kind, and a one-line description
 * (method, key hyperparameters, best metric). Read with the engine's own catalog, so the
 * view and `adapter-lab runs list` agree. No `vscode` here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, isLive, listRuns, slurmTrialViews, type RunEntry, type TrialView } from '../../engine/runs/catalog';
import { REGIME_FILES, REGIMES_FILE, SWEEP_FILES } from '../../engine/runs/replay';
import { RUN_FILES } from '../../engine/runs/store';

/** What the view shows for a folder: a run's status, with `interrupted` for a run whose process is gone, and `pending` for a trial waiting on a cluster. */
export type DisplayStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'interrupted' | 'unknown';

/**
 * A run, a sweep, a drop-regimes job (which the catalog does not know: its folder holds runs,
 * not a run), or a trial of a Slurm sweep that has no run folder yet (it waits in the queue).
 */
export type NodeKind = RunEntry['kind'] | 'regimes' | 'trial';

export interface RunNode {
  readonly entry: RunEntry;
  readonly kind: NodeKind;
  readonly status: DisplayStatus;
  /** The sweep or drop-regimes job a run belongs to. */
  readonly sweep?: RunNode;
  /** A trial of a Slurm sweep: its state on the cluster. */
  readonly trial?: TrialView;
}

export function isRunNode(value: unknown): value is RunNode {
  return typeof value === 'object' && value !== null && 'entry' in value && 'status' in value;
}

/** A drop-regimes job's folder: its regimes.json, or (before that is written) its training runs. */
export function isRegimesFolder(dir: string): boolean {
  if (fs.existsSync(path.join(dir, REGIMES_FILE))) return true;
  return /-drop-regimes-\d{8}-\d{6}(-\d+)?$/.test(path.basename(dir)) && fs.existsSync(path.join(dir, REGIME_FILES.runs));
}

export function nodeOf(entry: RunEntry, parent?: RunNode): RunNode {
  const kind: NodeKind = entry.kind === 'unreadable' && isRegimesFolder(entry.dir) ? 'regimes' : entry.kind;
  return { entry, kind, status: kind === 'regimes' ? regimesStatus(entry.dir) : displayStatus(entry), ...(parent ? { sweep: parent } : {}) };
}

/**
 * The runs inside a sweep or drop-regimes job, in the order they ran. A Slurm sweep shows
 * every trial by index: its run folder once the trial has started, else the trial as it
 * waits, each with what the cluster says of it (a run on another node cannot be checked
 * from here, so whether it runs is the cluster's word).
 */
export function childrenOf(node: RunNode): RunNode[] {
  if (node.kind === 'run') return fusedRunsOf(node);
  if (node.kind !== 'sweep' && node.kind !== 'regimes') return [];
  const runsDir = path.join(node.entry.dir, node.kind === 'sweep' ? SWEEP_FILES.runs : REGIME_FILES.runs);
  if (node.kind === 'sweep' && node.entry.slurm) return slurmChildren(node, runsDir);
  return listRuns(runsDir).map((entry) => nodeOf(entry, node));
}

/** Whether a node has children to show: a sweep's or drop-regimes job's runs, a fusion's adapters. */
export function hasChildren(node: RunNode): boolean {
  return node.kind === 'sweep' || node.kind === 'regimes' || (node.kind === 'run' && keySettings(node.entry.dir).fused !== undefined);
}

/**
 * A fusion run's adapters: the runs they were trained in, where those are still run folders
 * (an adapter folder from elsewhere is shown as an unreadable leaf with its path).
 */
function fusedRunsOf(node: RunNode): RunNode[] {
  const fused = keySettings(node.entry.dir).fused ?? [];
  return fused.map(({ name, source }) => {
    const runDir = path.dirname(source);
    if (path.basename(source) === RUN_FILES.adapterDir && fs.existsSync(path.join(runDir, RUN_FILES.config))) return nodeOf(describe(runDir));
    return { entry: { kind: 'unreadable', name, dir: source, status: 'unknown' }, kind: 'unreadable', status: 'unknown' };
  });
}

function slurmChildren(sweep: RunNode, runsDir: string): RunNode[] {
  const runs = listRuns(runsDir);
  return slurmTrialViews(sweep.entry.dir).map((trial) => {
    const prefix = `trial-${String(trial.index).padStart(4, '0')}-`;
    const run = (trial.record?.run ? runs.find((r) => r.name === trial.record!.run) : undefined) ?? runs.filter((r) => r.name.startsWith(prefix)).pop();
    const status: DisplayStatus = trial.state === 'pending' || trial.state === 'not-submitted' ? 'pending' : trial.state === 'running' ? 'running' : trial.state === 'completed' ? 'completed' : trial.state === 'failed' || trial.state === 'out-of-memory' ? 'failed' : 'cancelled';
    if (run) return { entry: run, kind: 'run', status, sweep, trial };
    const name = `trial-${String(trial.index).padStart(4, '0')}`;
    const entry: RunEntry = { kind: 'unreadable', name, dir: path.join(runsDir, name), status: 'unknown' };
    return { entry, kind: 'trial', status, sweep, trial };
  });
}

export function displayStatus(entry: RunEntry): DisplayStatus {
  // Marked running by a process that is gone: killed, or the machine went down.
  if (entry.status === 'running') return isLive(entry) ? 'running' : 'interrupted';
  // A sweep folder without a status of its own (written before sweeps kept one): running while one of its trials is.
  if (entry.kind === 'sweep' && entry.status === 'unknown') return listRuns(path.join(entry.dir, SWEEP_FILES.runs)).some(isLive) ? 'running' : 'unknown';
  return entry.status;
}

/** A drop-regimes job: regimes.json's status once written; before, running while one of its runs is. */
function regimesStatus(dir: string): DisplayStatus {
  try {
    const status = (JSON.parse(fs.readFileSync(path.join(dir, REGIMES_FILE), 'utf8')) as { status?: unknown }).status;
    if (status === 'completed' || status === 'failed' || status === 'cancelled') return status;
  } catch {
    // not written yet
  }
  return listRuns(path.join(dir, REGIME_FILES.runs)).some(isLive) ? 'running' : 'interrupted';
}

/** The creation time in a store folder's name (`<name>-<yyyymmdd-hhmmss>[-n]`), for newest-first order. */
function stampOf(name: string): string {
  const m = /-(\d{8}-\d{6})(?:-(\d+))?$/.exec(name);
  return m ? `${m[1]}-${(m[2] ?? '0').padStart(4, '0')}` : '';
}

export function newestFirst(entries: readonly RunEntry[]): RunEntry[] {
  return [...entries].sort((a, b) => stampOf(b.name).localeCompare(stampOf(a.name)) || a.name.localeCompare(b.name));
}

/**
 * The entries an experiment made: its runs and sweeps (by the experiment's `name`), and the
 * trials inside those sweeps (a trial carries its own name, so it is known by its folder).
 */
export function ofExperiment(entries: readonly RunEntry[], name: string): RunEntry[] {
  const sweeps = entries.filter((e) => e.kind === 'sweep' && e.experiment === name).map((e) => e.dir + path.sep);
  return entries.filter((e) => e.experiment === name || sweeps.some((dir) => e.dir.startsWith(dir)));
}

/** The run's key settings, read from its config.json (small) for the description. */
export interface KeySettings {
  readonly learningRate?: number;
  readonly adapterSize?: number;
  readonly epochs?: number;
  readonly method?: string;
  readonly validation?: string;
  readonly train?: string;
  /** A fusion run: the adapters it fuses, and the folder each was read from. */
  readonly fused?: readonly { readonly name: string; readonly source: string }[];
}

export function keySettings(runDir: string): KeySettings {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(runDir, RUN_FILES.config), 'utf8')) as {
      experiment?: { method?: string; adapter?: { size?: unknown }; training?: { learningRate?: number; epochs?: number }; task?: { validation?: string; train?: string } };
      plan?: { spec?: { adapters?: { size?: number } } };
      fused?: unknown;
    };
    const e = c.experiment ?? {};
    // A preset sizes the adapters from the model's hidden size: the plan holds the size built.
    const size = c.plan?.spec?.adapters?.size ?? (typeof e.adapter?.size === 'number' ? e.adapter.size : undefined);
    const fused = Array.isArray(c.fused) ? c.fused.filter((f): f is { name: string; source: string } => typeof f?.name === 'string' && typeof f?.source === 'string') : undefined;
    return { learningRate: e.training?.learningRate, adapterSize: e.method === 'adapter' || e.method === 'top_k' ? size : undefined, epochs: e.training?.epochs, method: e.method, validation: e.task?.validation, train: e.task?.train, ...(fused ? { fused } : {}) };
  } catch {
    return {};
  }
}

function formatNumber(v: number): string {
  return Math.abs(v) < 1e-2 && v !== 0 ? v.toExponential(0) : String(v);
}

/** The headline metric: the catalog's best validation value of a run (direction-aware), or a sweep's best trial. */
export function bestMetricText(entry: RunEntry): string | undefined {
  return entry.metric ? `best ${entry.metric.name} ${entry.metric.value.toFixed(4)}` : undefined;
}

/** The view's description of a node: status · method · key hyperparameters · best metric. */
export function describeNode(node: RunNode): string {
  const e = node.entry;
  if (node.kind === 'regimes') return `${node.status} · AdapterDrop regimes`;
  if (node.kind === 'trial' && node.trial) return [clusterState(node.trial), ...Object.entries(node.trial.assignments).map(([k, v]) => `${k}=${JSON.stringify(v)}`), `seed ${node.trial.seed}`].join(' · ');
  if (e.kind === 'unreadable') return 'unreadable';
  const parts: string[] = [node.trial ? clusterState(node.trial) : node.status];
  const best = bestMetricText(e);
  if (e.kind === 'sweep') {
    if (e.trials !== undefined) parts.push(e.progress && e.progress.done < e.trials ? `${e.progress.done}/${e.trials} trials` : `${e.trials} trials`);
    if (e.progress?.failed) parts.push(`${e.progress.failed} failed`);
    if (e.slurm) parts.push(slurmSummary(e));
    if (best) parts.push(best);
    return parts.join(' · ');
  }
  const k = keySettings(e.dir);
  if (e.method) parts.push(e.method);
  const hyper = [k.learningRate !== undefined ? `lr ${formatNumber(k.learningRate)}` : '', k.adapterSize !== undefined ? `size ${k.adapterSize}` : '', k.epochs !== undefined ? `${k.epochs} ep` : ''].filter(Boolean).join(' ');
  if (hyper) parts.push(hyper);
  if (k.fused) parts.push(`fuses ${k.fused.map((f) => f.name).join(', ')}`);
  if (best) parts.push(best);
  return parts.join(' · ');
}

/** A Slurm sweep's trial as the cluster has it: `pending (Priority) on Slurm 12_3`, `running on node7`, `timed out`. */
export function clusterState(t: TrialView): string {
  const state = t.state.replace(/-/g, ' ');
  if (t.state === 'pending') return `pending${t.reason ? ` (${t.reason})` : ''}${t.job ? ` on Slurm ${t.job}` : ''}`;
  if (t.state === 'running') return `running${t.node ? ` on ${t.node}` : ''}${t.job ? ` (Slurm ${t.job})` : ''}`;
  return state;
}

/** A Slurm sweep in one phrase: where its trials are, or that it ran on Slurm. */
function slurmSummary(e: RunEntry): string {
  if (e.status !== 'running') return 'on Slurm';
  const views = slurmTrialViews(e.dir);
  const running = views.filter((t) => t.state === 'running').length;
  const pending = views.filter((t) => t.state === 'pending').length;
  return `on Slurm: ${running} running, ${pending} pending`;
}
