import { describe, expect, it } from "vitest";
import { cpu } from "@mosaicbert/tensor";
import { guardedScale, progressOf } from "./train-step.js";

const f32 = (x: number) => cpu.fromArray([x], [1], "f32");
const value = (t: { toArray(): unknown }) => (t.toArray() as Float32Array)[0]!;

describe("guardedScale: the optimizer multiplier behind the device-side non-finite guard", () => {
  it("is the clipping coefficient exactly (or 1 without clipping) while every loss and norm is finite", () => {
    const guard = cpu.zeros([1], "f32");
    expect(value(guardedScale(cpu, guard, [f32(2.5), f32(1e30)], f32(0.3125)))).toBe(Math.fround(0.3125));
    expect(value(guardedScale(cpu, guard, [f32(-7), f32(0)], null))).toBe(1);
    expect(value(guard)).toBe(0);
  });

  for (const bad of [NaN, Infinity, -Infinity]) {
    it(`is NaN once a loss or norm was ${bad}, and stays NaN for every later step`, () => {
      const guard = cpu.zeros([1], "f32");
      expect(value(guardedScale(cpu, guard, [f32(3), f32(1)], null))).toBe(1);
      expect(value(guardedScale(cpu, guard, [f32(3), f32(bad)], f32(0.5)))).toBeNaN();
      // The next step is finite, but the guard holds: its update is skipped too.
      expect(value(guardedScale(cpu, guard, [f32(3), f32(1)], f32(0.5)))).toBeNaN();
      expect(value(guardedScale(cpu, guard, [f32(3), f32(1)], null))).toBeNaN();
    });
  }

  it("with the backend's adamw, keeps the weights of the last good step through the steps after a bad one", () => {
    const guard = cpu.zeros([1], "f32");
    const param = cpu.fromArray([1, 2, 3], [3], "f32");
    const grad = cpu.fromArray([0.1, -0.2, 0.3], [3], "f32");
    const m = cpu.zeros([3], "f32");
    const v = cpu.zeros([3], "f32");
    const step = (loss: number, n: number) =>
      cpu.adamw([{ param, grad, m, v }], { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, decay: 0, step: n, gradScaleTensor: guardedScale(cpu, guard, [f32(loss)], null) });
    step(2, 1);
    const good = Array.from(param.toArray() as Float32Array);
    expect(good).not.toEqual([1, 2, 3]);
    step(NaN, 2);
    step(2, 3);
    expect(Array.from(param.toArray() as Float32Array)).toEqual(good);
  });
});

describe("progressOf: a time-boxed run's progress for a step launched past the agreed one", () => {
  it("is the agreed progress for the agreed step, before anything is measured, and at the end", () => {
    expect(progressOf(0.25, 10, 10)).toBeCloseTo(0.25, 15);
    expect(progressOf(0.25, 10, 9)).toBe(0.25);
    // A fresh run launches steps 0 and 1 on the progress agreed for step 0.
    expect(progressOf(0, 0, 1)).toBe(0);
    expect(progressOf(0.3, 0, 5)).toBe(0.3);
    expect(progressOf(0, 10, 12)).toBe(0);
    expect(progressOf(1, 10, 12)).toBe(1);
  });

  it("uses one projected step per step launched since: 10 done at 25% projects 30 more, so step 11 is at 11/40", () => {
    expect(progressOf(0.25, 10, 11)).toBeCloseTo(11 / 40, 12);
    expect(progressOf(0.25, 10, 12)).toBeCloseTo(12 / 40, 12);
    // Past the projected end it saturates at 1, and it never goes below the agreed value.
    expect(progressOf(0.25, 10, 50)).toBe(1);
    expect(progressOf(0.9, 90, 91)).toBeGreaterThanOrEqual(0.9);
  });
});
