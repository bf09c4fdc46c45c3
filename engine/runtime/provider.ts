/**
 * Which onnxruntime execution provider a run uses. `cpu` always works; `webgpu` (bundled
 * with onnxruntime-node on Linux x64) and `cuda` (an optional install) are tried with a
 * one-node model and refused with the reason and the fix when they cannot run here.
 * `auto` tries cuda, then webgpu, where their prerequisites are present, and otherwise
 * uses the CPU, saying why.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Ops } from '../graph/ops';

export type Provider = 'cpu' | 'webgpu' | 'cuda';

export class ProviderError extends Error {}

const probes = new Map<Provider, Promise<string | undefined>>();

export interface ResolvedProvider {
  readonly provider: Provider;
  /** For `auto`: why the GPU providers were not used (shown to the user), if they were not. */
  readonly note?: string;
}

/** Resolves `runtime.device` to a provider that works, or throws a ProviderError saying why not and what to do. */
export async function resolveProvider(device: 'auto' | Provider): Promise<ResolvedProvider> {
  if (device === 'cpu') return { provider: 'cpu' };
  if (device !== 'auto') {
    const problem = await probe(device);
    if (problem) throw new ProviderError(problem);
    return { provider: device };
  }
  const reasons: string[] = [];
  for (const candidate of ['cuda', 'webgpu'] as const) {
    // Probing without the prerequisites only makes the native libraries print warnings.
    const missing = missingPrerequisite(candidate);
    const problem = missing ?? (await probe(candidate));
    if (!problem) return { provider: candidate };
    reasons.push(missing ? `${candidate}: ${missing}` : problem);
  }
  return { provider: 'cpu', note: `runtime.device auto uses the CPU provider (${reasons.join('; ')})` };
}

function missingPrerequisite(provider: 'cuda' | 'webgpu'): string | undefined {
  if (provider === 'cuda') {
    const binding = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const lib = path.join(binding, 'bin', 'napi-v6', process.platform, process.arch, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so');
    return fs.existsSync(lib) ? undefined : 'the CUDA provider is not installed';
  }
  if (process.platform !== 'linux') return undefined;
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/usr/local/lib', ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean)];
  return dirs.some((d) => fs.existsSync(path.join(d, 'libvulkan.so.1'))) ? undefined : 'no Vulkan loader (libvulkan.so.1)';
}

function probe(provider: Provider): Promise<string | undefined> {
  let p = probes.get(provider);
  if (!p) {
    p = check(provider);
    probes.set(provider, p);
  }
  return p;
}

async function check(provider: Provider): Promise<string | undefined> {
  const backend = ort.listSupportedBackends().find((b) => b.name === provider);
  if (!backend) return `onnxruntime-node ${ort.env.versions.common} has no ${provider} provider on ${process.platform}-${process.arch}; use runtime.device: cpu`;
  // The probe's failure is reported by us, with the fix; onnxruntime's own log of it is noise.
  const level = ort.env.logLevel;
  ort.env.logLevel = 'fatal';
  const o = new Ops();
  const x = o.graph.input('x', 'float32', [2]);
  o.graph.output(o.add(x, x), 'y');
  try {
    const session = await ort.InferenceSession.create(o.graph.toOnnx(), { executionProviders: [provider], logSeverityLevel: 4 });
    await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2), [2]) });
    await session.release();
    return undefined;
  } catch (e) {
    // onnxruntime prefixes its own source location; keep what it says, not where.
    const reason = (e as Error).message.split('\n')[0]!.replace(/^.*\bwas false\.\s*/, '').replace(/^\/\S+ /, '');
    const fix =
      provider === 'cuda'
        ? 'install the CUDA provider (npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12, with CUDA 12 and cuDNN 9 present) or use runtime.device: cpu'
        : 'WebGPU needs a GPU with a Vulkan driver and the Vulkan loader (libvulkan1); or use runtime.device: cpu';
    return `the ${provider} provider cannot run here (${reason}); ${fix}`;
  } finally {
    ort.env.logLevel = level;
  }
}
