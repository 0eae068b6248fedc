import { asMatrix, expectNumber, expectSize } from "../checks.js";
import { OpError, fmtShape } from "../errors.js";
import type { CrossEntropyOptions, LossResult } from "../backend.js";
import type { Tensor } from "../tensor.js";
import type { CpuBackend } from "./backend.js";
import { i32Of, loadF32, outF32, storeF32 } from "./storage.js";
import { floatArg, indexArg } from "./validate.js";

/**
 * Softmax cross-entropy in double precision per row (max-shifted log-sum-exp). "mean" divides by
 * the number of non-ignored rows; with none, the loss and gradient are 0 (PyTorch would give NaN).
 * The gradient is (softmax − onehot)·gradScale (/count for "mean"), zero on ignored rows.
 */
export function crossEntropy(be: CpuBackend, logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): LossResult {
  const op = "crossEntropy";
  floatArg(be, op, "logits", logits);
  indexArg(be, op, "targets", targets);
  const [n, c] = asMatrix(op, "logits", logits);
  if (logits.shape.length < 2) throw new OpError(op, "logits", `expected [N, C], got ${fmtShape(logits.shape)}`);
  expectSize(op, "targets", targets, n, `one target per row of logits ${fmtShape(logits.shape)}`);
  const ignore = opts.ignoreIndex ?? -100;
  expectNumber(op, "ignoreIndex", ignore, Number.isInteger, "an integer");
  const reduction = opts.reduction ?? "mean";
  if (reduction !== "mean" && reduction !== "sum") throw new OpError(op, "reduction", `expected "mean" or "sum", got ${String(reduction)}`);
  const gradScale = opts.gradScale ?? 1;
  expectNumber(op, "gradScale", gradScale, () => true, "a finite number");
  const tv = i32Of(targets);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const t = tv[i]!;
    if (t === ignore) continue;
    if (!(t >= 0 && t < c)) throw new OpError(op, "targets", `index ${t} at position ${i} is out of range [0, ${c}) (ignoreIndex ${ignore})`);
    count++;
  }
  const lv = loadF32(logits);
  const computeGrad = opts.computeGrad === true;
  const grad = !computeGrad ? null : opts.inPlace === true ? logits : be.empty(logits.shape, logits.dtype);
  // For an in-place gradient over f32 logits, gv is the logits themselves: each row is read fully
  // (max, sum) before it is overwritten.
  const gv = grad === null ? null : grad === logits && logits.dtype !== "f32" ? new Float32Array(lv) : outF32(grad);
  const div = reduction === "mean" ? Math.max(count, 1) : 1;
  const gs = gradScale / div;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const base = i * c;
    const t = tv[i]!;
    if (t === ignore) {
      if (gv !== null) gv.fill(0, base, base + c);
      continue;
    }
    let mx = -Infinity;
    for (let j = 0; j < c; j++) if (lv[base + j]! > mx) mx = lv[base + j]!;
    const target = lv[base + t]!;
    let sum = 0;
    if (gv === null) {
      for (let j = 0; j < c; j++) sum += Math.exp(lv[base + j]! - mx);
    } else {
      // One exp per logit: keep exp(x − max) in the gradient row, normalise afterwards.
      for (let j = 0; j < c; j++) {
        const e = Math.exp(lv[base + j]! - mx);
        gv[base + j] = e;
        sum += e;
      }
      const k = gs / sum;
      for (let j = 0; j < c; j++) gv[base + j] = gv[base + j]! * k;
      gv[base + t] = gv[base + t]! - gs;
    }
    total += mx + Math.log(sum) - target;
  }
  const loss = be.fromArray([count === 0 ? 0 : total / div], [1], "f32");
  if (grad === null || gv === null) return { loss };
  storeF32(grad, gv);
  return { loss, grad };
}

/** Mean of (pred − target)² over all elements; grad = 2(pred − target)/N · gradScale in pred's dtype. */
export function mse(be: CpuBackend, pred: Tensor, target: Tensor, opts: { computeGrad?: boolean; gradScale?: number } = {}): LossResult {
  const op = "mse";
  floatArg(be, op, "pred", pred);
  floatArg(be, op, "target", target);
  expectSize(op, "target", target, pred.size, `one target per prediction ${fmtShape(pred.shape)}`);
  const gradScale = opts.gradScale ?? 1;
  expectNumber(op, "gradScale", gradScale, () => true, "a finite number");
  const pv = loadF32(pred);
  const tv = loadF32(target);
  const n = pred.size;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = pv[i]! - tv[i]!;
    total += d * d;
  }
  const loss = be.fromArray([n === 0 ? 0 : total / n], [1], "f32");
  if (opts.computeGrad !== true) return { loss };
  const grad = be.empty(pred.shape, pred.dtype);
  const gv = outF32(grad);
  const k = n === 0 ? 0 : (2 * gradScale) / n;
  for (let i = 0; i < n; i++) gv[i] = k * (pv[i]! - tv[i]!);
  storeF32(grad, gv);
  return { loss, grad };
}

/** Index of the largest value of each row (the first one on ties; NaN is never chosen over a number). */
export function argmax(be: CpuBackend, x: Tensor): Tensor {
  const op = "argmax";
  floatArg(be, op, "x", x);
  const [n, c] = asMatrix(op, "x", x);
  if (c === 0) throw new OpError(op, "x", `expected at least one column, got ${fmtShape(x.shape)}`);
  const xv = loadF32(x);
  const y = be.empty(x.shape.length > 1 ? x.shape.slice(0, -1) : [1], "i32");
  const yv = i32Of(y);
  for (let i = 0; i < n; i++) {
    const base = i * c;
    let best = 0;
    let bv = xv[base]!;
    for (let j = 1; j < c; j++) {
      const v = xv[base + j]!;
      if (v > bv || (Number.isNaN(bv) && !Number.isNaN(v))) {
        bv = v;
        best = j;
      }
    }
    yv[i] = best;
  }
  return y;
}
