import { asMatrix, expectIndicesInRange, expectNumber, expectRank } from "../checks.js";
import { OpError, fmtShape } from "../errors.js";
import type { Backend } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { type ReadIndices, accumulateArg, floatArg, indexArg, outArg } from "./args.js";

/** gatherRows: x [n, h] (rank ≥ 2), indices i32 [T] (in [0, n) when readIndices is given). */
export function validateGatherRows(
  be: Backend,
  x: Tensor,
  indices: Tensor,
  readIndices?: ReadIndices,
): { n: number; h: number; outShape: number[] } {
  const op = "gatherRows";
  floatArg(be, op, "x", x);
  indexArg(be, op, "indices", indices);
  expectRank(op, "indices", indices, 1);
  const [n, h] = asMatrix(op, "x", x);
  if (x.shape.length < 2) throw new OpError(op, "x", `expected [N, H], got ${fmtShape(x.shape)}`);
  if (readIndices) expectIndicesInRange(op, "indices", readIndices(indices), n);
  return { n, h, outShape: [indices.size, ...x.shape.slice(1)] };
}

/** scatterRows: x [t, h] (rank ≥ 2), one index per row in [0, numRows). */
export function validateScatterRows(
  be: Backend,
  x: Tensor,
  indices: Tensor,
  numRows: number,
  readIndices?: ReadIndices,
): { t: number; h: number; outShape: number[] } {
  const op = "scatterRows";
  floatArg(be, op, "x", x);
  indexArg(be, op, "indices", indices);
  expectRank(op, "indices", indices, 1);
  expectNumber(op, "numRows", numRows, (v) => Number.isInteger(v) && v >= 0, "a non-negative integer");
  const [t, h] = asMatrix(op, "x", x);
  if (x.shape.length < 2) throw new OpError(op, "x", `expected [T, H], got ${fmtShape(x.shape)}`);
  if (indices.size !== t) throw new OpError(op, "indices", `expected ${t} indices (one per row of x ${fmtShape(x.shape)}), got ${indices.size}`);
  if (readIndices) expectIndicesInRange(op, "indices", readIndices(indices), numRows);
  return { t, h, outShape: [numRows, ...x.shape.slice(1)] };
}

/** scatterAddRows: x [t, h], out [n, h], one index per row of x in [0, n). */
export function validateScatterAddRows(
  be: Backend,
  x: Tensor,
  indices: Tensor,
  out: Tensor,
  readIndices?: ReadIndices,
): { t: number; h: number; n: number } {
  const op = "scatterAddRows";
  floatArg(be, op, "x", x);
  indexArg(be, op, "indices", indices);
  floatArg(be, op, "out", out);
  expectRank(op, "indices", indices, 1);
  const [t, h] = asMatrix(op, "x", x);
  const [n, ho] = asMatrix(op, "out", out);
  if (ho !== h) throw new OpError(op, "out", `expected rows of ${h} elements like x ${fmtShape(x.shape)}, got ${fmtShape(out.shape)}`);
  if (indices.size !== t) throw new OpError(op, "indices", `expected ${t} indices (one per row of x ${fmtShape(x.shape)}), got ${indices.size}`);
  if (readIndices) expectIndicesInRange(op, "indices", readIndices(indices), n);
  return { t, h, n };
}

/** Checks sumRows' arguments: x [n, m] → float32 [m]; a given `out` must be f32 [m]. */
export function validateSumRows(
  be: Backend,
  x: Tensor,
  opts: { out?: Tensor | null; accumulate?: boolean } = {},
): { n: number; m: number; out: Tensor | null; accumulate: boolean } {
  const op = "sumRows";
  floatArg(be, op, "x", x);
  const [n, m] = asMatrix(op, "x", x);
  const out = outArg(be, op, opts.out, [m]);
  const accumulate = accumulateArg(op, opts.accumulate, out);
  // The contract makes the column sums float32 (they are bias gradients).
  if (out !== null && out.dtype !== "f32") throw new OpError(op, "out", `expected dtype f32, got ${out.dtype}`);
  return { n, m, out, accumulate };
}
