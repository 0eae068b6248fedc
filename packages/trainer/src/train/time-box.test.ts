import { describe, expect, it } from "vitest";
import { makeSchedule } from "@mosaicbert/layers";
import { TimeBoxProgress } from "./time-box.js";

/**
 * Drives a TimeBoxProgress as the training loop does, on synthetic step durations (seconds): before
 * step i runs, progress(i, elapsed); after it, recordStep(duration) (and overhead, if any).
 * Returns the progress used by every step.
 */
function simulate(tb: TimeBoxProgress, durations: readonly number[], overheadAfter: (step: number) => number = () => 0): { ps: number[]; elapsed: number } {
  const ps: number[] = [];
  let elapsed = 0;
  for (let i = 0; i < durations.length && elapsed < tb.budgetSeconds; i++) {
    ps.push(tb.progress(i, elapsed));
    elapsed += durations[i]!;
    tb.recordStep(durations[i]!);
    const o = overheadAfter(i + 1);
    elapsed += o;
    tb.recordOverhead(o);
  }
  return { ps, elapsed };
}

describe("TimeBoxProgress", () => {
  it("a slow first step does not push the warmup early", () => {
    // 5 s of autotuning in the first step, then 50 ms steps, in a 60 s budget: ≈ 1100 steps in all.
    const durations = [5, ...Array<number>(2000).fill(0.05)];
    const tb = new TimeBoxProgress(60);
    const { ps } = simulate(tb, durations.slice(0, 10));
    // After 10 steps: elapsed 5.45 s, 54.55 s left at 0.05 s/step → 10 / (10 + 1091).
    const p10 = tb.progress(10, 5 + 9 * 0.05);
    expect(p10).toBeCloseTo(10 / (10 + 54.55 / 0.05), 6);
    // The wall-clock fraction would have been 5.45 / 60 ≈ 0.09: past a 6% warmup already.
    expect(p10).toBeLessThan(0.01);
    // Nothing measured before the second step completes: progress 0 (warmup multiplier 0).
    expect(ps.slice(0, 2)).toEqual([0, 0]);

    // Over the whole run, a 6% warmup on 10⁶ virtual steps peaks near 6% of the steps actually run.
    const VIRTUAL = 1_000_000;
    const sched = makeSchedule({ kind: "linear_decay_with_warmup", warmupSteps: 0.06 * VIRTUAL, alphaF: 0.02 }, VIRTUAL);
    const all = simulate(new TimeBoxProgress(60), durations);
    const lrs = all.ps.map((p) => sched.multiplier(Math.min(VIRTUAL, Math.floor(p * VIRTUAL))));
    const peak = lrs.indexOf(Math.max(...lrs));
    expect(all.ps.length).toBeGreaterThan(1000);
    expect(peak / all.ps.length).toBeGreaterThan(0.05);
    expect(peak / all.ps.length).toBeLessThan(0.07);
    // The decay runs to the end: the last step is within a step of p = 1.
    expect(all.ps.at(-1)!).toBeGreaterThan(1 - 2 / all.ps.length);
  });

  it("stays monotone when the pace changes suddenly", () => {
    // 0.05 s steps, then 10× slower (e.g. a thermal throttle or a slower data source): fewer steps
    // are left, so the projection jumps ahead — and never back.
    const slowdown = [1, ...Array<number>(200).fill(0.05), ...Array<number>(300).fill(0.5)];
    const a = simulate(new TimeBoxProgress(100), slowdown);
    for (let i = 1; i < a.ps.length; i++) expect(a.ps[i]!).toBeGreaterThanOrEqual(a.ps[i - 1]!);
    expect(a.ps.at(-1)!).toBeGreaterThan(0.95);

    // Slow steps, then 50× faster: the raw projection (more steps left) would fall; p holds instead.
    const speedup = [1, ...Array<number>(100).fill(0.5), ...Array<number>(200).fill(0.01)];
    const tb = new TimeBoxProgress(100);
    const b = simulate(tb, speedup.slice(0, 150));
    for (let i = 1; i < b.ps.length; i++) expect(b.ps[i]!).toBeGreaterThanOrEqual(b.ps[i - 1]!);
    expect(b.ps[101]!).toBeCloseTo(101 / (101 + 49 / 0.5), 9);
    // While the median is still the slow pace, p keeps rising; after 49 fast steps the median is
    // 0.01 s and the raw projection 150 / (150 + 48.51 / 0.01) ≈ 0.03 — far below where p stands.
    const held = b.ps.at(-1)!;
    expect(held).toBeGreaterThan(0.5);
    expect(tb.secondsPerStep()).toBeCloseTo(0.01, 12);
    expect(150 / (150 + (100 - b.elapsed) / 0.01)).toBeLessThan(0.05);
    expect(tb.progress(150, b.elapsed)).toBe(held);
  });

  it("evaluation overhead reduces the projected total steps", () => {
    const durations = [2, ...Array<number>(100).fill(0.1)];
    const plain = new TimeBoxProgress(120);
    const withEval = new TimeBoxProgress(120);
    simulate(plain, durations);
    // A 3 s evaluation every 20 steps: 0.15 s per step amortised.
    simulate(withEval, durations, (s) => (s % 20 === 0 ? 3 : 0));
    expect(plain.secondsPerStep()).toBeCloseTo(0.1, 9);
    expect(withEval.secondsPerStep()).toBeCloseTo(0.1 + 15 / 101, 9);
    // Same steps done and seconds used: the run with evaluations is projected to end sooner.
    expect(withEval.progress(101, 40)).toBeGreaterThan(plain.progress(101, 40));
    expect(withEval.progress(101, 40)).toBeCloseTo(101 / (101 + 80 / (0.1 + 15 / 101)), 9);
  });

  it("reports 1 once the time is up, and never more", () => {
    const tb = new TimeBoxProgress(10);
    simulate(tb, [1, 0.5, 0.5, 0.5]);
    expect(tb.progress(4, 2.5)).toBeLessThan(1);
    expect(tb.progress(5, 10)).toBe(1);
    expect(tb.progress(6, 12)).toBe(1);
    expect(tb.progress(6, 5)).toBe(1);
  });

  it("a resumed run starts from its saved progress and excludes its own first step", () => {
    const tb = new TimeBoxProgress(60, { floor: 0.4 });
    expect(tb.progress(500, 30)).toBe(0.4);
    tb.recordStep(4); // the resumed process's warm-up step: not measured
    expect(tb.secondsPerStep()).toBeNull();
    tb.recordStep(0.05);
    expect(tb.secondsPerStep()).toBeCloseTo(0.05, 12);
    // 502 / (502 + 25.95 / 0.05) ≈ 0.49 (the floor no longer binds).
    expect(tb.progress(502, 34.05)).toBeCloseTo(502 / (502 + 25.95 / 0.05), 9);
  });

  it("rejects a bad budget, floor or window with the argument named", () => {
    expect(() => new TimeBoxProgress(0)).toThrow(/budgetSeconds: expected a finite number of seconds > 0, got 0/);
    expect(() => new TimeBoxProgress(10, { floor: 1.5 })).toThrow(/floor: expected a progress in \[0, 1\], got 1.5/);
    expect(() => new TimeBoxProgress(10, { window: 0 })).toThrow(/window: expected an integer ≥ 1, got 0/);
  });
});
