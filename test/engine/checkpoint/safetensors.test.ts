/**
 * The safetensors reader and writer: a file built byte by byte from the specification,
 * round trips, exact F16/BF16 widening, lazy reads, every malformed header field, and the
 * atomic writer.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  CheckpointError,
  MAX_HEADER_BYTES,
  openSafetensors,
  parseSafetensors,
  readSafetensors,
  writeSafetensors,
} from '../../../engine/checkpoint/safetensors';
import { floatTensor, type FloatTensor, type IntTensor } from '../../../engine/tensor';
import { f32Bits, f32Bytes, f32Tensor, encodeTensors, i64Bytes, rawSafetensors, removeTempFolders, rng, tempFolder, u16Bytes, checkpointError } from './fixture';

after(removeTempFolders);


/** The same bytes must be rejected from memory and from a file, with the message matching. */
function assertRejected(bytes: Uint8Array, pattern: RegExp): void {
  const fromBuffer = checkpointError(() => parseSafetensors(bytes, 'mem.safetensors'));
  assert.equal(fromBuffer.file, 'mem.safetensors');
  assert.ok(fromBuffer.message.startsWith('mem.safetensors: '), fromBuffer.message);
  assert.match(fromBuffer.message, pattern);
  const file = path.join(tempFolder(), 'bad.safetensors');
  fs.writeFileSync(file, bytes);
  const fromFile = checkpointError(() => openSafetensors(file));
  assert.equal(fromFile.file, file);
  assert.match(fromFile.message, pattern);
}

/**
 * A file written by hand from the specification: header length 320 (0x140) as a u64 LE, a
 * 313-byte JSON header padded with 7 spaces, then 44 data bytes.
 */
const HAND_HEADER =
  '{"__metadata__":{"format":"pt"},' +
  '"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},' +
  '"h":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},' +
  '"b":{"dtype":"BF16","shape":[2],"data_offsets":[22,26]},' +
  '"ids":{"dtype":"I64","shape":[2],"data_offsets":[26,42]},' +
  '"mask":{"dtype":"U8","shape":[2],"data_offsets":[42,44]}}' +
  '       ';
const HAND_FILE = Buffer.concat([
  Buffer.from([0x40, 0x01, 0, 0, 0, 0, 0, 0]),
  Buffer.from(HAND_HEADER, 'utf8'),
  Buffer.from([
    // w: 1.0, -2.0, 0.5, 3.25 as float32 LE
    0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x50, 0x40,
    // h: F16 0x3C00 = 1, 0xC000 = -2, 0x3555 = 0.333251953125
    0x00, 0x3c, 0x00, 0xc0, 0x55, 0x35,
    // b: BF16 0x3F80 = 1, 0xC040 = -3
    0x80, 0x3f, 0x40, 0xc0,
    // ids: I64 7, -1
    0x07, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    // mask: U8 1, 0
    0x01, 0x00,
  ]),
]);

describe('safetensors: interoperability with the specification', () => {
  test('the hand-built fixture is what it claims to be (header length 320, 372 bytes)', () => {
    assert.equal(Buffer.byteLength(HAND_HEADER), 320);
    assert.equal(HAND_FILE.length, 8 + 320 + 44);
  });

  test('a file built byte by byte reads back: F32, F16, BF16, I64 values, a U8 tensor listed, metadata', () => {
    const f = parseSafetensors(HAND_FILE, 'hand.safetensors');
    assert.deepEqual(f.metadata, { format: 'pt' });
    assert.deepEqual(
      f.tensors.map((t) => [t.name, t.dtype, t.shape, t.dataOffsets]),
      [
        ['w', 'F32', [2, 2], [0, 16]],
        ['h', 'F16', [3], [16, 22]],
        ['b', 'BF16', [2], [22, 26]],
        ['ids', 'I64', [2], [26, 42]],
        ['mask', 'U8', [2], [42, 44]],
      ],
    );
    const w = f.readFloat('w');
    assert.deepEqual(w.shape, [2, 2]);
    assert.deepEqual([...w.data], [1, -2, 0.5, 3.25]);
    assert.deepEqual([...f.readFloat('h').data], [1, -2, 0.333251953125]);
    assert.deepEqual([...f.readFloat('b').data], [1, -3]);
    const ids = f.read('ids') as IntTensor;
    assert.equal(ids.dtype, 'int64');
    assert.ok(ids.data instanceof BigInt64Array);
    assert.deepEqual([...ids.data], [7n, -1n]);
    assert.match(checkpointError(() => f.read('mask')).message, /tensor "mask" has dtype U8, which the engine does not read/);
  });

  test('the same fixture reads from a file on disk', () => {
    const file = path.join(tempFolder(), 'hand.safetensors');
    fs.writeFileSync(file, HAND_FILE);
    const f = openSafetensors(file);
    try {
      assert.equal(f.file, file);
      assert.deepEqual([...f.readFloat('w').data], [1, -2, 0.5, 3.25]);
      assert.deepEqual([...(f.read('ids') as IntTensor).data], [7n, -1n]);
    } finally {
      f.close();
    }
  });

  test('the writer produces exactly the bytes the specification prescribes for a small tensor', () => {
    const file = path.join(tempFolder(), 'one.safetensors');
    writeSafetensors(file, new Map([['a', floatTensor([2], [1, -2])]]));
    // 54 bytes of JSON + 2 spaces of padding = 56 (0x38), then 1.0 and -2.0 as float32 LE.
    const expected = Buffer.concat([
      Buffer.from([0x38, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  ', 'utf8'),
      Buffer.from([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]),
    ]);
    assert.deepEqual(fs.readFileSync(file), expected);
  });

  test('a header already a multiple of 8 bytes gets no padding (56 bytes for the name "abc")', () => {
    const file = path.join(tempFolder(), 'aligned.safetensors');
    writeSafetensors(file, new Map([['abc', floatTensor([2], [1, -2])]]));
    const expected = Buffer.concat([
      Buffer.from([0x38, 0, 0, 0, 0, 0, 0, 0]),
      Buffer.from('{"abc":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 'utf8'),
      Buffer.from([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]),
    ]);
    assert.deepEqual(fs.readFileSync(file), expected);
  });

  test("the writer's output parses by the specification alone (no reader): 8-byte aligned header padded with spaces, contiguous offsets", () => {
    const file = path.join(tempFolder(), 'spec.safetensors');
    const tensors = new Map<string, FloatTensor>([
      ['encoder.layer.0.attention.self.query.weight', floatTensor([3, 2], [1, 2, 3, 4, 5, 6])],
      ['scalar', floatTensor([], [7.5])],
      ['empty', floatTensor([0, 4])],
      ['bias', floatTensor([3], [-1, 0.25, 1e-3])],
    ]);
    writeSafetensors(file, tensors, { format: 'pt', note: 'ünïcode' });
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0, 'data starts 8-byte aligned');
    const headerText = bytes.subarray(8, 8 + n).toString('utf8');
    assert.match(headerText, /^\{.*\} *$/s, 'JSON followed only by space padding');
    const header = JSON.parse(headerText) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    assert.deepEqual(header.__metadata__, { format: 'pt', note: 'ünïcode' });
    let expectedBegin = 0;
    for (const [name, t] of tensors) {
      const entry = header[name]!;
      assert.equal(entry.dtype, 'F32');
      assert.deepEqual(entry.shape, [...t.shape]);
      assert.deepEqual(entry.data_offsets, [expectedBegin, expectedBegin + 4 * t.data.length]);
      const view = new DataView(bytes.buffer, bytes.byteOffset + 8 + n + expectedBegin, 4 * t.data.length);
      for (let i = 0; i < t.data.length; i++) assert.equal(view.getFloat32(4 * i, true), t.data[i]);
      expectedBegin += 4 * t.data.length;
    }
    assert.equal(bytes.length, 8 + n + expectedBegin, 'no trailing bytes');
  });
});

describe('safetensors: round trip writer → reader', () => {
  const random = rng(7);
  const special = [Number.NaN, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-45, 3.4e38, -1.5];
  const shapes: number[][] = [[], [0], [3], [2, 3], [2, 0, 4], [1, 1, 1, 1], [17, 33]];

  test(`shapes ${shapes.map((s) => `[${s.join(',')}]`).join(' ')} keep their shapes and exact bits, with metadata`, () => {
    const tensors = new Map<string, FloatTensor>();
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const values = Array.from({ length: n }, (_, i) => (i < special.length ? special[i]! : (random() - 0.5) * 100));
      tensors.set(`t[${shape.join(',')}]`, floatTensor(shape, values));
    }
    tensors.set('naïve/名前 "quoted"', floatTensor([2], [1, 2]));
    const file = path.join(tempFolder(), 'round.safetensors');
    writeSafetensors(file, tensors, { format: 'pt', epoch: '3' });
    const f = openSafetensors(file);
    try {
      assert.deepEqual(f.metadata, { format: 'pt', epoch: '3' });
      assert.deepEqual(f.tensors.map((t) => t.name), [...tensors.keys()]);
      for (const [name, t] of tensors) {
        const back = f.readFloat(name);
        assert.equal(back.dtype, 'float32');
        assert.deepEqual(back.shape, [...t.shape], name);
        assert.deepEqual([...back.data].map(f32Bits), [...t.data].map(f32Bits), name);
      }
    } finally {
      f.close();
    }
  });

  test('a scalar reads back as shape [] with one value, an empty tensor as no values', () => {
    const file = path.join(tempFolder(), 'scalar.safetensors');
    writeSafetensors(file, new Map([['s', floatTensor([], [42])], ['e', floatTensor([0])]]));
    const all = readSafetensors(file);
    assert.deepEqual(all.get('s')!.shape, []);
    assert.deepEqual([...(all.get('s') as FloatTensor).data], [42]);
    assert.deepEqual(all.get('e')!.shape, [0]);
    assert.equal(all.get('e')!.data.length, 0);
  });

  test('a file with no tensors and no metadata is the header "{}" padded to 8 bytes and reads back empty', () => {
    const file = path.join(tempFolder(), 'none.safetensors');
    writeSafetensors(file, new Map());
    assert.deepEqual(fs.readFileSync(file), Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, ...Buffer.from('{}      ')]));
    assert.equal(readSafetensors(file).size, 0);
  });

  test('writing over an existing file replaces it and leaves no temporary file', () => {
    const dir = tempFolder();
    const file = path.join(dir, 'model.safetensors');
    writeSafetensors(file, new Map([['a', floatTensor([1], [1])]]));
    writeSafetensors(file, new Map([['b', floatTensor([2], [2, 3])]]));
    assert.deepEqual([...readSafetensors(file).keys()], ['b']);
    assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  });
});

describe('safetensors: F16 and BF16 widen to float32 exactly', () => {
  function decode(dtype: 'F16' | 'BF16', bits: number[]): Float32Array {
    const bytes = encodeTensors(new Map([['x', { dtype, shape: [bits.length], bytes: u16Bytes(bits) }]]));
    return parseSafetensors(bytes).readFloat('x').data;
  }

  test('F16 hand-computed values: 1, -2, 65504, 2^-24, largest subnormal, smallest normal, ±0, ±inf, NaN', () => {
    const cases: [number, number][] = [
      [0x3c00, 1],
      [0xc000, -2],
      [0x7bff, 65504],
      [0x0001, 2 ** -24],
      [0x03ff, 1023 * 2 ** -24],
      [0x0400, 2 ** -14],
      [0x8001, -(2 ** -24)],
      [0x3555, 0.333251953125],
      [0x0000, 0],
      [0x8000, -0],
      [0x7c00, Number.POSITIVE_INFINITY],
      [0xfc00, Number.NEGATIVE_INFINITY],
    ];
    const out = decode('F16', cases.map(([h]) => h));
    cases.forEach(([h, v], i) => assert.ok(Object.is(out[i], v), `0x${h.toString(16)} → ${out[i]}, expected ${v}`));
    const nan = decode('F16', [0x7e00, 0xfe01]);
    assert.ok(Number.isNaN(nan[0]) && Number.isNaN(nan[1]));
    // Quiet bit and payload move up 13 bits; the sign is kept.
    assert.equal(f32Bits(nan[0]!), 0x7fc00000);
    assert.equal(new Uint32Array(nan.buffer)[1], 0xffc02000);
  });

  test('all 65536 F16 bit patterns agree with sign·2^(e-15)·(1 + m/1024) (subnormals m·2^-24)', () => {
    const all = Array.from({ length: 65536 }, (_, h) => h);
    const out = decode('F16', all);
    const bits = new Uint32Array(out.buffer);
    for (const h of all) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const expected = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? Number.NaN : sign * Number.POSITIVE_INFINITY) : sign * 2 ** (e - 15) * (1 + m / 1024);
      if (Number.isNaN(expected)) {
        if (bits[h] !== (((h & 0x8000) << 16) | 0x7f800000 | (m << 13)) >>> 0) assert.fail(`0x${h.toString(16)}: NaN bits 0x${bits[h]!.toString(16)}`);
      } else if (!Object.is(out[h], expected)) assert.fail(`0x${h.toString(16)} → ${out[h]}, expected ${expected}`);
    }
  });

  test('BF16 hand-computed values: 1, -3, 0.5, smallest subnormal 2^-133, ±inf, -0, NaN', () => {
    const cases: [number, number][] = [
      [0x3f80, 1],
      [0xc040, -3],
      [0x3f00, 0.5],
      [0x0001, 2 ** -133],
      [0x7f80, Number.POSITIVE_INFINITY],
      [0xff80, Number.NEGATIVE_INFINITY],
      [0x8000, -0],
    ];
    const out = decode('BF16', cases.map(([h]) => h));
    cases.forEach(([h, v], i) => assert.ok(Object.is(out[i], v), `0x${h.toString(16)} → ${out[i]}, expected ${v}`));
    assert.ok(Number.isNaN(decode('BF16', [0x7fc0])[0]));
  });
});

describe('safetensors: lazy and partial reads', () => {
  test('listing shows every dtype; only the requested tensors are read; an unsupported dtype fails only when requested', () => {
    const file = path.join(tempFolder(), 'mixed.safetensors');
    fs.writeFileSync(
      file,
      encodeTensors(
        new Map([
          ['embeddings.position_ids', { dtype: 'I64', shape: [1, 3], bytes: i64Bytes([0n, -5n, 2n ** 62n]) }],
          ['flags', { dtype: 'BOOL', shape: [2], bytes: new Uint8Array([1, 0]) }],
          ['double', { dtype: 'F64', shape: [1], bytes: new Uint8Array(8) }],
          ['w', f32Tensor([2], [0.5, -0.5])],
        ]),
      ),
    );
    const f = openSafetensors(file);
    try {
      assert.deepEqual(f.tensors.map((t) => `${t.name}:${t.dtype}`), ['embeddings.position_ids:I64', 'flags:BOOL', 'double:F64', 'w:F32']);
      assert.equal(f.info('double')?.dtype, 'F64');
      assert.equal(f.info('absent'), undefined);
      const floats = f.readAll((t) => t.dtype === 'F32');
      assert.deepEqual([...floats.keys()], ['w']);
      const ids = f.read('embeddings.position_ids') as IntTensor;
      assert.deepEqual(ids.shape, [1, 3]);
      assert.deepEqual([...ids.data], [0n, -5n, 2n ** 62n]);
      assert.match(checkpointError(() => f.read('double')).message, /tensor "double" has dtype F64, which the engine does not read \(it reads F32, F16, BF16, I64\)/);
      assert.match(checkpointError(() => f.readAll()).message, /tensor "flags" has dtype BOOL/);
      assert.match(checkpointError(() => f.readFloat('embeddings.position_ids')).message, /has dtype I64; a floating-point tensor/);
      assert.match(checkpointError(() => f.read('nope')).message, /no tensor named "nope"/);
    } finally {
      f.close();
    }
    assert.match(checkpointError(() => readSafetensors(file, (t) => t.name === 'w' || t.name === 'flags')).message, /"flags" has dtype BOOL/);
    assert.deepEqual([...readSafetensors(file, (t) => t.name === 'w').keys()], ['w']);
  });

  test('reads after close() fail with a CheckpointError', () => {
    const file = path.join(tempFolder(), 'closed.safetensors');
    writeSafetensors(file, new Map([['a', floatTensor([1], [1])]]));
    const f = openSafetensors(file);
    f.close();
    f.close(); // idempotent
    assert.match(checkpointError(() => f.read('a')).message, /read after the file was closed/);
  });

  test('a 3 GB (sparse) file opens by reading only its header, and a small tensor at its end reads back', () => {
    const big = 3_000_000_000;
    const header = rawSafetensors({
      big: { dtype: 'F32', shape: [big / 4], data_offsets: [0, big] },
      small: { dtype: 'F32', shape: [2], data_offsets: [big, big + 8] },
    });
    const file = path.join(tempFolder(), 'big.safetensors');
    const fd = fs.openSync(file, 'w');
    try {
      fs.writeSync(fd, header, 0, header.length, 0);
      fs.writeSync(fd, f32Bytes([1.25, -8]), 0, 8, header.length + big);
    } finally {
      fs.closeSync(fd);
    }
    const f = openSafetensors(file);
    try {
      assert.deepEqual(f.tensors.map((t) => t.shape), [[big / 4], [2]]);
      assert.deepEqual([...f.readFloat('small').data], [1.25, -8]);
    } finally {
      f.close();
    }
  });

  test('a buffer that is an unaligned view into a larger one reads correctly', () => {
    const padded = Buffer.concat([Buffer.from([9, 9, 9]), encodeTensors(new Map([['a', f32Tensor([3], [1, 2, 3])]]))]);
    assert.deepEqual([...parseSafetensors(padded.subarray(3)).readFloat('a').data], [1, 2, 3]);
  });

  test('a file that shrinks after it was opened gives a CheckpointError when read', () => {
    const file = path.join(tempFolder(), 'shrink.safetensors');
    writeSafetensors(file, new Map([['a', floatTensor([4], [1, 2, 3, 4])]]));
    const f = openSafetensors(file);
    try {
      fs.truncateSync(file, fs.statSync(file).size - 4);
      assert.match(checkpointError(() => f.read('a')).message, /the file ended at byte \d+ .*truncated after it was opened/);
    } finally {
      f.close();
    }
  });
});

describe('safetensors: malformed files give a CheckpointError naming the field', () => {
  const valid = (entry: Record<string, unknown>, data: number[] = Array(8).fill(0)) => rawSafetensors({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8], ...entry } }, data);
  const lengthOnly = (n: bigint, rest: number[] = []) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    return Buffer.concat([b, Buffer.from(rest)]);
  };

  const cases: [string, Uint8Array, RegExp][] = [
    ['an empty file', Buffer.alloc(0), /the file is 0 bytes long; a safetensors file starts with an 8-byte header length/],
    ['a 5-byte file', Buffer.from([2, 0, 0, 0, 0]), /the file is 5 bytes long/],
    ['header length 0', lengthOnly(0n, [0x7b, 0x7d]), /header length 0 is too small/],
    ['header length 1', lengthOnly(1n, [0x7b, 0x7d]), /header length 1 is too small/],
    ['header length 2^40', lengthOnly(2n ** 40n, [0x7b, 0x7d]), /header length 1099511627776 exceeds the limit of 100000000 bytes/],
    ['header length 2^64 - 1', lengthOnly(2n ** 64n - 1n, [0x7b, 0x7d]), /header length 18446744073709551615 exceeds the limit/],
    ['header length just over the cap', lengthOnly(BigInt(MAX_HEADER_BYTES) + 1n), /header length 100000001 exceeds the limit/],
    ['header length larger than the file', rawSafetensors('{}', [], 100n), /header length 100 runs past the end of the file \(10 bytes\)/],
    ['header that is not JSON', rawSafetensors('{"x": {"dtype": '), /header is not valid JSON/],
    ['header that is not UTF-8', rawSafetensors(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), /header is not valid UTF-8/],
    ['header that is a JSON array', rawSafetensors('[]'), /header must be a JSON object, found \[\]/],
    ['header that is JSON null', rawSafetensors('null'), /header must be a JSON object, found null/],
    ['entry that is a number', rawSafetensors({ x: 5 }), /tensor "x": expected an object with dtype, shape and data_offsets, found 5/],
    ['entry without dtype', valid({ dtype: undefined }), /tensor "x": dtype must be a string, found nothing/],
    ['dtype that is a number', valid({ dtype: 32 }), /tensor "x": dtype must be a string, found 32/],
    ['unknown dtype', valid({ dtype: 'F17' }), /tensor "x": unknown dtype "F17" \(known: BOOL, /],
    ['dtype in lower case', valid({ dtype: 'f32' }), /tensor "x": unknown dtype "f32"/],
    ['shape that is not an array', valid({ shape: 2 }), /tensor "x": shape must be an array of non-negative integers, found 2/],
    ['shape null', valid({ shape: null }), /tensor "x": shape must be an array/],
    ['negative dimension', valid({ shape: [-2] }), /tensor "x": shape\[0\] is -2; dimensions must be non-negative integers/],
    ['fractional dimension', valid({ shape: [1, 2.5] }), /tensor "x": shape\[1\] is 2.5; dimensions must be non-negative integers/],
    ['dimension given as a string', valid({ shape: ['2'] }), /tensor "x": shape\[0\] is "2"/],
    ['dimension 2^53 (not a safe integer)', valid({ shape: [2 ** 53] }), /tensor "x": shape\[0\] is 9007199254740992/],
    ['shape whose product overflows', valid({ shape: [2 ** 30, 2 ** 30, 2 ** 30] }), /tensor "x": shape \[1073741824, 1073741824, 1073741824\] has too many elements/],
    ['shape whose byte size overflows', valid({ dtype: 'F64', shape: [2 ** 51] }), /tensor "x": shape \[2251799813685248\] of F64 is too large/],
    ['sub-byte dtype with an odd bit count', valid({ dtype: 'F4', shape: [3] }), /tensor "x": shape \[3\] of F4 is 12 bits, not a whole number of bytes/],
    ['entry without data_offsets', valid({ data_offsets: undefined }), /tensor "x": data_offsets must be \[begin, end\], found nothing/],
    ['data_offsets with one number', valid({ data_offsets: [0] }), /tensor "x": data_offsets must be \[begin, end\], found \[0\]/],
    ['data_offsets with three numbers', valid({ data_offsets: [0, 8, 9] }), /tensor "x": data_offsets must be \[begin, end\]/],
    ['negative offset', valid({ data_offsets: [-8, 0] }), /tensor "x": data_offsets\[0\] is -8; offsets must be non-negative integers/],
    ['fractional offset', valid({ data_offsets: [0, 7.5] }), /tensor "x": data_offsets\[1\] is 7.5/],
    ['offsets given as strings', valid({ data_offsets: ['0', '8'] }), /tensor "x": data_offsets\[0\] is "0"/],
    ['begin after end', valid({ data_offsets: [8, 0] }), /tensor "x": data_offsets \[8, 0\] begin after they end/],
    ['offsets that hold fewer bytes than the shape needs', valid({ data_offsets: [0, 4] }), /tensor "x": data_offsets \[0, 4\] hold 4 bytes but shape \[2\] of F32 needs 8/],
    ['offsets that hold more bytes than the shape needs', valid({ shape: [1] }), /tensor "x": data_offsets \[0, 8\] hold 8 bytes but shape \[1\] of F32 needs 4/],
    ['offsets beyond the data buffer', valid({ data_offsets: [8, 16] }), /tensor "x": data_offsets \[8, 16\] end beyond the data buffer, which holds 8 bytes; the file is truncated/],
    [
      'overlapping tensors',
      rawSafetensors({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Array(12).fill(0)),
      /tensors "x" \(data_offsets \[0, 8\]\) and "y" \(data_offsets \[4, 12\]\) overlap/,
    ],
    [
      'a tensor inside another',
      rawSafetensors({ big: { dtype: 'U8', shape: [8], data_offsets: [0, 8] }, inner: { dtype: 'U8', shape: [2], data_offsets: [3, 5] } }, Array(8).fill(0)),
      /tensors "big" .* and "inner" .* overlap/,
    ],
    ['__metadata__ that is a string', rawSafetensors({ __metadata__: 'pt' }), /__metadata__ must be an object of strings, found "pt"/],
    ['__metadata__ with a number value', rawSafetensors({ __metadata__: { n: 1 } }), /__metadata__\["n"\] must be a string, found 1/],
    ['__metadata__ with a nested object', rawSafetensors({ __metadata__: { a: 'x', b: { c: 'd' } } }), /__metadata__\["b"\] must be a string, found \{"c":"d"\}/],
  ];

  for (const [name, bytes, pattern] of cases) {
    test(`${name} → ${pattern.source.slice(0, 70)}`, () => assertRejected(bytes, pattern));
  }

  test('the example from the brief: data_offsets [0, 100] for shape [768, 768] of F32', () => {
    const bytes = rawSafetensors({ 'encoder.layer.0.attention.self.query.weight': { dtype: 'F32', shape: [768, 768], data_offsets: [0, 100] } }, Array(100).fill(0));
    const e = checkpointError(() => parseSafetensors(bytes, 'model.safetensors'));
    assert.equal(e.message, 'model.safetensors: tensor "encoder.layer.0.attention.self.query.weight": data_offsets [0, 100] hold 100 bytes but shape [768, 768] of F32 needs 2359296');
  });

  test('valid edge cases are accepted: empty tensors sharing an offset, gaps between tensors, a null __metadata__, padding', () => {
    // "a" sits at [4, 8] after a 4-byte gap; the empty tensors sit in the gap and inside "a".
    const header = '{"__metadata__":null,"e1":{"dtype":"F32","shape":[0],"data_offsets":[2,2]},"e2":{"dtype":"F32","shape":[3,0],"data_offsets":[6,6]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}   ';
    const f = parseSafetensors(rawSafetensors(header, [0, 0, 0, 0, 0, 0, 0x80, 0x3f]));
    assert.equal(f.metadata, undefined);
    assert.deepEqual([...f.readFloat('a').data], [1]);
    assert.equal(f.readFloat('e2').data.length, 0);
  });

  test('a truncated file is rejected at every cut point (all 371 shorter lengths of the fixture)', () => {
    for (let cut = 0; cut < HAND_FILE.length; cut++) {
      const e = checkpointError(() => parseSafetensors(HAND_FILE.subarray(0, cut), 'cut.safetensors'));
      const expected = cut < 8 ? /8-byte header length/ : cut < 328 ? /header length 320 runs past the end of the file/ : /end beyond the data buffer, which holds \d+ bytes; the file is truncated/;
      assert.match(e.message, expected, `cut at ${cut}`);
    }
  });

  test('the same truncations read from files on disk (several cut points)', () => {
    const dir = tempFolder();
    for (const cut of [0, 7, 8, 100, 327, 328, 350, 371]) {
      const file = path.join(dir, `cut${cut}.safetensors`);
      fs.writeFileSync(file, HAND_FILE.subarray(0, cut));
      assert.ok(checkpointError(() => openSafetensors(file)).file === file);
    }
  });

  test('2000 random corruptions of the fixture either parse and read or give a CheckpointError, never another error', () => {
    const random = rng(2024);
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(HAND_FILE);
      const edits = 1 + Math.floor(random() * 4);
      for (let k = 0; k < edits; k++) {
        // Mostly inside the header, where the structure is; sometimes the length field.
        const at = random() < 0.1 ? Math.floor(random() * 8) : 8 + Math.floor(random() * 320);
        bytes[at] = random() < 0.5 ? Math.floor(random() * 256) : '0123456789[]{},:"-.e'.charCodeAt(Math.floor(random() * 20));
      }
      try {
        const f = parseSafetensors(bytes);
        for (const t of f.tensors) {
          try {
            f.read(t.name);
          } catch (e) {
            if (!(e instanceof CheckpointError)) throw e;
          }
        }
      } catch (e) {
        if (!(e instanceof CheckpointError)) assert.fail(`corruption ${i} threw ${(e as Error).name}: ${(e as Error).message}`);
        rejected++;
      }
    }
    assert.ok(rejected > 1000, `most corruptions are rejected (${rejected})`);
  });

  test('failed opens close their file handles', { skip: !fs.existsSync('/proc/self/fd') }, () => {
    const file = path.join(tempFolder(), 'bad.safetensors');
    fs.writeFileSync(file, rawSafetensors('[]'));
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 50; i++) checkpointError(() => openSafetensors(file));
    assert.equal(fs.readdirSync('/proc/self/fd').length, before);
  });

  test('a missing file and a folder give a CheckpointError', () => {
    const dir = tempFolder();
    assert.match(checkpointError(() => openSafetensors(path.join(dir, 'absent.safetensors'))).message, /cannot open the file \(ENOENT\)/);
    assert.match(checkpointError(() => openSafetensors(dir)).message, /(is not a regular file|cannot open the file)/);
  });
});

describe('safetensors: the writer is atomic and validates before writing', () => {
  function folderWithOldFile(): { dir: string; file: string; old: Buffer } {
    const dir = tempFolder();
    const file = path.join(dir, 'adapter.safetensors');
    writeSafetensors(file, new Map([['keep', floatTensor([2], [1, 2])]]));
    return { dir, file, old: fs.readFileSync(file) };
  }

  test('a tensor whose data does not match its shape throws; the old file is unchanged and no temporary file remains', () => {
    const { dir, file, old } = folderWithOldFile();
    const bad: FloatTensor = { dtype: 'float32', shape: [2, 3], data: new Float32Array(5) };
    const e = checkpointError(() => writeSafetensors(file, new Map([['good', floatTensor([1], [9])], ['bad', bad]])));
    assert.match(e.message, /tensor "bad": shape \[2, 3\] needs 6 values but the data holds 5/);
    assert.equal(e.file, file);
    assert.deepEqual(fs.readFileSync(file), old);
    assert.deepEqual(fs.readdirSync(dir), ['adapter.safetensors']);
  });

  test('a failure after the temporary file is written (the rename fails) removes the temporary file', () => {
    const dir = tempFolder();
    const target = path.join(dir, 'taken');
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, 'inside.txt'), 'x');
    assert.throws(() => writeSafetensors(target, new Map([['a', floatTensor([1000], new Float32Array(1000))]])), (e: NodeJS.ErrnoException) => typeof e.code === 'string');
    assert.deepEqual(fs.readdirSync(dir), ['taken']);
    assert.deepEqual(fs.readdirSync(target), ['inside.txt']);
  });

  test('reserved names, non-float tensors, bad shapes and non-string metadata are refused before anything is written', () => {
    const { dir, file, old } = folderWithOldFile();
    const refused: [string, () => void, RegExp][] = [
      ['__metadata__ as a tensor name', () => writeSafetensors(file, new Map([['__metadata__', floatTensor([1], [1])]])), /tensor "__metadata__": the name is reserved/],
      ['an int64 tensor', () => writeSafetensors(file, new Map([['i', { dtype: 'int64', shape: [1], data: new BigInt64Array(1) } as unknown as FloatTensor]])), /tensor "i": only float32 tensors can be written/],
      ['a Float64Array', () => writeSafetensors(file, new Map([['d', { dtype: 'float32', shape: [1], data: new Float64Array(1) } as unknown as FloatTensor]])), /tensor "d": only float32/],
      ['a negative dimension', () => writeSafetensors(file, new Map([['n', { dtype: 'float32', shape: [-1], data: new Float32Array(0) }]])), /tensor "n": shape \[-1\] has a dimension that is not a non-negative integer/],
      ['a numeric metadata value', () => writeSafetensors(file, new Map(), { epoch: 3 } as unknown as Record<string, string>), /__metadata__\["epoch"\] must be a string, found 3/],
    ];
    for (const [what, write, pattern] of refused) assert.match(checkpointError(write).message, pattern, what);
    assert.deepEqual(fs.readFileSync(file), old);
    assert.deepEqual(fs.readdirSync(dir), ['adapter.safetensors']);
  });

  test('a tensor named "__proto__" is written and read back as an ordinary tensor', () => {
    const file = path.join(tempFolder(), 'proto.safetensors');
    writeSafetensors(file, new Map([['__proto__', floatTensor([1], [5])]]));
    const back = readSafetensors(file);
    assert.deepEqual([...back.keys()], ['__proto__']);
    assert.deepEqual([...(back.get('__proto__') as FloatTensor).data], [5]);
  });
});
