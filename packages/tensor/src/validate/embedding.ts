import { expectDtype, expectIndicesInRange, expectRank, expectShape } from "../checks.js";
import { type DType, isFloat } from "../dtype.js";
import { OpError } from "../errors.js";
import type { Backend } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { type ReadIndices, floatArg, indexArg } from "./args.js";

/** embedding: ids i32 (any shape, in [0, V) when readIndices is given), table [V, H] → [...ids.shape, H]. */
export function validateEmbedding(
  be: Backend,
  ids: Tensor,
  table: Tensor,
  opts: { dtype?: DType } = {},
  readIndices?: ReadIndices,
): { V: number; H: number; outShape: number[]; outDtype: DType } {
  const op = "embedding";
  indexArg(be, op, "ids", ids);
  floatArg(be, op, "table", table);
  expectRank(op, "table", table, 2);
  const [V, H] = table.shape as [number, number];
  const outDtype = opts.dtype ?? table.dtype;
  if (!isFloat(outDtype)) throw new OpError(op, "dtype", `expected f32, bf16 or f16, got ${String(outDtype)}`);
  if (readIndices) expectIndicesInRange(op, "ids", readIndices(ids), V);
  return { V, H, outShape: [...ids.shape, H], outDtype };
}

/** embeddingBackward: dy [...ids.shape, H] into float32 dtable [V, H]; paddingIdx an integer or null. */
export function validateEmbeddingBackward(
  be: Backend,
  ids: Tensor,
  dy: Tensor,
  dtable: Tensor,
  opts: { paddingIdx?: number | null } = {},
  readIndices?: ReadIndices,
): { V: number; H: number; paddingIdx: number | null } {
  const op = "embeddingBackward";
  indexArg(be, op, "ids", ids);
  floatArg(be, op, "dy", dy);
  floatArg(be, op, "dtable", dtable);
  expectDtype(op, "dtable", dtable, ["f32"]);
  expectRank(op, "dtable", dtable, 2);
  const [V, H] = dtable.shape as [number, number];
  expectShape(op, "dy", dy, [...ids.shape, H]);
  const paddingIdx = opts.paddingIdx ?? null;
  if (paddingIdx !== null && (typeof paddingIdx !== "number" || !Number.isInteger(paddingIdx))) {
    throw new OpError(op, "paddingIdx", `expected an integer or null, got ${String(paddingIdx)}`);
  }
  if (readIndices) expectIndicesInRange(op, "ids", readIndices(ids), V);
  return { V, H, paddingIdx };
}
