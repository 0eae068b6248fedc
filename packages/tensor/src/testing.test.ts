import { describe, expect, it } from "vitest";
import { cpu } from "./cpu/backend.js";
import { checkGradient, hasNonFinite, maxAbsDiff, numericalGradient, poison, randomTensor, relativeL2 } from "./testing.js";

describe("testing helpers", () => {
  it("relativeL2 and maxAbsDiff", () => {
    expect(relativeL2([3, 4], [3, 4])).toBe(0);
    expect(relativeL2([3, 4.5], [3, 4])).toBeCloseTo(0.1, 12); // ‖(0, 0.5)‖ / ‖(3, 4)‖
    expect(relativeL2([0.5], [0])).toBe(0.5);
    expect(maxAbsDiff([1, 2, 3], [1, 2.5, 2])).toBe(1);
    expect(() => relativeL2([1], [1, 2])).toThrow(/lengths differ/);
  });

  it("central differences recover a known gradient, and checkGradient flags a wrong one", () => {
    const f = (x: Float32Array) => x[0]! ** 3 + Math.sin(x[1]!) * x[0]!;
    const x = new Float32Array([0.7, -1.2]);
    const exact = [3 * 0.7 ** 2 + Math.sin(-1.2), Math.cos(-1.2) * 0.7];
    const g = numericalGradient(f, x, 1e-3);
    expect(relativeL2(g, exact)).toBeLessThan(1e-4);
    expect(Array.from(x)).toEqual([Math.fround(0.7), Math.fround(-1.2)]); // restored
    expect(checkGradient(f, x, exact, { eps: 1e-3 }).error).toBeLessThan(1e-4);
    expect(checkGradient(f, x, [exact[0]!, -exact[1]!], { eps: 1e-3 }).error).toBeGreaterThan(0.1);
    expect(checkGradient(f, x, [exact[0]!, 999], { eps: 1e-3, indices: [0] }).error).toBeLessThan(1e-4);
  });

  it("randomTensor is seeded; poison fills with NaN", () => {
    const a = randomTensor(cpu, [2, 3], { seed: 5, std: 0.02 });
    const b = randomTensor(cpu, [2, 3], { seed: 5, std: 0.02 });
    expect(relativeL2(a.toArray() as Float32Array, b.toArray() as Float32Array)).toBe(0);
    expect(hasNonFinite(a.toArray() as Float32Array)).toBe(false);
    expect(hasNonFinite(poison(cpu, cpu.empty([3], "bf16")).toArray() as Float32Array)).toBe(true);
  });
});
