import { describe, expect, it } from "vitest";
import { BENCH_LENGTHS, BENCH_SEQ_LEN } from "./lengths.js";
import { benchBatch } from "./train-bench.js";

describe("benchBatch (the peers' benchmark batch)", () => {
  it("pads the shared lengths to 128 and masks about the requested share of real tokens", () => {
    expect(BENCH_LENGTHS.length).toBe(256);
    expect(BENCH_LENGTHS.reduce((a, b) => a + b, 0)).toBe(27215);
    for (const p of [0.3, 0.15]) {
      const b = benchBatch(BENCH_LENGTHS, BENCH_SEQ_LEN, 30528, p, 0);
      const mask = b.attentionMask!;
      let real = 0, masked = 0;
      for (let i = 0; i < b.batchSize; i++) {
        for (let s = 0; s < BENCH_SEQ_LEN; s++) {
          const k = i * BENCH_SEQ_LEN + s;
          expect(mask[k]).toBe(s < BENCH_LENGTHS[i]! ? 1 : 0);
          if (mask[k] === 0) {
            expect(b.inputIds[k]).toBe(0);
            expect(b.labels[k]).toBe(-100);
            continue;
          }
          real++;
          if (b.labels[k] !== -100) {
            masked++;
            expect(b.inputIds[k]).toBe(103);
            expect(b.labels[k]).toBeGreaterThanOrEqual(1000);
            expect(b.labels[k]).toBeLessThan(30528 - 2);
          } else expect(b.inputIds[k]).toBeGreaterThanOrEqual(1000);
        }
      }
      expect(real).toBe(27215);
      expect(Math.abs(masked / real - p)).toBeLessThan(0.01);
    }
  });

  it("rejects a length outside [1, S] naming it", () => {
    expect(() => benchBatch([5, 0], 8, 30528, 0.3)).toThrow(/lengths\[1\] = 0, expected an integer in \[1, 8\]/);
  });
});
