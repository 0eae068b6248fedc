import type { Backend, Tensor } from "@mosaicbert/tensor";

export interface ClipResult {
  /** float32 [1]: the global L2 norm of the gradients before clipping. */
  norm: Tensor;
  /** float32 [1]: min(1, maxNorm / (norm + 1e-6)); pass as `gradScaleTensor` to the optimizer step. */
  coefficient: Tensor;
}

/**
 * Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_, which Composer's
 * GradientClipping algorithm uses for clipping_type "norm"). Nothing is rescaled here: the
 * coefficient stays on the device and the optimizer multiplies gradients by it while stepping,
 * which saves a pass over the gradients. With `maxNorm` null nothing is clipped (coefficient null)
 * and only the norm is measured, for the log. The caller disposes the tensors.
 */
export function clipGradNorm(backend: Backend, grads: readonly Tensor[], maxNorm: number): ClipResult;
export function clipGradNorm(backend: Backend, grads: readonly Tensor[], maxNorm: number | null): { norm: Tensor; coefficient: Tensor | null };
export function clipGradNorm(backend: Backend, grads: readonly Tensor[], maxNorm: number | null): { norm: Tensor; coefficient: Tensor | null } {
  if (maxNorm !== null && !(Number.isFinite(maxNorm) && maxNorm > 0)) throw new RangeError(`clipGradNorm: maxNorm must be a number > 0, got ${maxNorm}`);
  const norm = backend.globalNorm(grads);
  const coefficient = maxNorm === null ? null : backend.clipCoefficient(norm, maxNorm);
  return { norm, coefficient };
}
