import { asMatrix, expectNumber, expectRank, expectShape, FLOAT_DTYPES } from "../checks.js";
import { isFloat } from "../dtype.js";
import { OpError, fmtShape } from "../errors.js";
import type { MatmulOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import type { CpuBackend } from "./backend.js";
import { geluScalar } from "./erf.js";
import { gemmPacked, packA, packB } from "./gemm.js";
import { loadF32, outF32, storeF32 } from "./storage.js";
import { floatArg, outArg } from "./validate.js";

export function matmul(be: CpuBackend, a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const op = "matmul";
  floatArg(be, op, "a", a);
  floatArg(be, op, "b", b);
  const transA = opts.transA === true;
  const transB = opts.transB === true;
  let M: number;
  let K: number;
  let lead: number[];
  if (transA) {
    expectRank(op, "a", a, 2);
    K = a.shape[0]!;
    M = a.shape[1]!;
    lead = [M];
  } else {
    [M, K] = asMatrix(op, "a", a);
    lead = a.shape.slice(0, -1);
  }
  expectRank(op, "b", b, 2);
  const Kb = transB ? b.shape[1]! : b.shape[0]!;
  const N = transB ? b.shape[0]! : b.shape[1]!;
  if (Kb !== K) {
    const want = transB ? `[N, ${K}] (transB)` : `[${K}, N]`;
    throw new OpError(op, "b", `expected shape ${want} to match the inner dimension ${K} of a ${fmtShape(a.shape)}, got ${fmtShape(b.shape)}`);
  }
  const outShape = [...lead, N];
  const alpha = opts.alpha ?? 1;
  expectNumber(op, "alpha", alpha, () => true, "a finite number");
  const activation = opts.activation ?? "none";
  if (activation !== "none" && activation !== "gelu") throw new OpError(op, "activation", `expected "none" or "gelu", got ${String(activation)}`);
  let biasv: Float32Array | null = null;
  if (opts.bias !== null && opts.bias !== undefined) {
    floatArg(be, op, "bias", opts.bias);
    expectShape(op, "bias", opts.bias, [N]);
    biasv = loadF32(opts.bias);
  }
  const pre = outArg(be, op, opts.preActivation, outShape);
  if (pre !== null) pre.assertLive(op, "preActivation");
  const out = outArg(be, op, opts.out, outShape);
  if (opts.accumulate === true && out === null) throw new OpError(op, "accumulate", "accumulate requires an `out` tensor");
  const dtype = out?.dtype ?? opts.dtype ?? a.dtype;
  if (!isFloat(dtype)) throw new OpError(op, "dtype", `expected ${FLOAT_DTYPES.join(" or ")}, got ${String(dtype)}`);

  const y = out ?? be.empty(outShape, dtype);
  // Compute straight into a fresh f32 output; otherwise into scratch (out may alias a or b).
  const direct = out === null && dtype === "f32" && activation === "none" && pre === null;
  let c: Float32Array;
  if (be.pool.wants(M, N, K)) {
    c = be.pool.gemm(loadF32(a), loadF32(b), M, N, K, transA, transB, alpha, biasv);
    if (direct) {
      outF32(y).set(c);
      return y;
    }
  } else {
    const ap = packA(loadF32(a), M, K, transA);
    const bp = packB(loadF32(b), K, N, transB);
    c = direct ? outF32(y) : new Float32Array(M * N);
    gemmPacked(ap, bp, c, M, N, K, alpha, biasv);
    if (direct) return y;
  }
  if (pre !== null) storeF32(pre, c);
  if (activation === "gelu") for (let i = 0; i < c.length; i++) c[i] = geluScalar(c[i]!);
  if (opts.accumulate === true) {
    const prev = loadF32(y);
    for (let i = 0; i < c.length; i++) c[i] = c[i]! + prev[i]!;
  }
  storeF32(y, c);
  return y;
}

/** Column sums of x [N, M] → float32 [M], accumulated in doubles. */
export function sumRows(be: CpuBackend, x: Tensor, opts: { out?: Tensor | null; accumulate?: boolean } = {}): Tensor {
  const op = "sumRows";
  floatArg(be, op, "x", x);
  const [n, m] = asMatrix(op, "x", x);
  const out = outArg(be, op, opts.out, [m]);
  if (opts.accumulate === true && out === null) throw new OpError(op, "accumulate", "accumulate requires an `out` tensor");
  const xv = loadF32(x);
  const acc = new Float64Array(m);
  for (let r = 0; r < n; r++) {
    const base = r * m;
    for (let j = 0; j < m; j++) acc[j] += xv[base + j]!;
  }
  const y = out ?? be.empty([m], "f32");
  const res = new Float32Array(m);
  const prev = opts.accumulate === true ? loadF32(y) : null;
  for (let j = 0; j < m; j++) res[j] = prev === null ? acc[j]! : acc[j]! + prev[j]!;
  storeF32(y, res);
  return y;
}
