import { describe, expect, it } from "vitest";
import { makeSchedule } from "./schedule.js";

describe("linear_decay_with_warmup (Composer LinearWithWarmupScheduler)", () => {
  // The MosaicBERT-base recipe: 70,000 steps, t_warmup 0.06dur = 4,200 steps, alpha_f 0.02, lr 5e-4.
  const s = makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps: 4200, alphaF: 0.02 }, 70000);
  const lr = (t: number) => 5e-4 * s.multiplier(t);

  it("warms up linearly from 0 (the first batch runs at lr 0)", () => {
    expect(lr(0)).toBe(0);
    expect(lr(1)).toBeCloseTo(5e-4 / 4200, 15);
    expect(lr(2100)).toBeCloseTo(2.5e-4, 12);
  });

  it("peaks at the end of warmup and decays linearly to alpha_f·lr", () => {
    expect(lr(4200)).toBeCloseTo(5e-4, 12);
    // Halfway through the decay: 1 + (0.02 − 1)·0.5 = 0.51.
    expect(s.multiplier(4200 + (70000 - 4200) / 2)).toBeCloseTo(0.51, 12);
    expect(lr(70000)).toBeCloseTo(1e-5, 12);
    expect(lr(80000)).toBeCloseTo(1e-5, 12);
  });

  it("is monotone: up during warmup, down after", () => {
    for (let t = 1; t < 4200; t += 97) expect(s.multiplier(t)).toBeGreaterThan(s.multiplier(t - 1));
    for (let t = 4201; t < 70000; t += 997) expect(s.multiplier(t)).toBeLessThan(s.multiplier(t - 1));
  });

  it("GLUE variant decays to zero", () => {
    const g = makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps: 6, alphaF: 0 }, 100);
    expect(g.multiplier(100)).toBe(0);
    expect(g.multiplier(53)).toBeCloseTo(0.5, 12);
  });

  it("no warmup starts at the peak; a run no longer than its warmup never decays", () => {
    expect(makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps: 0, alphaF: 0.5 }, 10).multiplier(0)).toBe(1);
    expect(makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps: 10, alphaF: 0.5 }, 10).multiplier(10)).toBe(1);
  });
});

describe("other schedules", () => {
  it("constant (with optional warmup)", () => {
    const c = makeSchedule({ kind: "constant_with_warmup", warmupSteps: 0 }, 100);
    expect([0, 50, 100].map((t) => c.multiplier(t))).toEqual([1, 1, 1]);
    const w = makeSchedule({ kind: "constant_with_warmup", warmupSteps: 4 }, 100);
    expect([0, 1, 2, 4, 99].map((t) => w.multiplier(t))).toEqual([0, 0.25, 0.5, 1, 1]);
  });

  it("cosine with warmup: peak after warmup, alpha_f at the end, midpoint halfway", () => {
    const c = makeSchedule({ kind: "cosine_with_warmup", warmupSteps: 10, alphaF: 0.1 }, 110);
    expect(c.multiplier(5)).toBeCloseTo(0.5, 12);
    expect(c.multiplier(10)).toBeCloseTo(1, 12);
    expect(c.multiplier(60)).toBeCloseTo(0.1 + 0.9 * 0.5, 12);
    // τ = 0.25: 0.1 + 0.9·½(1 + cos(π/4)).
    expect(c.multiplier(35)).toBeCloseTo(0.1 + 0.45 * (1 + Math.SQRT1_2), 12);
    expect(c.multiplier(110)).toBeCloseTo(0.1, 12);
  });

  it("rejects bad arguments with the name of the field", () => {
    expect(() => makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps: 1.5, alphaF: 0 }, 10)).toThrow(/warmupSteps/);
    expect(() => makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps: 1, alphaF: 0 }, -1)).toThrow(/totalSteps/);
    expect(() => makeSchedule({ kind: "constant_with_warmup", warmupSteps: 0 }, 10).multiplier(-1)).toThrow(/step/);
  });

  it("constant with a scale alpha; cosine clamps past T and never decays a run no longer than its warmup", () => {
    const c = makeSchedule({ kind: "constant_with_warmup", warmupSteps: 4, alpha: 0.5 }, 100);
    expect([0, 2, 4, 100].map((t) => c.multiplier(t))).toEqual([0, 0.25, 0.5, 0.5]);
    const cos = makeSchedule({ kind: "cosine_with_warmup", warmupSteps: 10, alphaF: 0.1 }, 110);
    expect(cos.multiplier(500)).toBeCloseTo(0.1, 12);
    expect(makeSchedule({ kind: "cosine_with_warmup", warmupSteps: 10, alphaF: 0.1 }, 10).multiplier(10)).toBe(1);
    expect(makeSchedule({ kind: "cosine_with_warmup", warmupSteps: 0, alphaF: 0.1 }, 10).multiplier(0)).toBe(1);
    expect(cos.totalSteps).toBe(110);
    expect(cos.spec).toEqual({ kind: "cosine_with_warmup", warmupSteps: 10, alphaF: 0.1 });
  });

  it("rejects non-finite, negative or fractional step counts and unknown kinds, by name", () => {
    for (const bad of [NaN, Infinity, -1, 2.5]) {
      expect(() => makeSchedule({ kind: "constant_with_warmup", warmupSteps: 0 }, bad)).toThrow(`schedule: totalSteps must be a non-negative integer number of steps, got ${bad}`);
      expect(() => makeSchedule({ kind: "constant_with_warmup", warmupSteps: bad }, 10)).toThrow(`schedule: warmupSteps must be a non-negative integer number of steps, got ${bad}`);
    }
    expect(makeSchedule({ kind: "constant_with_warmup", warmupSteps: 0 }, 0).multiplier(0)).toBe(1);
    expect(() => makeSchedule({ kind: "step", warmupSteps: 0 } as never, 10)).toThrow(/schedule: unknown kind 'step'/);
    const s = makeSchedule({ kind: "constant_with_warmup", warmupSteps: 0 }, 10);
    for (const bad of [NaN, Infinity, -0.5]) expect(() => s.multiplier(bad)).toThrow(`schedule: step must be ≥ 0, got ${bad}`);
    expect(s.multiplier(0.5)).toBe(1);
  });
});
