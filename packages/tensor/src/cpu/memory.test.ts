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
