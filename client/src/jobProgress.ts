/**
 * What a job's events mean for the people watching it: how far along it is (for the
 * progress notification and the status bar) and one log line per meaningful event.
 * No `vscode` here.
 */
import * as path from 'node:path';
import type { JobEvent } from '../../engine/events';
import { ABLATION_FILE, DROP_CURVE_FILE } from '../../engine/runs/replay';
import { regimesStartOf } from './regimeHistories';

export interface ProgressSnapshot {
  /** 0..1, or undefined before the job said how much there is to do. */
  readonly fraction: number | undefined;
  /** e.g. "step 12/40 · loss 0.6931 · 1,234 tokens/s". */
  readonly message: string;
  /** Short form for the status bar: "12/40". */
  readonly short: string;
}

/** The job's own folder or file, from its first start event: where its panel's events are routed. */
export function jobIdOf(event: JobEvent): string | undefined {
  if (event.type !== 'start') return undefined;
  switch (event.job) {
    case 'sweep':
      return path.resolve(event.sweepDir);
    case 'train':
      return path.resolve(event.runDir);
    case 'ablate':
      return path.resolve(event.runDir, ABLATION_FILE);
    case 'drop-curve':
      return path.resolve(event.runDir, DROP_CURVE_FILE);
  }
}

/** Follows one job's events. A sweep nests training runs; its progress counts trials and the current trial's steps. */
export class ProgressTracker {
  private depth = 0;
  private sweepTrials: number | undefined;
  private trialsSkipped = 0;
  /** Trials that ended, by index (a Slurm sweep's trial ends again when it is resumed). */
  private readonly trialsEnded = new Set<number>();
  /** A Slurm sweep's trials that have not ended, by what the cluster says of them. */
  private readonly clusterStates = new Map<number, string>();
  private steps = 0;
  private step = 0;
  private cells = 0;
  private cell = 0;
  private tokens = 0;
  private stepSeconds = 0;
  private lastLoss: number | undefined;
  private lastMetric: string | undefined;
  /** drop-regimes runs training runs and curves one after another: which one is running. */
  private regimes = false;
  private topLevelJobs = 0;
  private stage: string | undefined;
  private snapshot: ProgressSnapshot = { fraction: undefined, message: 'starting…', short: '' };

  get current(): ProgressSnapshot {
    return this.snapshot;
  }

  /** Updates the progress; returns true when it changed. */
  update(e: JobEvent): boolean {
    switch (e.type) {
      case 'start':
        if (regimesStartOf(e)) {
          this.regimes = true;
          this.depth++;
          return false;
        }
        if (this.depth === 0) this.topLevelJobs++;
        if (this.depth === 0 || (this.regimes && this.depth === 1)) this.stage = e.job === 'train' ? e.experiment : e.job === 'drop-curve' ? `AdapterDrop curve of ${e.run}` : undefined;
        this.depth++;
        if (e.job === 'sweep') {
          this.sweepTrials = e.trials;
          this.trialsSkipped = e.skipped;
        } else if (e.job === 'train') {
          this.steps = e.steps;
          this.step = 0;
          this.tokens = 0;
          this.stepSeconds = 0;
          // A training run after a curve (drop-regimes) counts steps again, not cells.
          this.cells = 0;
          this.cell = 0;
          this.lastLoss = undefined;
        } else if (e.job === 'ablate' || e.job === 'drop-curve') {
          this.cells = e.cells;
          this.cell = 0;
        }
        break;
      case 'step':
        this.step = e.step;
        this.tokens += e.tokens;
        this.stepSeconds += e.seconds;
        this.lastLoss = e.loss;
        break;
      case 'evaluation':
        this.lastMetric = `${e.metric} ${formatMetric(e.value)}`;
        break;
      case 'ablation':
        this.cell = e.index + 1;
        this.cells = e.total;
        this.lastMetric = `${e.metric} ${formatMetric(e.value)}`;
        break;
      case 'trial-end':
        this.trialsEnded.add(e.index);
        this.clusterStates.delete(e.index);
        break;
      case 'trial-state':
        if (e.state === 'pending' || e.state === 'running') this.clusterStates.set(e.index, e.state);
        else this.clusterStates.delete(e.index);
        break;
      case 'end':
        this.depth = Math.max(0, this.depth - 1);
        break;
      default:
        return false;
    }
    this.snapshot = this.compute();
    return true;
  }

  private compute(): ProgressSnapshot {
    const run = this.steps > 0 ? this.step / this.steps : 0;
    // Several jobs in a row (drop-regimes, old or new stream): say which one this is.
    const parts: string[] = (this.regimes || this.topLevelJobs > 1) && this.stage ? [this.stage] : [];
    let fraction: number | undefined;
    let short = '';
    const trialsDone = this.trialsSkipped + this.trialsEnded.size;
    if (this.sweepTrials !== undefined && this.clusterStates.size > 0) {
      // On a cluster, trials run at once: how many ended, and where the others are.
      const count = (state: string): number => [...this.clusterStates.values()].filter((s) => s === state).length;
      fraction = this.sweepTrials > 0 ? Math.min(1, trialsDone / this.sweepTrials) : undefined;
      parts.push(`${trialsDone}/${this.sweepTrials} trials ended`, `${count('running')} running, ${count('pending')} pending on Slurm`);
      short = `${trialsDone}/${this.sweepTrials} trials`;
      // The runs are read back when they end: their last loss and speed are history, not progress.
      return { fraction, message: parts.join(' · '), short };
    } else if (this.sweepTrials !== undefined) {
      const trial = Math.min(trialsDone + 1, this.sweepTrials);
      fraction = this.sweepTrials > 0 ? Math.min(1, (trialsDone + (this.depth > 1 ? run : 0)) / this.sweepTrials) : undefined;
      parts.push(`trial ${trial}/${this.sweepTrials}`);
      short = `trial ${trial}/${this.sweepTrials}`;
      if (this.depth > 1 && this.steps > 0) parts.push(`step ${this.step}/${this.steps}`);
    } else if (this.cells > 0) {
      fraction = this.cell / this.cells;
      parts.push(`cell ${this.cell}/${this.cells}`);
      short = `${this.cell}/${this.cells}`;
    } else if (this.steps > 0) {
      fraction = run;
      parts.push(`step ${this.step}/${this.steps}`);
      short = `${this.step}/${this.steps}`;
    }
    if (this.lastLoss !== undefined && this.cells === 0) parts.push(`loss ${this.lastLoss.toFixed(4)}`);
    if (this.stepSeconds > 0 && this.cells === 0) parts.push(`${Math.round(this.tokens / this.stepSeconds).toLocaleString('en-US')} tokens/s`);
    if (this.lastMetric) parts.push(this.lastMetric);
    return { fraction, message: parts.join(' · ') || 'starting…', short };
  }
}

function formatMetric(v: number): string {
  return Number.isFinite(v) ? v.toFixed(4) : String(v);
}

const metricsText = (m: Readonly<Record<string, number>>): string =>
  Object.entries(m)
    .map(([k, v]) => `${k} ${formatMetric(v)}`)
    .join(', ');

/**
 * One log line for an event, or undefined for events too frequent to log each (steps are
 * logged every `stepEvery`-th and the last).
 */
export function logLine(e: JobEvent, stepEvery = 10, totalSteps?: number): string | undefined {
  switch (e.type) {
    case 'start':
      const regimes = regimesStartOf(e);
      if (regimes) return `AdapterDrop regimes: the standard, robust and specialized runs and their curves on ${regimes.metric} — ${regimes.runDir}`;
      if (e.job === 'sweep') return `sweep ${e.sweep}: ${e.trials} trials${e.skipped ? ` (${e.skipped} already done)` : ''}, selected on ${e.metric} — ${e.sweepDir}`;
      if (e.job === 'train') return `${e.experiment}: ${e.method} on ${e.model}, ${e.parameters.trainable.toLocaleString('en-US')} trainable parameters (${e.parameters.percentOfBase.toFixed(2)}% of the base model), ${e.steps} steps, ${e.provider}, ${e.threads} threads — ${e.runDir}`;
      return `${e.job === 'drop-curve' ? 'AdapterDrop curve' : 'ablation'} of ${e.run}: ${e.cells} cells on ${e.examples} examples (${e.metric})`;
    case 'step':
      if (e.step === 1 || e.step % stepEvery === 0 || e.step === totalSteps) return `  step ${e.step}${totalSteps ? `/${totalSteps}` : ''}  epoch ${e.epoch}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  grad norm ${e.gradNorm.toFixed(3)}`;
      return undefined;
    case 'evaluation':
      return `  epoch ${e.epoch} ${e.split} ${metricsText(e.metrics)} (${e.examples} examples)`;
    case 'ablation':
      return `  cell ${e.index + 1}/${e.total}: layers ${e.from}..${e.to}${e.site === 'both' ? '' : ` (${e.site})`} removed → ${e.metric} ${formatMetric(e.value)}`;
    case 'trial-start':
      return `trial ${e.index + 1}/${e.total}: ${Object.entries(e.assignments).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')} seed=${e.seed}`;
    case 'trial-state':
      return `trial ${e.index + 1}/${e.total} ${e.state.replace(/-/g, ' ')}${e.job ? ` (Slurm ${e.job}${e.node ? ` on ${e.node}` : ''}${e.reason ? `, ${e.reason}` : ''})` : ''}`;
    case 'trial-end':
      return `trial ${e.index + 1}/${e.total} ${e.status}${Object.keys(e.metrics).length ? `: ${metricsText(e.metrics)}` : ''}${e.message ? ` (${e.message})` : ''}`;
    case 'artifact':
      return `  wrote ${e.kind}: ${e.path}`;
    case 'log':
      return `  ${e.level === 'warning' ? 'warning: ' : ''}${e.message}`;
    case 'error':
      return `error [${e.code}]: ${e.message}`;
    case 'end':
      return `${e.run}: ${e.status}${e.seconds > 0 ? ` in ${e.seconds.toFixed(1)} s` : ''}${Object.keys(e.metrics).length ? `: ${metricsText(e.metrics)}` : ''}`;
  }
}
