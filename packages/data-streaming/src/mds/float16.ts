/** IEEE-754 half precision <-> JS number, rounding like NumPy (round to nearest, ties to even). */

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/** Half-precision bits -> number. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** number -> half-precision bits, converting directly from float64 (no double rounding). */
export function numberToHalf(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  f64[0] = x;
  const sign = u32[1]! & 0x80000000 ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) {
    // Subnormal range: scaling by 2^24 is exact, so rounding the scaled value is exact too.
    return sign | roundHalfEven(a * 2 ** 24); // 1024 here is the smallest normal, still correct bits
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let q = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (q === 1024) {
    q = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | q;
}
