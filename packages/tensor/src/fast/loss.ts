import type { CrossEntropyOptions, LossResult } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { validateCrossEntropy } from "../validate/loss.js";
import { crossEntropy as refCrossEntropy } from "../cpu/loss.js";
import { i32Of, loadF32 } from "../cpu/storage.js";
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
  const X = logits.dtype === "f32" ? s.input(logits) : s.floats(loadF32(logits));
  const tR = s.ints(tv);
  const statsR = s.take(n * 12);
  const grad = !computeGrad ? null : inPlace ? logits : be.emptyForOutput(logits.shape, logits.dtype);
  // The kernel may write the gradient over the logits it reads (row by row).
  const G = grad === null ? null : inPlace && s.inPlace(X, logits) ? X : s.output(grad);
  s.commit();
  const shares = splitRange(n, n * c < 1e5 ? 1 : rt.threads, 1);
  rt.parallel("cross_entropy", shares.map(([r0, r1]) => [X.at, tR.at, r0, r1, c, ignore, gradScale / div, G === null ? 0 : G.at, statsR.at]));
  const st = s.f32(statsR, 3 * n);
  let total = 0;
  for (let i = 0; i < n; i++) if (tv[i] !== ignore) total += st[3 * i]! + Math.log(st[3 * i + 1]!) - st[3 * i + 2]!;
  const loss = be.fromArray([count === 0 ? 0 : total / div], [1], "f32");
  if (grad === null || G === null) return { loss };
  s.store(G, grad);
  return { loss, grad };
}
