import type { MatmulOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { validateMatmul } from "../validate/matmul.js";
import type { CpuBackend } from "./backend.js";
import { geluScalar } from "./erf.js";
import { gemmPacked, packA, packB } from "./gemm.js";
import { sumRows } from "./rows.js";
import { loadF32, outF32, storeF32 } from "./storage.js";

export function matmul(be: CpuBackend, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const { M, N, K, transA, transB, outShape, outDtype: dtype, alpha, activation, bias, preActivation: pre, out, accumulate, biasGrad } =
    validateMatmul(be, a, b, opts);
  // Before the product: out may share storage with a.
  if (biasGrad !== null) sumRows(be, a, { out: biasGrad, accumulate });
  const biasv = bias === null ? null : loadF32(bias);

  const y = out ?? be.empty(outShape, dtype);
  // Compute straight into a fresh f32 output; otherwise into scratch (out may alias a or b).
  const direct = out === null && dtype === "f32" && activation === "none" && pre === null;
  let c: Float32Array;
  if (be.pool.wants(M, N, K)) {
    c = be.pool.gemm(loadF32(a), loadF32(b), M, N, K, transA, transB, alpha, biasv);
    if (direct) {
      outF32(y).set(c);
      return y;
    }
  } else {
    const ap = packA(loadF32(a), M, K, transA);
    const bp = packB(loadF32(b), K, N, transB);
    c = direct ? outF32(y) : new Float32Array(M * N);
    gemmPacked(ap, bp, c, M, N, K, alpha, biasv);
    if (direct) return y;
  }
  if (pre !== null) storeF32(pre, c);
  if (activation === "gelu") for (let i = 0; i < c.length; i++) c[i] = geluScalar(c[i]!);
  if (accumulate) {
    const prev = loadF32(y);
    for (let i = 0; i < c.length; i++) c[i] = c[i]! + prev[i]!;
  }
  storeF32(y, c);
  return y;
}
