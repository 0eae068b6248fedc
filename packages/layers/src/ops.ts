import type { Backend, Tensor } from "@mosaicbert/tensor";
import { siteSeed } from "./batch.js";

/** Per-call settings threaded through every module's forward pass. */
export interface Run {
  backend: Backend;
  /** Dropout active. */
  training: boolean;
  /** Base dropout seed of this call; each call site derives its own with siteSeed. */
  seed: number;
  /** Keep activations for backward(). */
  keep: boolean;
}

/** y = x·Wᵀ + b (PyTorch Linear layout: W is [out, in]). */
export function linear(be: Backend, x: Tensor, w: Tensor, b: Tensor | null): Tensor {
  return be.matmul(x, w, { transB: true, bias: b });
}

/**
 * Linear backward: gW += dyᵀ·x, gb += Σ dy (in the same matmul call, which a backend may fuse);
 * returns dx = dy·W, or adds it into `dxInto` (and returns that) when given, or skips it when
 * `needDx` is false.
 */
export function linearBackward(
  be: Backend, dy: Tensor, x: Tensor, w: Tensor, gw: Tensor, gb: Tensor | null,
  dx: { needDx: boolean; into?: Tensor | null } = { needDx: true },
): Tensor | null {
  be.matmul(dy, x, { transA: true, out: gw, accumulate: true, biasGrad: gb });
  if (!dx.needDx) return null;
  if (dx.into) {
    be.matmul(dy, w, { out: dx.into, accumulate: true });
    return dx.into;
  }
  return be.matmul(dy, w);
}

/** Dropout settings of one call site, or null when inactive. */
export function dropoutAt(run: Run, p: number, site: string): { p: number; seed: number } | null {
  if (!run.training || p <= 0) return null;
  return { p, seed: siteSeed(run.seed, site) };
}

/** Applies dropout (consuming x) when active. */
export function applyDropout(be: Backend, x: Tensor, d: { p: number; seed: number } | null): Tensor {
  if (!d) return x;
  const y = be.dropout(x, d);
  x.dispose();
  return y;
}

/** Disposes every tensor given (nulls skipped). */
export function free(...ts: (Tensor | null | undefined)[]): void {
  for (const t of ts) t?.dispose();
}

/** A new tensor of `shape` holding t's values (t unchanged). Views cannot be disposed, so outputs never are views. */
export function copyAs(be: Backend, t: Tensor, shape: readonly number[]): Tensor {
  const out = be.empty(shape, t.dtype);
  be.copy(t, out);
  return out;
}

/** t with another shape as an owned tensor (consumes t; no copy when the shape already matches). */
export function withShape(be: Backend, t: Tensor, shape: readonly number[]): Tensor {
  if (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i])) return t;
  const out = copyAs(be, t, shape);
  t.dispose();
  return out;
}
