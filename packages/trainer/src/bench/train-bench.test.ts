import { describe, expect, it } from "vitest";
import { BENCH_LENGTHS, BENCH_SEQ_LEN, benchLengths } from "./lengths.js";
import { benchBatch } from "./train-bench.js";
import { benchShape } from "../cli/bench.js";

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

describe("benchLengths (bench --seq-len)", () => {
  it("draws 32768 / L rows, about 60% full and the rest in [L/8, L-1], the same for the same seed", () => {
    for (const L of [128, 512, 1024, 2048, 8192]) {
      const a = benchLengths(L);
      expect(a.length).toBe(Math.floor(32768 / L));
      expect(benchLengths(L)).toEqual(a);
      for (const n of a) expect(n === L || (n >= Math.floor(L / 8) && n <= L - 1)).toBe(true);
    }
    const big = benchLengths(512, 4000);
    const full = big.filter((n) => n === 512).length / big.length;
    expect(Math.abs(full - 0.6)).toBeLessThan(0.04);
    const rest = big.filter((n) => n < 512);
    const mean = rest.reduce((s, n) => s + n, 0) / rest.length;
    expect(Math.abs(mean - (64 + 511) / 2)).toBeLessThan(15);
  });

  it("refuses lengths and batches it cannot build, naming the flag", () => {
    expect(() => benchLengths(1)).toThrow(/--seq-len/);
    expect(() => benchLengths(512, 0)).toThrow(/--batch/);
    expect(() => benchLengths(8192, 1e6)).toThrow(/--batch/);
  });

  it("bench's batch is the peers' 256 x 128 without --seq-len, seeded lengths with it", () => {
    expect(benchShape({})).toEqual({ lengths: BENCH_LENGTHS, seqLen: 128 });
    expect(benchShape({ seqLen: "1024", batch: "8" }).lengths.length).toBe(8);
    expect(() => benchShape({ batch: "8" })).toThrow(/--batch needs --seq-len/);
    // --full-rows: the same number of rows, every one at the full length.
    expect(benchShape({ fullRows: true })).toEqual({ lengths: BENCH_LENGTHS.map(() => 128), seqLen: 128 });
    expect(benchShape({ seqLen: "512", batch: "3", fullRows: true })).toEqual({ lengths: [512, 512, 512], seqLen: 512 });
  });
});
