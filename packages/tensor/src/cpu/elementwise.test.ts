import { describe, expect, it } from "vitest";
import { Rng, uniformAt } from "../random.js";
import { checkGradient, relativeL2 } from "../testing.js";
import { cpu } from "./backend.js";
import { erf, erfPrecise } from "./erf.js";

const rng = new Rng(3);
const arr = (t: { toArray(): unknown }) => t.toArray() as Float32Array;
/** Σ y ⊙ w for a random w: a scalar whose gradient w.r.t. y is w. */
const dotW = (y: Float32Array, w: Float32Array) => y.reduce((s, v, i) => s + v * w[i]!, 0);

describe("erf", () => {
  it("matches reference values to double-ish precision", () => {
    // erf values from standard tables (Abramowitz & Stegun 7.1, computed to 16 digits).
    const ref: [number, number][] = [[0.01, 0.011283415555849618], [0.1, 0.1124629160182849], [0.5, 0.5204998778130465],
      [1, 0.8427007929497149], [2, 0.9953222650189527], [2.5, 0.999593047982555], [3, 0.9999779095030014], [4, 0.9999999845827421]];
    for (const [x, v] of ref) {
      expect(Math.abs(erfPrecise(x) - v)).toBeLessThan(1e-15);
      expect(Math.abs(erf(x) - v)).toBeLessThan(1e-10);
      expect(Math.abs(erf(-x) + v)).toBeLessThan(1e-10);
    }
  });

  it("the fast table agrees with the precise series everywhere to 1e-10", () => {
    let worst = 0;
    for (let x = -8; x < 8; x += 0.000917) worst = Math.max(worst, Math.abs(erf(x) - erfPrecise(x)));
    expect(worst).toBeLessThan(1e-10);
    expect(erf(Infinity)).toBe(1);
    expect(Number.isNaN(erf(NaN))).toBe(true);
  });
});

describe("elementwise forward ops", () => {
  it("gelu is x·Φ(x) exactly (not the tanh form)", () => {
    const x = new Float32Array([-3, -1, -0.1, 0, 0.5, 1, 2, 6]);
    const y = arr(cpu.gelu(cpu.fromArray(x, [8], "f32")));
    const ref = Array.from(x, (v) => 0.5 * v * (1 + erfPrecise(v / Math.SQRT2)));
    expect(relativeL2(y, ref)).toBeLessThan(1e-7);
    expect(y[6]).toBeCloseTo(1.9544997361036416, 6); // gelu(2), tanh form would give 1.9545977
  });

  it("geglu = gelu(first half) ⊙ second half, row by row", () => {
    const g = rng.normalArray(3 * 8);
    const h = arr(cpu.geglu(cpu.fromArray(g, [3, 8], "f32")));
    const ref: number[] = [];
    for (let r = 0; r < 3; r++) for (let j = 0; j < 4; j++) { const u = g[r * 8 + j]!; ref.push(0.5 * u * (1 + erfPrecise(u / Math.SQRT2)) * g[r * 8 + 4 + j]!); }
    expect(relativeL2(h, ref)).toBeLessThan(1e-6);
    expect(() => cpu.geglu(cpu.zeros([2, 3], "f32"))).toThrow(/geglu: g: expected an even last dimension/);
  });

  it("geglu with fused dropout = dropout(geglu(g)), and its backward = gegluBackward(dropoutBackward(dh))", () => {
    const [n, inner] = [6, 40];
    const g = cpu.fromArray(rng.normalArray(n * 2 * inner), [n, 2 * inner], "f32");
    const dh = cpu.fromArray(rng.normalArray(n * inner), [n, inner], "f32");
    const d = { p: 0.25, seed: 99, offset: 5 };
    const fused = arr(cpu.geglu(g, { dropout: d }));
    const composed = arr(cpu.dropout(cpu.geglu(g), d));
    expect(relativeL2(fused, composed)).toBeLessThan(1e-7);
    // The mask really drops: about p of the outputs are zero, exactly where the counter says.
    for (let i = 0; i < n * inner; i++) expect(fused[i] === 0).toBe(uniformAt(99, 5 + i) < 0.25);
    const bFused = arr(cpu.gegluBackward(dh, g, { dropout: d }));
    const bComposed = arr(cpu.gegluBackward(cpu.dropoutBackward(dh, d), g));
    expect(relativeL2(bFused, bComposed)).toBeLessThan(1e-7);
    expect(relativeL2(arr(cpu.geglu(g, { dropout: { p: 0, seed: 1 } })), arr(cpu.geglu(g)))).toBe(0);
    expect(relativeL2(arr(cpu.geglu(g, { dropout: null })), arr(cpu.geglu(g)))).toBe(0);
    expect(() => cpu.geglu(g, { dropout: { p: 1, seed: 1 } })).toThrow(/geglu: p: expected a drop probability in \[0, 1\)/);
    expect(() => cpu.gegluBackward(dh, g, { dropout: { p: 0.1, seed: 1.5 } })).toThrow(/gegluBackward: seed: expected an integer seed/);
  });

  it("add, addInPlace, scaleInPlace and tanh", () => {
    const a = cpu.fromArray([1, 2, 3], [3], "f32");
    const b = cpu.fromArray([10, 20, 30], [3], "f32");
    expect(Array.from(arr(cpu.add(a, b)))).toEqual([11, 22, 33]);
    cpu.addInPlace(a, b, 0.5);
    expect(Array.from(arr(a))).toEqual([6, 12, 18]);
    cpu.scaleInPlace(a, 0.5);
    expect(Array.from(arr(a))).toEqual([3, 6, 9]);
    expect(arr(cpu.tanh(cpu.fromArray([0.5], [1], "f32")))[0]).toBeCloseTo(Math.tanh(0.5), 7);
  });
});

describe("elementwise backward ops match central finite differences", () => {
  for (const shape of [[1], [7], [3, 10]]) {
    const n = shape.reduce((a, b) => a * b, 1);
    it(`gelu, tanh on shape [${shape}]`, () => {
      const x = rng.normalArray(n, 2);
      const w = rng.normalArray(n);
      const dy = cpu.fromArray(w, shape, "f32");
      const dx = arr(cpu.geluBackward(dy, cpu.fromArray(x, shape, "f32")));
      expect(checkGradient((v) => dotW(arr(cpu.gelu(cpu.fromArray(v, shape, "f32"))), w), x, dx, { eps: 1e-3 }).error).toBeLessThan(1e-3);
      const y = cpu.tanh(cpu.fromArray(x, shape, "f32"));
      const dt = arr(cpu.tanhBackward(dy, y));
      expect(checkGradient((v) => dotW(arr(cpu.tanh(cpu.fromArray(v, shape, "f32"))), w), x, dt, { eps: 1e-3 }).error).toBeLessThan(1e-3);
    });
  }
  for (const [n, inner] of [[1, 1], [4, 5]] as const)
    it(`geglu on [${n}, ${2 * inner}]`, () => {
      const g = rng.normalArray(n * 2 * inner, 1.5);
      const w = rng.normalArray(n * inner);
      const dg = arr(cpu.gegluBackward(cpu.fromArray(w, [n, inner], "f32"), cpu.fromArray(g, [n, 2 * inner], "f32")));
      const f = (v: Float32Array) => dotW(arr(cpu.geglu(cpu.fromArray(v, [n, 2 * inner], "f32"))), w);
      expect(checkGradient(f, g, dg, { eps: 1e-3 }).error).toBeLessThan(1e-3);
    });
});

describe("dropout", () => {
  it("is deterministic in (seed, offset), keeps ≈ 1 − p scaled by 1/(1 − p), and backward applies the same mask", () => {
    const n = 20000;
    const x = cpu.fromArray(new Float32Array(n).fill(1), [n], "f32");
    const opts = { p: 0.1, seed: 42, offset: 1000 };
    const y1 = arr(cpu.dropout(x, opts));
    const y2 = arr(cpu.dropout(x, opts));
    expect(relativeL2(y1, y2)).toBe(0);
    const kept = y1.filter((v) => v !== 0);
    expect(Math.abs(kept.length / n - 0.9)).toBeLessThan(0.01);
    expect(kept.every((v) => v === Math.fround(1 / 0.9))).toBe(true);
    for (let i = 0; i < 100; i++) expect(y1[i] !== 0).toBe(uniformAt(42, 1000 + i) >= 0.1);
    expect(relativeL2(arr(cpu.dropoutBackward(x, opts)), y1)).toBe(0);
    expect(relativeL2(arr(cpu.dropout(x, { ...opts, seed: 43 })), y1)).toBeGreaterThan(0.1);
    expect(relativeL2(arr(cpu.dropout(x, { p: 0, seed: 1 })), arr(x))).toBe(0);
    expect(() => cpu.dropout(x, { p: 1, seed: 1 })).toThrow(/dropout: p: expected a drop probability in \[0, 1\)/);
  });

  it("takes the counter offset mod 2³² for any safe integer, and refuses offsets past 2^53 − 1, fractions and negatives", () => {
    const x = cpu.fromArray(new Float32Array(64).fill(1), [64], "f32");
    const mask = (offset: number) => Array.from(arr(cpu.dropout(x, { p: 0.5, seed: 1, offset })), (v) => (v === 0 ? 0 : 1)).join("");
    // 2^53 − 1 ≡ 2^32 − 1 (mod 2^32): the same counters, element by element (offset + i in doubles would round above 2^53).
    expect(mask(2 ** 53 - 1)).toBe(mask(2 ** 32 - 1));
    expect(mask(2 ** 52 + 5)).toBe(mask(5));
    expect(mask(2 ** 32)).toBe(mask(0));
    for (const bad of [2 ** 53, 2 ** 64, 1.5, -1, NaN, Infinity]) {
      expect(() => cpu.dropout(x, { p: 0.5, seed: 1, offset: bad })).toThrow(
        `dropout: offset: expected an integer counter offset in [0, 2^53 − 1] (used mod 2^32), got ${String(bad)}`,
      );
    }
    // Every op with a dropout shares the check.
    const g = cpu.fromArray(new Float32Array(8).fill(1), [2, 4], "f32");
    expect(() => cpu.geglu(g, { dropout: { p: 0.5, seed: 1, offset: 2 ** 53 } })).toThrow(/geglu: offset: expected an integer counter offset in \[0, 2\^53 − 1\]/);
    expect(() => cpu.dropoutBackward(x, { p: 0.5, seed: 1, offset: 2 ** 53 })).toThrow(/dropoutBackward: offset:/);
  });
});
