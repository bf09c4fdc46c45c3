/**
 * What the extension asks the engine CLI to do, as argument arrays (never a shell line, so
 * nothing is quoted and paths with spaces or quotes pass through on every platform).
 * No `vscode` here: the settings arrive as plain values.
 */
import * as path from 'node:path';

export type Device = 'auto' | 'cpu' | 'webgpu' | 'cuda';
export const DEVICES: readonly Device[] = ['auto', 'cpu', 'webgpu', 'cuda'];

export interface EngineSettings {
  /** Absolute; every command that creates runs gets it, so the runs view and the CLI agree. */
  readonly runsDir: string;
  /** Undefined: the engine uses every core (or the experiment's runtime.threads). */
  readonly threads: number | undefined;
  /** `auto` is not passed: the experiment's runtime.device decides. */
  readonly device: Device;
  /** Trials a sweep runs at once, each in its own engine process (1: one after another). */
  readonly sweepWorkers?: number;
}

export type JobRequest =
  | { readonly command: 'train'; readonly file: string; readonly maxSteps?: number }
  | { readonly command: 'sweep'; readonly file: string; readonly maxSteps?: number }
  /** The sweep as one Slurm job array, submitted and then followed to its end (`sweep --slurm --wait`). */
  | { readonly command: 'sweep-slurm'; readonly file: string; readonly maxSteps?: number }
  /** A Slurm sweep submitted earlier (from this window, another or a terminal), followed until it ends. */
  | { readonly command: 'sweep-follow'; readonly sweepDir: string }
  /** `scancel` of a Slurm sweep's job arrays. */
  | { readonly command: 'sweep-cancel'; readonly sweepDir: string }
  /** AdapterDrop's curve for the standard, robust and specialized training regimes; `specialized`: the n of the specialized runs (default: every n). */
  | { readonly command: 'drop-regimes'; readonly file: string; readonly specialized?: readonly number[]; readonly maxSteps?: number }
  | { readonly command: 'ablate'; readonly runDir: string; readonly mode: 'spans' | 'drop-curve'; readonly data?: string }
  | { readonly command: 'evaluate'; readonly runDir: string; readonly data: string }
  | { readonly command: 'export-onnx'; readonly runDir: string; readonly file: string }
  /** `force`: replace an existing folder (the save dialog has asked). */
  | { readonly command: 'export-adapter'; readonly runDir: string; readonly dir: string; readonly force?: boolean };

export type JobCommand = JobRequest['command'];

/** Whether the command streams job events (`--events`); evaluate and export print a result or nothing. */
export function streamsEvents(command: JobCommand): boolean {
  return command === 'train' || command === 'sweep' || command === 'ablate' || command === 'drop-regimes' || command === 'sweep-slurm' || command === 'sweep-follow';
}

/**
 * Whether the job's work runs on a cluster: its process only submits, follows or cancels,
 * so it takes no local slot (`adapterLab.parallelJobs`), and stopping it means cancelling on
 * the cluster, while closing the window only stops following.
 */
export function onCluster(command: JobCommand): boolean {
  return command === 'sweep-slurm' || command === 'sweep-follow' || command === 'sweep-cancel';
}

/**
 * Whether the command runs several top-level jobs one after another (drop-regimes: training
 * runs and curves), so that its exit code, not the last job's end event, says how it ended.
 */
export function isComposite(command: JobCommand): boolean {
  return command === 'drop-regimes';
}

export function cliArgs(request: JobRequest, settings: EngineSettings): string[] {
  const common = (): string[] => [...(settings.threads ? ['--threads', String(settings.threads)] : []), ...(settings.device !== 'auto' ? ['--device', settings.device] : [])];
  const steps = (n: number | undefined): string[] => (n ? ['--max-steps', String(n)] : []);
  switch (request.command) {
    case 'train':
      return ['train', request.file, '--events', '--runs', settings.runsDir, ...steps(request.maxSteps), ...common()];
    case 'sweep':
      return ['sweep', request.file, '--events', '--runs', settings.runsDir, ...steps(request.maxSteps), ...((settings.sweepWorkers ?? 1) > 1 ? ['--workers', String(settings.sweepWorkers)] : []), ...common()];
    case 'sweep-slurm':
      // Threads and device are the cluster's (sweep.slurm, runtime): the editor's settings are for jobs run here.
      return ['sweep', request.file, '--slurm', '--wait', '--events', '--runs', settings.runsDir, ...steps(request.maxSteps)];
    case 'sweep-follow':
      return ['sweep', '--follow', request.sweepDir, '--events'];
    case 'sweep-cancel':
      return ['sweep', '--cancel', request.sweepDir];
    case 'drop-regimes':
      return ['drop-regimes', request.file, '--events', '--runs', settings.runsDir, ...(request.specialized?.length ? ['--n', request.specialized.join(',')] : []), ...steps(request.maxSteps), ...common()];
    case 'ablate':
      return ['ablate', request.runDir, '--events', ...(request.mode === 'drop-curve' ? ['--drop-curve'] : []), ...(request.data ? ['--data', request.data] : []), ...common()];
    case 'evaluate':
      return ['evaluate', request.runDir, request.data, ...common()];
    case 'export-onnx':
      return ['export', request.runDir, '--onnx', request.file, ...common()];
    case 'export-adapter':
      return ['export', request.runDir, '--adapter', request.dir, ...(request.force ? ['--force'] : []), ...common()];
  }
}

/** A short title for a job: what it does and to what. */
export function jobTitle(request: JobRequest): string {
  switch (request.command) {
    case 'train':
      return `Train ${path.basename(request.file)}`;
    case 'sweep':
      return `Sweep ${path.basename(request.file)}`;
    case 'sweep-slurm':
      return `Sweep ${path.basename(request.file)} on Slurm`;
    case 'sweep-follow':
      return `Sweep ${path.basename(request.sweepDir)} on Slurm`;
    case 'sweep-cancel':
      return `Cancel ${path.basename(request.sweepDir)} on Slurm`;
    case 'drop-regimes':
      return `AdapterDrop regimes of ${path.basename(request.file)}`;
    case 'ablate':
      return `${request.mode === 'drop-curve' ? 'AdapterDrop curve' : 'Ablation'} of ${path.basename(request.runDir)}`;
    case 'evaluate':
      return `Evaluate ${path.basename(request.runDir)} on ${path.basename(request.data)}`;
    case 'export-onnx':
      return `Export ${path.basename(request.runDir)} to ONNX`;
    case 'export-adapter':
      return `Export the adapter of ${path.basename(request.runDir)}`;
  }
}

/** The folder a job runs in: beside the experiment file (relative paths in it resolve there), or the run's. */
export function jobCwd(request: JobRequest): string {
  switch (request.command) {
    case 'train':
    case 'sweep':
    case 'sweep-slurm':
    case 'drop-regimes':
      return path.dirname(request.file);
    case 'sweep-follow':
    case 'sweep-cancel':
      return request.sweepDir;
    default:
      return path.dirname(request.runDir);
  }
}
