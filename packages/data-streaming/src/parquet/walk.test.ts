// The run-stream walkers that guard hyparquet (read.ts), on streams written byte by byte from the format's
// definition: what they count, and each way a stream can lie.
import { describe, expect, it } from "vitest";
import { walkDelta, walkHybrid } from "./read.js";

const dv = (...b: number[]) => new DataView(new Uint8Array(b).buffer);

describe("walkHybrid (RLE / bit-packed hybrid)", () => {
  it("counts the values equal to the target over RLE and bit-packed runs, least significant bit first", () => {
    // RLE: 5 × value 1 (header 5·2 = 10); bit-packed, width 3, one group of 8: values 0..7 packed LSB first.
    const packed = [0x88, 0xc6, 0xfa]; // bits 3i..3i+2 hold i
    const v = dv(10, 1, 3, ...packed);
    expect(walkHybrid(v, 0, v.byteLength, 3, 13, 1, "w")).toBe(6);
    expect(walkHybrid(v, 0, v.byteLength, 3, 13, 7, "w")).toBe(1);
    expect(walkHybrid(v, 0, v.byteLength, 3, 13, 5, "w")).toBe(1);
    // Only the values within the count are counted: of the group's 8, the first 3 (0, 1, 2).
    expect(walkHybrid(dv(3, ...packed), 0, 4, 3, 3, 7, "w")).toBe(0);
    expect(walkHybrid(dv(3, ...packed), 0, 4, 3, 3, 2, "w")).toBe(1);
    // Two-byte RLE values (width 9): 258 = 0x0102.
    expect(walkHybrid(dv(4, 0x02, 0x01), 0, 3, 9, 2, 258, "w")).toBe(2);
  });

  it("accepts padded bit-packed groups (DuckDB pads to 256 values) when their bytes are there", () => {
    expect(walkHybrid(dv(0x41, ...new Array(32).fill(0)), 0, 33, 1, 136, 0, "w")).toBe(136);
    expect(() => walkHybrid(dv(0x41, ...new Array(31).fill(0)), 0, 32, 1, 136, 0, "pad")).toThrow(/pad: 32 bit-packed groups where 136 values remain/);
  });

  it("refuses runs longer than the values left, streams that end early, widths over 32, endless varints, and width-0 floods", () => {
    expect(() => walkHybrid(dv(12, 1), 0, 2, 1, 5, 1, "r")).toThrow(/r: a run of 6 values where 5 remain/);
    expect(() => walkHybrid(dv(10, 1), 0, 2, 1, 6, 1, "e")).toThrow(/e: the runs end after 5 of 6 values/);
    expect(() => walkHybrid(dv(10), 0, 1, 8, 5, 1, "v")).toThrow(/v: a run of 5 values where 5 remain|v: the runs end/);
    expect(() => walkHybrid(dv(2, 1), 0, 2, 33, 1, 1, "b")).toThrow(/b: a bit width of 33/);
    expect(() => walkHybrid(dv(0x80, 0x80, 0x80, 0x80, 0x80, 0x01), 0, 6, 1, 1, 1, "x")).toThrow(/x: the runs end after 0 of 1 values/);
    // Width 0: bit-packed groups cost no bytes, so their number is bounded by the count (plus one padded block).
    expect(walkHybrid(dv(0x41), 0, 1, 0, 200, 0, "z")).toBe(200);
    expect(() => walkHybrid(dv(0x81, 0x02), 0, 2, 0, 1, 0, "z0")).toThrow(/z0: 128 bit-packed groups where 1 values remain/);
  });
});

describe("walkDelta (DELTA_BINARY_PACKED header and blocks)", () => {
  // Header: block size 128, 4 miniblocks, total count, first value (zigzag varint).
  const header = (total: number) => [0x80, 0x01, 4, total, 0];
  it("walks a stream block by block and returns where it ends", () => {
    // 33 values: one block: min delta 0, widths [1, 0, 0, 0]; the first miniblock of 32 deltas takes 4 bytes.
    const v = dv(...header(33), 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff);
    expect(walkDelta(v, 0, 33, "d")).toBe(v.byteLength);
    // One value: the header alone.
    expect(walkDelta(dv(...header(1)), 0, 1, "d")).toBe(5);
  });

  it("refuses headers that would loop or read past the page", () => {
    expect(() => walkDelta(dv(0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 2, 0), 0, 2, "h")).toThrow(/h: a delta block of 128 values in 4294967295 miniblocks/);
    expect(() => walkDelta(dv(100, 4, 2, 0), 0, 2, "h")).toThrow(/h: a delta block of 100 values in 4 miniblocks/);
    expect(() => walkDelta(dv(0x80, 0x01, 0, 2, 0), 0, 2, "h")).toThrow(/a delta block of 128 values in 0 miniblocks/);
    expect(() => walkDelta(dv(0x80, 0x01, 8, 2, 0), 0, 2, "h")).toThrow(/a delta block of 128 values in 8 miniblocks/);
    expect(() => walkDelta(dv(0x80, 0x80, 0x08, 4, 2, 0), 0, 2, "h")).toThrow(/a delta block of 131072 values/);
    expect(() => walkDelta(dv(...header(2)), 0, 3, "c")).toThrow(/c: a delta stream of 2 values where 3 are read/);
    expect(() => walkDelta(dv(...header(33), 0, 1, 0), 0, 33, "p")).toThrow(/p: a delta block past the page/);
    expect(() => walkDelta(dv(...header(33), 0, 65, 0, 0, 0), 0, 33, "w")).toThrow(/w: a delta bit width of 65/);
    expect(() => walkDelta(dv(...header(33), 0, 8, 0, 0, 0, 1, 2), 0, 33, "m")).toThrow(/m: a delta miniblock past the page/);
    expect(() => walkDelta(dv(0x80, 0x01, 4), 0, 1, "s")).toThrow(/s: a delta stream cut short/);
  });
});
