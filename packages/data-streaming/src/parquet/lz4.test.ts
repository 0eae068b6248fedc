// LZ4 blocks written by pyarrow (lz4_raw codec; scripts/fixtures/parquet-codecs.py) from real text in
// shared/data/text, decoded here; Hadoop framing is those same blocks behind their size headers.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { lz4HadoopDecompress, lz4RawDecompress } from "./lz4.js";

const fixture = (n: string) => new Uint8Array(readFileSync(new URL(`./fixtures/lz4/${n}.lz4raw`, import.meta.url)));
const text = readFileSync(new URL("../../../../../shared/data/text/jane-austen/prideprejudice.txt", import.meta.url)).subarray(0, 4000);
const half1 = new Uint8Array(text.subarray(0, 2000));
const half2 = new Uint8Array(text.subarray(2000, 4000));
const ab = new TextEncoder().encode("ab".repeat(500) + "!");

function hadoop(...blocks: Array<[Uint8Array, number]>): Uint8Array {
  const parts: number[] = [];
  for (const [b, raw] of blocks) {
    const h = new DataView(new ArrayBuffer(8));
    h.setUint32(0, raw);
    h.setUint32(4, b.length);
    parts.push(...new Uint8Array(h.buffer), ...b);
  }
  return new Uint8Array(parts);
}

describe("lz4 (parquet LZ4_RAW and LZ4)", () => {
  it("decodes pyarrow's raw blocks of real text, and a block whose matches overlap their output", () => {
    expect(Buffer.from(lz4RawDecompress(fixture("half1"), 2000)).equals(half1)).toBe(true);
    expect(Buffer.from(lz4RawDecompress(fixture("half2"), 2000)).equals(half2)).toBe(true);
    const a = fixture("ab");
    expect(a.length).toBeLessThan(40); // 1001 bytes from a handful: matches with offset 2 repeat the pattern
    expect(Buffer.from(lz4RawDecompress(a, ab.length)).equals(Buffer.from(ab))).toBe(true);
  });

  it("decodes Hadoop-framed blocks (one or several), and a raw block under the LZ4 codec", () => {
    const both = hadoop([fixture("half1"), 2000], [fixture("half2"), 2000]);
    expect(Buffer.from(lz4HadoopDecompress(both, 4000)).equals(Buffer.from(text))).toBe(true);
    expect(Buffer.from(lz4HadoopDecompress(hadoop([fixture("ab"), ab.length]), ab.length)).equals(Buffer.from(ab))).toBe(true);
    expect(Buffer.from(lz4HadoopDecompress(fixture("half1"), 2000)).equals(half1)).toBe(true);
  });

  it("names each way a block can be wrong", () => {
    const raw = (bytes: number[], size: number) => () => lz4RawDecompress(new Uint8Array(bytes), size);
    const a = 0x61;
    expect(raw([0x50, a, a], 5)).toThrow(/lz4: literals run past the end of the input/);
    expect(raw([0x30, a, a], 3)).toThrow(/lz4: literals run past the end of the input/);
    expect(raw([0x30, a, a, a], 2)).toThrow(/lz4: literals run past the declared size/);
    expect(raw([0x10, a, 0x01], 5)).toThrow(/lz4: match offset runs past the end of the input/);
    expect(raw([0x10, a, 0x01, 0x00], 3)).toThrow(/lz4: match runs past the declared size/);
    expect(raw([0x10, a, 0x02, 0x00], 5)).toThrow(/lz4: match offset 2 reaches before the start of the block/);
    expect(raw([0x1f, a, 0x01, 0x00], 30)).toThrow(/lz4: length runs past the end of the input/);
    // A block may end on a match: "a" then 4 copies of it.
    expect(new TextDecoder().decode(lz4RawDecompress(new Uint8Array([0x10, a, 0x01, 0x00]), 5))).toBe("aaaaa");
  });

  it("Hadoop frames: a block ending on a match is read up to its own end, and a lying size header is refused", () => {
    const ends = new Uint8Array([0x10, 0x61, 0x01, 0x00]); // "aaaaa"
    const b = new Uint8Array([0x20, 0x62, 0x63]); // "bc"
    expect(new TextDecoder().decode(lz4HadoopDecompress(hadoop([ends, 5], [b, 2]), 7))).toBe("aaaaabc");
    // Each frame's block stands alone: a match may not reach back into the frame before.
    const back = new Uint8Array([0x00, 0x01, 0x00]); // no literals, then 4 bytes copied from 1 back
    expect(() => lz4HadoopDecompress(hadoop([b, 2], [back, 4]), 6)).toThrow(/lz4:/);
    // The frame says 1999 bytes, its block gives 2000: not Hadoop frames, and not one raw block either.
    expect(() => lz4HadoopDecompress(hadoop([fixture("half1"), 1999]), 2000)).toThrow(/lz4:/);
  });

  it("refuses a size that differs from the block's, truncation and matches before the start", () => {
    expect(() => lz4RawDecompress(fixture("half1"), 1999)).toThrow(/past the declared size/);
    expect(() => lz4RawDecompress(fixture("half1"), 2001)).toThrow(/block gives 2000 bytes, the page header says 2001/);
    const h = fixture("half1");
    expect(() => lz4RawDecompress(h.subarray(0, h.length - 5), 2000)).toThrow(/lz4:/);
    // A first sequence with no literals and a match: nothing to copy from.
    expect(() => lz4RawDecompress(new Uint8Array([0x00, 0x01, 0x00, 0x00]), 10)).toThrow(/reaches before the start/);
    expect(() => lz4RawDecompress(new Uint8Array([0x10, 0x61, 0x00, 0x00]), 10)).toThrow(/match offset 0/);
    // A literal length extension that never ends.
    expect(() => lz4RawDecompress(new Uint8Array([0xf0, 0xff, 0xff]), 10)).toThrow(/length runs past the end/);
    expect(() => lz4HadoopDecompress(hadoop([fixture("half1"), 2000]), 4000)).toThrow(/lz4:/);
  });
});
