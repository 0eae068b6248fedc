import { asMatrix, expectDtype, expectNumber, expectSameShape, expectShape } from "../checks.js";
import { OpError } from "../errors.js";
import type { AddLayerNormOptions, Backend, NormGrads } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { type DropoutPlan, dropoutArgs, floatArg } from "./args.js";

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

/** addLayerNorm: as layerNorm, and residual of x's shape; opts.dropout as dropout's options. */
export function validateAddLayerNorm(
  be: Backend,
  x: Tensor,
  residual: Tensor,
  weight: Tensor,
  bias: Tensor,
  eps: number,
  opts: AddLayerNormOptions = {},
): { n: number; h: number; dropout: DropoutPlan | null } {
  const op = "addLayerNorm";
  const sizes = normParams(be, op, x, weight, bias, eps);
  floatArg(be, op, "residual", residual);
  expectSameShape(op, "residual", residual, x, "x");
  if (opts === null || typeof opts !== "object") throw new OpError(op, "opts", "expected { dropout? }");
  const dropout = opts.dropout === null || opts.dropout === undefined ? null : dropoutArgs(op, opts.dropout);
  return { ...sizes, dropout };
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
): { n: number; h: number; dropoutGrad: { out: Tensor; dropout: DropoutPlan } | null } {
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
  return { n, h, dropoutGrad: dropoutGradArg(be, op, grads.dropoutGrad, dy, x) };
}

/** grads.dropoutGrad: { out of dy's shape and dtype (sharing storage with neither dy nor x), dropout options }. */
function dropoutGradArg(
  be: Backend,
  op: string,
  d: NormGrads["dropoutGrad"],
  dy: Tensor,
  x: Tensor,
): { out: Tensor; dropout: DropoutPlan } | null {
  if (d === null || d === undefined) return null;
  if (typeof d !== "object") throw new OpError(op, "grads.dropoutGrad", "expected { out, dropout }");
  const out = floatArg(be, op, "grads.dropoutGrad.out", d.out);
  expectSameShape(op, "grads.dropoutGrad.out", out, dy, "dy");
  expectDtype(op, "grads.dropoutGrad.out", out, [dy.dtype]);
  if (out.storage === dy.storage || out.storage === x.storage) {
    throw new OpError(op, "grads.dropoutGrad.out", "must not share storage with dy or x");
  }
  return { out, dropout: dropoutArgs(op, d.dropout) };
}
