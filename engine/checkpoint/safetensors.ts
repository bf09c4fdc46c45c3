/**
 * The safetensors format, read and written directly: an 8-byte little-endian u64 header
 * length N, N bytes of UTF-8 JSON `{ name: { dtype, shape, data_offsets: [begin, end] },
 * "__metadata__"?: { key: string } }`, then the data buffer (offsets relative to its start).
 *
 * Every header field is validated before it is used to size a read or an allocation, so a
 * malformed or hostile file gives a `CheckpointError`, never a RangeError or a huge
 * allocation. Files are opened lazily: listing tensors reads only the header; each tensor's
 * bytes are read when asked for. F16 and BF16 are widened to float32 exactly; I64 is read
 * as int64; other dtypes can be listed and skipped but not read.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { constants as bufferConstants } from 'node:buffer';
import type { FloatTensor, HostTensor, IntTensor } from '../tensor';
import { CheckpointError } from './errors';

export { CheckpointError } from './errors';

/** Every dtype the safetensors specification defines, with its width in bits. */
const DTYPE_BITS = {
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  F64: 64,
  I64: 64,
  U64: 64,
  C64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
} as const;

export type SafetensorsDtype = keyof typeof DTYPE_BITS;

/** Dtypes the engine reads: floats are widened to float32, I64 stays int64. */
export const READABLE_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'I64'];
const FLOAT_DTYPES: ReadonlySet<SafetensorsDtype> = new Set(['F32', 'F16', 'BF16']);

/** The reference implementation's cap; real headers (even for huge sharded models) are far smaller. */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';
/** fs.readSync/writeSync take at most 2^31 - 1 bytes per call. */
const IO_CHUNK = 1 << 30;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** [begin, end) in bytes, relative to the start of the data buffer, as in the header. */
  readonly dataOffsets: readonly [number, number];
}

export interface SafetensorsFile {
  /** The path (or label) errors name. */
  readonly file: string;
  /** `__metadata__`, if the header has one. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** Tensors in header order. */
  readonly tensors: readonly TensorInfo[];
  info(name: string): TensorInfo | undefined;
  /** Reads one tensor: F32/F16/BF16 as float32, I64 as int64; any other dtype throws. */
  read(name: string): HostTensor;
  /** Reads one tensor that must be floating point (F32, F16 or BF16). */
  readFloat(name: string): FloatTensor;
  /** Reads the tensors the filter selects (all when omitted), in header order. */
  readAll(filter?: (info: TensorInfo) => boolean): Map<string, HostTensor>;
  /** Releases the file handle (a no-op for in-memory sources). Reads after close throw. */
  close(): void;
}

/** Where the bytes come from: an open file or a buffer. */
interface ByteSource {
  readonly size: number;
  /** Fills `target` from `offset`; throws a CheckpointError if the bytes are not there. */
  read(offset: number, target: Uint8Array): void;
  close(): void;
}

/** Opens a safetensors file and parses its header; tensor data is read on demand. */
export function openSafetensors(file: string): SafetensorsFile {
  let fd: number;
  let size: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new CheckpointError(file, `cannot open the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new CheckpointError(file, 'is not a regular file');
    size = st.size;
    return parse(file, fileSource(file, fd, size));
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Parses safetensors bytes held in memory; tensors read from it are copies. */
export function parseSafetensors(bytes: Uint8Array, label = '<buffer>'): SafetensorsFile {
  return parse(label, {
    size: bytes.length,
    read(offset, target) {
      target.set(bytes.subarray(offset, offset + target.length));
    },
    close() {},
  });
}

/** Opens a file, reads the selected tensors and closes it. */
export function readSafetensors(file: string, filter?: (info: TensorInfo) => boolean): Map<string, HostTensor> {
  const f = openSafetensors(file);
  try {
    return f.readAll(filter);
  } finally {
    f.close();
  }
}

function fileSource(file: string, fd: number, size: number): ByteSource {
  let open = true;
  return {
    size,
    read(offset, target) {
      if (!open) throw new CheckpointError(file, 'read after the file was closed');
      let done = 0;
      while (done < target.length) {
        const n = fs.readSync(fd, target, done, Math.min(IO_CHUNK, target.length - done), offset + done);
        if (n === 0) throw new CheckpointError(file, `the file ended at byte ${offset + done} while ${size} bytes were expected; it was truncated after it was opened`);
        done += n;
      }
    },
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

function parse(file: string, source: ByteSource): SafetensorsFile {
  const fail = (message: string): never => {
    throw new CheckpointError(file, message);
  };
  if (source.size < 8) fail(`the file is ${source.size} bytes long; a safetensors file starts with an 8-byte header length`);
  const lengthBytes = Buffer.alloc(8);
  source.read(0, lengthBytes);
  const headerLength = lengthBytes.readBigUInt64LE(0);
  if (headerLength < 2n) fail(`header length ${headerLength} is too small (the smallest header, "{}", is 2 bytes)`);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${headerLength} exceeds the limit of ${MAX_HEADER_BYTES} bytes; this is not a safetensors file or it is corrupt`);
  const n = Number(headerLength);
  if (8 + n > source.size) fail(`header length ${n} runs past the end of the file (${source.size} bytes); the file is truncated or not a safetensors file`);

  const headerBytes = Buffer.alloc(n);
  source.read(8, headerBytes);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    return fail('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) return fail(`header must be a JSON object, found ${describe(json)}`);

  const dataStart = 8 + n;
  const dataLength = source.size - dataStart;
  let metadata: Record<string, string> | undefined;
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === METADATA_KEY) metadata = parseMetadata(entry, fail);
    else tensors.push(parseEntry(name, entry, dataLength, fail));
  }
  checkOverlaps(tensors, fail);

  const byName = new Map(tensors.map((t) => [t.name, t]));
  const read = (name: string): HostTensor => {
    const info = byName.get(name);
    if (!info) return fail(`no tensor named ${JSON.stringify(name)}`);
    return decode(file, source, dataStart, info);
  };
  return {
    file,
    metadata,
    tensors,
    info: (name) => byName.get(name),
    read,
    readFloat(name) {
      const info = byName.get(name);
      if (info && !FLOAT_DTYPES.has(info.dtype)) fail(`tensor ${JSON.stringify(name)} has dtype ${info.dtype}; a floating-point tensor (F32, F16 or BF16) is needed`);
      return read(name) as FloatTensor;
    },
    readAll(filter) {
      const out = new Map<string, HostTensor>();
      for (const t of tensors) if (!filter || filter(t)) out.set(t.name, read(t.name));
      return out;
    },
    close: () => source.close(),
  };
}

type Fail = (message: string) => never;

function parseMetadata(value: unknown, fail: Fail): Record<string, string> | undefined {
  if (value === null) return undefined; // the reference implementation accepts a null map
  if (!isPlainObject(value)) return fail(`${METADATA_KEY} must be an object of strings, found ${describe(value)}`);
  const entries = Object.entries(value);
  for (const [k, v] of entries) {
    if (typeof v !== 'string') fail(`${METADATA_KEY}[${JSON.stringify(k)}] must be a string, found ${describe(v)}`);
  }
  // fromEntries defines own properties, so even a "__proto__" key stays plain data.
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseEntry(name: string, entry: unknown, dataLength: number, fail: Fail): TensorInfo {
  const where = `tensor ${JSON.stringify(name)}`;
  if (!isPlainObject(entry)) return fail(`${where}: expected an object with dtype, shape and data_offsets, found ${describe(entry)}`);

  const dtype = entry.dtype;
  if (typeof dtype !== 'string') return fail(`${where}: dtype must be a string, found ${describe(dtype)}`);
  if (!Object.prototype.hasOwnProperty.call(DTYPE_BITS, dtype)) return fail(`${where}: unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_BITS).join(', ')})`);
  const bits = DTYPE_BITS[dtype as SafetensorsDtype];

  const shape = entry.shape;
  if (!Array.isArray(shape)) return fail(`${where}: shape must be an array of non-negative integers, found ${describe(shape)}`);
  // Checked step by step, as the reference implementation does, so no intermediate product loses precision.
  let count = 1;
  shape.forEach((d: unknown, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) fail(`${where}: shape[${i}] is ${describe(d)}; dimensions must be non-negative integers`);
    count *= d as number;
    if (count > Number.MAX_SAFE_INTEGER) fail(`${where}: shape ${fmt(shape)} has too many elements (the product of its dimensions overflows)`);
  });
  if (count > Math.floor(Number.MAX_SAFE_INTEGER / bits)) fail(`${where}: shape ${fmt(shape)} of ${dtype} is too large (its size in bytes overflows)`);
  const totalBits = count * bits;
  if (totalBits % 8 !== 0) fail(`${where}: shape ${fmt(shape)} of ${dtype} is ${totalBits} bits, not a whole number of bytes`);
  const needed = totalBits / 8;

  const offsets = entry.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2) return fail(`${where}: data_offsets must be [begin, end], found ${describe(offsets)}`);
  offsets.forEach((o: unknown, i) => {
    if (typeof o !== 'number' || !Number.isSafeInteger(o) || o < 0) fail(`${where}: data_offsets[${i}] is ${describe(o)}; offsets must be non-negative integers`);
  });
  const [begin, end] = offsets as [number, number];
  if (begin > end) fail(`${where}: data_offsets ${fmt(offsets)} begin after they end`);
  if (end - begin !== needed) fail(`${where}: data_offsets ${fmt(offsets)} hold ${end - begin} bytes but shape ${fmt(shape)} of ${dtype} needs ${needed}`);
  if (end > dataLength) fail(`${where}: data_offsets ${fmt(offsets)} end beyond the data buffer, which holds ${dataLength} bytes; the file is truncated`);

  return { name, dtype: dtype as SafetensorsDtype, shape: [...(shape as number[])], dataOffsets: [begin, end] };
}

/** Tensors may leave gaps but must not share bytes; empty tensors occupy nothing. */
function checkOverlaps(tensors: readonly TensorInfo[], fail: Fail): void {
  const sorted = tensors.filter((t) => t.dataOffsets[1] > t.dataOffsets[0]).sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0]);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.dataOffsets[0] < prev.dataOffsets[1]) {
      fail(`tensors ${JSON.stringify(prev.name)} (data_offsets ${fmt(prev.dataOffsets)}) and ${JSON.stringify(cur.name)} (data_offsets ${fmt(cur.dataOffsets)}) overlap`);
    }
  }
}

function decode(file: string, source: ByteSource, dataStart: number, info: TensorInfo): HostTensor {
  const [begin, end] = info.dataOffsets;
  const bytes = end - begin;
  const count = info.shape.reduce((a, b) => a * b, 1);
  const where = `tensor ${JSON.stringify(info.name)}`;
  if (!READABLE_DTYPES.includes(info.dtype)) {
    throw new CheckpointError(file, `${where} has dtype ${info.dtype}, which the engine does not read (it reads ${READABLE_DTYPES.join(', ')})`);
  }
  // Sizes were validated against the file; this guards the float32 widening of F16/BF16 too.
  if (count * 4 > bufferConstants.MAX_LENGTH || bytes > bufferConstants.MAX_LENGTH) {
    throw new CheckpointError(file, `${where} (${bytes} bytes) is too large to hold in memory`);
  }
  const offset = dataStart + begin;
  const shape = [...info.shape];
  switch (info.dtype) {
    case 'F32': {
      const data = new Float32Array(count);
      readInto(source, offset, data, 4);
      return { dtype: 'float32', shape, data } satisfies FloatTensor;
    }
    case 'I64': {
      const data = new BigInt64Array(count);
      readInto(source, offset, data, 8);
      return { dtype: 'int64', shape, data } satisfies IntTensor;
    }
    case 'F16':
    case 'BF16': {
      const raw = new Uint16Array(count);
      readInto(source, offset, raw, 2);
      const data = new Float32Array(count);
      const bits = new Uint32Array(data.buffer);
      if (info.dtype === 'BF16') {
        // bfloat16 is the upper half of a float32.
        for (let i = 0; i < count; i++) bits[i] = raw[i]! << 16;
      } else {
        const table = f16Table();
        for (let i = 0; i < count; i++) bits[i] = table[raw[i]!]!;
      }
      return { dtype: 'float32', shape, data } satisfies FloatTensor;
    }
    default:
      throw new CheckpointError(file, `${where} has dtype ${info.dtype}, which the engine does not read`);
  }
}

/** Reads little-endian elements straight into a typed array, swapping on big-endian hosts. */
function readInto(source: ByteSource, offset: number, array: Float32Array | Uint16Array | BigInt64Array, width: 2 | 4 | 8): void {
  const view = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  source.read(offset, view);
  if (!LITTLE_ENDIAN) {
    if (width === 2) view.swap16();
    else if (width === 4) view.swap32();
    else view.swap64();
  }
}

let F16_TABLE: Uint32Array | undefined;

/** float32 bit patterns of all 65536 half-precision values (256 KiB, built once). */
function f16Table(): Uint32Array {
  if (!F16_TABLE) {
    F16_TABLE = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) F16_TABLE[h] = f16ToF32Bits(h);
  }
  return F16_TABLE;
}

/** Exact IEEE half → single conversion on bit patterns (NaN payloads kept). */
function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0; // inf, NaN
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0; // rebias 15 → 127
  if (mant === 0) return sign >>> 0; // ±0
  // Subnormal mant·2^-24: shift the leading one up to the implicit bit, lowering the exponent.
  let e = 113; // float32 biased exponent of 2^-14
  let m = mant;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/**
 * float32 values rounded to the nearest half-precision value (ties to even), as IEEE and
 * PyTorch's `.half()` round: overflow becomes ±inf, tiny values subnormals or ±0, NaN stays NaN.
 */
export function narrowHalf(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32BitsToF16(bits[i]!);
  return out;
}

function f32BitsToF16(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  const mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf, NaN (kept quiet)
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: inf
  if (e <= 0) {
    // Subnormal half (or zero): the value is m·2^-24 with the implicit bit made explicit.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rest > mid || (rest === mid && (half & 1)) ? 1 : 0));
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // A carry out of the mantissa raises the exponent, and past the top becomes inf, as it should.
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && (half & 1)) ? 1 : 0));
}

/** The dtype tensors are stored in: float32 as computed, or float16 (half the bytes; read back widened). */
export type StoredFloat = 'F32' | 'F16';

/**
 * Writes float32 tensors as a safetensors file (as F32, or rounded to F16), atomically: a
 * temporary file in the same folder is written and fsynced, then renamed over the target, so
 * readers see the old file or the new one, never a part. Everything is validated before the
 * temporary file exists.
 */
export function writeSafetensors(file: string, tensors: ReadonlyMap<string, FloatTensor>, metadata?: Readonly<Record<string, string>>, dtype: StoredFloat = 'F32'): void {
  // No prototype, so a tensor named "__proto__" is an ordinary key.
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new CheckpointError(file, `${METADATA_KEY} must be an object of strings`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new CheckpointError(file, `${METADATA_KEY}[${JSON.stringify(k)}] must be a string, found ${describe(v)}`);
    }
    header[METADATA_KEY] = { ...metadata };
  }
  const chunks: (Float32Array | Uint16Array)[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const where = `tensor ${JSON.stringify(name)}`;
    if (name === METADATA_KEY) throw new CheckpointError(file, `${where}: the name is reserved for metadata`);
    if (t.dtype !== 'float32' || !(t.data instanceof Float32Array)) throw new CheckpointError(file, `${where}: only float32 tensors can be written`);
    let count = 1;
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d < 0) throw new CheckpointError(file, `${where}: shape ${fmt(t.shape)} has a dimension that is not a non-negative integer`);
      count *= d;
    }
    if (t.data.length !== count) throw new CheckpointError(file, `${where}: shape ${fmt(t.shape)} needs ${count} values but the data holds ${t.data.length}`);
    const width = dtype === 'F16' ? 2 : 4;
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + width * count] };
    chunks.push(dtype === 'F16' ? narrowHalf(t.data) : t.data);
    offset += width * count;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data buffer starts 8-byte aligned, as the reference writer does.
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const lengthBytes = Buffer.alloc(8);
  lengthBytes.writeBigUInt64LE(BigInt(headerBytes.length));

  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx');
  try {
    try {
      writeAll(fd, lengthBytes);
      writeAll(fd, headerBytes);
      for (const data of chunks) {
        const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        writeAll(fd, LITTLE_ENDIAN ? bytes : data instanceof Uint16Array ? Buffer.from(bytes).swap16() : Buffer.from(bytes).swap32());
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    renameOver(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  syncDir(dir);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, Math.min(IO_CHUNK, bytes.length - done));
}

/** Makes the rename itself durable where the platform allows syncing a folder (not Windows). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Best effort: the file's content is already synced; only the rename's durability is at stake.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fmt(list: readonly unknown[]): string {
  return `[${list.map((x) => (typeof x === 'number' ? String(x) : JSON.stringify(x))).join(', ')}]`;
}

/** A short rendering of an untrusted JSON value for messages. */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Half-precision bit patterns (F16, or BF16 with `bf16`) widened exactly to float32. */
export function widenHalf(raw: Uint16Array, bf16: boolean): Float32Array {
  const data = new Float32Array(raw.length);
  const bits = new Uint32Array(data.buffer);
  if (bf16) for (let i = 0; i < raw.length; i++) bits[i] = raw[i]! << 16;
  else {
    const table = f16Table();
    for (let i = 0; i < raw.length; i++) bits[i] = table[raw[i]!]!;
  }
  return data;
}

/**
 * Renames a finished file over its target. On Windows that fails while another process has
 * the target open (a panel reading a running job's checkpoint, for a moment): retried there
 * for up to about ten seconds before it gives up.
 */
function renameOver(from: string, to: string): void {
  for (let attempt = 1; ; attempt++) {
    try {
      fs.renameSync(from, to);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (process.platform !== 'win32' || attempt >= 20 || (code !== 'EPERM' && code !== 'EACCES' && code !== 'EBUSY')) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50 * attempt);
    }
  }
}
