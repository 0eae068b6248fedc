import { describe, expect, it } from "vitest";
import { Rng } from "../random.js";
import { checkGradient, relativeL2 } from "../testing.js";
import { cpu } from "./backend.js";

const rng = new Rng(13);
const arr = (t: { toArray(): unknown }) => t.toArray() as Float32Array;

function naiveCe(logits: Float32Array, targets: number[], c: number, ignore: number): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  targets.forEach((t, i) => {
    if (t === ignore) return;
    const row = Array.from(logits.subarray(i * c, i * c + c));
    const mx = Math.max(...row);
    sum += mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0)) - row[t]!;
    count++;
  });
  return { sum, count };
}

describe("crossEntropy", () => {
  it("mean over non-ignored rows (ignoreIndex −100 by default) and sum", () => {
    const [n, c] = [6, 7];
    const x = rng.normalArray(n * c, 3);
    const targets = [3, -100, 0, 6, -100, 2];
    const logits = cpu.fromArray(x, [n, c], "f32");
    const t = cpu.fromArray(targets, [n], "i32");
    const ref = naiveCe(x, targets, c, -100);
    expect(cpu.crossEntropy(logits, t).loss.item()).toBeCloseTo(ref.sum / ref.count, 5);
    expect(cpu.crossEntropy(logits, t, { reduction: "sum" }).loss.item()).toBeCloseTo(ref.sum, 4);
    expect(() => cpu.crossEntropy(logits, t, { ignoreIndex: 0 })).toThrow(/crossEntropy: targets: index -100 at position 1 is out of range \[0, 7\) \(ignoreIndex 0\)/);
  });

  it("refuses logits with no classes (C = 0), naming logits, whatever the targets", () => {
    // [2, 0] has 2 rows of 0 classes (torch 2.13: F.cross_entropy(torch.zeros(2, 0), torch.zeros(2, dtype=torch.long))
    // raises "Target 0 is out of bounds."); the message names C, not a count of 0 rows.
    const logits = cpu.zeros([2, 0], "f32");
    for (const targets of [[0, 0], [-100, -100]]) {
      expect(() => cpu.crossEntropy(logits, cpu.fromArray(targets, [2], "i32"))).toThrow(
        "crossEntropy: logits: expected [N, C] with at least one class (C ≥ 1), got [2, 0]",
      );
    }
  });

  for (const reduction of ["mean", "sum"] as const)
    it(`gradient (${reduction}, gradScale 0.5) matches finite differences and is zero on ignored rows`, () => {
      const [n, c] = [5, 4];
      const x = rng.normalArray(n * c, 2);
      const targets = [1, -100, 3, 0, 0];
      const t = cpu.fromArray(targets, [n], "i32");
      const { grad } = cpu.crossEntropy(cpu.fromArray(x, [n, c], "f32"), t, { reduction, computeGrad: true, gradScale: 0.5 });
      const g = arr(grad!);
      const f = (v: Float32Array) => 0.5 * cpu.crossEntropy(cpu.fromArray(v, [n, c], "f32"), t, { reduction }).loss.item();
      expect(checkGradient(f, x, g, { eps: 1e-3 }).error).toBeLessThan(2e-3);
      expect(Array.from(g.subarray(c, 2 * c))).toEqual([0, 0, 0, 0]);
    });

  it("inPlace writes the gradient over the logits (f32 and bf16)", () => {
    const [n, c] = [3, 5];
    const x = rng.normalArray(n * c);
    const t = cpu.fromArray([4, 0, -100], [n], "i32");
    const ref = cpu.crossEntropy(cpu.fromArray(x, [n, c], "f32"), t, { computeGrad: true });
    for (const dtype of ["f32", "bf16"] as const) {
      const logits = cpu.fromArray(x, [n, c], dtype);
      const lossRef = cpu.crossEntropy(cpu.fromArray(arr(logits), [n, c], "f32"), t).loss.item();
      const res = cpu.crossEntropy(logits, t, { computeGrad: true, inPlace: true });
      expect(res.grad).toBe(logits);
      expect(res.loss.item()).toBeCloseTo(lossRef, 6);
      expect(relativeL2(arr(logits), arr(ref.grad!))).toBeLessThan(dtype === "f32" ? 1e-7 : 2e-2);
    }
  });

  it("with every row ignored the loss and gradient are 0", () => {
    const res = cpu.crossEntropy(cpu.fromArray([1, 2], [1, 2], "f32"), cpu.fromArray([-100], [1], "i32"), { computeGrad: true });
    expect(res.loss.item()).toBe(0);
    expect(Array.from(arr(res.grad!))).toEqual([0, 0]);
  });

  it("rejects a wrong number of targets and float targets", () => {
    const logits = cpu.zeros([2, 3], "f32");
    expect(() => cpu.crossEntropy(logits, cpu.fromArray([0], [1], "i32"))).toThrow(/crossEntropy: targets: expected 2 elements/);
    expect(() => cpu.crossEntropy(logits, cpu.fromArray([0, 1], [2], "f32"))).toThrow(/crossEntropy: targets: expected dtype i32, got f32/);
  });
});

describe("mse and argmax", () => {
  it("mse is the mean squared error with gradient 2(p − t)/N·gradScale", () => {
    const p = rng.normalArray(5);
    const t = rng.normalArray(5);
    const res = cpu.mse(cpu.fromArray(p, [5], "f32"), cpu.fromArray(t, [5, 1], "f32"), { computeGrad: true, gradScale: 3 });
    const ref = p.reduce((s, v, i) => s + (v - t[i]!) ** 2, 0) / 5;
    expect(res.loss.item()).toBeCloseTo(ref, 6);
    const f = (v: Float32Array) => 3 * cpu.mse(cpu.fromArray(v, [5], "f32"), cpu.fromArray(t, [5], "f32")).loss.item();
    expect(checkGradient(f, p, arr(res.grad!), { eps: 1e-3 }).error).toBeLessThan(1e-3);
    expect(() => cpu.mse(cpu.zeros([3], "f32"), cpu.zeros([2], "f32"))).toThrow(/mse: target: expected 3 elements/);
  });

  it("argmax picks the first maximum of each row", () => {
    const x = cpu.fromArray([1, 5, 5, 0, -1, -2, -3, -0.5, 2, 2, 9, 9], [3, 4], "f32");
    const y = cpu.argmax(x);
    expect(y.dtype).toBe("i32");
    expect(Array.from(y.toArray() as Int32Array)).toEqual([1, 3, 2]);
  });
});
