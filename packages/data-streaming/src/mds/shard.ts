/**
 * Raw MDS shard bytes: build one from encoded samples, and read one back with every structural
 * check that can catch truncation or corruption (count, offsets, header, per-sample sizes).
 */
import type { ShardEntry } from "./index-file.js";

/** Build a raw shard: u32 n, u32 offsets[n+1], header JSON bytes, samples. */
export function buildShard(header: Uint8Array, samples: Uint8Array[]): Uint8Array {
  const n = samples.length;
  const start = 4 + 4 * (n + 1) + header.length;
  const total = samples.reduce((a, s) => a + s.length, start);
  if (total > 0xffffffff) throw new Error(`shard would be ${total} bytes; MDS offsets are u32 (max 4 GiB)`);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, n, true);
  let off = start;
  for (let i = 0; i < n; i++) {
    dv.setUint32(4 + 4 * i, off, true);
    out.set(samples[i]!, off);
    off += samples[i]!.length;
  }
  dv.setUint32(4 + 4 * n, off, true);
  out.set(header, 4 + 4 * (n + 1));
  return out;
}

/** Pack one sample's columns: u32 sizes of variable columns, then every column's bytes. */
export function packSample(values: Uint8Array[], sizes: Array<number | null>): Uint8Array {
  const nVar = sizes.filter((s) => s === null).length;
  const total = 4 * nVar + values.reduce((a, v) => a + v.length, 0);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let k = 0;
  let pos = 4 * nVar;
  values.forEach((v, i) => {
    if (sizes[i] === null) dv.setUint32(4 * k++, v.length, true);
    out.set(v, pos);
    pos += v.length;
  });
  return out;
}

/** A loaded raw shard. Every accessor names the file in its errors. */
export class RawShard {
  readonly count: number;
  private readonly dv: DataView;

  constructor(readonly bytes: Uint8Array, readonly file: string, readonly entry: ShardEntry) {
    const fail = (what: string): never => {
      throw new Error(`${file}: ${what}`);
    };
    if (bytes.length !== entry.raw_data.bytes) {
      fail(`${bytes.length < entry.raw_data.bytes ? "truncated" : "too long"}: index.json says ${entry.raw_data.bytes} bytes, file has ${bytes.length}`);
    }
    if (bytes.length < 8) fail(`too short to be an MDS shard (${bytes.length} bytes)`);
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = this.dv.getUint32(0, true);
    if (n !== entry.samples) fail(`sample count field is ${n}, index.json says ${entry.samples}`);
    const headerStart = 4 + 4 * (n + 1);
    if (headerStart > bytes.length) fail(`offset table for ${n} samples runs past the end of the file`);
    const first = this.dv.getUint32(4, true);
    const last = this.dv.getUint32(4 + 4 * n, true);
    if (first < headerStart || last !== bytes.length) {
      fail(`bad offset table: first sample at ${first} (header ends past ${headerStart}), last offset ${last} (file size ${bytes.length})`);
    }
    let prev = first;
    for (let i = 1; i <= n; i++) {
      const o = this.dv.getUint32(4 + 4 * i, true);
      if (o < prev) fail(`bad offset table: offset ${i} (${o}) is before offset ${i - 1} (${prev})`);
      prev = o;
    }
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(headerStart, first)));
    } catch (e) {
      throw new Error(`${file}: header JSON is unreadable: ${(e as Error).message}`);
    }
    for (const key of ["column_encodings", "column_names", "column_sizes"] as const) {
      if (JSON.stringify(header[key]) !== JSON.stringify(entry[key])) {
        fail(`header ${key} ${JSON.stringify(header[key])} differs from index.json ${JSON.stringify(entry[key])}`);
      }
    }
    this.count = n;
  }

  /** The bytes of sample i (all columns, with their size words). */
  sampleBytes(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new Error(`${this.file}: sample ${i} out of range 0..${this.count - 1}`);
    const a = this.dv.getUint32(4 + 4 * i, true);
    const b = this.dv.getUint32(8 + 4 * i, true);
    return this.bytes.subarray(a, b);
  }

  /** Split sample i into its column byte ranges (in column_names order). */
  columns(i: number): Uint8Array[] {
    const s = this.sampleBytes(i);
    const sizes = this.entry.column_sizes;
    const nVar = sizes.filter((x) => x === null).length;
    const fail = (what: string): never => {
      throw new Error(`${this.file}: sample ${i}: ${what}`);
    };
    if (s.length < 4 * nVar) fail(`${s.length} bytes cannot hold ${nVar} size words`);
    const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
    const out: Uint8Array[] = [];
    let pos = 4 * nVar;
    let k = 0;
    sizes.forEach((fixed, c) => {
      const len = fixed ?? dv.getUint32(4 * k++, true);
      if (pos + len > s.length) fail(`column "${this.entry.column_names[c]}" (${len} bytes) runs past the sample end (${s.length} bytes)`);
      out.push(s.subarray(pos, pos + len));
      pos += len;
    });
    if (pos !== s.length) fail(`${s.length - pos} stray bytes after the last column`);
    return out;
  }
}
