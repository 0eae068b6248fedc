import type { MatmulOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { validateMatmul } from "../validate/matmul.js";
import { geluScalar } from "../cpu/erf.js";
import { loadF32, storeF32 } from "../cpu/storage.js";
import type { FastCpuBackend } from "./backend.js";
import { splitRange } from "./runtime.js";
import { Scratch } from "./scratch.js";

/** Register tile of the micro-kernel (kernels.c MR × NR): thread shares are aligned to it. */
const MR = 6;
const NR = 8;
/** Products below this many flops run on one thread (a worker hand-off costs ~0.05 ms). */
const MIN_PARALLEL_FLOPS = 4e6;

/**
 * matmul on the WebAssembly GEMM: operands copied into the shared memory as stored (bf16 widened
 * while packing), C split into column (or row) slices, one per thread, each a cache-blocked GEMM.
 * alpha, bias and the accumulated output are applied in the kernel's last pass over C.
 */
export function matmul(be: FastCpuBackend, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const plan = validateMatmul(be, a, b, opts);
  const { M, N, K, transA, transB, outShape, outDtype, alpha, activation, bias, preActivation: pre, out, accumulate } = plan;
  const rt = be.runtime;
  const y = out ?? be.empty(outShape, outDtype);
  if (M === 0 || N === 0) return y;

  const s = new Scratch(rt);
  const aAt = s.take(Scratch.floatBytes(a));
  const bAt = s.take(Scratch.floatBytes(b));
  const cAt = s.take(M * N * 4);
  const biasAt = bias === null ? 0 : s.take(N * 4);
  // The kernel adds the old output itself unless an activation or pre-activation comes between.
  const fused = pre === null && activation === "none";
  const oldAt = accumulate && fused ? s.take(M * N * 4) : 0;

  const flops = 2 * M * N * K;
  const threads = flops < MIN_PARALLEL_FLOPS ? 1 : rt.threads;
  const byCols = N >= M || N >= 64 * threads;
  const shares = byCols ? splitRange(N, threads, NR) : splitRange(M, threads, MR);
  const workAt = shares.map(([n0, n1]) => s.take(rt.call("gemm_work_floats", byCols ? n1 - n0 : N) * 4));
  s.commit();

  const aHalf = s.putFloat(aAt, a) ? 1 : 0;
  const bHalf = s.putFloat(bAt, b) ? 1 : 0;
  if (bias !== null) s.putF32(biasAt, loadF32(bias));
  if (oldAt !== 0) s.putF32(oldAt, loadF32(y));
  const esA = aHalf ? 2 : 4;
  const esB = bHalf ? 2 : 4;
  // op(A)[i, k] = A[i·ars + k·aks]; op(B)[k, j] = B[k·bks + j·bcs].
  const [ars, aks] = transA ? [1, M] : [K, 1];
  const [bks, bcs] = transB ? [1, K] : [N, 1];
  const args = shares.map(([r0, r1], t) => {
    const [m0, m1, n0, n1] = byCols ? [0, M, r0, r1] : [r0, r1, 0, N];
    const cOff = (m0 * N + n0) * 4;
    return [
      aAt + m0 * ars * esA, aHalf, ars, aks,
      bAt + n0 * bcs * esB, bHalf, bks, bcs,
      cAt + cOff, N, m1 - m0, n1 - n0, K, alpha,
      bias === null ? 0 : biasAt + n0 * 4,
      oldAt === 0 ? 0 : oldAt + cOff,
      workAt[t]!,
    ];
  });
  rt.parallel("gemm", args);

  const c = s.f32(cAt, M * N);
  if (fused) {
    storeF32(y, c);
    return y;
  }
  // The BERT baseline's fused GELU: finished on the host as the oracle does.
  const r = new Float32Array(c);
  if (pre !== null) storeF32(pre, r);
  if (activation === "gelu") for (let i = 0; i < r.length; i++) r[i] = geluScalar(r[i]!);
  if (accumulate) {
    const prev = loadF32(y);
    for (let i = 0; i < r.length; i++) r[i] = r[i]! + prev[i]!;
  }
  storeF32(y, r);
  return y;
}
