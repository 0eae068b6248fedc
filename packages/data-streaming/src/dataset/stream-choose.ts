/**
 * Samples each stream contributes per epoch: mosaicml-streaming's `Stream.apply_weights`, in float64
 * exactly as NumPy computes it, so the per-stream counts (and so the whole sample order) agree.
 */
import { defaultRng } from "../shuffle/numpy-rng.js";
import type { Weighting } from "./weights.js";

/**
 * `np.sum` of a float64 array, bit for bit: NumPy's pairwise summation (fewer than 8 values added
 * in order; up to 128 in 8 interleaved partial sums; longer arrays split in halves rounded to 8).
 */
export function numpySum(a: readonly number[], from = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[from + i]!;
    return res;
  }
  if (n <= 128) {
    const r = a.slice(from, from + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j]! += a[from + i + j]!;
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[from + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return numpySum(a, from, n2) + numpySum(a, from + n2, n - n2);
}

/**
 * Split `total` samples by `parts` as the reference does: normalise (`p /= p.sum()` in float64),
 * truncate `total * p`, then give +1 to the streams `default_rng(seed).choice(n, shortfall, False)` picks.
 */
function splitByParts(parts: readonly number[], total: number, seed: number): number[] {
  const sum = numpySum(parts);
  const choose = parts.map((p) => Math.trunc(total * (p / sum)));
  const short = total - choose.reduce((a, b) => a + b, 0);
  if (short > 0) for (const i of defaultRng(seed).choiceNoReplace(parts.length, short)) choose[i]! += 1;
  return choose;
}

/**
 * Samples each stream contributes per epoch. `epochSize` (0 or null: not given, as the reference's
 * `if not epoch_size`) applies to relative weights (`proportion`) or to streams with no weight at all,
 * which then share it in proportion to their sizes; with `repeat`/`choose` it is an error.
 */
export function streamChoose(weights: Weighting[], sizes: number[], epochSize: number | null, seed: number): number[] {
  if (epochSize !== null && (!Number.isInteger(epochSize) || epochSize < 0)) {
    throw new Error(`StreamingDataset: epochSize must be a non-negative integer (samples per epoch), got ${epochSize}`);
  }
  const epoch = epochSize || null;
  const relative = weights.map((w) => w.proportion !== undefined);
  if (relative.some((r) => r) && !relative.every((r) => r)) {
    throw new Error("streams: relative (proportion) and absolute (repeat/choose) weighting cannot be mixed");
  }
  if (relative.length && relative[0]) {
    return splitByParts(weights.map((w) => w.proportion!), epoch ?? sizes.reduce((a, b) => a + b, 0), seed);
  }
  const unweighted = weights.every((w) => w.repeat === undefined && w.choose === undefined);
  if (epoch !== null) {
    if (unweighted) return splitByParts(sizes, epoch, seed);
    throw new Error(
      `StreamingDataset: epochSize (${epoch}) cannot be combined with stream repeat/choose weights; ` +
        "use proportion on every stream, or no weights at all, to set the epoch size",
    );
  }
  return weights.map((w, i) => (w.choose !== undefined ? w.choose : w.repeat !== undefined ? Math.trunc(w.repeat * sizes[i]!) : sizes[i]!));
}
