/**
 * Test-side safetensors encoding written straight from the specification (independent of
 * engine/checkpoint's writer), temporary folders, and byte helpers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { CheckpointError } from '../../../engine/checkpoint/errors';
import { Random } from '../../../engine/util/random';

const folders: string[] = [];

/** A fresh temporary folder, removed by `removeTempFolders`. */
export function tempFolder(prefix = 'adapter-lab-ckpt-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  folders.push(dir);
  return dir;
}

export function removeTempFolders(): void {
  for (const dir of folders.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * A safetensors file from a header (bytes and strings are used verbatim, anything else is
 * JSON-stringified) and a data section; `headerLength` overrides the length field to lie.
 */
export function rawSafetensors(header: unknown, data: Uint8Array | readonly number[] = [], headerLength?: bigint): Buffer {
  const headerBytes = header instanceof Uint8Array ? Buffer.from(header) : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(headerLength ?? BigInt(headerBytes.length));
  return Buffer.concat([length, headerBytes, Buffer.from(data)]);
}

export interface RawTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** Encodes tensors back to back in the given order (no padding: the spec does not require it). */
export function encodeTensors(tensors: ReadonlyMap<string, RawTensor>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    parts.push(t.bytes);
    offset += t.bytes.length;
  }
  return rawSafetensors(header, Buffer.concat(parts));
}

/** Little-endian float32 bytes, written with DataView so they do not depend on the host. */
export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** Little-endian u16 bytes (raw F16/BF16 bit patterns). */
export function u16Bytes(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint16(i * 2, v, true));
  return out;
}

export function i64Bytes(values: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}

export function f32Tensor(shape: readonly number[], values: ArrayLike<number>): RawTensor {
  return { dtype: 'F32', shape, bytes: f32Bytes(values) };
}

/** The float32 bit pattern of a number, to compare NaN payloads and signed zeros exactly. */
export function f32Bits(x: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x, true);
  return view.getUint32(0, true);
}

/** A seeded generator so failures reproduce: the engine's own, values in [0, 1). */
export function rng(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** Runs `fn`, which must throw a CheckpointError, and returns it. */
export function checkpointError(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CheckpointError) return e;
    throw e;
  }
  return assert.fail('expected a CheckpointError, but nothing was thrown');
}
