import { describe, expect, it } from "vitest";
import { conformanceCases, runCase } from "../conformance.js";
import { cpu } from "../cpu/backend.js";
import { Rng } from "../random.js";
import { relativeL2 } from "../testing.js";
import { FastCpuBackend } from "./backend.js";

// Two threads whatever the machine, so that every kernel's parallel split is exercised.
const fast = new FastCpuBackend({ threads: 2 });

describe("fast CPU backend conformance against the CPU reference", () => {
  for (const c of conformanceCases) {
    it.skipIf(c.heavy === true)(c.name, () => {
      const r = runCase(c, fast, cpu, 7);
      expect(r.ok, `${c.name}: ${r.detail} (worst ${r.error})`).toBe(true);
    });
  }
});

// Where the native GEMM is built, f32 products above run on it: the product cases again on the WebAssembly GEMM.
const wasmOnly = new FastCpuBackend({ threads: 2, native: false });
describe("fast CPU backend conformance, WebAssembly GEMM only", () => {
  for (const c of conformanceCases.filter((k) => /matmul|linear/i.test(k.name))) {
    it.skipIf(c.heavy === true)(c.name, () => {
      const r = runCase(c, wasmOnly, cpu, 7);
      expect(r.ok, `${c.name}: ${r.detail} (worst ${r.error})`).toBe(true);
    });
  }
});

describe("fast CPU backend threads", () => {
  // Larger than the single-thread thresholds, with edges that are not multiples of the 6×8 tile
  // and K longer than one 256-deep cache block.
  const shapes: Array<[number, number, number, boolean, boolean]> = [
    [301, 517, 203, false, true],
    [97, 300, 1030, true, false],
    [1000, 33, 50, false, false],
  ];
  for (const [M, K, N, tA, tB] of shapes) {
    it(`matmul M${M} K${K} N${N} is identical on 1, 2 and 3 threads and matches the reference`, () => {
      const rng = new Rng(3);
      const ad = rng.normalArray(M * K);
      const bd = rng.normalArray(K * N);
      const bias = rng.normalArray(N);
      const opts = { transA: tA, transB: tB, alpha: 0.75 };
      const run = (threads: number) => {
        fast.setThreads(threads);
        const a = fast.fromArray(ad, tA ? [K, M] : [M, K], "f32");
        const b = fast.fromArray(bd, tB ? [N, K] : [K, N], "bf16");
        const out = fast.fromArray(new Float32Array(M * N).fill(0.5), [M, N], "f32");
        fast.matmul(a, b, { ...opts, bias: fast.fromArray(bias, [N], "f32"), out, accumulate: true });
        return fast.read(out) as Float32Array;
      };
      const one = run(1);
      const two = run(2);
      const three = run(3);
      fast.setThreads(2);
      expect(two).toEqual(one);
      expect(three).toEqual(one);
      const a = cpu.fromArray(ad, tA ? [K, M] : [M, K], "f32");
      const b = cpu.fromArray(bd, tB ? [N, K] : [K, N], "bf16");
      const out = cpu.fromArray(new Float32Array(M * N).fill(0.5), [M, N], "f32");
      cpu.matmul(a, b, { ...opts, bias: cpu.fromArray(bias, [N], "f32"), out, accumulate: true });
      expect(relativeL2(one, cpu.read(out) as Float32Array)).toBeLessThan(1e-6);
    });
  }

  it("accumulates a long product into an output kept in the memory (C += A·B over several k blocks) as the reference", () => {
    const [M, K, N] = [61, 700, 80];
    const rng = new Rng(8);
    const ad = rng.normalArray(K * M);
    const bd = rng.normalArray(K * N);
    const od = rng.normalArray(M * N);
    const run = (threads: number) => {
      fast.setThreads(threads);
      const out = fast.fromArray(od, [M, N], "f32");
      fast.matmul(fast.fromArray(ad, [K, M], "f32"), fast.fromArray(bd, [K, N], "f32"), { transA: true, out, accumulate: true });
      return fast.read(out) as Float32Array;
    };
    const one = run(1);
    expect(run(2)).toEqual(one);
    fast.setThreads(2);
    const out = cpu.fromArray(od, [M, N], "f32");
    cpu.matmul(cpu.fromArray(ad, [K, M], "f32"), cpu.fromArray(bd, [K, N], "f32"), { transA: true, out, accumulate: true });
    expect(relativeL2(one, cpu.read(out) as Float32Array)).toBeLessThan(1e-6);
  });

  it("rejects a bad thread count with a clear error", () => {
    expect(() => fast.setThreads(0)).toThrow(/setThreads: n: expected an integer in \[1, 256\], got 0/);
    expect(() => new FastCpuBackend({ threads: 1.5 })).toThrow(/expected an integer/);
  });
});
