import { Rng } from "@mosaicbert/tensor";

/** The 256 sequence lengths of the PyTorch peers' benchmark batch (copied from shared/bench/batch-lengths-256.json: 60% full 128, 40% uniform 16..127). */
export const BENCH_SEQ_LEN = 128;
export const BENCH_LENGTHS: readonly number[] = [46, 128, 128, 128, 56, 48, 89, 87, 128, 19, 128, 128, 107, 37, 82, 123, 128, 128, 128, 128, 128, 128, 123, 128, 128, 128, 128, 128, 64, 128, 70, 128, 67, 73, 128, 128, 128, 128, 114, 86, 128, 70, 128, 128, 30, 49, 128, 128, 128, 125, 93, 83, 128, 128, 128, 128, 112, 65, 128, 128, 128, 92, 128, 128, 128, 128, 83, 128, 128, 107, 22, 128, 128, 18, 128, 116, 128, 128, 117, 98, 107, 128, 128, 128, 128, 128, 56, 128, 128, 128, 128, 60, 128, 74, 35, 128, 128, 128, 50, 128, 76, 107, 128, 128, 128, 101, 115, 128, 128, 128, 60, 19, 128, 50, 120, 107, 28, 128, 93, 128, 128, 119, 118, 29, 76, 128, 128, 128, 54, 128, 128, 128, 128, 128, 58, 128, 31, 35, 124, 128, 128, 128, 128, 104, 128, 128, 22, 72, 128, 74, 100, 128, 128, 82, 128, 128, 128, 128, 108, 128, 128, 128, 59, 128, 128, 20, 53, 103, 128, 128, 22, 77, 128, 37, 128, 128, 39, 128, 33, 128, 128, 118, 128, 128, 128, 49, 128, 128, 128, 46, 128, 125, 128, 128, 111, 128, 128, 112, 88, 128, 101, 128, 117, 100, 128, 109, 73, 128, 128, 46, 128, 78, 128, 128, 98, 128, 115, 94, 128, 128, 128, 128, 16, 128, 116, 128, 128, 28, 128, 128, 128, 128, 105, 47, 128, 128, 128, 54, 112, 47, 128, 128, 93, 128, 20, 61, 117, 128, 68, 128, 128, 115, 86, 128, 128, 128];

/**
 * A seeded benchmark batch at any length: `rows` sequences (default 32768 / L, so every length trains
 * on the same 32768 positions), 60% full and 40% uniform in [L/8, L − 1] — the shape of the peers'
 * 128-token batch, at length L.
 */
export function benchLengths(L: number, rows = Math.max(1, Math.floor(32768 / L)), seed = 0): number[] {
  if (!Number.isInteger(L) || L < 2 || L > 65536) throw new RangeError(`--seq-len: expected an integer in [2, 65536], got ${L}`);
  if (!Number.isInteger(rows) || rows < 1 || rows * L > 2 ** 24) {
    throw new RangeError(`--batch: expected a positive integer with batch × seq-len ≤ ${2 ** 24}, got ${rows}`);
  }
  const rng = new Rng(seed);
  const lo = Math.max(1, Math.floor(L / 8));
  return Array.from({ length: rows }, () => (rng.next() < 0.6 ? L : lo + rng.int(L - lo)));
}
