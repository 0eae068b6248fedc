import type { Tensor } from "../tensor.js";
import { validateSumRows } from "../validate/rows.js";
import { loadF32, storeF32 } from "../cpu/storage.js";
import type { FastCpuBackend } from "./backend.js";
import { splitRange } from "./runtime.js";
import { Scratch } from "./scratch.js";

/** Column sums of x [N, M] → float32 [M] (the bias gradient), columns split over threads. */
export function sumRows(be: FastCpuBackend, x: Tensor, opts: { out?: Tensor | null; accumulate?: boolean } = {}): Tensor {
  const { n, m, out, accumulate } = validateSumRows(be, x, opts);
  const rt = be.runtime;
  const s = new Scratch(rt);
  const xAt = s.take(n * m * 4);
  const oAt = s.take(m * 4);
  s.commit();
  s.putF32(xAt, loadF32(x));
  const shares = splitRange(m, n * m < 1e5 ? 1 : rt.threads, 4);
  rt.parallel("sum_rows", shares.map(([c0, c1]) => [xAt, n, m, c0, c1, oAt]));
  const y = out ?? be.empty([m], "f32");
  const res = new Float32Array(s.f32(oAt, m));
  if (accumulate) {
    const prev = loadF32(y);
    for (let j = 0; j < m; j++) res[j] = res[j]! + prev[j]!;
  }
  storeF32(y, res);
  return y;
}
