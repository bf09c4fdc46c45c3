/**
 * Which onnxruntime execution provider a run uses. `cpu` always works; `webgpu` (bundled
 * with onnxruntime-node on Linux x64) and `cuda` (an optional install) are tried with a
 * one-node model and refused with the reason and the fix when they cannot run here.
 * `auto` uses the CPU provider.
 */
import * as ort from 'onnxruntime-node';
import { Ops } from '../graph/ops';

export type Provider = 'cpu' | 'webgpu' | 'cuda';

export class ProviderError extends Error {}

const probes = new Map<Provider, Promise<string | undefined>>();

/** Resolves `runtime.device` to a provider that works, or throws a ProviderError saying why not and what to do. */
export async function resolveProvider(device: 'auto' | Provider): Promise<Provider> {
  if (device === 'auto' || device === 'cpu') return 'cpu';
  const problem = await probe(device);
  if (problem) throw new ProviderError(problem);
  return device;
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
