import type { Backend } from "./backend.js";
import type { DType } from "./dtype.js";
import { Rng } from "./random.js";
import type { Tensor } from "./tensor.js";

/**
 * Helpers for testing ops and modules on any backend: error metrics, a central finite-difference
 * gradient checker, and seeded random tensors.
 */

/** ‖a − b‖₂ / ‖b‖₂ with b the reference (‖a − b‖₂ when b is all zeros). Lengths must match. */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`relativeL2: lengths differ (${a.length} vs ${b.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Number(a[i]) - Number(b[i]);
    num += d * d;
    den += Number(b[i]) * Number(b[i]);
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Largest |a − b|. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`maxAbsDiff: lengths differ (${a.length} vs ${b.length})`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(Number(a[i]) - Number(b[i])));
  return m;
}

/**
 * Central finite differences of a scalar function of a float vector:
 * g[i] ≈ (f(x + eps·eᵢ) − f(x − eps·eᵢ)) / 2eps. `x` is restored afterwards. Only `indices`
 * (default: all) are probed, which keeps checks of large inputs cheap.
 */
export function numericalGradient(
  f: (x: Float32Array) => number,
  x: Float32Array,
  eps = 1e-2,
  indices?: readonly number[],
): Float64Array {
  const g = new Float64Array(x.length);
  const probe = indices ?? Array.from({ length: x.length }, (_, i) => i);
  for (const i of probe) {
    const orig = x[i]!;
    x[i] = orig + eps;
    const up = f(x);
    x[i] = orig - eps;
    const down = f(x);
    x[i] = orig;
    // Divide by the step actually taken after float32 rounding of x ± eps.
    g[i] = (up - down) / (Math.fround(orig + eps) - Math.fround(orig - eps));
  }
  return g;
}

export interface GradientCheck {
  /** relativeL2 of the analytic gradient against the numerical one, over the probed entries. */
  error: number;
  numeric: Float64Array;
}

/**
 * Compares an analytic gradient with central finite differences of `f` at `x` over `indices`
 * (default all). Use eps ≈ 1e-2…1e-3 with float32 forward passes.
 */
export function checkGradient(
  f: (x: Float32Array) => number,
  x: Float32Array,
  analytic: ArrayLike<number>,
  opts: { eps?: number; indices?: readonly number[] } = {},
): GradientCheck {
  const numeric = numericalGradient(f, x, opts.eps ?? 1e-2, opts.indices);
  const probe = opts.indices ?? Array.from({ length: x.length }, (_, i) => i);
  const a = probe.map((i) => Number(analytic[i]));
  const n = probe.map((i) => numeric[i]!);
  return { error: relativeL2(a, n), numeric };
}

/** A seeded tensor of N(0, std²) values on a backend. */
export function randomTensor(backend: Backend, shape: readonly number[], opts: { seed?: number; std?: number; dtype?: DType } = {}): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Rng(opts.seed ?? 1).normalArray(n, opts.std ?? 1);
  return backend.fromArray(data, shape, opts.dtype ?? "f32");
}

/**
 * Fills a float tensor with NaN: poison a buffer whose old contents must not matter (a fresh
 * `empty`, an output about to be overwritten) so that a kernel reading it shows up as NaN.
 */
export function poison(backend: Backend, t: Tensor): Tensor {
  backend.fill(t, Number.NaN);
  return t;
}

/** True when any element is NaN or ±Infinity. */
export function hasNonFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(Number(a[i]))) return true;
  return false;
}

// The conformance suite: every op of the contract on several shapes and dtypes, a backend against the reference.
export { casesMatching, conformanceCases, runCase, type CaseResult, type ConformanceCase } from "./conformance.js";
