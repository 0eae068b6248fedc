import { describe, expect, it } from "vitest";
import { progressOf } from "./train-step.js";

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
