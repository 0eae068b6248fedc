import { expectDtype, expectNumber, expectSameShape, expectShape } from "../checks.js";
import { OpError } from "../errors.js";
import type { AdamWOptions, AdamWParam, Backend } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { floatArg } from "./args.js";

/** globalNorm: an array of float tensors. */
export function validateGlobalNorm(be: Backend, tensors: readonly Tensor[]): void {
  const op = "globalNorm";
  if (!Array.isArray(tensors)) throw new OpError(op, "tensors", "expected an array of tensors");
  tensors.forEach((t, i) => floatArg(be, op, `tensors[${i}]`, t));
}

/** clipCoefficient: maxNorm > 0 and norm float32 [1] (what globalNorm returns). */
export function validateClipCoefficient(be: Backend, norm: Tensor, maxNorm: number): void {
  const op = "clipCoefficient";
  expectNumber(op, "maxNorm", maxNorm, (v) => v > 0, "a positive number");
  floatArg(be, op, "norm", norm);
  expectShape(op, "norm", norm, [1]);
  expectDtype(op, "norm", norm, ["f32"]);
}

/** The options with their defaults applied; gradScaleTensor (float32 [1]) or null. */
export type AdamWPlan = Required<Omit<AdamWOptions, "gradScaleTensor">> & { gradScaleTensor: Tensor | null };

/**
 * adamw: the hyperparameters, then every entry (float32 param, grad, m, v of one shape; an
 * optional float lowp copy of that shape) — all before any parameter is touched, so a bad entry
 * leaves the model unchanged.
 */
export function validateAdamW(be: Backend, params: readonly AdamWParam[], opts: AdamWOptions): AdamWPlan {
  const op = "adamw";
  if (!Array.isArray(params)) throw new OpError(op, "params", "expected an array of { param, grad, m, v, lowp? }");
  if (opts === null || typeof opts !== "object") throw new OpError(op, "opts", "expected { lr, beta1, beta2, eps, decay, step }");
  const lr = expectNumber(op, "lr", opts.lr, (v) => v >= 0, "a non-negative number");
  const beta1 = expectNumber(op, "beta1", opts.beta1, (v) => v >= 0 && v < 1, "a number in [0, 1)");
  const beta2 = expectNumber(op, "beta2", opts.beta2, (v) => v >= 0 && v < 1, "a number in [0, 1)");
  const eps = expectNumber(op, "eps", opts.eps, (v) => v >= 0, "a non-negative number");
  const decay = expectNumber(op, "decay", opts.decay, (v) => v >= 0 && v <= 1, "a number in [0, 1]");
  const step = expectNumber(op, "step", opts.step, (v) => Number.isInteger(v) && v >= 1, "a 1-based integer step");
  const gradScale = expectNumber(op, "gradScale", opts.gradScale ?? 1, () => true, "a finite number");
  let gradScaleTensor: Tensor | null = null;
  if (opts.gradScaleTensor !== null && opts.gradScaleTensor !== undefined) {
    gradScaleTensor = floatArg(be, op, "gradScaleTensor", opts.gradScaleTensor);
    expectShape(op, "gradScaleTensor", gradScaleTensor, [1]);
    expectDtype(op, "gradScaleTensor", gradScaleTensor, ["f32"]);
  }
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
  return { lr, beta1, beta2, eps, decay, step, gradScale, gradScaleTensor };
}
