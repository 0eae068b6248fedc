import { describe, expect, it } from "vitest";
import { cpu } from "./backend.js";

const arr = (t: { toArray(): unknown }) => t.toArray() as Float32Array;

/** AdamW written out in doubles for one scalar, step by step, as Composer's DecoupledAdamW does it. */
function handAdamW(p0: number, grads: number[], o: { lr: number; b1: number; b2: number; eps: number; decay: number }) {
  let [p, m, v] = [p0, 0, 0];
  grads.forEach((g, i) => {
    const t = i + 1;
    p *= 1 - o.decay;
    m = o.b1 * m + (1 - o.b1) * g;
    v = o.b2 * v + (1 - o.b2) * g * g;
    const denom = Math.sqrt(v) / Math.sqrt(1 - o.b2 ** t) + o.eps;
    p -= (o.lr / (1 - o.b1 ** t)) * (m / denom);
  });
  return { p, m, v };
}

describe("adamw", () => {
  it("matches a hand computation over three steps, with gradScale, gradScaleTensor and a bf16 copy", () => {
    const o = { lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-8, decay: 0.01 };
    const p0 = [1, -2, 0.5];
    const gradSeq = [[0.5, 0.1, -0.3], [0.2, -0.4, -0.1], [-0.6, 0.05, 0.3]];
    const param = cpu.fromArray(p0, [3], "f32");
    const m = cpu.zeros([3], "f32");
    const v = cpu.zeros([3], "f32");
    const lowp = cpu.zeros([3], "bf16");
    const grad = cpu.zeros([3], "f32");
    gradSeq.forEach((g, i) => {
      // raw grads are 4× the effective ones; gradScale 0.5 and gradScaleTensor 0.5 undo it.
      cpu.write(grad, g.map((x) => 4 * x));
      cpu.adamw([{ param, grad, m, v, lowp }], {
        lr: o.lr, beta1: o.b1, beta2: o.b2, eps: o.eps, decay: o.decay, step: i + 1, gradScale: 0.5,
        gradScaleTensor: cpu.fromArray([0.5], [1], "f32"),
      });
    });
    p0.forEach((x, j) => {
      const ref = handAdamW(x, gradSeq.map((g) => g[j]!), o);
      expect(arr(param)[j]).toBeCloseTo(ref.p, 6);
      expect(arr(m)[j]).toBeCloseTo(ref.m, 7);
      expect(arr(v)[j]).toBeCloseTo(ref.v, 9);
    });
    // The bf16 copy is the new master weights rounded to nearest even.
    expect(Array.from(arr(lowp))).toEqual(Array.from(cpu.cast(param, "bf16").toArray() as Float32Array));
  });

  it("validates every entry before updating any", () => {
    const good = { param: cpu.fromArray([1], [1], "f32"), grad: cpu.fromArray([1], [1], "f32"), m: cpu.zeros([1], "f32"), v: cpu.zeros([1], "f32") };
    const bad = { ...good, param: cpu.zeros([2], "f32") };
    const opts = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 0, step: 1 };
    expect(() => cpu.adamw([good, bad], opts)).toThrow(/adamw: params\[1\].grad: expected the shape of param \[2\], got \[1\]/);
    expect(arr(good.param)[0]).toBe(1);
    expect(() => cpu.adamw([good], { ...opts, step: 0 })).toThrow(/adamw: step: expected a 1-based integer step, got 0/);
    expect(() => cpu.adamw([{ ...good, m: cpu.zeros([1], "bf16") }], opts)).toThrow(/adamw: params\[0\].m: expected dtype f32/);
  });
});

describe("adamw without the optional inputs, and where eps matters", () => {
  it("runs with gradScaleTensor null and no bf16 copy (lowp null or absent); eps counts against a tiny √v", () => {
    // g = 1e-6 with eps = 1e-6: the first step moves by lr·ĝ/(|ĝ| + eps) = lr/2 (a sign error on eps would divide by ~0).
    const o = { lr: 0.1, b1: 0.9, b2: 0.999, eps: 1e-6, decay: 0 };
    for (const lowp of [null, undefined]) {
      const param = cpu.fromArray([1, -1], [2], "f32");
      const grad = cpu.fromArray([0.5e-6, -1.5e-6], [2], "f32");
      const m = cpu.zeros([2], "f32");
      const v = cpu.zeros([2], "f32");
      const entry = lowp === null ? { param, grad, m, v, lowp } : { param, grad, m, v };
      cpu.adamw([entry], { lr: o.lr, beta1: o.b1, beta2: o.b2, eps: o.eps, decay: o.decay, step: 1, gradScale: 2, gradScaleTensor: null });
      expect(arr(param)[0]).toBeCloseTo(1 - 0.05, 6);
      expect(arr(param)[1]).toBeCloseTo(-1 + 0.1 * (3e-6 / (3e-6 + 1e-6)), 6);
      expect(arr(param)[0]).toBeCloseTo(handAdamW(1, [1e-6], o).p, 6);
    }
  });
});

describe("globalNorm and clipCoefficient", () => {
  it("adds 1e-6 to the norm as torch.nn.utils.clip_grad_norm_ does (visible when the norm is that small)", () => {
    const n = cpu.globalNorm([cpu.fromArray([0.6e-6, 0.8e-6], [2], "f32")]);
    expect(n.item()).toBeCloseTo(1e-6, 12);
    // maxNorm / (1e-6 + 1e-6) = 0.5: clipped by half although the norm does not exceed maxNorm.
    expect(cpu.clipCoefficient(n, 1e-6).item()).toBeCloseTo(0.5, 6);
    expect(cpu.clipCoefficient(n, 1e-6).shape).toEqual([1]);
  });

  it("computes √Σx² over tensors of any float dtype and the clipping multiplier", () => {
    const n = cpu.globalNorm([cpu.fromArray([3, 0], [2], "f32"), cpu.fromArray([4], [1], "bf16"), cpu.fromArray([12], [1, 1], "f32")]);
    expect(n.item()).toBe(13);
    expect(cpu.clipCoefficient(n, 1).item()).toBeCloseTo(1 / (13 + 1e-6), 7);
    expect(cpu.clipCoefficient(n, 100).item()).toBe(1);
    expect(cpu.globalNorm([]).item()).toBe(0);
    expect(() => cpu.clipCoefficient(n, -1)).toThrow(/clipCoefficient: maxNorm: expected a positive number/);
  });
});

describe("the device-side step guard", () => {
  it("skips the whole step when gradScaleTensor is NaN or ±Inf, and steps again once it is finite", () => {
    const param = cpu.fromArray([1, -2, 0.5], [3], "f32");
    const grad = cpu.fromArray([0.5, 0.1, -0.3], [3], "f32");
    const m = cpu.fromArray([0.01, 0.02, 0.03], [3], "f32");
    const v = cpu.fromArray([1e-3, 2e-3, 3e-3], [3], "f32");
    const lowp = cpu.fromArray([7, 7, 7], [3], "bf16");
    const before = [param, m, v, lowp].map((t) => Array.from(arr(t)));
    for (const bad of [NaN, Infinity, -Infinity]) {
      cpu.adamw([{ param, grad, m, v, lowp }], { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 0.01, step: 1, gradScaleTensor: cpu.fromArray([bad], [1], "f32") });
      expect([param, m, v, lowp].map((t) => Array.from(arr(t)))).toEqual(before);
    }
    cpu.adamw([{ param, grad, m, v, lowp }], { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, decay: 0.01, step: 1, gradScaleTensor: cpu.fromArray([1], [1], "f32") });
    expect(arr(param)[0]).not.toBe(before[0]![0]);
    expect(Array.from(arr(lowp))).not.toEqual(before[3]);
  });

  it("clipCoefficient is NaN for a non-finite norm and min(1, max/(norm + 1e-6)) otherwise", () => {
    const coef = (n: number) => arr(cpu.clipCoefficient(cpu.fromArray([n], [1], "f32"), 2))[0]!;
    expect(coef(NaN)).toBeNaN();
    expect(coef(Infinity)).toBeNaN();
    expect(coef(-Infinity)).toBeNaN();
    expect(coef(4)).toBeCloseTo(2 / (4 + 1e-6), 7);
    expect(coef(1)).toBe(1);
  });

  it("addInPlace with alpha 0 turns NaN and ±Inf into NaN and leaves finite values alone", () => {
    const a = cpu.fromArray([1, 2, 3, 4], [4], "f32");
    cpu.addInPlace(a, cpu.fromArray([NaN, Infinity, -Infinity, 1e30], [4], "f32"), 0);
    const r = Array.from(arr(a));
    expect(r.slice(0, 3).every(Number.isNaN)).toBe(true);
    expect(r[3]).toBe(4);
  });

  it("readLater returns the values of the call even when the tensor changes before wait()", () => {
    const x = cpu.fromArray([1, 2, 3], [3], "f32");
    const p = cpu.readLater(x);
    cpu.fill(x, 9);
    expect(Array.from(p.wait() as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(p.wait() as Float32Array)).toEqual([1, 2, 3]);
  });
});

