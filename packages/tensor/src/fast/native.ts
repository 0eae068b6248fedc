import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The optional native GEMM (native/cpu_gemm.c, built by scripts/build-native.mjs at install). */
export interface NativeGemm {
  /** c = alpha·op(a)·op(b) + bias (+ c when accumulate), row-major f32, columns of c split over `threads`. */
  gemm(
    a: Float32Array, b: Float32Array, c: Float32Array, M: number, N: number, K: number,
    transA: number, transB: number, alpha: number, accumulate: number, threads: number, bias: Float32Array | null,
  ): void;
  /** "avx512", "avx2" or "none" (then gemm throws). */
  isa(): string;
}

let cached: NativeGemm | null | undefined;

/** This package's root: the nearest folder above this module whose package.json is @mosaicbert/tensor. */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, "utf8")) as { name?: string }).name === "@mosaicbert/tensor") return dir;
      } catch {
        return null;
      }
    }
    dir = dirname(dir);
  }
  return null;
}

/**
 * The native GEMM when it was built and this CPU runs it (AVX2 + FMA or AVX-512), else null: the fast backend then
 * uses its WebAssembly GEMM. MOSAICBERT_CPU_NATIVE=0 turns it off; MOSAICBERT_CPU_NATIVE_PATH names another build.
 */
export function loadNativeGemm(): NativeGemm | null {
  if (cached !== undefined) return cached;
  cached = null;
  if (process.env.MOSAICBERT_CPU_NATIVE === "0") return null;
  const root = packageRoot();
  const file = process.env.MOSAICBERT_CPU_NATIVE_PATH ?? (root ? join(root, "build", "cpu_gemm.node") : null);
  if (!file || !existsSync(file)) return null;
  try {
    const mod = createRequire(import.meta.url)(file) as NativeGemm;
    if (typeof mod.gemm === "function" && typeof mod.isa === "function" && mod.isa() !== "none") cached = mod;
  } catch {
    cached = null;
  }
  return cached;
}
