import { describe, expect, it } from "vitest";
import { bf16BitsToF32, decodeBf16, decodeF16, encodeBf16, encodeF16, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits, itemsize } from "./dtype.js";

describe("bf16", () => {
  it("encodes known bit patterns", () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(-2)).toBe(0xc000);
    expect(f32ToBf16Bits(0)).toBe(0x0000);
    expect(f32ToBf16Bits(-0)).toBe(0x8000);
    expect(f32ToBf16Bits(Math.PI)).toBe(0x4049); // 3.140625
    expect(f32ToBf16Bits(Infinity)).toBe(0x7f80);
    expect(f32ToBf16Bits(-Infinity)).toBe(0xff80);
    expect(f32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80); // max f32 rounds up to Inf
  });

  it("rounds to nearest, ties to even", () => {
    // 1 + 2^-8 lies exactly halfway between 1 (0x3f80, even) and 1 + 2^-7 (0x3f81): ties go to even.
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80);
    // 1 + 3·2^-8 is halfway between 0x3f81 (odd) and 0x3f82 (even).
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    // just above the halfway point rounds up
    expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
  });

  it("keeps NaN a NaN, never turning it into Inf", () => {
    const b = f32ToBf16Bits(NaN);
    expect(Number.isNaN(bf16BitsToF32(b))).toBe(true);
    // a float32 NaN whose payload sits only in the low bits would truncate to Inf without the quiet bit
    const f = new Float32Array(new Uint32Array([0x7f800001]).buffer);
    expect(Number.isNaN(bf16BitsToF32(f32ToBf16Bits(f[0]!)))).toBe(true);
  });

  it("bulk encode/decode agree with the scalar path", () => {
    const xs = Float32Array.from([0.1, -1e-40, 65504, 1e30, -3.5, NaN, Infinity]);
    const bits = encodeBf16(xs);
    xs.forEach((x, i) => expect(bits[i]).toBe(f32ToBf16Bits(x)));
    const back = decodeBf16(bits);
    back.forEach((y, i) => expect(Object.is(y, bf16BitsToF32(bits[i]!))).toBe(true));
  });
});

describe("f16", () => {
  it("encodes known bit patterns", () => {
    expect(f32ToF16Bits(1)).toBe(0x3c00);
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00); // rounds to Inf
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(f32ToF16Bits(-0.5)).toBe(0xb800);
    expect(f16BitsToF32(0x3555)).toBeCloseTo(0.333251953125, 12);
    expect(Number.isNaN(f16BitsToF32(f32ToF16Bits(NaN)))).toBe(true);
  });

  it("bulk encode/decode agree with the scalar path", () => {
    const xs = new Float32Array([1, -0.5, 65504, 65520, 2 ** -24, 1 / 3, -Infinity, NaN, 0, -0]);
    const bits = encodeF16(xs);
    expect(Array.from(bits)).toEqual(Array.from(xs, (x) => f32ToF16Bits(x)));
    const back = decodeF16(bits);
    back.forEach((y, i) => expect(Object.is(y, Math.fround(f16BitsToF32(bits[i]!)))).toBe(true));
  });
});

it("itemsize rejects unknown dtypes", () => {
  expect(itemsize("bf16")).toBe(2);
  expect(() => itemsize("f64" as never)).toThrow(/unknown dtype 'f64'/);
});
