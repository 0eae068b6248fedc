import type { AdamWOptions, AdamWParam } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { validateAdamW, validateClipCoefficient, validateGlobalNorm } from "../validate/optim.js";
import type { CpuBackend } from "./backend.js";
import { loadF32, storeF32 } from "./storage.js";

/** float32 [1]: √(Σ over tensors of Σ x²), summed in doubles. */
export function globalNorm(be: CpuBackend, tensors: readonly Tensor[]): Tensor {
  validateGlobalNorm(be, tensors);
  let ss = 0;
  for (const t of tensors) {
    const v = loadF32(t);
    for (let j = 0; j < v.length; j++) ss += v[j]! * v[j]!;
  }
  return be.fromArray([Math.sqrt(ss)], [1], "f32");
}

/** float32 [1]: min(1, maxNorm / (norm + 1e-6)). */
export function clipCoefficient(be: CpuBackend, norm: Tensor, maxNorm: number): Tensor {
  validateClipCoefficient(be, norm, maxNorm);
  const n = loadF32(norm)[0]!;
  return be.fromArray([Number.isFinite(n) ? Math.min(1, maxNorm / (n + 1e-6)) : NaN], [1], "f32");
}

/**
 * Decoupled AdamW, the update of Composer's DecoupledAdamW / torch.optim.AdamW with the decay
 * factor supplied by the caller:
 *   g = grad·gradScale·gradScaleTensor
 *   p ← p·(1 − decay)
 *   m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + eps)
 * and, when given, lowp ← p rounded to its dtype.
 */
export function adamw(be: CpuBackend, params: readonly AdamWParam[], opts: AdamWOptions): void {
  const { lr, beta1: b1, beta2: b2, eps, decay, step, gradScale, gradScaleTensor } = validateAdamW(be, params, opts);
  const scale = gradScaleTensor === null ? gradScale : gradScale * loadF32(gradScaleTensor)[0]!;
  // A non-finite device-side multiplier skips the step (the contract's guard).
  if (gradScaleTensor !== null && !Number.isFinite(loadF32(gradScaleTensor)[0]!)) return;
  const bc1 = 1 - b1 ** step;
  const sqrtBc2 = Math.sqrt(1 - b2 ** step);
  const stepSize = lr / bc1;
  for (const e of params) {
    const p = loadF32(e.param);
    const g = loadF32(e.grad);
    const m = loadF32(e.m);
    const v = loadF32(e.v);
    const keep = 1 - decay;
    for (let j = 0; j < p.length; j++) {
      const gj = g[j]! * scale;
      const mj = b1 * m[j]! + (1 - b1) * gj;
      const vj = b2 * v[j]! + (1 - b2) * gj * gj;
      m[j] = mj;
      v[j] = vj;
      const pj = Math.fround(p[j]! * keep);
      // m and v are read back as stored (float32), as the reference's tensors are.
      p[j] = pj - (stepSize * m[j]!) / (Math.sqrt(v[j]!) / sqrtBc2 + eps);
    }
    if (e.lowp !== null && e.lowp !== undefined) storeF32(e.lowp, p);
  }
}
