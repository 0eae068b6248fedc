import { expectDtype, expectIndicesInRange, expectRank, expectShape } from "../checks.js";
import { isFloat, type DType } from "../dtype.js";
import { OpError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import type { CpuBackend } from "./backend.js";
import { i32Of, loadF32, outF32, rawOf, storeF32 } from "./storage.js";
import { floatArg, indexArg } from "./validate.js";

/** table[ids]: ids i32 of any shape, table [V, H] → [...ids.shape, H]. */
export function embedding(be: CpuBackend, ids: Tensor, table: Tensor, opts: { dtype?: DType } = {}): Tensor {
  const op = "embedding";
  indexArg(be, op, "ids", ids);
  floatArg(be, op, "table", table);
  expectRank(op, "table", table, 2);
  const [v, h] = table.shape as [number, number];
  const dtype = opts.dtype ?? table.dtype;
  if (!isFloat(dtype)) throw new OpError(op, "dtype", `expected f32, bf16 or f16, got ${String(dtype)}`);
  const idx = i32Of(ids);
  expectIndicesInRange(op, "ids", idx, v);
  const y = be.empty([...ids.shape, h], dtype);
  if (dtype === table.dtype) {
    const src = rawOf(table);
    const dst = rawOf(y);
    for (let i = 0; i < idx.length; i++) dst.set(src.subarray(idx[i]! * h, idx[i]! * h + h) as never, i * h);
    return y;
  }
  const tv = loadF32(table);
  const yv = outF32(y);
  for (let i = 0; i < idx.length; i++) yv.set(tv.subarray(idx[i]! * h, idx[i]! * h + h), i * h);
  storeF32(y, yv);
  return y;
}

/** dtable[ids[i]] += dy[i]; float32 dtable [V, H]; rows whose id is paddingIdx are skipped. */
export function embeddingBackward(
  be: CpuBackend,
  ids: Tensor,
  dy: Tensor,
  dtable: Tensor,
  opts: { paddingIdx?: number | null } = {},
): void {
  const op = "embeddingBackward";
  indexArg(be, op, "ids", ids);
  floatArg(be, op, "dy", dy);
  floatArg(be, op, "dtable", dtable);
  expectDtype(op, "dtable", dtable, ["f32"]);
  expectRank(op, "dtable", dtable, 2);
  const [v, h] = dtable.shape as [number, number];
  expectShape(op, "dy", dy, [...ids.shape, h]);
  const pad = opts.paddingIdx ?? null;
  if (pad !== null && (typeof pad !== "number" || !Number.isInteger(pad))) {
    throw new OpError(op, "paddingIdx", `expected an integer or null, got ${String(pad)}`);
  }
  const idx = i32Of(ids);
  expectIndicesInRange(op, "ids", idx, v);
  const dv = loadF32(dy);
  const tv = loadF32(dtable);
  for (let i = 0; i < idx.length; i++) {
    const id = idx[i]!;
    if (id === pad) continue;
    const s = i * h;
    const d = id * h;
    for (let j = 0; j < h; j++) tv[d + j] = tv[d + j]! + dv[s + j]!;
  }
}
