/**
 * The per-tensor rows of the optimizer's argument tables (one Float64Array per call, one row per tensor):
 * native/optim.cu reads `e = table + WIDTH * k` and these slots of it (packs.test.ts checks them against
 * optim.cu's reads).
 */
export const ADAMW_ROW = { param: 0, grad: 1, m: 2, v: 3, lowp: 4, size: 5, lowpDtype: 6 } as const;
export const ADAMW_ROW_WIDTH = 7;

/** globalNorm's table: one row per tensor. */
export const NORM_ROW = { ptr: 0, size: 1, dtype: 2 } as const;
export const NORM_ROW_WIDTH = 3;
