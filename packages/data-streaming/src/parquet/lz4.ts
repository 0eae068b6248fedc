/**
 * LZ4 block decoding for parquet pages: LZ4_RAW (one raw block, what pyarrow and polars write) and the
 * deprecated LZ4 codec (Hadoop framing: big-endian uncompressed and compressed sizes before each raw
 * block; a page that does not parse as frames is read as one raw block, as Arrow does). The output is
 * exactly `size` bytes (the page header's uncompressed size); anything else — a match reaching before
 * the start, a length past the input or the output, a short result — throws.
 */

/** Decodes one raw LZ4 block from `src[from, to)` into `out` at `at`; returns the position after it. */
function rawBlock(src: Uint8Array, from: number, to: number, out: Uint8Array, at: number): number {
  let i = from;
  let o = at;
  const length = (n: number): number => {
    if (n !== 15) return n;
    for (;;) {
      if (i >= to) throw new Error("lz4: length runs past the end of the input");
      const b = src[i++]!;
      n += b;
      if (b !== 255) return n;
    }
  };
  while (i < to) {
    const token = src[i++]!;
    const lit = length(token >> 4);
    if (lit > to - i) throw new Error("lz4: literals run past the end of the input");
    if (lit > out.length - o) throw new Error("lz4: literals run past the declared size");
    out.set(src.subarray(i, i + lit), o);
    i += lit;
    o += lit;
    if (i === to) break; // the last sequence has literals only
    if (to - i < 2) throw new Error("lz4: match offset runs past the end of the input");
    const offset = src[i]! | (src[i + 1]! << 8);
    i += 2;
    if (offset === 0 || offset > o - at) throw new Error(`lz4: match offset ${offset} reaches before the start of the block`);
    const len = length(token & 15) + 4;
    if (len > out.length - o) throw new Error("lz4: match runs past the declared size");
    // Byte by byte: a match may overlap the bytes it produces (offset < length repeats a pattern).
    for (let k = 0; k < len; k++, o++) out[o] = out[o - offset]!;
  }
  return o;
}

/** LZ4_RAW: `src` is one raw block of exactly `size` bytes. */
export function lz4RawDecompress(src: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const n = rawBlock(src, 0, src.length, out, 0);
  if (n !== size) throw new Error(`lz4: block gives ${n} bytes, the page header says ${size}`);
  return out;
}

/** Hadoop-framed blocks filling exactly `size` bytes, or null when `src` is not laid out that way. */
function hadoopFrames(src: Uint8Array, size: number): Uint8Array | null {
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const out = new Uint8Array(size);
  let i = 0;
  let o = 0;
  while (i < src.length) {
    if (src.length - i < 8) return null;
    const raw = view.getUint32(i);
    const packed = view.getUint32(i + 4);
    i += 8;
    if (packed > src.length - i || raw > size - o) return null;
    let n: number;
    try {
      n = rawBlock(src, i, i + packed, out, o) - o;
    } catch {
      return null;
    }
    if (n !== raw) return null;
    i += packed;
    o += n;
  }
  return o === size ? out : null;
}

/** The LZ4 codec: Hadoop frames, else one raw block. */
export function lz4HadoopDecompress(src: Uint8Array, size: number): Uint8Array {
  return hadoopFrames(src, size) ?? lz4RawDecompress(src, size);
}
