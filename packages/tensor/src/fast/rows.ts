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
  const X = x.dtype === "f32" ? s.input(x) : s.floats(loadF32(x));
  const O = s.take(m * 4);
  s.commit();
  const shares = splitRange(m, n * m < 1e5 ? 1 : rt.threads, 4);
  rt.parallel("sum_rows", shares.map(([c0, c1]) => [X.at, n, m, c0, c1, O.at]));
  const y = out ?? be.empty([m], "f32");
  const res = new Float32Array(s.f32(O, m));
  if (accumulate) {
    const prev = loadF32(y);
    for (let j = 0; j < m; j++) res[j] = res[j]! + prev[j]!;
  }
  storeF32(y, res);
  return y;
}
