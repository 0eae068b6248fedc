import { describe, expect, it } from "vitest";
import { alibiSlopes } from "./alibi.js";

const close = (a: Float32Array, b: number[]) => {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 7));
};

describe("alibiSlopes (spec §3.3)", () => {
  it("12 heads: 8 powers of 1/2 then 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5", () => {
    close(alibiSlopes(12), [0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625, 0.0078125, 0.00390625, 0.70710678, 0.35355339, 0.1767767, 0.08838835]);
  });
  it("16 heads: 2^(-k/2), k = 1..16", () => {
    close(alibiSlopes(16), Array.from({ length: 16 }, (_, k) => 2 ** (-(k + 1) / 2)));
  });
  it("24 heads: the 16-head list then 2^(-(2k-1)/4), k = 1..8", () => {
    close(alibiSlopes(24), [...Array.from({ length: 16 }, (_, k) => 2 ** (-(k + 1) / 2)), ...Array.from({ length: 8 }, (_, k) => 2 ** (-(2 * (k + 1) - 1) / 4))]);
  });
  it("3 heads: the 2-head list then the first even-indexed slope of the 4-head list", () => {
    close(alibiSlopes(3), [2 ** -4, 2 ** -8, 2 ** -2]);
  });
  it("6 heads: the 4-head list then the first two even-indexed slopes of the 8-head list", () => {
    close(alibiSlopes(6), [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
  });
  it("8 heads: 2^-k", () => {
    close(alibiSlopes(8), Array.from({ length: 8 }, (_, k) => 2 ** -(k + 1)));
  });
  it("rejects a non-positive head count", () => {
    expect(() => alibiSlopes(0)).toThrow(/numHeads/);
  });
});
