/**
 * Writes float32 tensors as a PyTorch checkpoint, the format `torch.save(state_dict)` writes
 * and `torch.load` (and AdapterHub's `load_adapter`, which reads `pytorch_adapter.bin` unless
 * told to use safetensors) reads: a zip of `archive/data.pkl` (a protocol-2 pickle of an
 * OrderedDict of `torch._utils._rebuild_tensor_v2` calls on FloatStorage persistent ids),
 * `archive/byteorder`, one stored entry per tensor under `archive/data/<i>` aligned to 64
 * bytes, and `archive/version`, each with its CRC-32. Written atomically.
 */
import type { FloatTensor } from '../tensor';
import { writeAtomic } from '../runs/store';

class PickleOut {
  readonly bytes: number[] = [];
  private readonly memo = new Map<string, number>();

  op(...b: number[]): void {
    this.bytes.push(...b);
  }

  private anonymous = 0;

  private put(key?: string): void {
    const i = this.memo.size + this.anonymous;
    if (key === undefined) this.anonymous++;
    else this.memo.set(key, i);
    if (i < 256) this.op(0x71, i);
    else this.op(0x72, ...u32(i));
  }

  private get(key: string): boolean {
    const i = this.memo.get(key);
    if (i === undefined) return false;
    if (i < 256) this.op(0x68, i);
    else this.op(0x6a, ...u32(i));
    return true;
  }

  global(module: string, name: string): void {
    if (this.get(`g ${module} ${name}`)) return;
    this.op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'latin1'));
    this.put(`g ${module} ${name}`);
  }

  string(s: string): void {
    if (this.get(`s ${s}`)) return;
    const b = Buffer.from(s, 'utf8');
    this.op(0x58, ...u32(b.length), ...b);
    this.put(`s ${s}`);
  }

  int(n: number): void {
    if (n < 256) this.op(0x4b, n);
    else if (n < 65536) this.op(0x4d, n & 0xff, n >> 8);
    else if (n < 2 ** 31) this.op(0x4a, ...u32(n));
    else {
      const b: number[] = [];
      for (let v = BigInt(n); v > 0n; v >>= 8n) b.push(Number(v & 0xffn));
      if (b[b.length - 1]! & 0x80) b.push(0);
      this.op(0x8a, b.length, ...b);
    }
  }

  ints(values: readonly number[]): void {
    if (values.length === 0) return this.op(0x29);
    if (values.length > 3) this.op(0x28);
    for (const v of values) this.int(v);
    this.op(values.length > 3 ? 0x74 : 0x84 + values.length);
    this.put();
  }

  memoize(): void {
    this.put();
  }
}

const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];

function stateDictPickle(tensors: ReadonlyMap<string, FloatTensor>): Uint8Array {
  const p = new PickleOut();
  p.op(0x80, 2);
  p.global('collections', 'OrderedDict');
  p.op(0x29, 0x52);
  p.memoize();
  p.op(0x28);
  let key = 0;
  for (const [name, t] of tensors) {
    p.string(name);
    p.global('torch._utils', '_rebuild_tensor_v2');
    p.op(0x28); // the arguments
    p.op(0x28); // the persistent id
    p.string('storage');
    p.global('torch', 'FloatStorage');
    p.string(String(key++));
    p.string('cpu');
    p.int(t.data.length);
    p.op(0x74);
    p.memoize();
    p.op(0x51); // BINPERSID
    p.int(0);
    p.ints(t.shape);
    const stride = t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    p.ints(stride);
    p.op(0x89); // requires_grad False
    p.global('collections', 'OrderedDict');
    p.op(0x29, 0x52);
    p.memoize();
    p.op(0x74);
    p.memoize();
    p.op(0x52);
    p.memoize();
  }
  p.op(0x75, 0x2e); // SETITEMS, STOP
  return Uint8Array.from(p.bytes);
}

let CRC_TABLE: Int32Array | undefined;
function crc32(data: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** A zip of stored entries, each entry's data aligned to 64 bytes (torch's padding field "FB"). */
function storedZip(entries: readonly { readonly name: string; readonly data: Uint8Array }[]): Buffer {
  const parts: Uint8Array[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const pad = (64 - ((offset + 30 + name.length + 4) % 64)) % 64;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4246, 0);
    extra.writeUInt16LE(pad, 2);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(e.data.length, 20);
    cd.writeUInt32LE(e.data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, extra, e.data);
    central.push(cd, name);
    offset += 30 + name.length + extra.length + e.data.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, end]);
}

/** The checkpoint's bytes (below 4 GiB: adapters and heads are far smaller). */
export function pytorchCheckpointBytes(tensors: ReadonlyMap<string, FloatTensor>): Buffer {
  const storages = [...tensors.values()].map((t) => {
    const bytes = new Uint8Array(t.data.length * 4);
    const view = new DataView(bytes.buffer);
    t.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return bytes;
  });
  const total = storages.reduce((n, s) => n + s.length, 0);
  if (total >= 2 ** 32 - 2 ** 20) throw new RangeError('a PyTorch checkpoint of 4 GiB or more needs zip64, which this writer does not write');
  return storedZip([
    { name: 'archive/data.pkl', data: stateDictPickle(tensors) },
    { name: 'archive/byteorder', data: Buffer.from('little') },
    ...storages.map((data, i) => ({ name: `archive/data/${i}`, data })),
    { name: 'archive/version', data: Buffer.from('3\n') },
  ]);
}

export function writePytorchCheckpoint(file: string, tensors: ReadonlyMap<string, FloatTensor>): void {
  writeAtomic(file, pytorchCheckpointBytes(tensors));
}
