/**
 * ALiBi head slopes, as the reference (and the ALiBi paper's code) computes them.
 *
 * For a power-of-two head count n: slope[k] = 2^(−8(k+1)/n). Otherwise, with p the largest power
 * of two ≤ n: the p slopes for p heads, then the first n − p even-indexed slopes of the 2p list.
 */
export function alibiSlopes(numHeads: number): Float32Array {
  if (!Number.isInteger(numHeads) || numHeads < 1) throw new RangeError(`alibiSlopes: numHeads must be a positive integer, got ${numHeads}`);
  const pow2 = (n: number): number[] => {
    const start = 2 ** -(2 ** -(Math.log2(n) - 3));
    return Array.from({ length: n }, (_, k) => start ** (k + 1));
  };
  const p = 2 ** Math.floor(Math.log2(numHeads));
  const slopes = pow2(p);
  if (p !== numHeads) {
    const extra = pow2(2 * p).filter((_, i) => i % 2 === 0).slice(0, numHeads - p);
    slopes.push(...extra);
  }
  return Float32Array.from(slopes);
}
