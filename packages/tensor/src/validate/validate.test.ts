import { describe, expect, it } from "vitest";
import { cpu } from "../cpu/backend.js";
import { validateAttention, validateEmbedding, validateGatherRows, validateMatmul } from "./index.js";

const f32 = (data: number[], shape: number[]) => cpu.fromArray(data, shape, "f32");
const i32 = (data: number[]) => cpu.fromArray(data, [data.length], "i32");
const readI32 = (t: { toArray(): unknown }) => t.toArray() as Int32Array;

describe("validators return the sizes a backend needs", () => {
  it("validateMatmul folds a's leading dimensions and resolves transB, bias and the output dtype", () => {
    const a = f32(new Array(24).fill(1), [2, 3, 4]);
    const w = f32(new Array(20).fill(1), [5, 4]);
    const bias = f32([0, 0, 0, 0, 0], [5]);
    const p = validateMatmul(cpu, a, w, { transB: true, bias, dtype: "bf16" });
    expect([p.M, p.N, p.K, p.transA, p.transB]).toEqual([6, 5, 4, false, true]);
    expect(p.outShape).toEqual([2, 3, 5]);
    expect(p.outDtype).toBe("bf16");
    expect(p.bias).toBe(bias);
    expect([p.alpha, p.activation, p.accumulate, p.out, p.preActivation]).toEqual([1, "none", false, null, null]);
  });

  it("validateAttention checks cuSeqlens' contents only when given a host reader", () => {
    const qkv = f32(new Array(3 * 12).fill(0), [3, 12]);
    const args = { numHeads: 2, cuSeqlens: i32([0, 2, 1]), maxSeqlen: 2 };
    // Without a reader (a device backend) only the structure is checked.
    const p = validateAttention(cpu, "attention", qkv, args);
    expect([p.T, p.numHeads, p.headDim, p.H, p.cu, p.slopes, p.dropout]).toEqual([3, 2, 2, 4, null, null, null]);
    expect(p.scale).toBeCloseTo(1 / Math.SQRT2, 12);
    expect(() => validateAttention(cpu, "attention", qkv, args, readI32)).toThrow(
      "attention: cuSeqlens: expected [0, …, 3] (cumulative lengths ending at the 3 rows of qkv), got [0, 2, 1]",
    );
    // An empty cuSeqlens is refused either way, with the same message.
    const empty = { ...args, cuSeqlens: cpu.fromArray([], [0], "i32") };
    const msg = "attention: cuSeqlens: expected [0, …, 3] (cumulative lengths ending at the 3 rows of qkv), got []";
    expect(() => validateAttention(cpu, "attention", qkv, empty)).toThrow(msg);
    expect(() => validateAttention(cpu, "attention", qkv, empty, readI32)).toThrow(msg);
  });

  it("index ranges are checked with a reader and left to the device without one", () => {
    const table = f32(new Array(6).fill(0), [3, 2]);
    const ids = i32([0, 7]);
    expect(validateEmbedding(cpu, ids, table).outShape).toEqual([2, 2]);
    expect(() => validateEmbedding(cpu, ids, table, {}, readI32)).toThrow("embedding: ids: index 7 at position 1 is out of range [0, 3)");
    expect(validateGatherRows(cpu, table, ids).outShape).toEqual([2, 2]);
    expect(() => validateGatherRows(cpu, table, ids, readI32)).toThrow("gatherRows: indices: index 7 at position 1 is out of range [0, 3)");
  });
});

describe("checks the CUDA backend had and the CPU backend now shares", () => {
  it("sumRows refuses a non-f32 out (the column sums are float32)", () => {
    const x = f32([1, 2, 3, 4], [2, 2]);
    expect(() => cpu.sumRows(x, { out: cpu.zeros([2], "bf16"), accumulate: true })).toThrow("sumRows: out: expected dtype f32, got bf16");
  });

  it("clipCoefficient refuses a non-f32 norm, after checking maxNorm", () => {
    const norm = cpu.fromArray([2], [1], "bf16");
    expect(() => cpu.clipCoefficient(norm, 0)).toThrow("clipCoefficient: maxNorm: expected a positive number, got 0");
    expect(() => cpu.clipCoefficient(norm, 1)).toThrow("clipCoefficient: norm: expected dtype f32, got bf16");
  });

  it("adamw refuses a non-f32 gradScaleTensor and leaves the parameters unchanged", () => {
    const param = f32([1, 2], [2]);
    const e = { param, grad: f32([1, 1], [2]), m: cpu.zeros([2], "f32"), v: cpu.zeros([2], "f32") };
    const opts = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 0, step: 1 };
    expect(() => cpu.adamw([e], { ...opts, gradScaleTensor: cpu.fromArray([0.5], [1], "bf16") })).toThrow(
      "adamw: gradScaleTensor: expected dtype f32, got bf16",
    );
    expect(Array.from(param.toArray() as Float32Array)).toEqual([1, 2]);
  });
});
