import type { Tensor } from "../tensor.js";
import { validateGatherRows, validateScatterAddRows, validateScatterRows, validateSumRows } from "../validate/rows.js";
import type { CpuBackend } from "./backend.js";
import { i32Of, loadF32, outF32, rawOf, storeF32 } from "./storage.js";

/** x [N, H], indices i32 [T] → x[indices] [T, H] (any dtype; rows are copied bit for bit). */
export function gatherRows(be: CpuBackend, x: Tensor, indices: Tensor): Tensor {
  const { h, outShape } = validateGatherRows(be, x, indices, i32Of);
  const y = be.empty(outShape, x.dtype);
  copyRows(x, i32Of(indices), h, y);
  return y;
}

/** Row i of y ← row idx[i] of x (rows of h elements, x and y of one dtype), bit for bit. */
export function copyRows(x: Tensor, idx: Int32Array, h: number, y: Tensor): void {
  const src = rawOf(x);
  const dst = rawOf(y);
  for (let i = 0; i < idx.length; i++) dst.set(src.subarray(idx[i]! * h, idx[i]! * h + h) as never, i * h);
}

/** x [T, H] → [numRows, H] with row indices[i] = x[i], zero elsewhere. */
export function scatterRows(be: CpuBackend, x: Tensor, indices: Tensor, numRows: number): Tensor {
  const { t, h, outShape } = validateScatterRows(be, x, indices, numRows, i32Of);
  const idx = i32Of(indices);
  const y = be.zeros(outShape, x.dtype);
  const src = rawOf(x);
  const dst = rawOf(y);
  for (let i = 0; i < t; i++) dst.set(src.subarray(i * h, i * h + h) as never, idx[i]! * h);
  return y;
}

/** out[indices[i]] += x[i] (out [N, H]); repeated indices add up. */
export function scatterAddRows(be: CpuBackend, x: Tensor, indices: Tensor, out: Tensor): void {
  const { t, h } = validateScatterAddRows(be, x, indices, out, i32Of);
  const idx = i32Of(indices);
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

/** Column sums of x [N, M] → float32 [M], accumulated in doubles. */
export function sumRows(be: CpuBackend, x: Tensor, opts: { out?: Tensor | null; accumulate?: boolean } = {}): Tensor {
  const { n, m, out, accumulate } = validateSumRows(be, x, opts);
  const xv = loadF32(x);
  const acc = new Float64Array(m);
  for (let r = 0; r < n; r++) {
    const base = r * m;
    for (let j = 0; j < m; j++) acc[j] += xv[base + j]!;
  }
  const y = out ?? be.empty([m], "f32");
  const res = new Float32Array(m);
  const prev = accumulate ? loadF32(y) : null;
  for (let j = 0; j < m; j++) res[j] = prev === null ? acc[j]! : acc[j]! + prev[j]!;
  storeF32(y, res);
  return y;
}
