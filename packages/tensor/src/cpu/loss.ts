import type { CrossEntropyOptions, LossResult } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { validateArgmax, validateCrossEntropy, validateMse } from "../validate/loss.js";
import type { CpuBackend } from "./backend.js";
import { i32Of, loadF32, outF32, storeF32 } from "./storage.js";

/**
 * Softmax cross-entropy in double precision per row (max-shifted log-sum-exp). "mean" divides by
 * the number of non-ignored rows; with none, the loss and gradient are 0 (PyTorch would give NaN).
 * The gradient is (softmax − onehot)·gradScale (/count for "mean"), zero on ignored rows.
 */
export function crossEntropy(be: CpuBackend, logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): LossResult {
  const { n, c, ignoreIndex: ignore, reduction, gradScale, computeGrad, inPlace } = validateCrossEntropy(be, logits, targets, opts, i32Of);
  const tv = i32Of(targets);
  let count = 0;
  for (let i = 0; i < n; i++) if (tv[i] !== ignore) count++;
  const lv = loadF32(logits);
  const grad = !computeGrad ? null : inPlace ? logits : be.empty(logits.shape, logits.dtype);
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
  const { n, gradScale, computeGrad } = validateMse(be, pred, target, opts);
  const pv = loadF32(pred);
  const tv = loadF32(target);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const d = pv[i]! - tv[i]!;
    total += d * d;
  }
  const loss = be.fromArray([n === 0 ? 0 : total / n], [1], "f32");
  if (!computeGrad) return { loss };
  const grad = be.empty(pred.shape, pred.dtype);
  const gv = outF32(grad);
  const k = n === 0 ? 0 : (2 * gradScale) / n;
  for (let i = 0; i < n; i++) gv[i] = k * (pv[i]! - tv[i]!);
  storeF32(grad, gv);
  return { loss, grad };
}

/** Index of the largest value of each row (the first one on ties; NaN is never chosen over a number). */
export function argmax(be: CpuBackend, x: Tensor): Tensor {
  const { n, c, outShape } = validateArgmax(be, x);
  const xv = loadF32(x);
  const y = be.empty(outShape, "i32");
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
