import { describe, expect, it } from "vitest";
import { OpError } from "../errors.js";
import { CpuBackend, cpu } from "./backend.js";

describe("CpuBackend memory ops", () => {
  it("round-trips every dtype through fromArray/read, rounding bf16 and f16 to nearest even", () => {
    expect(Array.from(cpu.fromArray([1.5, -2, 3], [3], "f32").toArray() as Float32Array)).toEqual([1.5, -2, 3]);
    // 1 + 2^-8 ties to even (1) in bf16; 1 + 3·2^-8 ties up to 1 + 2^-6.
    expect(Array.from(cpu.fromArray([1 + 2 ** -8, 1 + 3 * 2 ** -8], [2], "bf16").toArray() as Float32Array)).toEqual([1, 1 + 2 ** -6]);
    // f16: 1 + 2^-11 ties to even (1).
    expect(Array.from(cpu.fromArray([1 + 2 ** -11, 65504], [2], "f16").toArray() as Float32Array)).toEqual([1, 65504]);
    expect(Array.from(cpu.fromArray([-3, 7], [2], "i32").toArray() as Int32Array)).toEqual([-3, 7]);
    expect(Array.from(cpu.fromArray([5, -1], [2], "i64").toArray() as BigInt64Array)).toEqual([5n, -1n]);
    expect(Array.from(cpu.fromArray([0, 255], [2], "u8").toArray() as Uint8Array)).toEqual([0, 255]);
    expect(Array.from(cpu.fromArray([0, 2, -1], [3], "bool").toArray() as Uint8Array)).toEqual([0, 1, 1]);
  });

  it("takes a Uint16Array for bf16 as raw bits and readBytes returns little-endian storage", () => {
    const t = cpu.fromArray(new Uint16Array([0x3f80, 0xc000]), [2], "bf16");
    expect(Array.from(t.toArray() as Float32Array)).toEqual([1, -2]);
    expect(Array.from(cpu.readBytes(t))).toEqual([0x80, 0x3f, 0x00, 0xc0]);
  });

  it("rejects fractions and out-of-range integers for integer dtypes, naming the position", () => {
    expect(() => cpu.fromArray([1, 2.5], [2], "i32")).toThrow(/fromArray: data: value 2.5 at position 1 is not an integer/);
    expect(() => cpu.fromArray([256], [1], "u8")).toThrow(/value 256 at position 0/);
    expect(() => cpu.fromArray([1, 2, 3], [2], "f32")).toThrow(/fromArray: data: expected 2 elements, got 3/);
    expect(() => cpu.zeros([2, -1], "f32")).toThrow(/zeros: shape: expected an array of non-negative integers/);
    expect(() => cpu.zeros([2], "f64" as never)).toThrow(/zeros: dtype: expected one of/);
  });

  it("views share storage: ops read and write through offset", () => {
    const t = cpu.fromArray([0, 1, 2, 3, 4, 5], [3, 2], "f32");
    const v = t.rows(1, 3);
    expect(Array.from(v.toArray() as Float32Array)).toEqual([2, 3, 4, 5]);
    cpu.scaleInPlace(v, 10);
    expect(Array.from(t.toArray() as Float32Array)).toEqual([0, 1, 20, 30, 40, 50]);
    cpu.fill(v.view(1, [2]), -1);
    expect(Array.from(t.toArray() as Float32Array)).toEqual([0, 1, 20, -1, -1, 50]);
    cpu.write(v.view(0, [1]), [7]);
    expect((t.toArray() as Float32Array)[2]).toBe(7);
  });

  it("copy and cast convert dtypes (floats round, float → int truncates)", () => {
    const x = cpu.fromArray([1.7, -2.5, 3], [3], "f32");
    expect(Array.from(cpu.cast(x, "i32").toArray() as Int32Array)).toEqual([1, -2, 3]);
    const b = cpu.cast(x, "bf16");
    expect(Array.from(b.toArray() as Float32Array)).toEqual([1.703125, -2.5, 3]);
    const back = cpu.zeros([3], "f16");
    cpu.copy(b, back);
    expect(Array.from(back.toArray() as Float32Array)).toEqual([1.703125, -2.5, 3]);
    expect(() => cpu.copy(x, cpu.zeros([2], "f32"))).toThrow(/copy: dst: expected 3 elements/);
  });

  it("casts a float to bool as torch does: every non-zero value, fractions and NaN included, is true", () => {
    // torch 2.13: torch.tensor([0.5, -0.25, nan, 0, -0.0, inf, 1e-45]).to(torch.bool)
    //   → [True, True, True, False, False, True, True]; the same first four in bfloat16.
    const values = [0.5, -0.25, NaN, 0, -0, Infinity, 1e-45];
    const want = [1, 1, 1, 0, 0, 1, 1];
    expect(Array.from(cpu.cast(cpu.fromArray(values, [7], "f32"), "bool").toArray() as Uint8Array)).toEqual(want);
    expect(Array.from(cpu.cast(cpu.fromArray([0.5, -0.25, NaN, 0], [4], "bf16"), "bool").toArray() as Uint8Array)).toEqual([1, 1, 1, 0]);
    const dst = cpu.zeros([7], "bool");
    cpu.copy(cpu.fromArray(values, [7], "f32"), dst);
    expect(Array.from(dst.toArray() as Uint8Array)).toEqual(want);
    expect(Array.from(cpu.fromArray(values, [7], "bool").toArray() as Uint8Array)).toEqual(want);
    // Integer targets still truncate toward zero.
    expect(Array.from(cpu.cast(cpu.fromArray([0.5, -0.25, 1.9], [3], "f32"), "i32").toArray() as Int32Array)).toEqual([0, 0, 1]);
  });

  it("fromArray and cast refuse bad input before allocating: a failed call counts no bytes", () => {
    const be = new CpuBackend();
    expect(() => be.fromArray([1, 2, 3], [2 ** 26], "f32")).toThrow("fromArray: data: expected 67108864 elements, got 3");
    expect(() => be.fromArray([1, 2.5], [2], "i32")).toThrow("fromArray: data: value 2.5 at position 1 is not an integer in [-2147483648, 2147483647] (dtype i32)");
    expect(() => be.fromArray([2 ** 60], [1], "i64")).toThrow(/fromArray: data: value 1152921504606847000 at position 0 is not an integer representable as i64/);
    expect(be.memoryStats()).toEqual({ allocatedBytes: 0, peakBytes: 0, reservedBytes: 0 });
    const x = be.fromArray([1, 2.5e9, 3], [3], "f32");
    expect(() => be.cast(x, "i32")).toThrow("cast: x: value 2500000000 at position 1 is not an integer in [-2147483648, 2147483647] (dtype i32)");
    expect(() => be.cast(x, "u8")).toThrow("cast: x: value 2500000000 at position 1 is not an integer in [0, 255] (dtype u8)");
    expect(be.memoryStats()).toEqual({ allocatedBytes: 12, peakBytes: 12, reservedBytes: 12 });
    expect(Array.from(be.cast(x, "i64").toArray() as BigInt64Array)).toEqual([1n, 2500000000n, 3n]);
  });

  it("refuses shapes too large to allocate with an OpError naming the op and the shape", () => {
    const be = new CpuBackend();
    // 2^60 f32 elements: past 2^53 − 1 bytes, refused by the shared validation.
    expect(() => be.zeros([2 ** 30, 2 ** 30], "f32")).toThrow(OpError);
    expect(() => be.zeros([2 ** 30, 2 ** 30], "f32")).toThrow(/^zeros: shape: expected a shape of at most 2\^53 − 1 bytes, got \[1073741824, 1073741824\] f32/);
    expect(() => be.fromArray([1], [2 ** 20, 2 ** 20, 2 ** 20, 2 ** 20], "f32")).toThrow(/^fromArray: shape: expected a shape of at most 2\^53 − 1 bytes/);
    expect(() => be.empty([2 ** 51, 4], "u8")).toThrow(/^empty: shape: expected a shape of at most 2\^53 − 1 bytes/);
    // Within 2^53 bytes but past what the host can hold in one typed array: the host's refusal, as an OpError.
    expect(() => be.zeros([2 ** 40], "f32")).toThrow(OpError);
    expect(() => be.zeros([2 ** 40], "f32")).toThrow(/^zeros: shape: cannot allocate \[1099511627776\] f32 \(1099511627776 elements, 4398046511104 bytes\) in host memory/);
    expect(be.memoryStats().allocatedBytes).toBe(0);
  });

  it("rows() takes integer bounds 0 ≤ start ≤ end ≤ rows only", () => {
    const t = cpu.fromArray([0, 1, 2, 3, 4, 5], [3, 2], "f32");
    expect(() => t.rows(0.5, 1.5)).toThrow("rows: range: expected integers 0 ≤ start ≤ end ≤ 3, got rows [0.5, 1.5) of shape [3, 2]");
    expect(() => t.rows(0, 2.5)).toThrow(/rows: range: expected integers/);
    expect(() => t.rows(NaN, 1)).toThrow(/rows: range: expected integers 0 ≤ start ≤ end ≤ 3, got rows \[NaN, 1\)/);
    expect(() => t.rows(-1, 1)).toThrow(/rows: range/);
    expect(() => t.rows(2, 1)).toThrow(/rows: range/);
    expect(() => t.rows(0, 4)).toThrow(/rows: range/);
    expect(t.rows(3, 3).shape).toEqual([0, 2]);
    expect(Array.from(t.rows(1, 2).toArray() as Float32Array)).toEqual([2, 3]);
  });

  it("tracks allocated and peak bytes; disposed tensors are rejected by every op", () => {
    const be = new CpuBackend();
    const a = be.zeros([10], "f32");
    const b = be.zeros([4], "bf16");
    expect(be.memoryStats()).toEqual({ allocatedBytes: 48, peakBytes: 48, reservedBytes: 48 });
    a.dispose();
    expect(be.memoryStats().allocatedBytes).toBe(8);
    expect(be.memoryStats().peakBytes).toBe(48);
    be.resetPeak();
    expect(be.memoryStats().peakBytes).toBe(8);
    expect(() => be.gelu(a)).toThrow(OpError);
    expect(() => be.gelu(a)).toThrow(/gelu: x: tensor #\d+ \[10\] was disposed/);
    expect(() => be.add(b, b.reshape([2, 2]))).toThrow(/add: b: expected the shape of a \[4\], got \[2, 2\]/);
    expect(() => cpu.gelu(b)).toThrow(/gelu: x: tensor lives on another 'cpu' backend instance/);
  });
});
