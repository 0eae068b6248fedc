// The matmul argument pack (a Float64Array from src/backend.ts): slot numbers by name. Its TypeScript
// twin is src/matmul-pack.ts; src/packs.test.ts checks that the two agree slot by slot.
#pragma once

enum MatmulSlot {
  MATMUL_DT_A = 0,        // dtype code of A
  MATMUL_DT_B = 1,        // dtype code of B
  MATMUL_DT_OUT = 2,      // dtype code of D
  MATMUL_DT_BIAS = 3,     // dtype code of the bias (0 without)
  MATMUL_A = 4,           // A
  MATMUL_B = 5,           // B
  MATMUL_OUT = 6,         // D [M, N]
  MATMUL_BIAS = 7,        // bias [N] or 0
  MATMUL_M = 8,
  MATMUL_N = 9,
  MATMUL_K = 10,
  MATMUL_TRANS_A = 11,    // 1: A is [K, M]
  MATMUL_TRANS_B = 12,    // 1: B is [N, K]
  MATMUL_ALPHA = 13,      // scale of the product
  MATMUL_ACCUMULATE = 14, // 1: D += the product
  MATMUL_BIAS_GRAD = 15,  // f32 [M]: Σ over K of A ([K, M], transA) beside the product (+= when accumulating), or 0
  MATMUL_SLOTS = 16,
};
