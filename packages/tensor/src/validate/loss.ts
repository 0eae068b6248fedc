import { asMatrix, expectNumber, expectSize } from "../checks.js";
import { OpError, fmtShape } from "../errors.js";
import type { Backend, CrossEntropyOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { type ReadIndices, floatArg, indexArg } from "./args.js";

export interface CrossEntropyPlan {
  n: number;
  c: number;
  ignoreIndex: number;
  reduction: "mean" | "sum";
  gradScale: number;
  computeGrad: boolean;
  inPlace: boolean;
}

/**
 * crossEntropy: logits [n, c] (rank ≥ 2), one i32 target per row. With readIndices every target
 * is checked to be in [0, c) or ignoreIndex.
 */
export function validateCrossEntropy(
  be: Backend,
  logits: Tensor,
  targets: Tensor,
  opts: CrossEntropyOptions = {},
  readIndices?: ReadIndices,
): CrossEntropyPlan {
  const op = "crossEntropy";
  floatArg(be, op, "logits", logits);
  indexArg(be, op, "targets", targets);
  const [n, c] = asMatrix(op, "logits", logits);
  if (logits.shape.length < 2) throw new OpError(op, "logits", `expected [N, C], got ${fmtShape(logits.shape)}`);
  if (c === 0) throw new OpError(op, "logits", `expected [N, C] with at least one class (C ≥ 1), got ${fmtShape(logits.shape)}`);
  expectSize(op, "targets", targets, n, `one target per row of logits ${fmtShape(logits.shape)}`);
  const ignoreIndex = opts.ignoreIndex ?? -100;
  expectNumber(op, "ignoreIndex", ignoreIndex, Number.isInteger, "an integer");
  const reduction = opts.reduction ?? "mean";
  if (reduction !== "mean" && reduction !== "sum") throw new OpError(op, "reduction", `expected "mean" or "sum", got ${String(reduction)}`);
  const gradScale = opts.gradScale ?? 1;
  expectNumber(op, "gradScale", gradScale, () => true, "a finite number");
  if (readIndices) {
    const tv = readIndices(targets);
    for (let i = 0; i < n; i++) {
      const t = tv[i]!;
      if (t !== ignoreIndex && !(t >= 0 && t < c)) {
        throw new OpError(op, "targets", `index ${t} at position ${i} is out of range [0, ${c}) (ignoreIndex ${ignoreIndex})`);
      }
    }
  }
  return { n, c, ignoreIndex, reduction, gradScale, computeGrad: opts.computeGrad === true, inPlace: opts.inPlace === true };
}

/** mse: pred and target float with one target per prediction. */
export function validateMse(
  be: Backend,
  pred: Tensor,
  target: Tensor,
  opts: { computeGrad?: boolean; gradScale?: number } = {},
): { n: number; gradScale: number; computeGrad: boolean } {
  const op = "mse";
  floatArg(be, op, "pred", pred);
  floatArg(be, op, "target", target);
  expectSize(op, "target", target, pred.size, `one target per prediction ${fmtShape(pred.shape)}`);
  const gradScale = opts.gradScale ?? 1;
  expectNumber(op, "gradScale", gradScale, () => true, "a finite number");
  return { n: pred.size, gradScale, computeGrad: opts.computeGrad === true };
}

/** argmax: x [n, c] with c ≥ 1 → i32 of x's leading shape ([1] for a 1-d x). */
export function validateArgmax(be: Backend, x: Tensor): { n: number; c: number; outShape: number[] } {
  const op = "argmax";
  floatArg(be, op, "x", x);
  const [n, c] = asMatrix(op, "x", x);
  if (c === 0) throw new OpError(op, "x", `expected at least one column, got ${fmtShape(x.shape)}`);
  return { n, c, outShape: x.shape.length > 1 ? x.shape.slice(0, -1) : [1] };
}
