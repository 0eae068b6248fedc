import { describe, expect, it } from "vitest";
import { Rng } from "../random.js";
import { checkGradient, relativeL2 } from "../testing.js";
import { cpu } from "./backend.js";

const rng = new Rng(5);
const arr = (t: { toArray(): unknown }) => t.toArray() as Float32Array;
const dotW = (y: Float32Array, w: Float32Array) => y.reduce((s, v, i) => s + v * w[i]!, 0);

function naiveLayerNorm(x: Float32Array, n: number, h: number, w: Float32Array, b: Float32Array, eps: number): number[] {
  const y: number[] = [];
  for (let r = 0; r < n; r++) {
    const row = Array.from(x.subarray(r * h, r * h + h));
    const mu = row.reduce((s, v) => s + v, 0) / h;
    const varr = row.reduce((s, v) => s + (v - mu) ** 2, 0) / h;
    row.forEach((v, j) => y.push(((v - mu) / Math.sqrt(varr + eps)) * w[j]! + b[j]!));
  }
  return y;
}

describe("layerNorm", () => {
  it("matches the textbook formula (biased variance) and returns mean and rstd", () => {
    const [n, h, eps] = [4, 9, 1e-12];
    const x = rng.normalArray(n * h, 3, 1);
    const w = rng.normalArray(h);
    const b = rng.normalArray(h);
    const { y, mean, rstd } = cpu.layerNorm(cpu.fromArray(x, [n, h], "f32"), cpu.fromArray(w, [h], "f32"), cpu.fromArray(b, [h], "f32"), eps);
    expect(relativeL2(arr(y), naiveLayerNorm(x, n, h, w, b, eps))).toBeLessThan(1e-6);
    expect(mean.shape).toEqual([n]);
    expect(rstd.dtype).toBe("f32");
    expect(arr(mean)[0]).toBeCloseTo(x.subarray(0, h).reduce((s, v) => s + v, 0) / h, 5);
  });

  it("addLayerNorm normalises x + residual and returns the sum", () => {
    const [n, h] = [3, 6];
    const x = rng.normalArray(n * h);
    const r = rng.normalArray(n * h);
    const w = rng.normalArray(h);
    const b = rng.normalArray(h);
    const res = cpu.addLayerNorm(cpu.fromArray(x, [n, h], "f32"), cpu.fromArray(r, [n, h], "f32"), cpu.fromArray(w, [h], "f32"), cpu.fromArray(b, [h], "f32"), 1e-5);
    const sum = Float32Array.from(x, (v, i) => v + r[i]!);
    expect(relativeL2(arr(res.sum), sum)).toBe(0);
    expect(relativeL2(arr(res.y), naiveLayerNorm(sum, n, h, w, b, 1e-5))).toBeLessThan(1e-6);
  });

  for (const [n, h] of [[1, 1], [1, 5], [6, 16]] as const)
    it(`backward on [${n}, ${h}] matches finite differences for x, weight and bias (accumulated)`, () => {
      const eps = 1e-5;
      const x = rng.normalArray(n * h, 1.5);
      const w = rng.normalArray(h);
      const b = rng.normalArray(h);
      const dyv = rng.normalArray(n * h);
      const f = (xv: Float32Array, wv: Float32Array, bv: Float32Array) =>
        dotW(arr(cpu.layerNorm(cpu.fromArray(xv, [n, h], "f32"), cpu.fromArray(wv, [h], "f32"), cpu.fromArray(bv, [h], "f32"), eps).y), dyv);
      const tx = cpu.fromArray(x, [n, h], "f32");
      const { mean, rstd } = cpu.layerNorm(tx, cpu.fromArray(w, [h], "f32"), cpu.fromArray(b, [h], "f32"), eps);
      const dweight = cpu.fromArray(new Float32Array(h).fill(1), [h], "f32");
      const dbias = cpu.fromArray(new Float32Array(h).fill(-1), [h], "f32");
      const dx = arr(cpu.layerNormBackward(cpu.fromArray(dyv, [n, h], "f32"), tx, cpu.fromArray(w, [h], "f32"), mean, rstd, { dweight, dbias }));
      if (h > 1) expect(checkGradient((v) => f(v, w, b), x, dx, { eps: 1e-3 }).error).toBeLessThan(2e-3);
      else expect(Math.abs(dx[0]!)).toBeLessThan(1e-6); // a 1-wide row normalises to 0 whatever x is
      const dw = Float32Array.from(arr(dweight), (v) => v - 1);
      const db = Float32Array.from(arr(dbias), (v) => v + 1);
      expect(checkGradient((v) => f(x, v, b), w, dw, { eps: 1e-3 }).error).toBeLessThan(2e-3);
      expect(checkGradient((v) => f(x, w, v), b, db, { eps: 1e-3 }).error).toBeLessThan(2e-3);
    });

  it("rejects wrong weight shape, non-f32 statistics and f32-only grads", () => {
    const x = cpu.zeros([2, 4], "f32");
    const w = cpu.zeros([4], "f32");
    expect(() => cpu.layerNorm(x, cpu.zeros([3], "f32"), w, 1e-5)).toThrow(/layerNorm: weight: expected shape \[4\], got \[3\]/);
    expect(() => cpu.layerNorm(x, w, w, -1)).toThrow(/layerNorm: eps: expected a non-negative number/);
    const { mean, rstd } = cpu.layerNorm(x, w, w, 1e-5);
    expect(() => cpu.layerNormBackward(x, x, w, cpu.zeros([2], "bf16"), rstd, { dweight: w, dbias: w })).toThrow(/layerNormBackward: mean: expected dtype f32/);
    expect(() => cpu.layerNormBackward(x, x, w, mean, rstd, { dweight: cpu.zeros([4], "bf16"), dbias: w })).toThrow(/layerNormBackward: grads.dweight: expected dtype f32/);
  });
});
