/**
 * PyTorch checkpoints (`torch.save` since 1.6: `pytorch_model.bin`, AdapterHub's
 * `pytorch_adapter.bin` and `pytorch_model_head.bin`) read without Python and without
 * executing anything.
 *
 * The file is a zip: `<archive>/data.pkl` is a pickle of the state dict, and each tensor's
 * storage is the entry `<archive>/data/<key>`, named by a persistent id. The pickle is read
 * by a restricted unpickler: it builds plain values (numbers, strings, tuples, lists, dicts)
 * and accepts exactly the globals a state dict needs — `collections.OrderedDict`,
 * `torch._utils._rebuild_tensor_v2` / `_rebuild_parameter` and the typed storage classes —
 * and refuses any other global by name (`posix.system`, `builtins.eval`, …) before anything
 * is called. Nothing in the file is ever run; a "call" of an accepted global only builds a
 * description of a tensor. Sizes, offsets and strides are checked against the storages and
 * the file before a tensor's bytes are read or allocated.
 *
 * The result has the interface of a safetensors file (engine/checkpoint/safetensors.ts), so
 * model and adapter loading read either.
 */
import { constants as bufferConstants } from 'node:buffer';
import type { FloatTensor, HostTensor, IntTensor } from '../tensor';
import { CheckpointError } from './errors';
import { widenHalf, type SafetensorsDtype, type SafetensorsFile, type TensorInfo } from './safetensors';
import { openZip, type ZipArchive, type ZipEntry } from './zip';

/** The storage classes of `torch.save`'s persistent ids, with their dtypes. */
const STORAGES: Readonly<Record<string, { dtype: SafetensorsDtype; width: number }>> = {
  FloatStorage: { dtype: 'F32', width: 4 },
  HalfStorage: { dtype: 'F16', width: 2 },
  BFloat16Storage: { dtype: 'BF16', width: 2 },
  DoubleStorage: { dtype: 'F64', width: 8 },
  LongStorage: { dtype: 'I64', width: 8 },
  IntStorage: { dtype: 'I32', width: 4 },
  ShortStorage: { dtype: 'I16', width: 2 },
  CharStorage: { dtype: 'I8', width: 1 },
  ByteStorage: { dtype: 'U8', width: 1 },
  BoolStorage: { dtype: 'BOOL', width: 1 },
};

/** The functions a state dict's pickle calls. */
const FUNCTIONS = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter']);

/** data.pkl of a state dict is small (about 100 bytes per tensor); a larger one is not a state dict. */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// --- the pickle's values -----------------------------------------------------------------

class Global {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
class Tuple {
  constructor(readonly items: readonly Value[]) {}
}
class Dict {
  readonly entries = new Map<string | number, Value>();
}
class Storage {
  constructor(
    readonly key: string,
    readonly dtype: SafetensorsDtype,
    readonly width: number,
    readonly numel: number,
  ) {}
}
class TensorRef {
  constructor(
    readonly storage: Storage,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}
type Value = null | boolean | number | bigint | string | Uint8Array | Value[] | Tuple | Dict | Global | Storage | TensorRef | Mark;
class Mark {}
const MARK = new Mark();

const OPCODE_NAMES: Readonly<Record<number, string>> = { 0x81: 'NEWOBJ', 0x92: 'NEWOBJ_EX', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x69: 'INST', 0x6f: 'OBJ', 0x50: 'PERSID', 0x49: 'INT', 0x4c: 'LONG', 0x46: 'FLOAT', 0x53: 'STRING', 0x56: 'UNICODE', 0x67: 'GET', 0x70: 'PUT', 0x8b: 'LONG4', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x31: 'POP_MARK', 0x30: 'POP', 0x32: 'DUP' };

/**
 * Unpickles a state dict: name → tensor description. Throws `fail(message)` for anything a
 * state dict does not contain.
 */
function unpickle(data: Uint8Array, fail: (message: string) => never): Map<string, TensorRef> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  const stack: Value[] = [];
  const marks: number[] = [];
  const memo = new Map<number, Value>();
  const storages = new Map<string, Storage>();
  const need = (n: number, what: string): void => {
    if (pos + n > data.length) fail(`the pickle ends inside ${what} (at byte ${pos}, ${n} more bytes needed); the file is truncated or corrupt`);
  };
  const u8 = (): number => {
    need(1, 'an argument');
    return data[pos++]!;
  };
  const u16 = (): number => {
    need(2, 'an argument');
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4, 'an argument');
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8, 'an argument');
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`a length of ${v} bytes is impossible here`);
    return Number(v);
  };
  const raw = (n: number, what: string): Uint8Array => {
    need(n, what);
    const out = data.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const text = (n: number): string => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw(n, 'a string'));
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      return fail(`a string at byte ${pos - n} is not valid UTF-8`);
    }
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('the pickle ends inside a GLOBAL name');
    const s = Buffer.from(data.subarray(pos, end)).toString('latin1');
    pos = end + 1;
    return s;
  };
  const pop = (): Value => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) fail(`the pickle pops an empty stack at byte ${pos - 1}`);
    const v = stack.pop()!;
    if (v instanceof Mark) fail(`the pickle misuses a MARK at byte ${pos - 1}`);
    return v;
  };
  const top = (): Value => {
    if (stack.length === 0) fail(`the pickle reads an empty stack at byte ${pos - 1}`);
    return stack[stack.length - 1]!;
  };
  const popMark = (): Value[] => {
    const m = marks.pop();
    if (m === undefined) fail(`the pickle closes a MARK it never opened at byte ${pos - 1}`);
    return stack.splice(m!);
  };
  const global = (module: string, name: string): Global => {
    const g = new Global(module, name);
    const q = g.qualified;
    if (FUNCTIONS.has(q) || (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGES, name))) return g;
    return fail(`refuses the global ${q}: a state dict holds only tensors (torch._utils._rebuild_tensor_v2, torch storages) in dicts (collections.OrderedDict); this file would run other code when loaded`);
  };
  const int = (v: Value, what: string): number => {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    return fail(`${what} is ${describe(v)}, not an integer`);
  };
  const ints = (v: Value, what: string): number[] => {
    if (!(v instanceof Tuple)) return fail(`${what} is ${describe(v)}, not a tuple of integers`);
    return v.items.map((x, i) => {
      const n = int(x, `${what}[${i}]`);
      if (n < 0) fail(`${what}[${i}] is ${n}; it must not be negative`);
      return n;
    });
  };
  const setItem = (target: Value, key: Value, value: Value): void => {
    if (!(target instanceof Dict)) return fail(`the pickle sets an item on ${describe(target)}`);
    if (typeof key !== 'string' && typeof key !== 'number') return fail(`a dict key is ${describe(key)}; a state dict's keys are strings`);
    target.entries.set(key, value);
  };
  const call = (f: Value, args: Value): Value => {
    if (!(f instanceof Global) || !FUNCTIONS.has(f.qualified)) return fail(`the pickle calls ${describe(f)}; only torch._utils._rebuild_tensor_v2, _rebuild_parameter and collections.OrderedDict may be called`);
    if (!(args instanceof Tuple)) return fail(`${f.qualified} is called with ${describe(args)}, not a tuple`);
    const a = args.items;
    switch (f.qualified) {
      case 'collections.OrderedDict':
        if (a.length > 0) fail('collections.OrderedDict is called with arguments; a state dict builds it empty');
        return new Dict();
      case 'torch._utils._rebuild_parameter':
        if (!(a[0] instanceof TensorRef)) fail(`torch._utils._rebuild_parameter is called on ${describe(a[0] ?? null)}, not a tensor`);
        return a[0]!;
      default: {
        // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
        if (a.length < 4) fail(`torch._utils._rebuild_tensor_v2 is called with ${a.length} arguments; it takes at least 4`);
        const storage = a[0]!;
        if (!(storage instanceof Storage)) return fail(`torch._utils._rebuild_tensor_v2 is called on ${describe(storage)}, not a storage`);
        const offset = int(a[1]!, 'a tensor\'s storage offset');
        if (offset < 0) fail(`a tensor's storage offset is ${offset}`);
        const shape = ints(a[2]!, 'a tensor\'s size');
        const stride = ints(a[3]!, 'a tensor\'s stride');
        if (shape.length !== stride.length) fail(`a tensor's size ${fmt(shape)} and stride ${fmt(stride)} differ in length`);
        let count = 1;
        let last = offset;
        for (let i = 0; i < shape.length; i++) {
          count *= shape[i]!;
          if (!Number.isSafeInteger(count)) fail(`a tensor's size ${fmt(shape)} has too many elements`);
          if (shape[i]! > 0) last += (shape[i]! - 1) * stride[i]!;
          if (!Number.isSafeInteger(last)) fail(`a tensor's size ${fmt(shape)} and stride ${fmt(stride)} overflow`);
        }
        if (count > 0 && last >= storage.numel) fail(`a tensor of size ${fmt(shape)}, stride ${fmt(stride)} at offset ${offset} reaches element ${last} of storage ${storage.key}, which holds ${storage.numel}`);
        return new TensorRef(storage, offset, shape, stride);
      }
    }
  };

  need(2, 'the protocol header');
  if (data[0] !== 0x80) fail('data.pkl does not start with a pickle protocol header');
  for (;;) {
    need(1, 'an opcode');
    const op = data[pos++]!;
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('the pickle protocol is newer than 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: {
        // STOP
        const result = pop();
        return stateDict(result, fail);
      }
      case 0x28: // MARK
        marks.push(stack.length);
        stack.push(MARK);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Dict());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(new Tuple([]));
        break;
      case 0x74: {
        // TUPLE
        const items = popMark();
        items.shift(); // the mark itself
        stack.push(new Tuple(items));
        break;
      }
      case 0x85:
      case 0x86:
      case 0x87: {
        // TUPLE1..3
        const n = op - 0x84;
        const items: Value[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(new Tuple(items));
        break;
      }
      case 0x4a: // BININT
        need(4, 'an integer');
        stack.push(view.getInt32(pos, true));
        pos += 4;
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: {
        // LONG1: little-endian two's complement
        const n = u8();
        const b = raw(n, 'a long integer');
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x47: // BINFLOAT (big-endian)
        need(8, 'a float');
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(u64()));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(Buffer.from(raw(u8(), 'a string')).toString('latin1'));
        break;
      case 0x54: // BINSTRING
        stack.push(Buffer.from(raw(u32(), 'a string')).toString('latin1'));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(raw(u8(), 'bytes'));
        break;
      case 0x42: // BINBYTES
        stack.push(raw(u32(), 'bytes'));
        break;
      case 0x8e: // BINBYTES8
        stack.push(raw(u64(), 'bytes'));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68:
      case 0x6a: {
        // BINGET, LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`the pickle refers to memo entry ${i}, which it never stored`);
        stack.push(memo.get(i)!);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItem(top(), key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        items.shift();
        if (items.length % 2) fail('SETITEMS has an odd number of values');
        const target = top();
        for (let i = 0; i < items.length; i += 2) setItem(target, items[i]!, items[i + 1]!);
        break;
      }
      case 0x61: {
        // APPEND
        const value = pop();
        const list = top();
        if (!Array.isArray(list)) fail(`the pickle appends to ${describe(list)}`);
        (list as Value[]).push(value);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        items.shift();
        const list = top();
        if (!Array.isArray(list)) fail(`the pickle appends to ${describe(list)}`);
        (list as Value[]).push(...items);
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL names a global with values that are not strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: a state dict's OrderedDict carries `_metadata` this way; it is not needed.
        const state = pop();
        const target = top();
        if (!(target instanceof Dict) || !(state instanceof Dict || state === null)) fail(`the pickle sets the state of ${describe(target)}; only a state dict's own metadata may be set`);
        break;
      }
      case 0x51: {
        // BINPERSID: ('storage', storage class, key, location, numel)
        const pid = pop();
        if (!(pid instanceof Tuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') fail(`a persistent id is ${describe(pid)}, not a storage reference`);
        const [, cls, key, , numel] = (pid as Tuple).items;
        if (!(cls instanceof Global) || cls.module !== 'torch' || !STORAGES[cls.name]) fail(`a storage's class is ${describe(cls!)}`);
        if (typeof key !== 'string' || !/^[A-Za-z0-9_]+$/.test(key)) fail(`a storage's key is ${describe(key!)}`);
        const n = int(numel!, `storage ${String(key)}'s element count`);
        if (n < 0) fail(`storage ${String(key)} has ${n} elements`);
        const known = storages.get(key as string);
        const kind = STORAGES[(cls as Global).name]!;
        if (known && (known.numel !== n || known.dtype !== kind.dtype)) fail(`storage ${String(key)} is described twice, differently`);
        const s = known ?? new Storage(key as string, kind.dtype, kind.width, n);
        storages.set(s.key, s);
        stack.push(s);
        break;
      }
      default:
        fail(`the pickle uses opcode ${OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`} at byte ${pos - 1}, which a state dict does not need`);
    }
  }
}

function stateDict(result: Value, fail: (message: string) => never): Map<string, TensorRef> {
  if (!(result instanceof Dict)) return fail(`the pickle holds ${describe(result)}, not a state dict (a mapping of names to tensors)`);
  const out = new Map<string, TensorRef>();
  for (const [key, value] of result.entries) {
    if (typeof key !== 'string') fail(`the state dict has a key ${describe(key)}; names are strings`);
    if (!(value instanceof TensorRef)) fail(`the state dict's entry "${String(key)}" is ${describe(value)}, not a tensor`);
    out.set(key as string, value as TensorRef);
  }
  return out;
}

function describe(v: Value): string {
  if (v === null) return 'None';
  if (v instanceof Global) return `the global ${v.qualified}`;
  if (v instanceof Tuple) return `a tuple of ${v.items.length}`;
  if (v instanceof Dict) return 'a dict';
  if (v instanceof Storage) return `storage ${v.key}`;
  if (v instanceof TensorRef) return 'a tensor';
  if (v instanceof Mark) return 'a MARK';
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return String(v);
}

const fmt = (xs: readonly number[]): string => `[${xs.join(', ')}]`;

// --- the archive ---------------------------------------------------------------------------

/** Whether the first bytes are a zip's (PyTorch's format since 1.6). */
export function isZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/** Opens a PyTorch checkpoint: the state dict is parsed at once, tensors are read on demand. */
export function openPytorchCheckpoint(file: string): SafetensorsFile {
  const zip = openZip(file);
  try {
    return parseCheckpoint(zip);
  } catch (e) {
    zip.close();
    throw e;
  }
}

function parseCheckpoint(zip: ZipArchive): SafetensorsFile {
  const file = zip.file;
  const fail = (message: string): never => {
    throw new CheckpointError(file, message);
  };
  const pkl = zip.entries.find((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (!pkl) fail('has no <archive>/data.pkl: it is a zip file but not a PyTorch checkpoint');
  const prefix = pkl!.name.slice(0, -'data.pkl'.length);
  const byteorder = zip.entry(`${prefix}byteorder`);
  if (byteorder && zip.read(byteorder, 16).toString('latin1').trim() !== 'little') fail('is a big-endian checkpoint; only little-endian ones are read');
  const refs = unpickle(zip.read(pkl!, MAX_PICKLE_BYTES), (m) => fail(`data.pkl: ${m}`));

  // Each storage's entry holds at least numel × width bytes.
  const storageEntries = new Map<string, { entry: ZipEntry; start: number }>();
  const storageOf = (ref: TensorRef): { entry: ZipEntry; start: number } => {
    const s = ref.storage;
    let known = storageEntries.get(s.key);
    if (!known) {
      const entry = zip.entry(`${prefix}data/${s.key}`);
      if (!entry) return fail(`storage ${s.key} (${prefix}data/${s.key}) is missing from the archive`);
      if (entry.size < s.numel * s.width) fail(`storage ${s.key} should hold ${s.numel} ${s.dtype} elements (${s.numel * s.width} bytes) but its entry has ${entry.size} bytes; the file's sizes lie or it is truncated`);
      known = { entry, start: entry.method === 0 ? zip.dataOffset(entry) : -1 };
      storageEntries.set(s.key, known);
    }
    return known;
  };

  const tensors: TensorInfo[] = [];
  const byName = new Map<string, { info: TensorInfo; ref: TensorRef }>();
  for (const [name, ref] of refs) {
    const { start } = storageOf(ref);
    const begin = start + ref.offset * ref.storage.width;
    const count = ref.shape.reduce((a, b) => a * b, 1);
    const info: TensorInfo = { name, dtype: ref.storage.dtype, shape: ref.shape, dataOffsets: [begin, begin + count * ref.storage.width] };
    tensors.push(info);
    byName.set(name, { info, ref });
  }

  const read = (name: string): HostTensor => {
    const t = byName.get(name);
    if (!t) return fail(`no tensor named ${JSON.stringify(name)}`);
    return decode(zip, t.ref, storageOf(t.ref), name, fail);
  };
  return {
    file,
    metadata: undefined,
    tensors,
    info: (name) => byName.get(name)?.info,
    read,
    readFloat(name) {
      const info = byName.get(name)?.info;
      if (info && info.dtype !== 'F32' && info.dtype !== 'F16' && info.dtype !== 'BF16') fail(`tensor ${JSON.stringify(name)} has dtype ${info.dtype}; a floating-point tensor (F32, F16 or BF16) is needed`);
      return read(name) as FloatTensor;
    },
    readAll(filter) {
      const out = new Map<string, HostTensor>();
      for (const t of tensors) if (!filter || filter(t)) out.set(t.name, read(t.name));
      return out;
    },
    close: () => zip.close(),
  };
}

function decode(zip: ZipArchive, ref: TensorRef, where: { entry: ZipEntry; start: number }, name: string, fail: (m: string) => never): HostTensor {
  const { storage, shape, stride, offset } = ref;
  const { dtype, width } = storage;
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16' && dtype !== 'I64') fail(`tensor ${JSON.stringify(name)} has dtype ${dtype}, which the engine does not read (it reads F32, F16, BF16, I64)`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (count * Math.max(4, width) > bufferConstants.MAX_LENGTH) fail(`tensor ${JSON.stringify(name)} (${count} elements) is too large to hold in memory`);
  // Row-major strides: the tensor is one run of the storage, read as it lies.
  let contiguous = true;
  for (let i = shape.length - 1, expected = 1; i >= 0; i--) {
    if (shape[i]! > 1 && stride[i] !== expected) contiguous = false;
    expected *= shape[i]!;
  }
  let bytes: Uint8Array;
  if (contiguous) {
    bytes = new Uint8Array(count * width);
    if (where.start >= 0) zip.readAt(where.start + offset * width, bytes);
    else bytes.set(zip.read(where.entry, bufferConstants.MAX_LENGTH).subarray(offset * width, (offset + count) * width));
  } else {
    // A view: the span it covers, then gathered element by element.
    let last = offset;
    for (let i = 0; i < shape.length; i++) if (shape[i]! > 0) last += (shape[i]! - 1) * stride[i]!;
    const span = new Uint8Array((last - offset + 1) * width);
    if (count > 0) {
      if (where.start >= 0) zip.readAt(where.start + offset * width, span);
      else span.set(zip.read(where.entry, bufferConstants.MAX_LENGTH).subarray(offset * width, (last + 1) * width));
    }
    bytes = new Uint8Array(count * width);
    const index = new Array<number>(shape.length).fill(0);
    for (let k = 0; k < count; k++) {
      let at = 0;
      for (let i = 0; i < shape.length; i++) at += index[i]! * stride[i]!;
      bytes.set(span.subarray(at * width, (at + 1) * width), k * width);
      for (let i = shape.length - 1; i >= 0; i--) {
        if (++index[i]! < shape[i]!) break;
        index[i] = 0;
      }
    }
  }
  const swapped = (array: Uint8Array, w: 2 | 4 | 8): Uint8Array => {
    if (LITTLE_ENDIAN) return array;
    const b = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
    if (w === 2) b.swap16();
    else if (w === 4) b.swap32();
    else b.swap64();
    return array;
  };
  const copy = (): ArrayBuffer => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  switch (dtype) {
    case 'F32':
      swapped(bytes, 4);
      return { dtype: 'float32', shape: [...shape], data: new Float32Array(copy()) } satisfies FloatTensor;
    case 'I64':
      swapped(bytes, 8);
      return { dtype: 'int64', shape: [...shape], data: new BigInt64Array(copy()) } satisfies IntTensor;
    default:
      swapped(bytes, 2);
      return { dtype: 'float32', shape: [...shape], data: widenHalf(new Uint16Array(copy()), dtype === 'BF16') } satisfies FloatTensor;
  }
}
