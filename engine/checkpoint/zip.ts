/**
 * A zip reader for checkpoint archives (PyTorch's `torch.save` format is a zip): the central
 * directory (zip64 included), and entries read on demand from the open file, stored or
 * deflated. Every offset and size is checked against the file before it sizes a read or an
 * allocation, so a truncated or hostile archive gives a CheckpointError naming the problem,
 * never a RangeError or a huge allocation. Encrypted entries are refused.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { CheckpointError } from './errors';

export interface ZipEntry {
  readonly name: string;
  /** 0 stored, 8 deflated. */
  readonly method: number;
  readonly size: number;
  readonly compressedSize: number;
  readonly localHeader: number;
}

export interface ZipArchive {
  readonly file: string;
  readonly size: number;
  readonly entries: readonly ZipEntry[];
  entry(name: string): ZipEntry | undefined;
  /** Where a stored entry's bytes start in the file (after checking they lie within it). */
  dataOffset(entry: ZipEntry): number;
  /** An entry's whole content; refused above `limit` bytes. */
  read(entry: ZipEntry, limit: number): Buffer;
  /** Reads `target.length` bytes of the file at `offset`. */
  readAt(offset: number, target: Uint8Array): void;
  close(): void;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** The end-of-central-directory record is 22 bytes and may be followed by a comment of up to 65535. */
const EOCD_SEARCH = 22 + 0xffff;

export function openZip(file: string): ZipArchive {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new CheckpointError(file, `cannot open the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new CheckpointError(file, 'is not a regular file');
    return parseZip(file, fd, st.size);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

function parseZip(file: string, fd: number, size: number): ZipArchive {
  const fail = (message: string): never => {
    throw new CheckpointError(file, message);
  };
  let open = true;
  const readAt = (offset: number, target: Uint8Array): void => {
    if (!open) fail('read after the file was closed');
    if (offset < 0 || offset + target.length > size) fail(`a read of ${target.length} bytes at ${offset} runs past the end of the file (${size} bytes); the archive is truncated or corrupt`);
    let done = 0;
    while (done < target.length) {
      const n = fs.readSync(fd, target, done, Math.min(1 << 30, target.length - done), offset + done);
      if (n === 0) fail(`the file ended at byte ${offset + done}; it was truncated after it was opened`);
      done += n;
    }
  };
  const bytes = (offset: number, length: number): Buffer => {
    const b = Buffer.alloc(length);
    readAt(offset, b);
    return b;
  };

  if (size < 22) fail(`is ${size} bytes long, too short for a zip archive; it is truncated or not a PyTorch checkpoint`);
  const tailStart = Math.max(0, size - EOCD_SEARCH);
  const tail = bytes(tailStart, size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    // The record's comment must end exactly at the end of the file.
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('has no zip end-of-central-directory record; the archive is truncated or not a zip file');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  const eocdAt = tailStart + eocd;
  let cdEnd = eocdAt;
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    if (eocdAt < 20) fail('declares a zip64 archive but has no zip64 locator');
    const locator = bytes(eocdAt - 20, 20);
    if (locator.readUInt32LE(0) !== ZIP64_LOCATOR) fail('declares a zip64 archive but has no zip64 locator');
    const at = safe(locator.readBigUInt64LE(8), 'the zip64 record offset', fail);
    if (at + 56 > eocdAt - 20) fail(`the zip64 record offset ${at} lies outside the archive`);
    const record = bytes(at, 56);
    if (record.readUInt32LE(0) !== ZIP64_EOCD) fail('the zip64 end-of-central-directory record is missing or corrupt');
    count = safe(record.readBigUInt64LE(32), 'the entry count', fail);
    cdSize = safe(record.readBigUInt64LE(40), 'the central directory size', fail);
    cdOffset = safe(record.readBigUInt64LE(48), 'the central directory offset', fail);
    cdEnd = at;
  }
  if (cdOffset + cdSize > cdEnd) fail(`the central directory (${cdSize} bytes at ${cdOffset}) runs past its end record; the archive is truncated or corrupt`);
  if (count * 46 > cdSize) fail(`the central directory lists ${count} entries but holds only ${cdSize} bytes`);
  const cd = bytes(cdOffset, cdSize);

  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) fail(`central directory entry ${i} is corrupt`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    let compressedSize = cd.readUInt32LE(p + 20);
    let uncompressed = cd.readUInt32LE(p + 24);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    let localHeader = cd.readUInt32LE(p + 42);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > cd.length) fail(`central directory entry ${i} runs past the directory`);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLength);
    // zip64 extra field: the 64-bit values of the fields that read 0xffffffff, in this order.
    let e = p + 46 + nameLength;
    while (e + 4 <= p + 46 + nameLength + extraLength) {
      const id = cd.readUInt16LE(e);
      const length = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        const next = (what: string): number => {
          if (q + 8 > e + 4 + length) fail(`entry "${name}": its zip64 field lacks ${what}`);
          const v = safe(cd.readBigUInt64LE(q), `entry "${name}": ${what}`, fail);
          q += 8;
          return v;
        };
        if (uncompressed === 0xffffffff) uncompressed = next('the size');
        if (compressedSize === 0xffffffff) compressedSize = next('the compressed size');
        if (localHeader === 0xffffffff) localHeader = next('the header offset');
      }
      e += 4 + length;
    }
    if (flags & 1) fail(`entry "${name}" is encrypted`);
    if (method !== 0 && method !== 8) fail(`entry "${name}" uses compression method ${method}; only stored and deflated entries are read`);
    if (method === 0 && compressedSize !== uncompressed) fail(`entry "${name}" is stored but its sizes differ (${compressedSize} and ${uncompressed})`);
    if (localHeader + 30 + compressedSize > cdOffset) fail(`entry "${name}" (${compressedSize} bytes at ${localHeader}) runs past the start of the central directory; the archive is truncated or its sizes lie`);
    entries.push({ name, method, size: uncompressed, compressedSize, localHeader });
    p = end;
  }
  const byName = new Map(entries.map((x) => [x.name, x]));

  const dataOffset = (entry: ZipEntry): number => {
    const header = bytes(entry.localHeader, 30);
    if (header.readUInt32LE(0) !== LOCAL) fail(`entry "${entry.name}" has no local header at ${entry.localHeader}`);
    const start = entry.localHeader + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    if (start + entry.compressedSize > cdOffset) fail(`entry "${entry.name}" (${entry.compressedSize} bytes at ${start}) runs past the start of the central directory; the archive is truncated or its sizes lie`);
    return start;
  };

  return {
    file,
    size,
    entries,
    entry: (name) => byName.get(name),
    dataOffset,
    read(entry, limit) {
      if (entry.size > limit) fail(`entry "${entry.name}" is ${entry.size} bytes, more than the ${limit} allowed`);
      // Deflate expands at most about 1032:1: a larger declared size is a lie, refused before inflating.
      if (entry.method === 8 && entry.size > entry.compressedSize * 1032 + 64) fail(`entry "${entry.name}" declares ${entry.size} bytes from ${entry.compressedSize} compressed, more than deflate can hold; its sizes lie`);
      const start = dataOffset(entry);
      const raw = bytes(start, entry.compressedSize);
      if (entry.method === 0) return raw;
      let out: Buffer;
      try {
        // One byte more than declared, so a size that lies shows instead of being cut short.
        out = zlib.inflateRawSync(raw, { maxOutputLength: entry.size + 1 });
      } catch (err) {
        return fail(`entry "${entry.name}" cannot be inflated (${(err as Error).message})`);
      }
      if (out.length !== entry.size) fail(`entry "${entry.name}" inflates to ${out.length === entry.size + 1 ? 'more' : out.length} bytes, not the ${entry.size} its header declares`);
      return out;
    },
    readAt,
    close() {
      if (open) fs.closeSync(fd);
      open = false;
    },
  };
}

function safe(v: bigint, what: string, fail: (m: string) => never): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} (${v}) is too large`);
  return Number(v);
}
