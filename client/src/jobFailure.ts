/**
 * What the user is told when a job fails: the engine's own reason, from its `error` event
 * (set-up failures, such as a device the engine refuses, have one too), else its last error
 * line on standard error (`<file>: error: <reason>`), without the file prefix.
 * No `vscode` here.
 */
import type { JobExit } from './jobProcess';

const GENERIC = /^the engine (exited with code|was stopped by)/;

/** The engine's refusal of a provider it cannot load (engine/runtime/provider.ts). */
const PROVIDER_REFUSED = /\bthe (cuda|webgpu) provider cannot run here\b/i;

export function failureDetail(exit: JobExit, stderrTail: readonly string[]): string {
  const said = exit.message && !GENERIC.test(exit.message) ? exit.message : undefined;
  const line = stderrTail.filter((l) => /\berror\b/i.test(l)).pop();
  // "path/to/file.adapter.yaml: error: the cuda provider …": the reason, without the file (the notification names the job).
  const detail = (said ?? line ?? exit.message ?? 'see the log').replace(/^[^\s]*?:\s*error:\s*/i, '');
  // The engine's fix (npm rebuild …) is for a source checkout; the .vsix leaves the CUDA provider out.
  if (PROVIDER_REFUSED.exec(detail)?.[1]?.toLowerCase() === 'cuda') {
    return `${detail}. The packaged extension includes onnxruntime-node's CPU build only: run on the CPU (setting adapterLab.device: cpu, or runtime.device: cpu in the experiment), or install onnxruntime-node's CUDA binaries into the extension separately.`;
  }
  return detail;
}
