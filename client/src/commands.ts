/**
 * The commands (package.json `contributes.commands`): running experiments and finished runs
 * as jobs, and acting on the run store from the runs view.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describe, isLive, listRuns, type RunEntry } from '../../engine/runs/catalog';
import { ABLATION_FILE, DROP_CURVE_FILE, REGIME_FILES, REGIMES_FILE, SWEEP_FILES } from '../../engine/runs/replay';
import { Commands } from '../../server/src/protocol';
import type { JobRequest } from './cliArgs';
import { createExample } from './example';
import { failureDetail } from './jobFailure';
import type { JobResult, JobService } from './jobs';
import type { PanelHost } from './panels';
import { regimeIds } from './regimeHistories';
import { reveal } from './reveal';
import { isRunNode, keySettings } from './runNodes';
import type { RunsTreeProvider } from './runsTree';
import { engineSettings, runsDirectory } from './settings';
import { sbatchFound, sweepExecutor } from './slurm';
import { experimentName, experimentUri, latestCompletedRun, pickRun, rememberExample, runnableTarget, runScope, selectedNodes } from './targets';
import { jobsAllowed } from './trust';

export interface CommandContext {
  readonly jobs: JobService;
  readonly panels: PanelHost;
  readonly tree: RunsTreeProvider;
  /** Workspace state: the example the walkthrough created, for its Train step. */
  readonly state: vscode.Memento;
  /** The extension's folder, where the shipped examples are. */
  readonly extensionPath: string;
}

/** Every command id the extension registers (the code lenses carry the first three). */
export const CommandIds = {
  ...Commands,
  evaluate: 'adapterLab.evaluate',
  dropCurve: 'adapterLab.dropCurve',
  dropRegimes: 'adapterLab.dropRegimes',
  exportOnnx: 'adapterLab.exportOnnx',
  exportAdapter: 'adapterLab.exportAdapter',
  stopJob: 'adapterLab.stopJob',
  openResults: 'adapterLab.openResults',
  compareRuns: 'adapterLab.compareRuns',
  refreshRuns: 'adapterLab.refreshRuns',
  revealRun: 'adapterLab.revealRun',
  deleteRun: 'adapterLab.deleteRun',
  createExample: 'adapterLab.createExample',
  jobMenu: 'adapterLab.jobMenu',
  runSweepOnSlurm: 'adapterLab.runSweepOnSlurm',
} as const;

/** The commands, and following Slurm sweeps found running (extension.ts calls it as the store changes). */
export function registerCommands(ctx: CommandContext): { readonly disposables: vscode.Disposable[]; readonly followSweep: (sweepDir: string, runsDir: string) => Promise<JobResult | undefined> } {
  const c = new JobCommands(ctx);
  return { disposables: commandList(ctx, c), followSweep: (dir, runsDir) => c.followSweep(dir, runsDir) };
}

function commandList(ctx: CommandContext, c: JobCommands): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: unknown[]) => unknown): vscode.Disposable => vscode.commands.registerCommand(id, fn);
  return [
    reg(CommandIds.train, (arg) => c.runExperiment('train', arg)),
    reg(CommandIds.runSweep, (arg) => c.runExperiment('sweep', arg)),
    reg(CommandIds.runSweepOnSlurm, (arg) => c.runExperiment('sweep-slurm', arg)),
    reg(CommandIds.runAblation, (arg) => c.ablate('spans', arg)),
    reg(CommandIds.dropCurve, (arg) => c.ablate('drop-curve', arg)),
    reg(CommandIds.dropRegimes, (arg) => c.dropRegimes(arg)),
    reg(CommandIds.evaluate, (arg) => c.evaluate(arg)),
    reg(CommandIds.exportOnnx, (arg) => c.exportOnnx(arg)),
    reg(CommandIds.exportAdapter, (arg) => c.exportAdapter(arg)),
    reg(CommandIds.stopJob, () => ctx.jobs.stopJob()),
    reg(CommandIds.jobMenu, () => ctx.jobs.jobMenu()),
    reg(CommandIds.openResults, (arg) => c.openResults(arg)),
    reg(CommandIds.compareRuns, (arg, selection) => c.compare(arg, selection)),
    reg(CommandIds.refreshRuns, () => ctx.tree.refresh(0)),
    reg(CommandIds.revealRun, (arg) => c.reveal(arg)),
    reg(CommandIds.deleteRun, (arg, selection) => c.delete(arg, selection)),
    reg(CommandIds.createExample, async () => {
      const uri = await createExample(ctx.extensionPath);
      if (uri) await rememberExample(ctx.state, uri);
      return uri;
    }),
  ];
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

class JobCommands {
  constructor(private readonly ctx: CommandContext) {}

  private runsDir(experimentFile?: string): string | undefined {
    const dir = runsDirectory(experimentFile);
    if (!dir) void vscode.window.showWarningMessage('Adapter Lab: open a folder (or set adapterLab.runsDirectory) so runs have somewhere to go.');
    return dir;
  }

  /** Runs a job and reports how it ended; the caller adds what to offer on success. */
  private async job(request: JobRequest, runsDir: string): Promise<JobResult | undefined> {
    const result = await this.ctx.jobs.run(request, engineSettings(runsDir));
    this.ctx.tree.refresh();
    const { exit } = result;
    if (exit.outcome === 'failed') {
      const detail = failureDetail(exit, result.stderrTail);
      void vscode.window.showErrorMessage(`Adapter Lab: ${this.titleOf(request)} failed: ${detail}`, 'Show Log').then((c) => c && this.ctx.jobs.log.show(true));
      return undefined;
    }
    if (exit.outcome === 'cancelled') {
      const after = request.command === 'train' && result.id ? ' The run is kept; `adapter-lab resume` continues it.' : request.command === 'sweep-slurm' && result.id ? ` Its unfinished trials keep their checkpoints; \`adapter-lab sweep ${path.basename(request.file)} --resume ${result.id}\` submits them again.` : '';
      void vscode.window.showInformationMessage(`Adapter Lab: ${this.titleOf(request)} was cancelled.${after}`);
      return undefined;
    }
    return result;
  }

  private titleOf(request: JobRequest): string {
    switch (request.command) {
      case 'train':
        return 'training';
      case 'sweep':
        return 'the sweep';
      case 'sweep-slurm':
      case 'sweep-follow':
        return 'the sweep on Slurm';
      case 'sweep-cancel':
        return 'cancelling the sweep on Slurm';
      case 'drop-regimes':
        return 'the AdapterDrop regimes';
      case 'ablate':
        return request.mode === 'drop-curve' ? 'the AdapterDrop curve' : 'the ablation';
      case 'evaluate':
        return 'evaluation';
      default:
        return 'the export';
    }
  }

  private offerResults(message: string, id: string | undefined): void {
    void vscode.window.showInformationMessage(message, ...(id ? ['Open Results'] : [])).then((choice) => {
      if (choice && id) this.ctx.panels.open(this.kindFor(id), [id]);
    });
  }

  private kindFor(id: string): 'run' | 'sweep' | 'ablation' {
    const base = path.basename(id);
    if (base === ABLATION_FILE || base === DROP_CURVE_FILE) return 'ablation';
    return fs.existsSync(path.join(id, SWEEP_FILES.definition)) ? 'sweep' : 'run';
  }

  /** Train, Run Sweep (here, or on Slurm when the file says `sweep.executor: slurm`) and Run Sweep on Slurm. */
  async runExperiment(asked: 'train' | 'sweep' | 'sweep-slurm', arg: unknown): Promise<void> {
    if (!(await jobsAllowed(asked === 'train' ? 'Training' : 'A sweep'))) return;
    const target = await runnableTarget(arg, this.ctx.state);
    if (!target) return;
    const command = asked === 'sweep' && sweepExecutor(fs.readFileSync(target.fsPath, 'utf8')) === 'slurm' ? 'sweep-slurm' : asked;
    if (command === 'sweep-slurm' && !sbatchFound()) {
      return void vscode.window.showErrorMessage(`Adapter Lab: ${path.basename(target.fsPath)} runs its sweep on Slurm, but \`sbatch\` is not on this machine's PATH. Open the folder on the cluster's login node (Remote-SSH)${asked === 'sweep' ? ', or set `sweep.executor: local`' : ''}.`);
    }
    const runsDir = this.runsDir(target.fsPath);
    if (!runsDir) return;
    const result = await this.job({ command, file: target.fsPath }, runsDir);
    if (!result) return;
    const metrics = result.end ? Object.entries(result.end.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ') : '';
    this.offerResults(`Adapter Lab: ${command === 'train' ? 'training' : command === 'sweep' ? 'the sweep' : 'the sweep on Slurm'} of ${path.basename(target.fsPath)} completed${metrics ? ` (${metrics})` : ''}.`, result.id);
  }

  /**
   * Follows a Slurm sweep found running in the store (submitted before a window reload, from
   * another window or from a terminal), in the background: the Runs view and its panel show
   * it live, Stop Job cancels it, and its end is announced.
   */
  async followSweep(sweepDir: string, runsDir: string): Promise<JobResult | undefined> {
    const result = await this.ctx.jobs.run({ command: 'sweep-follow', sweepDir }, engineSettings(runsDir), { background: true });
    this.ctx.tree.refresh();
    const { exit } = result;
    const name = path.basename(sweepDir);
    if (exit.outcome === 'failed') void vscode.window.showWarningMessage(`Adapter Lab: following ${name} on Slurm failed: ${failureDetail(exit, result.stderrTail)}`, 'Show Log').then((c) => c && this.ctx.jobs.log.show(true));
    // Stopped following (the window closes): no end, nothing to say.
    else if (result.end) this.offerResults(`Adapter Lab: the sweep ${name} on Slurm ${result.end.status}${Object.keys(result.end.metrics).length ? ` (${Object.entries(result.end.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')})` : ''}.`, sweepDir);
    return result;
  }

  /** AdapterDrop regimes: trains the experiment as standard, robust and specialized adapters and shows the three curves in one panel. */
  async dropRegimes(arg: unknown): Promise<void> {
    if (!(await jobsAllowed('The AdapterDrop regimes'))) return;
    const target = await runnableTarget(arg, this.ctx.state);
    if (!target) return;
    const runsDir = this.runsDir(target.fsPath);
    if (!runsDir) return;
    const result = await this.job({ command: 'drop-regimes', file: target.fsPath }, runsDir);
    if (!result?.id) return;
    const ids = regimeIds(result.id);
    void vscode.window.showInformationMessage(`Adapter Lab: the AdapterDrop regimes of ${path.basename(target.fsPath)} are done.`, 'Open Results').then((c) => c && this.ctx.panels.open('ablation', ids));
  }

  /** Ablation or AdapterDrop curve: of the run the view names, else the newest completed run of the active experiment, else one picked from the store. */
  async ablate(mode: 'spans' | 'drop-curve', arg: unknown): Promise<void> {
    const what = mode === 'drop-curve' ? 'The AdapterDrop curve' : 'An ablation';
    if (!(await jobsAllowed(what))) return;
    const file = isRunNode(arg) ? undefined : experimentUri(arg);
    const runsDir = runsDirectory(file?.fsPath);
    let run: RunEntry | undefined;
    if (file) {
      const name = experimentName(file.fsPath);
      run = runsDir && name ? latestCompletedRun(runsDir, name) : undefined;
      // Asked from the experiment itself (code lens, editor title): its runs, or none.
      if (!run && arg !== undefined) {
        return void vscode.window.showInformationMessage(`${path.basename(file.fsPath)} has no completed run yet: train it first.`, 'Train').then((c) => c && vscode.commands.executeCommand(CommandIds.train, file.toString()));
      }
    }
    run ??= await pickRun(arg, runsDir, { placeHolder: `${what} of which run?`, filter: (e) => e.kind === 'run' && e.status === 'completed' });
    if (!run || !runsDir) return;
    const result = await this.job({ command: 'ablate', runDir: run.dir, mode }, runsDir);
    if (result?.id) this.offerResults(`Adapter Lab: ${mode === 'drop-curve' ? 'the AdapterDrop curve' : 'the ablation'} of ${run.name} is done.`, result.id);
  }

  async evaluate(arg: unknown): Promise<void> {
    if (!(await jobsAllowed('Evaluation'))) return;
    const { runsDir, experiment } = runScope(arg);
    const run = await pickRun(arg, runsDir, { placeHolder: 'Evaluate which run?', filter: (e) => e.kind === 'run' && (e.status === 'completed' || e.status === 'cancelled'), experiment });
    if (!run || !runsDir) return;
    const data = await pickDataFile(run.dir);
    if (!data) return;
    const result = await this.job({ command: 'evaluate', runDir: run.dir, data }, runsDir);
    if (!result) return;
    const value = result.data[result.data.length - 1] as { metrics?: Record<string, number>; examples?: number } | undefined;
    const metrics = value?.metrics ? Object.entries(value.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ') : 'no metrics reported';
    const line = `${run.name} on ${path.basename(data)}${value?.examples !== undefined ? ` (${value.examples} examples)` : ''}: ${metrics}`;
    this.ctx.jobs.log.info(`[evaluate] ${line}`);
    void vscode.window.showInformationMessage(`Adapter Lab: ${line}`, 'Show Log').then((c) => c && this.ctx.jobs.log.show(true));
  }

  async exportOnnx(arg: unknown): Promise<void> {
    if (!(await jobsAllowed('Export'))) return;
    const { runsDir, experiment } = runScope(arg);
    const run = await pickRun(arg, runsDir, { placeHolder: 'Export which run to ONNX?', experiment });
    if (!run || !runsDir) return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({ filters: { 'ONNX model': ['onnx'] }, saveLabel: 'Export', ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `${run.name}.onnx`) } : {}) });
    if (!target) return;
    if (await this.job({ command: 'export-onnx', runDir: run.dir, file: target.fsPath }, runsDir)) {
      void vscode.window.showInformationMessage(`Adapter Lab: exported ${run.name} to ${path.basename(target.fsPath)}.`, 'Reveal').then((c) => c && reveal(target.fsPath));
    }
  }

  async exportAdapter(arg: unknown): Promise<void> {
    if (!(await jobsAllowed('Export'))) return;
    const { runsDir, experiment } = runScope(arg);
    const run = await pickRun(arg, runsDir, { placeHolder: 'Export the adapter of which run?', experiment });
    if (!run || !runsDir) return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    // A save dialog names the new folder; the engine creates it.
    const target = await vscode.window.showSaveDialog({ title: 'Export Adapter Folder', saveLabel: 'Export', ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, `${run.name}-adapter`) } : {}) });
    if (!target) return;
    // The save dialog has already asked whether to replace an existing folder.
    if (await this.job({ command: 'export-adapter', runDir: run.dir, dir: target.fsPath, force: fs.existsSync(target.fsPath) }, runsDir)) {
      void vscode.window.showInformationMessage(`Adapter Lab: exported the adapter of ${run.name} to ${path.basename(target.fsPath)}.`, 'Reveal').then((c) => c && reveal(target.fsPath));
    }
  }

  async openResults(arg: unknown): Promise<void> {
    const { runsDir, experiment } = runScope(arg);
    const entry = await pickRun(arg, runsDir, { placeHolder: 'Open the results of which run or sweep?', filter: (e) => e.kind !== 'unreadable', sweeps: true, experiment });
    if (!entry) return;
    if (isRunNode(arg) && arg.kind === 'regimes') return this.ctx.panels.open('ablation', regimeIds(path.join(entry.dir, REGIMES_FILE)));
    if (entry.kind === 'sweep') return this.ctx.panels.open('sweep', [entry.dir]);
    this.ctx.panels.open('run', [entry.dir]);
    // Ablation results of the run open beside its training curves.
    const ablations = [ABLATION_FILE, DROP_CURVE_FILE].map((f) => path.join(entry.dir, f)).filter((f) => fs.existsSync(f));
    if (ablations.length) this.ctx.panels.open('ablation', ablations);
  }

  async compare(arg: unknown, selection: unknown): Promise<void> {
    let nodes = selectedNodes(arg, selection).map((n) => n.entry);
    if (nodes.length < 2) {
      const runsDir = runsDirectory();
      if (!runsDir) return;
      const candidates = listRuns(runsDir).filter((e) => e.kind === 'run');
      const picked = await vscode.window.showQuickPick(
        candidates.map((e) => ({ label: e.name, description: [e.method, e.status, e.metric ? `${e.metric.name} ${e.metric.value.toFixed(4)}` : ''].filter(Boolean).join(' · '), picked: nodes.some((n) => n.dir === e.dir), entry: e })),
        { canPickMany: true, placeHolder: 'Compare which runs? (two or more)' },
      );
      if (!picked) return;
      nodes = picked.map((p) => p.entry);
    }
    const runs = nodes.filter((e) => e.kind === 'run');
    if (runs.length < 2) return void vscode.window.showInformationMessage('Select two or more runs to compare.');
    this.ctx.panels.open('compare', runs.map((e) => e.dir));
    // Runs trained in different AdapterDrop regimes (standard, robust, per n): their curves side by side, one line each.
    const curves = runs.map((e) => path.join(e.dir, DROP_CURVE_FILE)).filter((f) => fs.existsSync(f));
    if (curves.length >= 2) this.ctx.panels.open('ablation', curves);
  }

  async reveal(arg: unknown): Promise<void> {
    const entry = await pickRun(arg, runsDirectory(), { placeHolder: 'Reveal which run?', filter: () => true, sweeps: true });
    if (entry) await reveal(entry.dir);
  }

  /** Deletes runs or sweeps after a modal confirmation; refuses live ones, as `adapter-lab runs delete` does. */
  async delete(arg: unknown, selection: unknown): Promise<void> {
    let entries = selectedNodes(arg, selection).map((n) => n.entry);
    if (entries.length === 0) {
      const e = await pickRun(arg, runsDirectory(), { placeHolder: 'Delete which run?', filter: () => true, sweeps: true });
      if (!e) return;
      entries = [e];
    }
    const busy = entries.filter((e) => this.isLive(e));
    if (busy.length) return void vscode.window.showErrorMessage(`${busy.map((e) => e.name).join(', ')} ${busy.length === 1 ? 'is' : 'are'} running; stop ${busy.length === 1 ? 'it' : 'them'} first.`);
    const regimes = new Set(selectedNodes(arg, selection).filter((n) => n.kind === 'regimes').map((n) => n.entry.dir));
    const foreign = entries.filter((e) => e.kind === 'unreadable' && !regimes.has(e.dir) && !fs.existsSync(path.join(e.dir, 'status.json')));
    if (foreign.length) return void vscode.window.showErrorMessage(`${foreign.map((e) => e.name).join(', ')} ${foreign.length === 1 ? 'is not a run or sweep folder' : 'are not run or sweep folders'}; nothing deleted.`);
    const what = entries.length === 1 ? entries[0]!.name : plural(entries.length, 'run');
    const choice = await vscode.window.showWarningMessage(`Delete ${what}?`, { modal: true, detail: `${entries.map((e) => e.dir).join('\n')}\n\nThe folder${entries.length === 1 ? '' : 's'} and everything in ${entries.length === 1 ? 'it' : 'them'} (weights, metrics, results) will be removed.` }, 'Delete');
    if (choice !== 'Delete') return;
    for (const e of entries) {
      try {
        fs.rmSync(e.dir, { recursive: true, force: true });
      } catch (err) {
        void vscode.window.showErrorMessage(`Could not delete ${e.name}: ${(err as Error).message}`);
      }
    }
    this.ctx.tree.refresh(0);
  }

  /** Live: a running process writes it (a run's pid, a sweep's trials) or a job of this window does. */
  private isLive(e: RunEntry): boolean {
    if (this.ctx.jobs.isBusy(e.dir)) return true;
    if (e.kind === 'sweep') return isLive(e) || listRuns(path.join(e.dir, SWEEP_FILES.runs)).some((t) => isLive(t));
    // A drop-regimes job's folder: live while one of its runs is.
    if (e.kind === 'unreadable') return listRuns(path.join(e.dir, REGIME_FILES.runs)).some((t) => isLive(t));
    return isLive(describe(e.dir));
  }
}

/** The data file to evaluate on: the run's own validation or train file, or any file. */
async function pickDataFile(runDir: string): Promise<string | undefined> {
  const k = keySettings(runDir);
  type Item = vscode.QuickPickItem & { file?: string };
  const items: Item[] = [];
  if (k.validation && fs.existsSync(k.validation)) items.push({ label: 'Validation file', description: k.validation, file: k.validation });
  if (k.train && fs.existsSync(k.train)) items.push({ label: 'Training file', description: k.train, file: k.train });
  items.push({ label: '$(folder-opened) Choose a file…' });
  const picked = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { placeHolder: 'Evaluate on which labelled data file?' });
  if (!picked) return undefined;
  if (picked.file) return picked.file;
  const base = k.validation ? vscode.Uri.file(path.dirname(k.validation)) : vscode.workspace.workspaceFolders?.[0]?.uri;
  const files = await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'Data files': ['tsv', 'csv', 'jsonl', 'json'] }, openLabel: 'Evaluate', ...(base ? { defaultUri: base } : {}) });
  return files?.[0]?.fsPath;
}
