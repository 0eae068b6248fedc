import { asMatrix, expectDtype, expectNumber, expectSameShape, expectShape } from "../checks.js";
import { OpError } from "../errors.js";
import type { Backend, NormGrads } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { floatArg } from "./args.js";

/** x [n, h] with weight (and bias unless null) [h] and eps ≥ 0. */
function normParams(be: Backend, op: string, x: Tensor, weight: Tensor, bias: Tensor | null, eps: number): { n: number; h: number } {
  floatArg(be, op, "x", x);
  const [n, h] = asMatrix(op, "x", x);
  floatArg(be, op, "weight", weight);
  expectShape(op, "weight", weight, [h]);
  // Only null skips the bias (the backward pass has none); undefined is a missing argument.
  if (bias !== null) {
    floatArg(be, op, "bias", bias);
    expectShape(op, "bias", bias, [h]);
  }
  expectNumber(op, "eps", eps, (v) => v >= 0, "a non-negative number");
  return { n, h };
}

/** layerNorm: x [n, h], weight and bias [h]. */
export function validateLayerNorm(be: Backend, x: Tensor, weight: Tensor, bias: Tensor, eps: number): { n: number; h: number } {
  return normParams(be, "layerNorm", x, weight, bias, eps);
}

/** addLayerNorm: as layerNorm, and residual of x's shape. */
export function validateAddLayerNorm(
  be: Backend,
  x: Tensor,
  residual: Tensor,
  weight: Tensor,
  bias: Tensor,
  eps: number,
): { n: number; h: number } {
  const op = "addLayerNorm";
  const sizes = normParams(be, op, x, weight, bias, eps);
  floatArg(be, op, "residual", residual);
  expectSameShape(op, "residual", residual, x, "x");
  return sizes;
}

/** layerNormBackward: dy like x [n, h]; mean, rstd float32 [n]; grads.dweight, grads.dbias float32 [h]. */
export function validateLayerNormBackward(
  be: Backend,
  dy: Tensor,
  x: Tensor,
  weight: Tensor,
  mean: Tensor,
  rstd: Tensor,
  grads: NormGrads,
): { n: number; h: number } {
  const op = "layerNormBackward";
  const { n, h } = normParams(be, op, x, weight, null, 0);
  floatArg(be, op, "dy", dy);
  expectSameShape(op, "dy", dy, x, "x");
  for (const [name, t] of [["mean", mean], ["rstd", rstd]] as const) {
    floatArg(be, op, name, t);
    expectDtype(op, name, t, ["f32"]);
    expectShape(op, name, t, [n]);
  }
  if (grads === null || typeof grads !== "object") throw new OpError(op, "grads", "expected { dweight, dbias }");
  for (const [name, t] of [["grads.dweight", grads.dweight], ["grads.dbias", grads.dbias]] as const) {
    floatArg(be, op, name, t);
    expectDtype(op, name, t, ["f32"]);
    expectShape(op, name, t, [h]);
  }
  return { n, h };
}
