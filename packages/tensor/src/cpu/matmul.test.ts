import { describe, expect, it } from "vitest";
import { Rng } from "../random.js";
import { checkGradient, relativeL2 } from "../testing.js";
import { erfPrecise } from "./erf.js";
import { CpuBackend, cpu } from "./backend.js";

/** Plain triple loop in doubles: c[i, j] = Σ_k A[i, k]·B[k, j] with op() applied by index. */
function naive(a: Float32Array, b: Float32Array, M: number, K: number, N: number, transA: boolean, transB: boolean): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (transA ? a[k * M + i]! : a[i * K + k]!) * (transB ? b[j * K + k]! : b[k * N + j]!);
      c[i * N + j] = s;
    }
  return c;
}

const exactGelu = (x: number) => 0.5 * x * (1 + erfPrecise(x / Math.SQRT2));

describe("matmul", () => {
  const rng = new Rng(7);
  const shapes: [number, number, number][] = [[1, 1, 1], [3, 5, 2], [4, 4, 4], [17, 33, 9], [64, 48, 70], [5, 1, 130]];
  for (const [M, K, N] of shapes)
    for (const transA of [false, true])
      for (const transB of [false, true])
        it(`[${M}×${K}]·[${K}×${N}] transA=${transA} transB=${transB} matches the naive product`, () => {
          const a = rng.normalArray(M * K);
          const b = rng.normalArray(K * N);
          const ta = cpu.fromArray(a, transA ? [K, M] : [M, K], "f32");
          const tb = cpu.fromArray(b, transB ? [N, K] : [K, N], "f32");
          const y = cpu.matmul(ta, tb, { transA, transB });
          expect(y.shape).toEqual([M, N]);
          const ref = naive(a, b, M, K, N, transA, transB);
          expect(relativeL2(y.toArray() as Float32Array, ref)).toBeLessThan(1e-6);
        });

  it("applies alpha, bias, exact GELU, preActivation and accumulate in that order", () => {
    const [M, K, N] = [6, 10, 7];
    const a = rng.normalArray(M * K);
    const b = rng.normalArray(N * K);
    const bias = rng.normalArray(N);
    const prev = rng.normalArray(M * N);
    const pre = cpu.empty([M, N], "f32");
    const out = cpu.fromArray(prev, [M, N], "f32");
    cpu.matmul(cpu.fromArray(a, [M, K], "f32"), cpu.fromArray(b, [N, K], "f32"), {
      transB: true, alpha: 0.5, bias: cpu.fromArray(bias, [N], "f32"), activation: "gelu", preActivation: pre, out, accumulate: true,
    });
    const prod = naive(a, b, M, K, N, false, true);
    const preRef = Array.from(prod, (v, i) => 0.5 * v + bias[i % N]!);
    expect(relativeL2(pre.toArray() as Float32Array, preRef)).toBeLessThan(1e-6);
    const outRef = preRef.map((v, i) => exactGelu(v) + prev[i]!);
    expect(relativeL2(out.toArray() as Float32Array, outRef)).toBeLessThan(1e-6);
  });

  it("folds leading dimensions of a and works on views", () => {
    const a = rng.normalArray(2 * 3 * 4 + 4);
    const big = cpu.fromArray(a, [a.length], "f32");
    const view = big.view(4, [2, 3, 4]);
    const b = rng.normalArray(4 * 5);
    const y = cpu.matmul(view, cpu.fromArray(b, [4, 5], "f32"));
    expect(y.shape).toEqual([2, 3, 5]);
    const ref = naive(a.subarray(4), b, 6, 4, 5, false, false);
    expect(relativeL2(y.toArray() as Float32Array, ref)).toBeLessThan(1e-6);
  });

  it("rounds bf16 outputs to nearest even and computes from bf16 inputs", () => {
    const a = rng.normalArray(8 * 16);
    const b = rng.normalArray(16 * 8);
    const ab = cpu.fromArray(a, [8, 16], "bf16");
    const bb = cpu.fromArray(b, [16, 8], "bf16");
    const y = cpu.matmul(ab, bb);
    expect(y.dtype).toBe("bf16");
    const ref = naive(ab.toArray() as Float32Array, bb.toArray() as Float32Array, 8, 16, 8, false, false);
    const refBf16 = cpu.fromArray(Float32Array.from(ref), [8, 8], "bf16").toArray() as Float32Array;
    expect(Array.from(y.toArray() as Float32Array)).toEqual(Array.from(refBf16));
  });

  it("gradients from transposed matmuls match finite differences", () => {
    // y = a·bᵀ + bias, loss = Σ y ⊙ w. da = w·b, db = wᵀ·a, dbias = Σ_rows w.
    const [M, K, N] = [5, 6, 4];
    const a = rng.normalArray(M * K);
    const b = rng.normalArray(N * K);
    const bias = rng.normalArray(N);
    const w = rng.normalArray(M * N);
    const tw = cpu.fromArray(w, [M, N], "f32");
    const f = (av: Float32Array, bv: Float32Array, biasv: Float32Array) => {
      const y = cpu.matmul(cpu.fromArray(av, [M, K], "f32"), cpu.fromArray(bv, [N, K], "f32"), { transB: true, bias: cpu.fromArray(biasv, [N], "f32") });
      const yv = y.toArray() as Float32Array;
      return yv.reduce((s, v, i) => s + v * w[i]!, 0);
    };
    const da = cpu.matmul(tw, cpu.fromArray(b, [N, K], "f32")).toArray() as Float32Array;
    const db = cpu.matmul(tw, cpu.fromArray(a, [M, K], "f32"), { transA: true }).toArray() as Float32Array;
    const dbias = cpu.sumRows(tw).toArray() as Float32Array;
    expect(checkGradient((x) => f(x, b, bias), a, da).error).toBeLessThan(1e-3);
    expect(checkGradient((x) => f(a, x, bias), b, db).error).toBeLessThan(1e-3);
    expect(checkGradient((x) => f(a, b, x), bias, dbias).error).toBeLessThan(1e-3);
  });

  it("rejects mismatched shapes, dtypes and accumulate without out", () => {
    const a = cpu.zeros([2, 3], "f32");
    expect(() => cpu.matmul(a, cpu.zeros([4, 2], "f32"))).toThrow(/matmul: b: expected shape \[3, N\]/);
    expect(() => cpu.matmul(a, cpu.zeros([3, 2], "i32"))).toThrow(/matmul: b: expected dtype f32 or bf16 or f16, got i32/);
    expect(() => cpu.matmul(a, cpu.zeros([3, 2], "f32"), { bias: cpu.zeros([3], "f32") })).toThrow(/matmul: bias: expected shape \[2\]/);
    expect(() => cpu.matmul(a, cpu.zeros([3, 2], "f32"), { accumulate: true })).toThrow(/accumulate requires an `out` tensor/);
    expect(() => cpu.matmul(a, cpu.zeros([3, 2], "f32"), { out: cpu.zeros([2, 3], "f32") })).toThrow(/matmul: out: expected shape \[2, 2\]/);
  });

  it("returns the bias gradient Σ over dy's rows beside the weight gradient, written or accumulated", () => {
    // dy [3 rows, 2 outputs], x [3 rows, 2 inputs]: gW = dyᵀ·x, gb = column sums of dy.
    const dy = cpu.fromArray([1, 2, 3, -4, 0.5, 10], [3, 2], "f32");
    const x = cpu.fromArray([1, 0, 0, 1, 2, 2], [3, 2], "f32");
    const gw = cpu.zeros([2, 2], "f32");
    const gb = cpu.fromArray([100, 200], [2], "f32");
    cpu.matmul(dy, x, { transA: true, out: gw, biasGrad: gb });
    expect(Array.from(gw.toArray() as Float32Array)).toEqual([2, 4, 22, 16]);
    expect(Array.from(gb.toArray() as Float32Array)).toEqual([4.5, 8]);
    cpu.matmul(dy, x, { transA: true, out: gw, accumulate: true, biasGrad: gb });
    expect(Array.from(gw.toArray() as Float32Array)).toEqual([4, 8, 44, 32]);
    expect(Array.from(gb.toArray() as Float32Array)).toEqual([9, 16]);
  });

  it("K = 0 (a [M, 0] · b [0, N]): zeros [M, N], plus the bias, the activation and accumulate, as with transA", () => {
    // Expected values from torch 2.13 (CPU, float32):
    //   a = torch.zeros(2, 0); b = torch.zeros(0, 3); bias = torch.tensor([1., -2., 0.5])
    //   a @ b                                        → [0, 0, 0, 0, 0, 0]
    //   torch.addmm(bias, a, b, alpha=0.5)           → [1, -2, 0.5, 1, -2, 0.5]
    //   F.gelu(F.linear(a, b.t(), bias))             → [0.8413447141647339, -0.04550027847290039, 0.3457312285900116] per row
    //   out = [[10, 20, 30], [40, 50, 60]]; out + torch.addmm(bias, a, b) → [11, 18, 30.5, 41, 48, 60.5]
    //   F.linear(torch.zeros(2, 2, 0), torch.zeros(3, 0), bias) → shape [2, 2, 3], [1, -2, 0.5] per row
    const bias = cpu.fromArray([1, -2, 0.5], [3], "f32");
    const a = cpu.zeros([2, 0], "f32");
    const b = cpu.zeros([0, 3], "f32");
    const y = cpu.matmul(a, b);
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.toArray() as Float32Array)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(cpu.matmul(a, b, { bias, alpha: 0.5 }).toArray() as Float32Array)).toEqual([1, -2, 0.5, 1, -2, 0.5]);
    // The same product stored transposed (a as [0, 2] with transA) gives the same values.
    expect(Array.from(cpu.matmul(cpu.zeros([0, 2], "f32"), b, { bias, transA: true }).toArray() as Float32Array)).toEqual([1, -2, 0.5, 1, -2, 0.5]);
    const pre = cpu.empty([2, 3], "f32");
    const g = cpu.matmul(a, cpu.zeros([3, 0], "f32"), { transB: true, bias, activation: "gelu", preActivation: pre });
    expect(Array.from(pre.toArray() as Float32Array)).toEqual([1, -2, 0.5, 1, -2, 0.5]);
    const gelu = [0.8413447141647339, -0.04550027847290039, 0.3457312285900116];
    expect(relativeL2(g.toArray() as Float32Array, Float64Array.from([...gelu, ...gelu]))).toBeLessThan(1e-6);
    const out = cpu.fromArray([10, 20, 30, 40, 50, 60], [2, 3], "f32");
    cpu.matmul(a, b, { bias, out, accumulate: true });
    expect(Array.from(out.toArray() as Float32Array)).toEqual([11, 18, 30.5, 41, 48, 60.5]);
    const y3 = cpu.matmul(cpu.zeros([2, 2, 0], "f32"), b, { bias });
    expect(y3.shape).toEqual([2, 2, 3]);
    expect(Array.from(y3.toArray() as Float32Array)).toEqual([1, -2, 0.5, 1, -2, 0.5, 1, -2, 0.5, 1, -2, 0.5]);
    // A [2, 0] operand has 2 rows, which the mismatch message reports.
    expect(() => cpu.matmul(a, cpu.zeros([1, 3], "f32"))).toThrow("matmul: b: expected shape [0, N] to match the inner dimension 0 of a [2, 0], got [1, 3]");
  });

  it("refuses a bias gradient that is not a plain weight-gradient product's", () => {
    const dy = cpu.zeros([3, 2], "f32");
    const x = cpu.zeros([3, 4], "f32");
    const gb = cpu.zeros([2], "f32");
    expect(() => cpu.matmul(dy, x, { transA: true, biasGrad: cpu.zeros([4], "f32") })).toThrow(/matmul: biasGrad: expected shape \[2\], got \[4\]/);
    expect(() => cpu.matmul(dy, x, { transA: true, biasGrad: cpu.zeros([2], "bf16") })).toThrow(/matmul: biasGrad: expected dtype f32, got bf16/);
    expect(() => cpu.matmul(x, cpu.zeros([4, 2], "f32"), { biasGrad: cpu.zeros([3], "f32") })).toThrow(/matmul: biasGrad: needs transA/);
    expect(() => cpu.matmul(dy, x, { transA: true, alpha: 2, biasGrad: gb })).toThrow(/matmul: biasGrad: needs alpha 1/);
    expect(() => cpu.matmul(dy, x, { transA: true, bias: cpu.zeros([4], "f32"), biasGrad: gb })).toThrow(/cannot be combined with bias/);
    expect(() => cpu.matmul(dy, x, { transA: true, preActivation: cpu.zeros([2, 4], "f32"), biasGrad: gb })).toThrow(/or preActivation/);
    expect(() => cpu.matmul(dy, x, { transA: true, biasGrad: dy.view(0, [2]) })).toThrow(/must not overlap a/);
    expect(() => cpu.matmul(dy, x, { transA: true, biasGrad: x.view(3, [2]) })).toThrow(/must not overlap b/);
    // Views of one flat buffer (a model's gradients): disjoint is fine, overlapping is refused.
    const flat = cpu.zeros([8 + 2], "f32");
    const gw = flat.view(0, [2, 4]);
    expect(() => cpu.matmul(dy, x, { transA: true, out: gw, biasGrad: flat.view(7, [2]) })).toThrow(/must not overlap out/);
    cpu.matmul(dy, x, { transA: true, out: gw, biasGrad: flat.view(8, [2]) });
  });
});

describe("matmul on worker threads", () => {
  it("gives bit-identical results to one thread, split by columns or by rows, with bias and GELU", () => {
    const threaded = new CpuBackend({ threads: 3 });
    expect(threaded.threads).toBe(3);
    const rng = new Rng(17);
    // [M, K, N]: wide (split by column panels) and tall (split by row panels), above the 2^24-flop threshold.
    for (const [M, K, N, transA, transB] of [[67, 301, 499, true, false], [1031, 257, 45, false, true]] as const) {
      const a = rng.normalArray(M * K);
      const b = rng.normalArray(K * N);
      const bias = rng.normalArray(N);
      const run = (be: CpuBackend) =>
        be.matmul(be.fromArray(a, transA ? [K, M] : [M, K], "f32"), be.fromArray(b, transB ? [N, K] : [K, N], "f32"), {
          transA, transB, bias: be.fromArray(bias, [N], "f32"), activation: "gelu", alpha: 0.7,
        }).toArray() as Float32Array;
      const one = run(cpu);
      const many = run(threaded);
      expect(relativeL2(many, one)).toBe(0);
      expect(relativeL2(one, Array.from(naive(a, b, M, K, N, transA, transB), (v, i) => exactGelu(0.7 * v + bias[i % N]!)))).toBeLessThan(1e-6);
    }
    expect(threaded.pool.spawned).toBe(2);
    expect(() => threaded.setThreads(0)).toThrow(/setThreads: n: expected an integer in \[1, /);
    threaded.setThreads(1);
  });
});
