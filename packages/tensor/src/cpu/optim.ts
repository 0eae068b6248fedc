import { expectDtype, expectNumber, expectSameShape, expectShape } from "../checks.js";
import { OpError } from "../errors.js";
import type { AdamWOptions, AdamWParam } from "../backend.js";
import type { Tensor } from "../tensor.js";
import type { CpuBackend } from "./backend.js";
import { loadF32, storeF32 } from "./storage.js";
import { floatArg } from "./validate.js";

/** float32 [1]: √(Σ over tensors of Σ x²), summed in doubles. */
export function globalNorm(be: CpuBackend, tensors: readonly Tensor[]): Tensor {
  const op = "globalNorm";
  if (!Array.isArray(tensors)) throw new OpError(op, "tensors", "expected an array of tensors");
  let ss = 0;
  tensors.forEach((t, i) => {
    floatArg(be, op, `tensors[${i}]`, t);
    const v = loadF32(t);
    for (let j = 0; j < v.length; j++) ss += v[j]! * v[j]!;
  });
  return be.fromArray([Math.sqrt(ss)], [1], "f32");
}

/** float32 [1]: min(1, maxNorm / (norm + 1e-6)). */
export function clipCoefficient(be: CpuBackend, norm: Tensor, maxNorm: number): Tensor {
  const op = "clipCoefficient";
  floatArg(be, op, "norm", norm);
  expectShape(op, "norm", norm, [1]);
  const n = loadF32(norm)[0]!;
  return be.fromArray([Math.min(1, maxNorm / (n + 1e-6))], [1], "f32");
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
  const op = "adamw";
  if (!Array.isArray(params)) throw new OpError(op, "params", "expected an array of { param, grad, m, v, lowp? }");
  if (opts === null || typeof opts !== "object") throw new OpError(op, "opts", "expected { lr, beta1, beta2, eps, decay, step }");
  const lr = expectNumber(op, "lr", opts.lr, (v) => v >= 0, "a non-negative number");
  const b1 = expectNumber(op, "beta1", opts.beta1, (v) => v >= 0 && v < 1, "a number in [0, 1)");
  const b2 = expectNumber(op, "beta2", opts.beta2, (v) => v >= 0 && v < 1, "a number in [0, 1)");
  const eps = expectNumber(op, "eps", opts.eps, (v) => v >= 0, "a non-negative number");
  const decay = expectNumber(op, "decay", opts.decay, (v) => v >= 0 && v <= 1, "a number in [0, 1]");
  const step = expectNumber(op, "step", opts.step, (v) => Number.isInteger(v) && v >= 1, "a 1-based integer step");
  let scale = expectNumber(op, "gradScale", opts.gradScale ?? 1, () => true, "a finite number");
  if (opts.gradScaleTensor !== null && opts.gradScaleTensor !== undefined) {
    floatArg(be, op, "gradScaleTensor", opts.gradScaleTensor);
    expectShape(op, "gradScaleTensor", opts.gradScaleTensor, [1]);
    scale *= loadF32(opts.gradScaleTensor)[0]!;
  }
  const bc1 = 1 - b1 ** step;
  const sqrtBc2 = Math.sqrt(1 - b2 ** step);
  const stepSize = lr / bc1;
  // Validate everything before touching any parameter, so a bad entry leaves the model unchanged.
  params.forEach((e, i) => {
    if (e === null || typeof e !== "object") throw new OpError(op, `params[${i}]`, "expected { param, grad, m, v, lowp? }");
    for (const name of ["param", "grad", "m", "v"] as const) {
      floatArg(be, op, `params[${i}].${name}`, e[name]);
      expectDtype(op, `params[${i}].${name}`, e[name], ["f32"]);
      if (name !== "param") expectSameShape(op, `params[${i}].${name}`, e[name], e.param, "param");
    }
    if (e.lowp !== null && e.lowp !== undefined) {
      floatArg(be, op, `params[${i}].lowp`, e.lowp);
      expectSameShape(op, `params[${i}].lowp`, e.lowp, e.param, "param");
    }
  });
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
