import { describe, expect, it } from "vitest";
import { cpu } from "../cpu/backend.js";
import { Rng } from "../random.js";
import { relativeL2 } from "../testing.js";
import { FastCpuBackend } from "./backend.js";
import { loadNativeGemm } from "./native.js";

// The native AVX2/AVX-512 GEMM is built at install when a C compiler is present (scripts/build-native.mjs);
// where it is not, these cases say so and skip (the WebAssembly GEMM then serves every product).
const native = loadNativeGemm();

describe.skipIf(native === null)("native CPU GEMM (built here)", () => {
  const backends = [1, 2, 3].map((threads) => new FastCpuBackend({ threads }));
  const shapes: Array<[number, number, number]> = [[1, 1, 1], [7, 5, 33], [13, 300, 70], [64, 513, 65], [100, 257, 31], [9, 0, 17], [37, 1030, 130]];
  for (const [M, K, N] of shapes) {
    it(`matmul M${M} K${K} N${N}: every transpose, bias, alpha and accumulation against the reference, on 1 to 3 threads`, () => {
      const rng = new Rng(M * 1000 + K);
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const ad = rng.normalArray(M * K);
          const bd = rng.normalArray(K * N);
          const bias = rng.normalArray(N);
          const start = rng.normalArray(M * N);
          const want = (be: typeof cpu) => {
            const out = be.fromArray(start, [M, N], "f32");
            be.matmul(be.fromArray(ad, transA ? [K, M] : [M, K], "f32"), be.fromArray(bd, transB ? [N, K] : [K, N], "f32"), {
              transA, transB, alpha: 0.75, bias: be.fromArray(bias, [N], "f32"), out, accumulate: true,
            });
            return out.toArray() as Float32Array;
          };
          const ref = want(cpu);
          for (const fast of backends) {
            expect(fast.nativeGemm).not.toBeNull();
            const got = want(fast);
            expect(relativeL2(got, ref), `transA ${transA} transB ${transB} threads ${fast.runtime.threads}`).toBeLessThan(1e-5);
          }
        }
      }
    });
  }

  it("writes every element of a fresh output (no accumulate)", () => {
    const fast = backends[1]!;
    const rng = new Rng(5);
    const [M, K, N] = [40, 600, 50];
    const a = fast.fromArray(rng.normalArray(M * K), [M, K], "f32");
    const b = fast.fromArray(rng.normalArray(K * N), [K, N], "f32");
    const y = fast.matmul(a, b);
    const r = cpu.matmul(cpu.fromArray(a.toArray() as Float32Array, [M, K], "f32"), cpu.fromArray(b.toArray() as Float32Array, [K, N], "f32"));
    expect(relativeL2(y.toArray() as Float32Array, r.toArray() as Float32Array)).toBeLessThan(1e-5);
  });

  it("refuses arrays shorter than their matrices instead of reading past them", () => {
    expect(() => native!.gemm(new Float32Array(3), new Float32Array(4), new Float32Array(4), 2, 2, 2, 0, 0, 1, 0, 1, null)).toThrow(/shorter than its matrix/);
    expect(() => native!.gemm(new Float32Array(4), new Float32Array(4), new Float32Array(4), 2, 2, 2, 0, 0, 1, 0, 1, new Float32Array(1))).toThrow(/bias/);
  });
});

describe("native CPU GEMM switch", () => {
  it("{ native: false } keeps products on the WebAssembly GEMM", () => {
    expect(new FastCpuBackend({ threads: 1, native: false }).nativeGemm).toBeNull();
  });
});
