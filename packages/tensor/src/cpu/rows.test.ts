import { describe, expect, it } from "vitest";
import { Rng } from "../random.js";
import { checkGradient } from "../testing.js";
import { cpu } from "./backend.js";

const rng = new Rng(9);
const arr = (t: { toArray(): unknown }) => t.toArray() as Float32Array;
const dotW = (y: Float32Array, w: Float32Array) => y.reduce((s, v, i) => s + v * w[i]!, 0);

describe("gatherRows / scatterRows / scatterAddRows", () => {
  it("gather then scatter round-trips the kept rows and zeroes the rest", () => {
    const x = cpu.fromArray([0, 1, 10, 11, 20, 21, 30, 31], [4, 2], "f32");
    const idx = cpu.fromArray([3, 1], [2], "i32");
    const g = cpu.gatherRows(x, idx);
    expect(Array.from(arr(g))).toEqual([30, 31, 10, 11]);
    expect(Array.from(arr(cpu.scatterRows(g, idx, 4)))).toEqual([0, 0, 10, 11, 0, 0, 30, 31]);
    const out = cpu.fromArray(new Float32Array(8).fill(1), [4, 2], "f32");
    cpu.scatterAddRows(cpu.fromArray([1, 2, 3, 4, 5, 6], [3, 2], "f32"), cpu.fromArray([2, 0, 2], [3], "i32"), out);
    expect(Array.from(arr(out))).toEqual([4, 5, 1, 1, 7, 9, 1, 1]);
  });

  it("scatterAddRows is the gradient of gatherRows (finite differences, repeated indices)", () => {
    const x = rng.normalArray(5 * 3);
    const ids = [4, 0, 4, 2];
    const w = rng.normalArray(ids.length * 3);
    const idx = cpu.fromArray(ids, [ids.length], "i32");
    const dx = cpu.zeros([5, 3], "f32");
    cpu.scatterAddRows(cpu.fromArray(w, [4, 3], "f32"), idx, dx);
    expect(checkGradient((v) => dotW(arr(cpu.gatherRows(cpu.fromArray(v, [5, 3], "f32"), idx)), w), x, arr(dx)).error).toBeLessThan(1e-3);
  });

  it("names the out-of-range index and its position", () => {
    const x = cpu.zeros([4, 2], "f32");
    expect(() => cpu.gatherRows(x, cpu.fromArray([0, 4], [2], "i32"))).toThrow(/gatherRows: indices: index 4 at position 1 is out of range \[0, 4\)/);
    expect(() => cpu.scatterRows(x, cpu.fromArray([0, 1, 2, -1], [4], "i32"), 8)).toThrow(/index -1 at position 3/);
    expect(() => cpu.gatherRows(x, cpu.fromArray([0], [1], "f32"))).toThrow(/gatherRows: indices: expected dtype i32, got f32/);
    expect(() => cpu.scatterAddRows(x, cpu.fromArray([0], [1], "i32"), x)).toThrow(/scatterAddRows: indices: expected 4 indices/);
  });
});

describe("embedding", () => {
  it("looks up rows for ids of any shape, in the table's dtype or a requested one", () => {
    const table = cpu.fromArray([0, 0, 1, 1.00390625, 2, 2], [3, 2], "f32");
    const ids = cpu.fromArray([2, 1, 1, 0], [2, 2], "i32");
    const y = cpu.embedding(ids, table);
    expect(y.shape).toEqual([2, 2, 2]);
    expect(Array.from(arr(y))).toEqual([2, 2, 1, 1.00390625, 1, 1.00390625, 0, 0]);
    expect(Array.from(arr(cpu.embedding(ids, table, { dtype: "bf16" })).slice(2, 4))).toEqual([1, 1]);
  });

  it("backward accumulates into dtable, skips paddingIdx, and matches finite differences", () => {
    const [V, H] = [6, 4];
    const ids = [1, 0, 5, 1, 3];
    const tbl = rng.normalArray(V * H);
    const w = rng.normalArray(ids.length * H);
    const tid = cpu.fromArray(ids, [ids.length], "i32");
    const dtable = cpu.zeros([V, H], "f32");
    cpu.embeddingBackward(tid, cpu.fromArray(w, [ids.length, H], "f32"), dtable);
    expect(checkGradient((v) => dotW(arr(cpu.embedding(tid, cpu.fromArray(v, [V, H], "f32"))), w), tbl, arr(dtable)).error).toBeLessThan(1e-3);
    const padded = cpu.zeros([V, H], "f32");
    cpu.embeddingBackward(tid, cpu.fromArray(w, [ids.length, H], "f32"), padded, { paddingIdx: 0 });
    const full = arr(dtable);
    const skip = arr(padded);
    expect(Array.from(skip.subarray(0, H))).toEqual([0, 0, 0, 0]);
    expect(Array.from(skip.subarray(H))).toEqual(Array.from(full.subarray(H)));
  });

  it("rejects out-of-range ids and a non-f32 gradient table", () => {
    const table = cpu.zeros([3, 2], "f32");
    expect(() => cpu.embedding(cpu.fromArray([0, 3], [2], "i32"), table)).toThrow(/embedding: ids: index 3 at position 1 is out of range \[0, 3\)/);
    expect(() => cpu.embeddingBackward(cpu.fromArray([0], [1], "i32"), cpu.zeros([1, 2], "f32"), cpu.zeros([3, 2], "bf16"))).toThrow(/embeddingBackward: dtable: expected dtype f32/);
    expect(() => cpu.embeddingBackward(cpu.fromArray([0], [1], "i32"), cpu.zeros([1, 3], "f32"), table)).toThrow(/embeddingBackward: dy: expected shape \[1, 2\]/);
  });
});

describe("sumRows", () => {
  it("sums columns into float32, with out and accumulate", () => {
    const x = cpu.fromArray([1, 2, 3, 4, 5, 6], [3, 2], "bf16");
    expect(Array.from(cpu.sumRows(x).toArray() as Float32Array)).toEqual([9, 12]);
    const out = cpu.fromArray([1, 1], [2], "f32");
    cpu.sumRows(x, { out, accumulate: true });
    expect(Array.from(out.toArray() as Float32Array)).toEqual([10, 13]);
  });
});
