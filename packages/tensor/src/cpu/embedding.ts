import type { DType } from "../dtype.js";
import type { Tensor } from "../tensor.js";
import { validateEmbedding, validateEmbeddingBackward } from "../validate/embedding.js";
import type { CpuBackend } from "./backend.js";
import { copyRows } from "./rows.js";
import { i32Of, loadF32, outF32, storeF32 } from "./storage.js";

/** table[ids]: ids i32 of any shape, table [V, H] → [...ids.shape, H]. */
export function embedding(be: CpuBackend, ids: Tensor, table: Tensor, opts: { dtype?: DType } = {}): Tensor {
  const { H: h, outShape, outDtype: dtype } = validateEmbedding(be, ids, table, opts, i32Of);
  const idx = i32Of(ids);
  const y = be.empty(outShape, dtype);
  if (dtype === table.dtype) {
    copyRows(table, idx, h, y);
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
  const { H: h, paddingIdx: pad } = validateEmbeddingBackward(be, ids, dy, dtable, opts, i32Of);
  const idx = i32Of(ids);
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
