import { describe, expect, it } from "vitest";
import { cpu } from "../cpu/backend.js";
import type { Backend } from "../backend.js";
import { Rng } from "../random.js";
import { FastCpuBackend } from "./backend.js";

const fast = new FastCpuBackend({ threads: 2 });

// Sizes spanning several thread shares, one below the 1 KiB residency threshold (reference path).
const SIZES = [70_000, 129, 30_001, 100];

function params(be: Backend, seed: number) {
  const rng = new Rng(seed);
  return SIZES.map((n) => ({
    param: be.fromArray(rng.normalArray(n), [n], "f32"),
    grad: be.fromArray(rng.normalArray(n, 0, 0.1), [n], "f32"),
    m: be.fromArray(rng.normalArray(n, 0, 0.01), [n], "f32"),
    v: be.fromArray(rng.uniformArray(n, 0, 1e-3), [n], "f32"),
    lowp: be.empty([n], "bf16"),
  }));
}

describe("fast AdamW and global norm (WebAssembly, threads)", () => {
  it("updates every parameter bit for bit as the reference, over several steps", () => {
    const f = params(fast, 4);
    const r = params(cpu, 4);
    for (let step = 1; step <= 3; step++) {
      const opts = { lr: 2e-3, beta1: 0.9, beta2: 0.98, eps: 1e-6, decay: 1e-5 * step, step, gradScale: 0.5 };
      fast.adamw(f, { ...opts, gradScaleTensor: fast.fromArray([0.75], [1], "f32") });
      cpu.adamw(r, { ...opts, gradScaleTensor: cpu.fromArray([0.75], [1], "f32") });
    }
    f.forEach((e, i) => {
      for (const k of ["param", "m", "v", "lowp"] as const) {
        const same = Buffer.from(fast.readBytes(e[k])).equals(Buffer.from(cpu.readBytes(r[i]![k])));
        expect(same, `${k} of parameter ${i} differs from the reference`).toBe(true);
      }
    });
  });

  it("computes the global norm of many tensors as the reference (summed in doubles)", () => {
    const f = params(fast, 5).map((e) => e.param);
    const r = params(cpu, 5).map((e) => e.param);
    const a = fast.read(fast.globalNorm(f))[0] as number;
    const b = cpu.read(cpu.globalNorm(r))[0] as number;
    expect(a).toBeCloseTo(b, 3);
    expect(Math.abs(a - b) / b).toBeLessThan(1e-6);
    expect(fast.read(fast.globalNorm([]))[0]).toBe(0);
  });
});
