import { describe, expect, it } from "vitest";
import { Rng } from "../random.js";
import { relativeL2 } from "../testing.js";
import type { Tensor } from "../tensor.js";
import { cpu } from "./backend.js";

/**
 * Every op must read and write through a view's offset (parameters and gradients live in one
 * flat store). Each op runs on views placed at odd offsets inside larger buffers filled with
 * sentinels and on contiguous copies; results must be identical and the sentinels untouched.
 */
const rng = new Rng(31);
const arr = (t: Tensor) => t.toArray() as Float32Array;
const SENTINEL = 1234.5;

/** A view of `shape` holding x, at offset 3 of a buffer padded with sentinels on both sides. */
function viewOf(x: Float32Array, shape: number[]): Tensor {
  const buf = cpu.fromArray(new Float32Array(x.length + 6).fill(SENTINEL), [x.length + 6], "f32");
  const v = buf.view(3, shape);
  cpu.write(v, x);
  return v;
}
function sentinelsIntact(v: Tensor): boolean {
  const all = arr(v.owner!);
  return [0, 1, 2, all.length - 3, all.length - 2, all.length - 1].every((i) => all[i] === SENTINEL);
}

describe("ops on views", () => {
  it("forward ops read through offsets", () => {
    const x = rng.normalArray(4 * 6);
    const w = rng.normalArray(6);
    const c = cpu.fromArray(x, [4, 6], "f32");
    const v = viewOf(x, [4, 6]);
    const wc = cpu.fromArray(w, [6], "f32");
    const wv = viewOf(w, [6]);
    expect(relativeL2(arr(cpu.layerNorm(v, wv, wv, 1e-5).y), arr(cpu.layerNorm(c, wc, wc, 1e-5).y))).toBe(0);
    expect(relativeL2(arr(cpu.geglu(v)), arr(cpu.geglu(c)))).toBe(0);
    const idx = cpu.fromArray([3, 0, 2], [3], "i32");
    expect(relativeL2(arr(cpu.gatherRows(v, idx)), arr(cpu.gatherRows(c, idx)))).toBe(0);
    expect(relativeL2(arr(cpu.embedding(idx, v)), arr(cpu.embedding(idx, c)))).toBe(0);
    const t = cpu.fromArray([1, -100, 5, 0], [4], "i32");
    expect(cpu.crossEntropy(v, t).loss.item()).toBe(cpu.crossEntropy(c, t).loss.item());
    const args = { numHeads: 1, cuSeqlens: cpu.fromArray([0, 1, 4], [3], "i32"), maxSeqlen: 3, slopes: [0.5] };
    expect(relativeL2(arr(cpu.attention(v, args).out), arr(cpu.attention(c, args).out))).toBe(0);
    expect(sentinelsIntact(v) && sentinelsIntact(wv)).toBe(true);
  });

  it("accumulating and in-place ops write only inside the view", () => {
    const [n, h] = [3, 5];
    const x = rng.normalArray(n * h);
    const dyv = rng.normalArray(n * h);
    const w = cpu.fromArray(rng.normalArray(h), [h], "f32");
    const xt = cpu.fromArray(x, [n, h], "f32");
    const { mean, rstd } = cpu.layerNorm(xt, w, w, 1e-5);
    const dy = cpu.fromArray(dyv, [n, h], "f32");
    const dwC = cpu.zeros([h], "f32");
    const dbC = cpu.zeros([h], "f32");
    cpu.layerNormBackward(dy, xt, w, mean, rstd, { dweight: dwC, dbias: dbC });
    const dwV = viewOf(new Float32Array(h), [h]);
    const dbV = viewOf(new Float32Array(h), [h]);
    cpu.layerNormBackward(dy, xt, w, mean, rstd, { dweight: dwV, dbias: dbV });
    expect(relativeL2(arr(dwV), arr(dwC)) + relativeL2(arr(dbV), arr(dbC))).toBe(0);

    const ids = cpu.fromArray([2, 0, 2], [3], "i32");
    const dtC = cpu.zeros([4, h], "f32");
    cpu.embeddingBackward(ids, dy, dtC);
    const dtV = viewOf(new Float32Array(4 * h), [4, h]);
    cpu.embeddingBackward(ids, dy, dtV);
    expect(relativeL2(arr(dtV), arr(dtC))).toBe(0);

    const p0 = rng.normalArray(h);
    const g = rng.normalArray(h);
    const opts = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 0.001, step: 1 };
    const pc = { param: cpu.fromArray(p0, [h], "f32"), grad: cpu.fromArray(g, [h], "f32"), m: cpu.zeros([h], "f32"), v: cpu.zeros([h], "f32") };
    const pv = { param: viewOf(p0, [h]), grad: viewOf(g, [h]), m: viewOf(new Float32Array(h), [h]), v: viewOf(new Float32Array(h), [h]) };
    cpu.adamw([pc], opts);
    cpu.adamw([pv], opts);
    expect(relativeL2(arr(pv.param), arr(pc.param))).toBe(0);
    expect(relativeL2(arr(pv.m), arr(pc.m)) + relativeL2(arr(pv.v), arr(pc.v))).toBe(0);

    const out = viewOf(new Float32Array(n * h), [n, h]);
    cpu.matmul(cpu.fromArray(x, [n, h], "f32"), cpu.fromArray(rng.normalArray(h * h), [h, h], "f32"), { out });
    const target = viewOf(new Float32Array(4 * h), [4, h]);
    cpu.scatterAddRows(dy, ids, target);
    for (const t of [dwV, dbV, dtV, pv.param, pv.m, pv.v, out, target]) expect(sentinelsIntact(t)).toBe(true);
  });
});
