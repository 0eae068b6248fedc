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

describe("addLayerNorm with the post-LN block's dropout fused in", () => {
  it.each(["f32", "bf16"] as const)("%s: equals dropout → addLayerNorm forward, and layerNormBackward → dropoutBackward backward, bit for bit", (dt) => {
    const [n, h] = [7, 40];
    const t = (v: Float32Array, shape: number[], d: "f32" | "bf16" = dt) => cpu.fromArray(v, shape, d);
    const x = t(rng.normalArray(n * h), [n, h]);
    const r = t(rng.normalArray(n * h), [n, h]);
    const w = t(rng.normalArray(h), [h], "f32");
    const b = t(rng.normalArray(h), [h], "f32");
    const dy = t(rng.normalArray(n * h), [n, h]);
    const d = { p: 0.25, seed: 1234, offset: 77 };

    const fused = cpu.addLayerNorm(x, r, w, b, 1e-5, { dropout: d });
    const dropped = cpu.dropout(x, d);
    const plain = cpu.addLayerNorm(dropped, r, w, b, 1e-5);
    expect(Array.from(arr(fused.sum))).toEqual(Array.from(arr(plain.sum)));
    expect(Array.from(arr(fused.y))).toEqual(Array.from(arr(plain.y)));
    // About p of x's elements were dropped (280 draws: 70 ± 22 at 3σ).
    const zeros = arr(dropped).filter((v) => v === 0).length;
    expect(zeros).toBeGreaterThan(48);
    expect(zeros).toBeLessThan(92);

    const g = () => ({ dweight: cpu.zeros([h], "f32"), dbias: cpu.zeros([h], "f32") });
    const out = cpu.empty([n, h], dt);
    const g1 = g();
    const dx = cpu.layerNormBackward(dy, fused.sum, w, fused.mean, fused.rstd, { ...g1, dropoutGrad: { out, dropout: d } });
    const g2 = g();
    const dx2 = cpu.layerNormBackward(dy, plain.sum, w, plain.mean, plain.rstd, g2);
    expect(Array.from(arr(dx))).toEqual(Array.from(arr(dx2)));
    expect(Array.from(arr(out))).toEqual(Array.from(arr(cpu.dropoutBackward(dx2, d))));
    expect(Array.from(arr(g1.dweight))).toEqual(Array.from(arr(g2.dweight)));
  });

  it("refuses bad dropout options and an output that is not dy's shape and dtype, or aliases dy", () => {
    const x = cpu.zeros([2, 4], "f32");
    const w = cpu.zeros([4], "f32");
    expect(() => cpu.addLayerNorm(x, x, w, w, 1e-5, { dropout: { p: 1, seed: 1 } })).toThrow(/addLayerNorm: p: expected a drop probability in \[0, 1\)/);
    const mean = cpu.zeros([2], "f32");
    const grads = { dweight: cpu.zeros([4], "f32"), dbias: cpu.zeros([4], "f32") };
    const bwd = (out: ReturnType<typeof cpu.zeros>) =>
      cpu.layerNormBackward(x, cpu.zeros([2, 4], "f32"), w, mean, mean, { ...grads, dropoutGrad: { out, dropout: { p: 0.1, seed: 1 } } });
    expect(() => bwd(cpu.zeros([2, 3], "f32"))).toThrow(/layerNormBackward: grads.dropoutGrad.out: expected the shape of dy \[2, 4\], got \[2, 3\]/);
    expect(() => bwd(cpu.zeros([2, 4], "bf16"))).toThrow(/layerNormBackward: grads.dropoutGrad.out: expected dtype f32, got bf16/);
    expect(() => bwd(x)).toThrow(/must not share storage with dy or x/);
  });
});
