import type { Backend, Tensor } from "@mosaicbert/tensor";

/**
 * The optimizer's gradient multiplier behind the non-finite guard, all on the device: folds each of
 * `values` (float32 [1]: the losses, the gradient norm) into `guard` as guard += 0·v — NaN from the
 * first NaN or ±Inf on, for good — and returns coefficient + guard (coefficient: the clipping
 * multiplier, or 1 without clipping; consumed). The caller disposes the result.
 */
export function guardedScale(backend: Backend, guard: Tensor, values: readonly Tensor[], coefficient: Tensor | null): Tensor {
  const scale = coefficient ?? backend.fromArray([1], [1], "f32");
  for (const v of values) backend.addInPlace(guard, v, 0);
  backend.addInPlace(scale, guard, 1);
  return scale;
}
