import type { CrossEntropyOptions, LossResult } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { validateCrossEntropy } from "../validate/loss.js";
import { crossEntropy as refCrossEntropy } from "../cpu/loss.js";
import { i32Of, loadF32, storeF32 } from "../cpu/storage.js";
import type { FastCpuBackend } from "./backend.js";
import { splitRange } from "./runtime.js";
import { Scratch } from "./scratch.js";

/**
 * Softmax cross-entropy as a WebAssembly kernel over rows split across threads: one exp per logit
 * (kept in the gradient), row losses finished here in doubles as the reference does.
 */
export function crossEntropy(be: FastCpuBackend, logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): LossResult {
  const { n, c, ignoreIndex: ignore, reduction, gradScale, computeGrad, inPlace } = validateCrossEntropy(be, logits, targets, opts, i32Of);
  if (n === 0 || c === 0) return refCrossEntropy(be, logits, targets, opts);
  const tv = i32Of(targets);
  let count = 0;
  for (let i = 0; i < n; i++) if (tv[i] !== ignore) count++;
  const div = reduction === "mean" ? Math.max(count, 1) : 1;
  const rt = be.runtime;
  const s = new Scratch(rt);
  const xAt = s.take(n * c * 4);
  const tAt = s.take(n * 4);
  const statsAt = s.take(n * 12);
  s.commit();
  s.putF32(xAt, loadF32(logits));
  s.putI32(tAt, tv);
  const shares = splitRange(n, n * c < 1e5 ? 1 : rt.threads, 1);
  rt.parallel("cross_entropy", shares.map(([r0, r1]) => [xAt, tAt, r0, r1, c, ignore, gradScale / div, computeGrad ? xAt : 0, statsAt]));
  const st = s.f32(statsAt, 3 * n);
  let total = 0;
  for (let i = 0; i < n; i++) if (tv[i] !== ignore) total += st[3 * i]! + Math.log(st[3 * i + 1]!) - st[3 * i + 2]!;
  const loss = be.fromArray([count === 0 ? 0 : total / div], [1], "f32");
  if (!computeGrad) return { loss };
  const grad = inPlace ? logits : be.empty(logits.shape, logits.dtype);
  storeF32(grad, s.f32(xAt, n * c));
  return { loss, grad };
}
