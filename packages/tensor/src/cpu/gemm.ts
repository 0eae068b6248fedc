/**
 * The matmul kernel: operand packing into 4-wide panels and a cache-blocked, 4×4 register-blocked
 * micro-kernel over the packed panels.
 */

/**
 * Packs a [rows, K] operand into 4-row panels: panel p holds rows 4p…4p+3 interleaved along k
 * (out[p·4K + 4k + r] = X[4p + r, k]), zero-padded to a multiple of 4 rows, so that the
 * micro-kernel reads both operands strictly sequentially. X[row, k] = src[row·rs + k·ks], which
 * covers A, Aᵀ, B and Bᵀ without copies. Writes are sequential; reads are 4 streams.
 */
export function packPanels(
  src: Float32Array,
  rows: number,
  K: number,
  rs: number,
  ks: number,
  out: Float32Array = new Float32Array(panelsLength(rows, K)),
): Float32Array {
  const P = (rows + 3) >> 2;
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

/** Elements of the packed form of a [rows, K] operand. */
export function panelsLength(rows: number, K: number): number {
  return ((rows + 3) >> 2) * 4 * K;
}

/** op(A) [M, K] as panels of 4 rows (A stored [M, K], or [K, M] when trans). */
export function packA(a: Float32Array, M: number, K: number, trans: boolean, out?: Float32Array): Float32Array {
  return trans ? packPanels(a, M, K, 1, M, out) : packPanels(a, M, K, K, 1, out);
}

/** op(B) [K, N] as panels of 4 columns (B stored [K, N], or [N, K] when trans). */
export function packB(b: Float32Array, K: number, N: number, trans: boolean, out?: Float32Array): Float32Array {
  return trans ? packPanels(b, N, K, K, 1, out) : packPanels(b, N, K, 1, N, out);
}

/**
 * c[M, N] = alpha·A·B (+ bias[j]) from packed panels, 4×4 register blocking: each k step loads
 * 4 values of A and 4 of B and does 16 multiply-adds into locals (JS doubles, so every dot product
 * accumulates in double precision and rounds to float32 once, on the store). Computes the row
 * panels [ip0, ip1) × column panels [jp0, jp1) only, so threads can share one product; each output
 * element is computed the same way whatever the split.
 *
 * Self-contained on purpose (no module-level references): parallel.ts ships its source text to
 * worker threads.
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
  ip0 = 0,
  ip1 = (M + 3) >> 2,
  jp0 = 0,
  jp1 = (N + 3) >> 2,
): void {
  // Cache blocks in 4-wide panels: A block 64 rows, B block 256 columns.
  const IB = 16;
  const JB = 64;
  const K4 = 4 * K;
  const acc = new Float64Array(16);
  for (let jb = jp0; jb < jp1; jb += JB) {
    const jend = Math.min(jb + JB, jp1);
    for (let ib = ip0; ib < ip1; ib += IB) {
      const iend = Math.min(ib + IB, ip1);
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
