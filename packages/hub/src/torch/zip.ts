import { inflateSync } from "fflate";
import { FormatError } from "../errors.js";
import { crc32 } from "./crc32.js";
import { shown } from "../text.js";

/** Deflate cannot expand data more than about 1032:1; an entry claiming more is lying. */
const MAX_DEFLATE_RATIO = 1032;

/** What reading entries may still cost in bytes, shared by all the reads of one archive. */
export interface ReadBudget {
  left: number;
}
import type { ByteSource } from "./source.js";

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(dv: DataView, off: number, file: string, field: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new FormatError(file, field, `64-bit value ${v} is too large`);
  return Number(v);
}

/**
 * A zip archive read through its central directory (torch.save writes entries with data
 * descriptors, so local headers carry no sizes). Supports STORED and DEFLATE entries and ZIP64.
 */
export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  /** Where each entry's bytes must end: the next entry's local header, or the central directory. */
  private readonly ends = new Map<string, number>();

  constructor(private readonly src: ByteSource) {
    const file = src.name;
    // The end-of-central-directory record sits in the last 22..65557 bytes (22 + max comment).
    const tailLen = Math.min(src.size, 22 + 0xffff + 20);
    const tail = src.read(src.size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail[i] === 0x50 && view(tail).getUint32(i, true) === EOCD_SIG) { eocd = i; break; }
    }
    if (eocd < 0) throw new FormatError(file, "zip", "no end-of-central-directory record (not a zip archive, or truncated)");
    const dv = view(tail);
    let count = dv.getUint16(eocd + 10, true);
    let cdSize = dv.getUint32(eocd + 12, true);
    let cdOffset = dv.getUint32(eocd + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // ZIP64: the locator right before the EOCD points at the 64-bit record.
      const loc = eocd - 20;
      if (loc < 0 || dv.getUint32(loc, true) !== ZIP64_LOCATOR_SIG) throw new FormatError(file, "zip", "ZIP64 locator missing");
      const recOff = u64(dv, loc + 8, file, "zip64 locator");
      const rec = src.read(recOff, 56);
      const rv = view(rec);
      if (rec.length < 56 || rv.getUint32(0, true) !== ZIP64_EOCD_SIG) throw new FormatError(file, "zip", "ZIP64 end-of-central-directory record missing");
      count = u64(rv, 32, file, "zip64 entry count");
      cdSize = u64(rv, 40, file, "zip64 directory size");
      cdOffset = u64(rv, 48, file, "zip64 directory offset");
    }
    if (cdOffset + cdSize > src.size) throw new FormatError(file, "zip", `central directory [${cdOffset}, +${cdSize}] runs past the ${src.size}-byte file (truncated?)`);
    if (count > cdSize / 46) throw new FormatError(file, "zip", `central directory of ${cdSize} bytes cannot hold ${count} entries`);
    const cd = src.read(cdOffset, cdSize);
    const cv = view(cd);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cv.getUint32(p, true) !== CENTRAL_SIG) throw new FormatError(file, "zip", `central directory entry ${i} is corrupt`);
      const method = cv.getUint16(p + 10, true);
      const crc = cv.getUint32(p + 16, true);
      let compressedSize = cv.getUint32(p + 20, true);
      let size = cv.getUint32(p + 24, true);
      const nameLen = cv.getUint16(p + 28, true);
      const extraLen = cv.getUint16(p + 30, true);
      const commentLen = cv.getUint16(p + 32, true);
      let localHeaderOffset = cv.getUint32(p + 42, true);
      if (p + 46 + nameLen + extraLen > cd.length) throw new FormatError(file, "zip", `central directory entry ${i} is truncated`);
      const name = new TextDecoder().decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extended information: only the fields saturated in the fixed header are present, in order.
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        const id = cv.getUint16(e, true);
        const len = cv.getUint16(e + 2, true);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === 0xffffffff) { size = u64(cv, q, file, `${name} zip64 size`); q += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = u64(cv, q, file, `${name} zip64 size`); q += 8; }
          if (localHeaderOffset === 0xffffffff) { localHeaderOffset = u64(cv, q, file, `${name} zip64 offset`); q += 8; }
        }
        e += 4 + len;
      }
      if (this.entries.has(name)) throw new FormatError(file, "zip", `entry '${shown(name)}' appears twice in the central directory`);
      this.entries.set(name, { name, method, crc, compressedSize, size, localHeaderOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
    // Entries must not share bytes (each at least a local header and its data, all before the directory):
    // overlapping entries would let a small file be read as many large ones.
    const spans = [...this.entries.values()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    for (let i = 0; i < spans.length; i++) {
      const e = spans[i]!;
      const end = e.localHeaderOffset + 30 + e.compressedSize;
      const limit = i + 1 < spans.length ? spans[i + 1]!.localHeaderOffset : cdOffset;
      this.ends.set(e.name, limit);
      if (end > limit) {
        throw new FormatError(file, "zip", `entry '${shown(e.name)}' [${e.localHeaderOffset}, ${end}) overlaps ${i + 1 < spans.length ? `entry '${shown(spans[i + 1]!.name)}'` : "the central directory"}`);
      }
    }
  }

  /**
   * The bytes of one entry, checked against the size and CRC-32 recorded in the central directory.
   * Sizes are checked before anything is allocated: a stored entry must hold what it declares, a
   * deflated one cannot claim more than deflate can produce, and both count against `budget`.
   */
  read(name: string, o: { verify?: boolean; budget?: ReadBudget } = {}): Uint8Array {
    const file = this.src.name;
    const verify = o.verify ?? true;
    const ent = this.entries.get(name);
    if (!ent) throw new FormatError(file, shown(name), "entry missing from the zip archive");
    if (ent.method === 0 && ent.size !== ent.compressedSize) throw new FormatError(file, shown(name), `stored entry declares ${ent.size} bytes but holds ${ent.compressedSize}`);
    if (ent.method === 8 && ent.size > MAX_DEFLATE_RATIO * ent.compressedSize + 1024) {
      throw new FormatError(file, shown(name), `deflated entry of ${ent.compressedSize} bytes claims ${ent.size} bytes, more than deflate can produce (a zip bomb?)`);
    }
    if (o.budget) {
      if (ent.size > o.budget.left) throw new FormatError(file, shown(name), `entry of ${ent.size} bytes exceeds what is left of the read budget (${o.budget.left} bytes; limit maxOutputBytes)`);
      o.budget.left -= ent.size;
    }
    const lh = this.src.read(ent.localHeaderOffset, 30);
    const lv = view(lh);
    if (lh.length < 30 || lv.getUint32(0, true) !== LOCAL_SIG) throw new FormatError(file, name, "local zip header is corrupt");
    const start = ent.localHeaderOffset + 30 + lv.getUint16(26, true) + lv.getUint16(28, true);
    if (start + ent.compressedSize > this.src.size) throw new FormatError(file, name, `entry data runs past the end of the ${this.src.size}-byte file (truncated?)`);
    if (start + ent.compressedSize > (this.ends.get(name) ?? this.src.size)) throw new FormatError(file, name, "entry data runs into the next entry (overlapping entries)");
    const raw = this.src.read(start, ent.compressedSize);
    let data: Uint8Array;
    if (ent.method === 0) data = raw;
    else if (ent.method === 8) {
      try {
        data = inflateSync(raw, { out: new Uint8Array(ent.size) });
      } catch (e) {
        throw new FormatError(file, name, `cannot inflate entry: ${(e as Error).message}`);
      }
    } else throw new FormatError(file, name, `unsupported zip compression method ${ent.method} (expected 0 stored or 8 deflate)`);
    if (data.length !== ent.size) throw new FormatError(file, name, `entry holds ${data.length} bytes, directory says ${ent.size}`);
    if (verify && crc32(data) !== ent.crc) throw new FormatError(file, name, "CRC-32 mismatch (corrupted file)");
    return data;
  }
}

/** Whether the bytes start like a zip archive (local header or empty-archive EOCD). */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && (head[2] === 3 || head[2] === 5);
}
