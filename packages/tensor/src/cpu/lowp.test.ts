import { describe, expect, it } from "vitest";
import type { DType } from "../dtype.js";
import { Rng } from "../random.js";
import { relativeL2 } from "../testing.js";
import type { Tensor } from "../tensor.js";
import { cpu } from "./backend.js";

/**
 * bf16 / f16 inputs: every op computes in float32 on the decoded values and rounds its output
 * once, so a low-precision run must equal the f32 run on the same (rounded) inputs, rounded.
 */
const rng = new Rng(21);
const arr = (t: Tensor) => t.toArray() as Float32Array;

function roundTo(dtype: DType, x: Float32Array): Float32Array {
  return arr(cpu.fromArray(x, [x.length], dtype));
}

describe.each(["bf16", "f16"] as const)("%s inputs", (dtype) => {
  it("matmul, gelu, geglu, layerNorm and attention equal the f32 result rounded once", () => {
    const lp = (x: Float32Array, shape: number[]) => cpu.fromArray(x, shape, dtype);
    const f32of = (t: Tensor) => cpu.fromArray(arr(t), [...t.shape], "f32");
    const expectRounded = (low: Tensor, high: Tensor) => {
      expect(low.dtype).toBe(dtype);
      expect(relativeL2(arr(low), roundTo(dtype, arr(high)))).toBe(0);
    };
    const a = lp(rng.normalArray(6 * 8), [6, 8]);
    const b = lp(rng.normalArray(5 * 8), [5, 8]);
    expectRounded(cpu.matmul(a, b, { transB: true }), cpu.matmul(f32of(a), f32of(b), { transB: true }));
    expectRounded(cpu.gelu(a), cpu.gelu(f32of(a)));
    expectRounded(cpu.geglu(a), cpu.geglu(f32of(a)));
    const w = cpu.fromArray(rng.normalArray(8), [8], "f32");
    expectRounded(cpu.layerNorm(a, w, w, 1e-12).y, cpu.layerNorm(f32of(a), w, w, 1e-12).y);
    const qkv = lp(rng.normalArray(5 * 12), [5, 12]);
    const args = { numHeads: 2, cuSeqlens: cpu.fromArray([0, 3, 5], [3], "i32"), maxSeqlen: 3, slopes: [0.5, 0.25] };
    expectRounded(cpu.attention(qkv, args).out, cpu.attention(f32of(qkv), args).out);
    // Low-precision results stay close to the f32 computation on the unrounded inputs.
    const x = rng.normalArray(6 * 8);
    const rel = relativeL2(arr(cpu.gelu(lp(x, [6, 8]))), arr(cpu.gelu(cpu.fromArray(x, [6, 8], "f32"))));
    expect(rel).toBeLessThan(dtype === "bf16" ? 1e-2 : 1e-3);
  });
});
