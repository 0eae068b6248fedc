import { asMatrix, expectNumber, expectRank, expectShape, FLOAT_DTYPES } from "../checks.js";
import { isFloat } from "../dtype.js";
import { OpError, fmtShape } from "../errors.js";
import type { MatmulOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import type { CpuBackend } from "./backend.js";
import { geluScalar } from "./erf.js";
import { loadF32, outF32, storeF32 } from "./storage.js";
import { floatArg, outArg } from "./validate.js";

/**
 * Packs a [rows, K] operand into 4-row panels: panel p holds rows 4p…4p+3 interleaved along k
 * (out[p·4K + 4k + r] = X[4p + r, k]), zero-padded to a multiple of 4 rows, so that the
 * micro-kernel reads both operands strictly sequentially. X[row, k] = src[row·rs + k·ks], which
 * covers A, Aᵀ, B and Bᵀ without copies. Writes are sequential; reads are 4 streams.
 */
export function packPanels(src: Float32Array, rows: number, K: number, rs: number, ks: number): Float32Array {
  const P = (rows + 3) >> 2;
  const out = new Float32Array(P * 4 * K);
  let o = 0;
  for (let p = 0; p < P; p++) {
    const r0 = 4 * p;
    if (r0 + 4 <= rows) {
      const b0 = r0 * rs;
      const b1 = b0 + rs;
      const b2 = b1 + rs;
      const b3 = b2 + rs;
      for (let k = 0, kk = 0; k < K; k++, kk += ks) {
        out[o] = src[b0 + kk]!;
        out[o + 1] = src[b1 + kk]!;
        out[o + 2] = src[b2 + kk]!;
        out[o + 3] = src[b3 + kk]!;
        o += 4;
      }
    } else {
      for (let k = 0; k < K; k++) {
        for (let r = 0; r < 4; r++) out[o++] = r0 + r < rows ? src[(r0 + r) * rs + k * ks]! : 0;
      }
    }
  }
  return out;
}

/** op(A) [M, K] as panels of 4 rows (A stored [M, K], or [K, M] when trans). */
export function packA(a: Float32Array, M: number, K: number, trans: boolean): Float32Array {
  return trans ? packPanels(a, M, K, 1, M) : packPanels(a, M, K, K, 1);
}

/** op(B) [K, N] as panels of 4 columns (B stored [K, N], or [N, K] when trans). */
export function packB(b: Float32Array, K: number, N: number, trans: boolean): Float32Array {
  return trans ? packPanels(b, N, K, K, 1) : packPanels(b, N, K, 1, N);
}

/** Rows and columns of the cache blocks (in 4-wide panels): A block 64 rows, B block 256 columns. */
const IB = 16;
const JB = 64;

/**
 * c[M, N] = alpha·A·B (+ bias[j]) from packed panels, 4×4 register blocking: each k step loads
 * 4 values of A and 4 of B and does 16 multiply-adds into locals (JS doubles, so every dot product
 * accumulates in double precision and rounds to float32 once, on the store).
 */
export function gemmPacked(
  ap: Float32Array,
  bp: Float32Array,
  c: Float32Array,
  M: number,
  N: number,
  K: number,
  alpha: number,
  bias: Float32Array | null,
): void {
  const MP = (M + 3) >> 2;
  const NP = (N + 3) >> 2;
  const K4 = 4 * K;
  const acc = new Float64Array(16);
  for (let jb = 0; jb < NP; jb += JB) {
    const jend = Math.min(jb + JB, NP);
    for (let ib = 0; ib < MP; ib += IB) {
      const iend = Math.min(ib + IB, MP);
      for (let jp = jb; jp < jend; jp++) {
        for (let ip = ib; ip < iend; ip++) {
          let c00 = 0, c01 = 0, c02 = 0, c03 = 0;
          let c10 = 0, c11 = 0, c12 = 0, c13 = 0;
          let c20 = 0, c21 = 0, c22 = 0, c23 = 0;
          let c30 = 0, c31 = 0, c32 = 0, c33 = 0;
          let ao = ip * K4;
          let bo = jp * K4;
          const aend = ao + K4;
          while (ao < aend) {
            const a0 = ap[ao]!, a1 = ap[ao + 1]!, a2 = ap[ao + 2]!, a3 = ap[ao + 3]!;
            const b0 = bp[bo]!, b1 = bp[bo + 1]!, b2 = bp[bo + 2]!, b3 = bp[bo + 3]!;
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
            ao += 4;
            bo += 4;
          }
          acc[0] = c00; acc[1] = c01; acc[2] = c02; acc[3] = c03;
          acc[4] = c10; acc[5] = c11; acc[6] = c12; acc[7] = c13;
          acc[8] = c20; acc[9] = c21; acc[10] = c22; acc[11] = c23;
          acc[12] = c30; acc[13] = c31; acc[14] = c32; acc[15] = c33;
          const i0 = ip * 4;
          const j0 = jp * 4;
          const rmax = Math.min(4, M - i0);
          const cmax = Math.min(4, N - j0);
          for (let r = 0; r < rmax; r++) {
            const crow = (i0 + r) * N + j0;
            for (let cc = 0; cc < cmax; cc++) {
              const v = alpha * acc[r * 4 + cc]!;
              c[crow + cc] = bias === null ? v : v + bias[j0 + cc]!;
            }
          }
        }
      }
    }
  }
}

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

  const ap = packA(loadF32(a), M, K, transA);
  const bp = packB(loadF32(b), K, N, transB);
  const y = out ?? be.empty(outShape, dtype);
  // Compute straight into a fresh f32 output; otherwise into scratch (out may alias a or b).
  const direct = out === null && dtype === "f32" && activation === "none" && pre === null;
  const c = direct ? outF32(y) : new Float32Array(M * N);
  gemmPacked(ap, bp, c, M, N, K, alpha, biasv);
  if (direct) return y;
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
