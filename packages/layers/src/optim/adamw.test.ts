import { describe, expect, it } from "vitest";
import { cpu } from "@mosaicbert/tensor";
import { DecoupledAdamW } from "./adamw.js";
import { clipGradNorm } from "./clip.js";
import { makeSchedule } from "./schedule.js";

/** Composer DecoupledAdamW for one scalar, written out in doubles. */
function handAdamW(p0: number, grads: number[], lrs: number[], lrPeak: number, b1: number, b2: number, eps: number, wd: number): number[] {
  let p = p0;
  let m = 0;
  let v = 0;
  const out: number[] = [];
  grads.forEach((g, i) => {
    const t = i + 1;
    const lr = lrs[i]!;
    p = p * (1 - (lr / lrPeak) * wd);
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const mhat = m / (1 - b1 ** t);
    const vhat = v / (1 - b2 ** t);
    p = p - (lr * mhat) / (Math.sqrt(vhat) + eps);
    out.push(p);
  });
  return out;
}

describe("DecoupledAdamW", () => {
  it("matches a hand computation over 5 steps with a warmup schedule (decay scaled by lr_t / lr_peak)", () => {
    const lrPeak = 1e-2;
    // A large weight decay so the decoupled term is visible at float32 precision.
    const wd = 0.05;
    const sched = makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps: 2, alphaF: 0.1 }, 5);
    const lrs = [0, 1, 2, 3, 4].map((t) => lrPeak * sched.multiplier(t));
    expect(lrs).toEqual([0, 0.005, 0.01, 0.01 * (1 + (0.1 - 1) / 3), 0.01 * (1 + (0.1 - 1) * (2 / 3))]);
    const p0 = [0.5, -1.25, 3.0];
    const gradSeq = [
      [0.1, -0.2, 0.0],
      [0.3, 0.05, -1.0],
      [-0.2, 0.4, 2.0],
      [0.05, -0.05, 0.5],
      [1.0, 0.0, -0.25],
    ];
    const param = cpu.fromArray(p0, [3], "f32");
    const grad = cpu.zeros([3], "f32");
    const opt = new DecoupledAdamW(cpu, [{ param, grad }], { lr: lrPeak, betas: [0.9, 0.98], eps: 1e-6, weightDecay: wd });
    const got: number[][] = [];
    for (let s = 0; s < 5; s++) {
      cpu.write(grad, gradSeq[s]!);
      opt.step(lrs[s]!);
      got.push(Array.from(param.toArray() as Float32Array));
    }
    expect(opt.stepCount).toBe(5);
    for (let j = 0; j < 3; j++) {
      const want = handAdamW(p0[j]!, gradSeq.map((g) => g[j]!), lrs, lrPeak, 0.9, 0.98, 1e-6, wd);
      for (let s = 0; s < 5; s++) expect(got[s]![j]).toBeCloseTo(want[s]!, 6);
    }
    // Step 1 ran at lr 0: nothing moved (Composer's first warmup batch).
    expect(got[0]).toEqual(p0);
  });

  it("the recipe defaults are Composer's MosaicBERT values", () => {
    const opt = new DecoupledAdamW(cpu, [{ param: cpu.zeros([1], "f32"), grad: cpu.zeros([1], "f32") }]);
    expect([opt.lr, opt.betas, opt.eps, opt.weightDecay]).toEqual([5e-4, [0.9, 0.98], 1e-6, 1e-5]);
  });

  it("state save/load continues bit-identically", () => {
    const mk = () => {
      const param = cpu.fromArray([1, 2, 3, 4], [4], "f32");
      const grad = cpu.zeros([4], "f32");
      return { param, grad, opt: new DecoupledAdamW(cpu, [{ param, grad }], { lr: 1e-2 }) };
    };
    const g = (s: number) => [Math.sin(s), Math.cos(s), s / 10, -s / 7];
    const a = mk();
    for (let s = 0; s < 6; s++) {
      cpu.write(a.grad, g(s));
      a.opt.step(1e-2);
    }
    const b = mk();
    for (let s = 0; s < 3; s++) {
      cpu.write(b.grad, g(s));
      b.opt.step(1e-2);
    }
    const saved = b.opt.state();
    const weights = b.param.toArray();
    const c = mk();
    cpu.write(c.param, weights);
    c.opt.loadState(saved);
    for (let s = 3; s < 6; s++) {
      cpu.write(c.grad, g(s));
      c.opt.step(1e-2);
    }
    expect(Array.from(c.param.toArray() as Float32Array)).toEqual(Array.from(a.param.toArray() as Float32Array));
    expect(() => c.opt.loadState({ step: 1, m: [new Float32Array(3)], v: [new Float32Array(3)] })).toThrow(/moments\[0\] expected 4 values/);
  });

  it("clipping: the coefficient rescales gradients inside the step", () => {
    const param = cpu.fromArray([0, 0], [2], "f32");
    const grad = cpu.fromArray([3, 4], [2], "f32");
    const { norm, coefficient } = clipGradNorm(cpu, [grad], 1);
    expect(norm.item()).toBeCloseTo(5, 6);
    expect(coefficient.item()).toBeCloseTo(1 / (5 + 1e-6), 7);
    // Adam is scale-invariant at step 1 up to eps, so compare moments instead: m = (1 − β1)·g·c.
    const opt = new DecoupledAdamW(cpu, [{ param, grad }], { lr: 1e-3, weightDecay: 0 });
    opt.step(1e-3, { gradScaleTensor: coefficient });
    const m = opt.state().m[0]!;
    expect(m[0]).toBeCloseTo(0.1 * 3 / 5, 6);
    expect(m[1]).toBeCloseTo(0.1 * 4 / 5, 6);
    expect(() => clipGradNorm(cpu, [grad], 0)).toThrow(/maxNorm/);
    // No clipping: the norm alone (what the trainer logs), and no coefficient to scale by.
    const measured = clipGradNorm(cpu, [grad], null);
    expect(measured.norm.item()).toBeCloseTo(5, 6);
    expect(measured.coefficient).toBeNull();
  });

  it("rejects bad hyper-parameters and mismatched buffers by name", () => {
    const p = { param: cpu.zeros([2], "f32"), grad: cpu.zeros([2], "f32") };
    expect(() => new DecoupledAdamW(cpu, [p], { betas: [0.9, 1] })).toThrow(/betas\[1\]/);
    expect(() => new DecoupledAdamW(cpu, [{ param: p.param, grad: cpu.zeros([3], "f32") }])).toThrow(/params\[0\] has 2 values but its grad 3/);
    expect(() => new DecoupledAdamW(cpu, [p]).step(-1)).toThrow(/lrT/);
  });

  it("refuses each out-of-range hyper-parameter, non-f32 buffers and a state of another layout, by name", () => {
    const p = () => ({ param: cpu.zeros([2], "f32"), grad: cpu.zeros([2], "f32") });
    const bad: Array<[object, string]> = [
      [{ lr: -1 }, "DecoupledAdamW: lr must be a number ≥ 0, got -1"],
      [{ lr: NaN }, "DecoupledAdamW: lr must be a number ≥ 0, got NaN"],
      [{ betas: [-0.1, 0.9] }, "DecoupledAdamW: betas[0] must be a number in [0, 1), got -0.1"],
      [{ betas: [1, 0.9] }, "DecoupledAdamW: betas[0] must be a number in [0, 1), got 1"],
      [{ betas: [0.9, -0.5] }, "DecoupledAdamW: betas[1] must be a number in [0, 1), got -0.5"],
      [{ eps: -1e-8 }, "DecoupledAdamW: eps must be a number ≥ 0, got -1e-8"],
      [{ weightDecay: -0.1 }, "DecoupledAdamW: weightDecay must be a number ≥ 0, got -0.1"],
    ];
    for (const [o, msg] of bad) expect(() => new DecoupledAdamW(cpu, [p()], o)).toThrow(msg);
    // The edges are allowed.
    expect(() => new DecoupledAdamW(cpu, [p()], { lr: 0, betas: [0, 0], eps: 0, weightDecay: 0 })).not.toThrow();
    expect(() => new DecoupledAdamW(cpu, [])).toThrow("DecoupledAdamW: expected at least one parameter tensor");
    expect(() => new DecoupledAdamW(cpu, [{ param: cpu.zeros([2], "bf16"), grad: cpu.zeros([2], "f32") }])).toThrow("DecoupledAdamW: params[0] must be float32 param and grad, got bf16/f32");
    expect(() => new DecoupledAdamW(cpu, [{ param: cpu.zeros([2], "f32"), grad: cpu.zeros([2], "bf16") }])).toThrow("got f32/bf16");
    const opt = new DecoupledAdamW(cpu, [p(), p()]);
    const ok = { step: 1, m: [new Float32Array(2), new Float32Array(2)], v: [new Float32Array(2), new Float32Array(2)] };
    expect(() => opt.loadState({ ...ok, step: -1 })).toThrow("DecoupledAdamW.loadState: step must be an integer ≥ 0, got -1");
    expect(() => opt.loadState({ ...ok, step: 1.5 })).toThrow("got 1.5");
    expect(() => opt.loadState({ ...ok, m: [new Float32Array(2)] })).toThrow("DecoupledAdamW.loadState: expected 2 moment pairs, got 1/2");
    expect(() => opt.loadState({ ...ok, v: [new Float32Array(2)] })).toThrow("expected 2 moment pairs, got 2/1");
    expect(() => opt.loadState({ ...ok, v: [new Float32Array(2), new Float32Array(3)] })).toThrow("DecoupledAdamW.loadState: moments[1] expected 2 values, got 2/3");
    opt.loadState({ ...ok, step: 0 });
    expect(opt.stepCount).toBe(0);
    // With a peak lr of 0 the decay factor is 1 (Composer), so weight decay still applies.
    const q = p();
    cpu.write(q.param, [1, -2]);
    const z = new DecoupledAdamW(cpu, [q], { lr: 0, weightDecay: 0.5 });
    z.step(0);
    expect(Array.from(q.param.toArray() as Float32Array)).toEqual([0.5, -1]);
  });

  it("scales gradients by gradScale (1/worldSize after a summing all-reduce): the first moment is (1 − β1)·g·scale", () => {
    const param = cpu.fromArray([0.25, -0.5], [2], "f32");
    const grad = cpu.fromArray([3, -8], [2], "f32");
    const opt = new DecoupledAdamW(cpu, [{ param, grad }], { lr: 1e-3, weightDecay: 0 });
    opt.step(1e-3, { gradScale: 0.25 });
    const { m, v } = opt.state();
    expect(m[0]![0]).toBeCloseTo(0.1 * 3 * 0.25, 7);
    expect(m[0]![1]).toBeCloseTo(0.1 * -8 * 0.25, 7);
    expect(v[0]![1]).toBeCloseTo(0.02 * (8 * 0.25) ** 2, 6);
  });

  it("refreshes the bf16 copy of each parameter after the step (round to nearest even of the new f32 weights)", () => {
    // Hand bf16 rounding of a float32: keep the top 16 bits, ties to even.
    const bf16 = (x: number): number => {
      const bits = new Uint32Array(Float32Array.of(x).buffer)[0]!;
      const r = ((bits + 0x7fff + ((bits >>> 16) & 1)) & 0xffff0000) >>> 0;
      return new Float32Array(Uint32Array.of(r).buffer)[0]!;
    };
    const param = cpu.fromArray([1.00390625, -2.5, 0.1], [3], "f32");
    const grad = cpu.fromArray([0.5, -0.25, 1], [3], "f32");
    const lowp = cpu.zeros([3], "bf16");
    const opt = new DecoupledAdamW(cpu, [{ param, grad, lowp }], { lr: 1e-2, weightDecay: 0 });
    opt.step(1e-2);
    const p = Array.from(param.toArray() as Float32Array);
    // The step moved every weight (Adam's first step is ±lr), and the copy follows.
    expect(p.map((x, i) => Math.abs(x - [1.00390625, -2.5, 0.1][i]!))).toEqual(p.map(() => expect.closeTo(1e-2, 6)));
    expect(Array.from(lowp.toArray() as ArrayLike<number>)).toEqual(p.map(bf16));
    expect(p.map(bf16)).not.toEqual([0, 0, 0]);
  });

  it("names lrT in its refusal, refuses first moments of another size, and frees its moments on dispose", () => {
    const mk = () => ({ param: cpu.zeros([2], "f32"), grad: cpu.zeros([2], "f32") });
    const opt = new DecoupledAdamW(cpu, [mk()]);
    expect(() => opt.step(-1)).toThrow("DecoupledAdamW: lrT must be a number ≥ 0, got -1");
    expect(() => opt.step(Infinity)).toThrow("DecoupledAdamW: lrT must be a number ≥ 0, got Infinity");
    expect(() => opt.loadState({ step: 1, m: [new Float32Array(3)], v: [new Float32Array(2)] })).toThrow(
      "DecoupledAdamW.loadState: moments[0] expected 2 values, got 3/2",
    );
    const before = cpu.memoryStats().allocatedBytes;
    const big = { param: cpu.zeros([1000], "f32"), grad: cpu.zeros([1000], "f32") };
    const afterParams = cpu.memoryStats().allocatedBytes;
    const o2 = new DecoupledAdamW(cpu, [big]);
    // m and v: two float32 buffers of the parameter's size.
    expect(cpu.memoryStats().allocatedBytes - afterParams).toBeGreaterThanOrEqual(2 * 4000);
    o2.dispose();
    expect(cpu.memoryStats().allocatedBytes).toBe(afterParams);
    big.param.dispose();
    big.grad.dispose();
    expect(cpu.memoryStats().allocatedBytes).toBe(before);
  });
});
