import type { MatmulOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { validateMatmul } from "../validate/matmul.js";
import { geluScalar } from "../cpu/erf.js";
import { loadF32, rawOf, storeF32 } from "../cpu/storage.js";
import type { FastCpuBackend } from "./backend.js";
import { splitRange } from "./runtime.js";
import { type Region, Scratch } from "./scratch.js";

/** Register tile of the micro-kernel (kernels.c MR × NR): thread shares are aligned to it. */
const MR = 6;
const NR = 8;
/** Products below this many flops run on one thread (a worker hand-off costs ~0.05 ms). */
const MIN_PARALLEL_FLOPS = 4e6;

/** Depth of the GEMM's k blocks (kernels.c KC): C holds partial sums until the last one. */
const KC = 256;

/**
 * matmul on the WebAssembly GEMM: operands read where the backend keeps them (the shared memory;
 * others copied in, bf16 widened while packing), C split into column (or row) slices, one per
 * thread, each a cache-blocked GEMM. alpha, bias and the accumulated output are applied in the
 * kernel's last pass over C, which is the output tensor itself when it lives in the memory.
 */
export function matmul(be: FastCpuBackend, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const plan = validateMatmul(be, a, b, opts);
  const { M, N, K, transA, transB, outShape, outDtype, alpha, activation, bias, preActivation: pre, out, accumulate, biasGrad } = plan;
  const rt = be.runtime;
  // Before the product: out may share storage with a.
  if (biasGrad !== null) be.sumRows(a, { out: biasGrad, accumulate });
  const y = out ?? be.emptyForOutput(outShape, outDtype);
  // Only an empty output returns early: with K = 0 (M, N > 0) the kernels below still write every
  // element (alpha·0 + bias, then the activation / accumulate), as y comes unzeroed from emptyForOutput.
  if (M === 0 || N === 0) return y;

  // f32 products without an activation go to the native AVX2/AVX-512 GEMM when it was built (fast/native.ts):
  // 128-bit WebAssembly SIMD reaches a third of what these CPUs' wide FMAs do. It reads and writes the tensors
  // where they are (a, b and y must not share storage: the WebAssembly path handles that case through scratch).
  const threads = 2 * M * N * K < MIN_PARALLEL_FLOPS ? 1 : rt.threads;
  const nat = be.nativeGemm;
  if (
    nat !== null && a.dtype === "f32" && b.dtype === "f32" && y.dtype === "f32" && activation === "none" && pre === null &&
    (bias === null || bias.dtype === "f32") && y.storage !== a.storage && y.storage !== b.storage
  ) {
    nat.gemm(
      rawOf(a) as Float32Array, rawOf(b) as Float32Array, rawOf(y) as Float32Array, M, N, K, transA ? 1 : 0, transB ? 1 : 0, alpha,
      accumulate ? 1 : 0, threads, bias === null ? null : (rawOf(bias) as Float32Array),
    );
    return y;
  }

  const s = new Scratch(rt);
  const A = s.input(a);
  const B = s.input(b);
  const biasR = bias === null ? null : bias.dtype === "f32" ? s.input(bias) : s.floats(loadF32(bias));
  // The kernel adds the old output itself unless an activation or pre-activation comes between;
  // in place only when C is written once (K within one k block), else from a copy.
  const fused = pre === null && activation === "none";
  let C = fused ? s.output(y) : s.take(M * N * 4);
  let old: Region | null = null;
  // C += A·B in place: the kernel adds C's own values from its first k block on.
  let into = false;
  if (accumulate && fused) {
    if (s.inPlace(C, y) && K > KC) {
      if (alpha === 1 && bias === null) into = true;
      else C = s.take(M * N * 4);
    }
    if (!into) old = s.inPlace(C, y) ? C : s.floats(loadF32(y));
  }

  const byCols = N >= M || N >= 64 * threads;
  const shares = byCols ? splitRange(N, threads, NR) : splitRange(M, threads, MR);
  const work = shares.map(([n0, n1]) => s.take(rt.call("gemm_work_floats", byCols ? n1 - n0 : N) * 4));
  s.commit();

  const esA = A.half ? 2 : 4;
  const esB = B.half ? 2 : 4;
  // op(A)[i, k] = A[i·ars + k·aks]; op(B)[k, j] = B[k·bks + j·bcs].
  const [ars, aks] = transA ? [1, M] : [K, 1];
  const [bks, bcs] = transB ? [1, K] : [N, 1];
  const args = shares.map(([r0, r1], t) => {
    const [m0, m1, n0, n1] = byCols ? [0, M, r0, r1] : [r0, r1, 0, N];
    const cOff = (m0 * N + n0) * 4;
    return [
      A.at + m0 * ars * esA, A.half ? 1 : 0, ars, aks,
      B.at + n0 * bcs * esB, B.half ? 1 : 0, bks, bcs,
      C.at + cOff, N, m1 - m0, n1 - n0, K, alpha,
      biasR === null ? 0 : biasR.at + n0 * 4,
      old === null ? 0 : old.at + cOff,
      work[t]!.at,
      into ? 1 : 0,
    ];
  });
  rt.parallel("gemm", args);

  if (fused) {
    s.store(C, y);
    return y;
  }
  // The BERT baseline's fused GELU: finished on the host as the oracle does.
  const r = new Float32Array(s.f32(C, M * N));
  if (pre !== null) storeF32(pre, r);
  if (activation === "gelu") for (let i = 0; i < r.length; i++) r[i] = geluScalar(r[i]!);
  if (accumulate) {
    const prev = loadF32(y);
    for (let i = 0; i < r.length; i++) r[i] = r[i]! + prev[i]!;
  }
  storeF32(y, r);
  return y;
}
