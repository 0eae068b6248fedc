/**
 * The error function, which JavaScript lacks. The exact GELU x·Φ(x) = ½x(1 + erf(x/√2)) needs it
 * for every activation, so there are two versions:
 *
 * - `erfPrecise`: near double precision. For |x| < 3 the everywhere-positive series
 *   erf(x) = 2/√π · e^(−x²) · Σₙ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))  (no cancellation);
 *   beyond, the continued fraction of erfc, evaluated bottom-up with a fixed depth.
 * - `erf`: fast. Cubic Hermite interpolation on a table of erfPrecise values and the exact
 *   derivative 2/√π·e^(−x²) at spacing 1/128 on [0, 6], a Taylor polynomial near 0 (keeps the
 *   relative error small for tiny x), and ±1 beyond 6 (erfc(6) ≈ 2e−17). The interpolation error
 *   is below h⁴/384·max|erf⁗| ≈ 1e−11, far inside float32's resolution.
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126;

export function erfPrecise(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  const sign = x < 0 ? -1 : 1;
  if (ax < 3) {
    const x2 = ax * ax;
    let term = ax;
    let sum = ax;
    for (let n = 0; n < 200; n++) {
      term *= (2 * x2) / (2 * n + 3);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return sign * TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  }
  if (ax > 27) return sign;
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
  let f = ax;
  for (let k = 80; k >= 1; k--) f = ax + k / 2 / f;
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return sign * (1 - erfc);
}

const H = 1 / 128;
const XMAX = 6;
const NT = Math.round(XMAX / H) + 1;
const TABLE_F = new Float64Array(NT);
const TABLE_D = new Float64Array(NT);
for (let i = 0; i < NT; i++) {
  const x = i * H;
  TABLE_F[i] = erfPrecise(x);
  TABLE_D[i] = TWO_OVER_SQRT_PI * Math.exp(-x * x) * H; // derivative pre-scaled by the spacing
}

export function erf(x: number): number {
  const ax = x < 0 ? -x : x;
  if (ax < 0.0625) {
    // 2/√π (x − x³/3 + x⁵/10 − x⁷/42 + x⁹/216); the next term is below 1e−13 relative.
    const x2 = x * x;
    return TWO_OVER_SQRT_PI * x * (1 + x2 * (-1 / 3 + x2 * (1 / 10 + x2 * (-1 / 42 + x2 / 216))));
  }
  if (!(ax < XMAX)) return Number.isNaN(x) ? NaN : x < 0 ? -1 : 1;
  const u = ax * 128;
  const i = u | 0;
  const t = u - i;
  const f0 = TABLE_F[i]!;
  const f1 = TABLE_F[i + 1]!;
  const d0 = TABLE_D[i]!;
  const d1 = TABLE_D[i + 1]!;
  // Cubic Hermite basis on [0, 1].
  const t2 = t * t;
  const t3 = t2 * t;
  const v = (2 * t3 - 3 * t2 + 1) * f0 + (t3 - 2 * t2 + t) * d0 + (-2 * t3 + 3 * t2) * f1 + (t3 - t2) * d1;
  return x < 0 ? -v : v;
}

const INV_SQRT2 = 0.7071067811865476;
const INV_SQRT_2PI = 0.3989422804014327;

/** Exact GELU: x·Φ(x). */
export function geluScalar(x: number): number {
  return 0.5 * x * (1 + erf(x * INV_SQRT2));
}

/** d/dx [x·Φ(x)] = Φ(x) + x·φ(x). */
export function geluGradScalar(x: number): number {
  return 0.5 * (1 + erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}
