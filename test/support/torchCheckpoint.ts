/**
 * Test-side writer of PyTorch checkpoints in `torch.save`'s zip format, written from the
 * format rather than from the engine's reader: `archive/data.pkl` (a protocol-2 pickle of an
 * OrderedDict state dict, with torch's memoisation of globals and strings and the
 * `_metadata` it sets with BUILD), `archive/byteorder`, `archive/data/<key>` storages
 * aligned to 64 bytes as torch aligns them, `archive/version`; CRC-32 on every entry.
 * Raw pieces (a pickle of any opcodes, any zip entries) let tests build hostile files.
 */
import * as zlib from 'node:zlib';

export type TorchDtype = 'F32' | 'F16' | 'BF16' | 'I64';

const STORAGE_CLASS: Readonly<Record<TorchDtype, string>> = { F32: 'FloatStorage', F16: 'HalfStorage', BF16: 'BFloat16Storage', I64: 'LongStorage' };
const WIDTH: Readonly<Record<TorchDtype, number>> = { F32: 4, F16: 2, BF16: 2, I64: 8 };

export interface TorchTensor {
  readonly dtype: TorchDtype;
  readonly shape: readonly number[];
  /** Row-major strides; contiguous when omitted. */
  readonly stride?: readonly number[];
  /** Elements into the storage. */
  readonly offset?: number;
  /** Which storage (key) holds the data; each tensor has its own when omitted. */
  readonly storage?: string;
}

export interface TorchStorage {
  readonly dtype: TorchDtype;
  /** Little-endian element bytes. */
  readonly bytes: Uint8Array;
  /** The element count the persistent id claims (the true one when omitted). */
  readonly numel?: number;
}

// --- pickle ---------------------------------------------------------------------------------

/** Emits protocol-2 opcodes with a memo, as Python's pickler does. */
export class Pickler {
  private readonly parts: number[] = [];
  private readonly memo = new Map<string, number>();

  raw(...bytes: number[]): this {
    this.parts.push(...bytes);
    return this;
  }

  private u32(n: number): number[] {
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
  }

  private put(key: string | undefined): void {
    const i = this.memo.size;
    if (key !== undefined) this.memo.set(key, i);
    if (i < 256) this.raw(0x71, i);
    else this.raw(0x72, ...this.u32(i));
  }

  private get(key: string): boolean {
    const i = this.memo.get(key);
    if (i === undefined) return false;
    if (i < 256) this.raw(0x68, i);
    else this.raw(0x6a, ...this.u32(i));
    return true;
  }

  proto(): this {
    return this.raw(0x80, 2);
  }

  global(module: string, name: string): this {
    if (this.get(`g:${module}.${name}`)) return this;
    this.raw(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
    this.put(`g:${module}.${name}`);
    return this;
  }

  string(s: string): this {
    if (this.get(`s:${s}`)) return this;
    const b = Buffer.from(s, 'utf8');
    this.raw(0x58, ...this.u32(b.length), ...b);
    this.put(`s:${s}`);
    return this;
  }

  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 0xff, n >> 8);
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.raw(0x4a, ...this.u32(n >>> 0));
    // LONG1: little-endian two's complement
    const bytes: number[] = [];
    let v = BigInt(n);
    do {
      bytes.push(Number(v & 0xffn));
      v >>= 8n;
    } while (v !== 0n && v !== -1n);
    if ((bytes[bytes.length - 1]! & 0x80) !== (n < 0 ? 0x80 : 0)) bytes.push(n < 0 ? 0xff : 0);
    return this.raw(0x8a, bytes.length, ...bytes);
  }

  tuple(items: readonly (() => void)[]): this {
    if (items.length === 0) return this.raw(0x29);
    if (items.length <= 3) {
      for (const item of items) item();
      return this.raw(0x84 + items.length);
    }
    this.raw(0x28);
    for (const item of items) item();
    return this.raw(0x74);
  }

  memoize(): this {
    this.put(undefined);
    return this;
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** data.pkl of a state dict, as torch.save writes it. */
export function stateDictPickle(tensors: ReadonlyMap<string, TorchTensor & { storage: string; numel: number }>): Uint8Array {
  const p = new Pickler().proto();
  p.global('collections', 'OrderedDict').raw(0x29, 0x52).memoize(); // OrderedDict()
  p.raw(0x28); // MARK for SETITEMS
  for (const [name, t] of tensors) {
    p.string(name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    const stride = t.stride ?? contiguousStride(t.shape);
    p.tuple([
      () => {
        p.tuple([() => p.string('storage'), () => p.global('torch', STORAGE_CLASS[t.dtype]), () => p.string(t.storage), () => p.string('cpu'), () => p.int(t.numel)]).memoize();
        p.raw(0x51); // BINPERSID
      },
      () => p.int(t.offset ?? 0),
      () => p.tuple(t.shape.map((d) => () => p.int(d))).memoize(),
      () => p.tuple(stride.map((d) => () => p.int(d))).memoize(),
      () => p.raw(0x89), // requires_grad False
      () => p.global('collections', 'OrderedDict').raw(0x29, 0x52).memoize(), // backward hooks
    ]).memoize();
    p.raw(0x52).memoize(); // REDUCE
  }
  p.raw(0x75); // SETITEMS
  // The state dict's _metadata, set with BUILD: {'_metadata': OrderedDict({'': {'version': 1}})}
  p.raw(0x7d).memoize().string('_metadata');
  p.global('collections', 'OrderedDict').raw(0x29, 0x52).memoize();
  p.string('').raw(0x7d).memoize().string('version').int(1).raw(0x73).raw(0x73);
  p.raw(0x73).raw(0x62).raw(0x2e); // SETITEM, BUILD, STOP
  return p.bytes();
}

export function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  for (let i = shape.length - 1, s = 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i]!;
  }
  return stride;
}

// --- zip ------------------------------------------------------------------------------------

let CRC_TABLE: Uint32Array | undefined;
function crc32(data: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipInput {
  readonly name: string;
  readonly data: Uint8Array;
  /** Deflate the entry (torch stores; other writers may not). */
  readonly deflate?: boolean;
  /** The uncompressed size the headers declare (the true one when omitted). */
  readonly declaredSize?: number;
}

/** A zip archive; stored entries' data aligned to 64 bytes with an extra field, as torch's writer does. */
export function zipArchive(entries: readonly ZipInput[]): Buffer {
  const out: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const body = e.deflate ? zlib.deflateRawSync(e.data) : Buffer.from(e.data);
    const size = e.declaredSize ?? e.data.length;
    let pad = 0;
    if (!e.deflate) pad = (64 - ((offset + 30 + name.length + 4) % 64)) % 64;
    const extra = Buffer.alloc(pad ? pad + 4 : 0);
    if (pad) {
      extra.writeUInt16LE(0x4246, 0); // "FB", torch's padding field
      extra.writeUInt16LE(pad, 2);
    }
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(e.deflate ? 8 : 0, 10);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(size, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    out.push(local, name, extra, body);
    offset += 30 + name.length + extra.length + body.length;
  }
  const cdBytes = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdBytes.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...out, cdBytes, eocd]);
}

/** A checkpoint from a data.pkl and storages, under torch's `archive/` prefix. */
export function torchArchive(pickle: Uint8Array, storages: ReadonlyMap<string, Uint8Array>, prefix = 'archive', extra: readonly ZipInput[] = []): Buffer {
  return zipArchive([
    { name: `${prefix}/data.pkl`, data: pickle },
    { name: `${prefix}/byteorder`, data: Buffer.from('little') },
    ...[...storages].map(([key, data]) => ({ name: `${prefix}/data/${key}`, data })),
    { name: `${prefix}/version`, data: Buffer.from('3\n') },
    ...extra,
  ]);
}

/** float32 tensors as `torch.save(state_dict)` writes them: one storage per tensor. */
export function torchSave(tensors: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>): Buffer {
  const refs = new Map<string, TorchTensor & { storage: string; numel: number }>();
  const storages = new Map<string, Uint8Array>();
  let key = 0;
  for (const [name, t] of tensors) {
    const k = String(key++);
    const bytes = new Uint8Array(t.data.length * 4);
    const view = new DataView(bytes.buffer);
    t.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
    storages.set(k, bytes);
    refs.set(name, { dtype: 'F32', shape: t.shape, storage: k, numel: t.data.length });
  }
  return torchArchive(stateDictPickle(refs), storages);
}

/** A checkpoint with explicit storages and tensors (views, shared storages, other dtypes, lying sizes). */
export function torchSaveRaw(tensors: ReadonlyMap<string, TorchTensor & { storage: string }>, storages: ReadonlyMap<string, TorchStorage>): Buffer {
  const refs = new Map<string, TorchTensor & { storage: string; numel: number }>();
  for (const [name, t] of tensors) {
    const s = storages.get(t.storage)!;
    refs.set(name, { ...t, dtype: s.dtype, numel: s.numel ?? s.bytes.length / WIDTH[s.dtype] });
  }
  return torchArchive(stateDictPickle(refs), new Map([...storages].map(([k, s]) => [k, s.bytes])));
}
