import { asMatrix, expectIndicesInRange, expectNumber, expectRank } from "../checks.js";
import { OpError, fmtShape } from "../errors.js";
import type { Tensor } from "../tensor.js";
import type { CpuBackend } from "./backend.js";
import { i32Of, loadF32, outF32, rawOf, storeF32 } from "./storage.js";
import { floatArg, indexArg } from "./validate.js";

/** x [N, H], indices i32 [T] → x[indices] [T, H] (any dtype; rows are copied bit for bit). */
export function gatherRows(be: CpuBackend, x: Tensor, indices: Tensor): Tensor {
  const op = "gatherRows";
  floatArg(be, op, "x", x);
  indexArg(be, op, "indices", indices);
  expectRank(op, "indices", indices, 1);
  const [n, h] = asMatrix(op, "x", x);
  if (x.shape.length < 2) throw new OpError(op, "x", `expected [N, H], got ${fmtShape(x.shape)}`);
  const idx = i32Of(indices);
  expectIndicesInRange(op, "indices", idx, n);
  const y = be.empty([idx.length, ...x.shape.slice(1)], x.dtype);
  const src = rawOf(x);
  const dst = rawOf(y);
  for (let i = 0; i < idx.length; i++) dst.set(src.subarray(idx[i]! * h, idx[i]! * h + h) as never, i * h);
  return y;
}

/** x [T, H] → [numRows, H] with row indices[i] = x[i], zero elsewhere. */
export function scatterRows(be: CpuBackend, x: Tensor, indices: Tensor, numRows: number): Tensor {
  const op = "scatterRows";
  floatArg(be, op, "x", x);
  indexArg(be, op, "indices", indices);
  expectRank(op, "indices", indices, 1);
  expectNumber(op, "numRows", numRows, (v) => Number.isInteger(v) && v >= 0, "a non-negative integer");
  const [t, h] = asMatrix(op, "x", x);
  if (x.shape.length < 2) throw new OpError(op, "x", `expected [T, H], got ${fmtShape(x.shape)}`);
  if (indices.size !== t) throw new OpError(op, "indices", `expected ${t} indices (one per row of x ${fmtShape(x.shape)}), got ${indices.size}`);
  const idx = i32Of(indices);
  expectIndicesInRange(op, "indices", idx, numRows);
  const y = be.zeros([numRows, ...x.shape.slice(1)], x.dtype);
  const src = rawOf(x);
  const dst = rawOf(y);
  for (let i = 0; i < t; i++) dst.set(src.subarray(i * h, i * h + h) as never, idx[i]! * h);
  return y;
}

/** out[indices[i]] += x[i] (out [N, H]); repeated indices add up. */
export function scatterAddRows(be: CpuBackend, x: Tensor, indices: Tensor, out: Tensor): void {
  const op = "scatterAddRows";
  floatArg(be, op, "x", x);
  indexArg(be, op, "indices", indices);
  floatArg(be, op, "out", out);
  expectRank(op, "indices", indices, 1);
  const [t, h] = asMatrix(op, "x", x);
  const [n, ho] = asMatrix(op, "out", out);
  if (ho !== h) throw new OpError(op, "out", `expected rows of ${h} elements like x ${fmtShape(x.shape)}, got ${fmtShape(out.shape)}`);
  if (indices.size !== t) throw new OpError(op, "indices", `expected ${t} indices (one per row of x ${fmtShape(x.shape)}), got ${indices.size}`);
  const idx = i32Of(indices);
  expectIndicesInRange(op, "indices", idx, n);
  const xv = loadF32(x);
  const ov = outF32(out);
  if (out.dtype !== "f32") ov.set(loadF32(out));
  for (let i = 0; i < t; i++) {
    const s = i * h;
    const d = idx[i]! * h;
    for (let j = 0; j < h; j++) ov[d + j] = ov[d + j]! + xv[s + j]!;
  }
  storeF32(out, ov);
}
