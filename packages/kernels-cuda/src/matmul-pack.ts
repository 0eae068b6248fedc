/**
 * The matmul (cuBLASLt GEMM) argument pack, slot by slot (native/matmul_pack.h holds the same numbers for
 * addon.cc; packs.test.ts checks that they agree). D = alpha·op(A)·op(B) (+ bias) (+= D when accumulating);
 * biasGrad[m] (+)= Σₖ A[k, m] beside it (transA only).
 */
export const MATMUL = {
  dtA: 0,
  dtB: 1,
  dtOut: 2,
  dtBias: 3,
  a: 4,
  b: 5,
  out: 6,
  bias: 7,
  m: 8,
  n: 9,
  k: 10,
  transA: 11,
  transB: 12,
  alpha: 13,
  accumulate: 14,
  biasGrad: 15,
} as const;

export const MATMUL_SLOTS = 16;
