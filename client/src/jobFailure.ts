/**
 * What the user is told when a job fails: the engine's own reason. A failure before the first
 * event (a usage error, an unreadable file, a device the engine refuses) is only on standard
 * error, as `<file>: error: <reason>`; a failure during the job is its `error` event.
 * No `vscode` here.
 */
import type { JobExit } from './jobProcess';

const GENERIC = /^the engine (exited with code|was stopped by)/;

/** The engine's refusal of a provider it cannot load (engine/runtime/provider.ts). */
const PROVIDER_REFUSED = /\bthe (cuda|webgpu) provider cannot run here\b/i;

export function failureDetail(exit: JobExit, stderrTail: readonly string[]): string {
  const said = exit.message && !GENERIC.test(exit.message) ? exit.message : undefined;
  const line = stderrTail.filter((l) => /\berror\b/i.test(l)).pop();
  // "path/to/file.adapter.yaml: error: the cuda provider …": the reason without the prefix.
  const fromStderr = line?.replace(/^.*?\berror:\s*/i, '');
  const detail = said ?? fromStderr ?? exit.message ?? 'see the log';
  // The engine's fix (npm rebuild …) is for a source checkout; the .vsix leaves the CUDA provider out.
  if (PROVIDER_REFUSED.exec(detail)?.[1]?.toLowerCase() === 'cuda') {
    return `${detail}. The packaged extension includes onnxruntime-node's CPU build only: run on the CPU (setting adapterLab.device: cpu, or runtime.device: cpu in the experiment), or install onnxruntime-node's CUDA binaries into the extension separately.`;
  }
  return detail;
}
