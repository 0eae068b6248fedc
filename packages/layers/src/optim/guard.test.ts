import { describe, expect, it } from "vitest";
import { cpu } from "@mosaicbert/tensor";
import { guardedScale } from "./guard.js";

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
