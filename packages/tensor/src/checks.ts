import type { DType } from "./dtype.js";
import { OpError, fmtShape } from "./errors.js";
import type { Backend } from "./backend.js";
import type { Tensor } from "./tensor.js";

/**
 * Argument validation shared by every backend, so that each op rejects bad input with the same
 * message wherever it runs. Each helper throws an OpError naming the op and the argument.
 */

export function expectTensor(op: string, arg: string, t: unknown, backend: Backend): Tensor {
  const x = t as Tensor | null | undefined;
  if (x === null || x === undefined || typeof x !== "object" || !("shape" in x) || !("dtype" in x)) {
    throw new OpError(op, arg, "expected a Tensor");
  }
  x.assertLive(op, arg);
  if (x.backend !== backend) {
    const where = x.backend.name === backend.name ? `another '${backend.name}' backend instance` : `backend '${x.backend.name}'`;
    throw new OpError(op, arg, `tensor lives on ${where}, expected this '${backend.name}' backend`);
  }
  return x;
}

export function expectDtype(op: string, arg: string, t: Tensor, allowed: readonly DType[]): void {
  if (!allowed.includes(t.dtype)) throw new OpError(op, arg, `expected dtype ${allowed.join(" or ")}, got ${t.dtype}`);
}

/** Checks the shape exactly; `null` entries match any size. */
export function expectShape(op: string, arg: string, t: Tensor, shape: readonly (number | null)[]): void {
  const ok = t.shape.length === shape.length && shape.every((d, i) => d === null || d === t.shape[i]);
  if (!ok) throw new OpError(op, arg, `expected shape ${fmtShape(shape.map((d) => (d === null ? "*" : d)))}, got ${fmtShape(t.shape)}`);
}

export function expectRank(op: string, arg: string, t: Tensor, rank: number): void {
  if (t.shape.length !== rank) throw new OpError(op, arg, `expected a ${rank}-d tensor, got shape ${fmtShape(t.shape)}`);
}

/** Views a tensor of rank ≥ 1 as [rows, cols] (leading dimensions folded into rows). */
export function asMatrix(op: string, arg: string, t: Tensor): [number, number] {
  if (t.shape.length < 1) throw new OpError(op, arg, `expected at least 1 dimension, got shape ${fmtShape(t.shape)}`);
  const cols = t.shape[t.shape.length - 1]!;
  // The product of the leading dimensions, not size / cols: a [2, 0] tensor has 2 rows of 0 elements.
  const rows = t.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  return [rows, cols];
}

export function expectSameShape(op: string, arg: string, t: Tensor, like: Tensor, likeName: string): void {
  if (t.shape.length !== like.shape.length || t.shape.some((d, i) => d !== like.shape[i])) {
    throw new OpError(op, arg, `expected the shape of ${likeName} ${fmtShape(like.shape)}, got ${fmtShape(t.shape)}`);
  }
}

export function expectSize(op: string, arg: string, t: Tensor, size: number, what: string): void {
  if (t.size !== size) throw new OpError(op, arg, `expected ${size} elements (${what}), got ${t.size} in shape ${fmtShape(t.shape)}`);
}

export function expectNumber(op: string, arg: string, v: unknown, check: (x: number) => boolean, form: string): number {
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) throw new OpError(op, arg, `expected ${form}, got ${String(v)}`);
  return v;
}

export const FLOAT_DTYPES: readonly DType[] = ["f32", "bf16", "f16"];
export const INDEX_DTYPES: readonly DType[] = ["i32"];
export const MASK_DTYPES: readonly DType[] = ["i32", "u8", "bool"];

/** Every entry of an index array must lie in [0, limit); names the first bad value and its position. */
export function expectIndicesInRange(
  op: string,
  arg: string,
  ids: ArrayLike<number>,
  limit: number,
  allowed?: number | null,
): void {
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    if (v >= 0 && v < limit) continue;
    if (allowed !== undefined && allowed !== null && v === allowed) continue;
    throw new OpError(op, arg, `index ${v} at position ${i} is out of range [0, ${limit})`);
  }
}

/** Validates a shape argument (non-negative integers). */
export function expectShapeArg(op: string, arg: string, shape: unknown): readonly number[] {
  if (!Array.isArray(shape) || shape.some((d) => typeof d !== "number" || !Number.isInteger(d) || d < 0)) {
    throw new OpError(op, arg, `expected an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape as readonly number[];
}
