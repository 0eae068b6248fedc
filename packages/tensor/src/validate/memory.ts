import { expectShapeArg, expectTensor } from "../checks.js";
import { DTYPES, type DType, itemsize } from "../dtype.js";
import { OpError, fmtShape } from "../errors.js";
import type { Backend } from "../backend.js";
import type { Tensor } from "../tensor.js";

/** The largest byte size a tensor may have: 2^53 − 1, the largest integer a double holds exactly. */
const MAX_TENSOR_BYTES = Number.MAX_SAFE_INTEGER;

/**
 * A new tensor's shape (non-negative integers) and dtype; returns its element count. Its byte size must
 * be exact in a double (at most 2^53 − 1 bytes): beyond that no backend can address it, and sizes and
 * offsets would round. A backend's own limit (host typed arrays, device memory) is checked where it allocates.
 */
export function validateAlloc(op: string, shape: readonly number[], dtype: DType): number {
  expectShapeArg(op, "shape", shape);
  if (!DTYPES.includes(dtype)) throw new OpError(op, "dtype", `expected one of ${DTYPES.join(", ")}, got ${String(dtype)}`);
  const size = shape.reduce((a, b) => a * b, 1);
  const bytes = size * itemsize(dtype);
  if (!(bytes <= MAX_TENSOR_BYTES)) {
    throw new OpError(op, "shape", `expected a shape of at most 2^53 − 1 bytes, got ${fmtShape(shape)} ${dtype} (${size} elements, ${bytes} bytes)`);
  }
  return size;
}

/** copy: two live tensors of this backend with the same element count (any dtypes). */
export function validateCopy(be: Backend, src: Tensor, dst: Tensor): void {
  expectTensor("copy", "src", src, be);
  expectTensor("copy", "dst", dst, be);
  if (src.size !== dst.size) throw new OpError("copy", "dst", `expected ${src.size} elements (the size of src), got ${dst.size}`);
}

/**
 * fill: a live tensor and a number. Whether the number fits an integer dtype is checked where it
 * is converted (the CPU backend's fill, which device backends use for the conversion too).
 */
export function validateFill(be: Backend, t: Tensor, value: number): void {
  expectTensor("fill", "t", t, be);
  if (typeof value !== "number") throw new OpError("fill", "value", `expected a number, got ${String(value)}`);
}
