import { FLOAT_DTYPES, INDEX_DTYPES, expectDtype, expectTensor } from "../checks.js";
import { OpError } from "../errors.js";
import type { Backend, DropoutOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";

/**
 * Argument helpers the per-op validators share. Not exported from the package: backends call the
 * validate* functions, which own the order of the checks and therefore which error comes first.
 */

/**
 * Reads an i32 tensor's values on the host. Backends that hold their data on the host (the CPU)
 * pass one, and the validators then check index contents too (ids in range, cuSeqlens ordered);
 * device backends leave it out and check contents in their kernels.
 */
export type ReadIndices = (t: Tensor) => Int32Array;

/** A live tensor of this backend with a float dtype. */
export function floatArg(be: Backend, op: string, arg: string, t: unknown): Tensor {
  const x = expectTensor(op, arg, t, be);
  expectDtype(op, arg, x, FLOAT_DTYPES);
  return x;
}

/** A live i32 tensor of this backend. */
export function indexArg(be: Backend, op: string, arg: string, t: unknown): Tensor {
  const x = expectTensor(op, arg, t, be);
  expectDtype(op, arg, x, INDEX_DTYPES);
  return x;
}

/**
 * An optional output tensor: live, float, of exactly this shape. Errors name the argument `arg` ("out"
 * by default, matmul's preActivation too, as they always have).
 */
export function outArg(be: Backend, op: string, t: Tensor | null | undefined, shape: readonly number[], arg = "out"): Tensor | null {
  if (t === null || t === undefined) return null;
  const x = floatArg(be, op, arg, t);
  if (x.shape.length !== shape.length || x.shape.some((d, i) => d !== shape[i])) {
    throw new OpError(op, arg, `expected shape [${shape.join(", ")}], got [${x.shape.join(", ")}]`);
  }
  return x;
}

/** `accumulate` adds into an existing tensor, so it needs one. */
export function accumulateArg(op: string, accumulate: boolean | undefined, out: Tensor | null): boolean {
  if (accumulate === true && out === null) throw new OpError(op, "accumulate", "accumulate requires an `out` tensor");
  return accumulate === true;
}

/** Resolved dropout options: p, the seed as an unsigned 32-bit integer, the counter offset mod 2³² (defaulted). */
export type DropoutPlan = { p: number; seed: number; offset: number };

/**
 * Dropout options → { p, seed as an unsigned 32-bit integer, offset mod 2³² }. The contract's counters are
 * (offset + index) mod 2³², so the offset is reduced here, once for every backend (the CUDA kernels take it as a
 * uint32); offset + index then stays exact in a double. An offset must be a safe integer, 0 … 2^53 − 1: past
 * that a double no longer holds every integer, so the counter the caller meant is already lost.
 */
export function dropoutArgs(op: string, opts: DropoutOptions | null | undefined): DropoutPlan {
  if (opts === null || opts === undefined || typeof opts !== "object") throw new OpError(op, "opts", "expected { p, seed, offset? }");
  const { p, seed } = opts;
  const offset = opts.offset ?? 0;
  if (typeof p !== "number" || !(p >= 0 && p < 1)) throw new OpError(op, "p", `expected a drop probability in [0, 1), got ${String(p)}`);
  if (typeof seed !== "number" || !Number.isInteger(seed)) throw new OpError(op, "seed", `expected an integer seed, got ${String(seed)}`);
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
    throw new OpError(op, "offset", `expected an integer counter offset in [0, 2^53 − 1] (used mod 2^32), got ${String(offset)}`);
  }
  return { p, seed: seed >>> 0, offset: offset % 4294967296 };
}
