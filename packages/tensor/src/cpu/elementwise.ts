import { seedKey, uniformAtKey } from "../random.js";
import type { DropoutOptions, GegluOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import type { DropoutPlan } from "../validate/args.js";
import {
  validateAdd, validateAddInPlace, validateDropout, validateGeglu, validateGegluBackward, validateScaleInPlace, validateUnary,
  validateUnaryBackward,
} from "../validate/elementwise.js";
import type { CpuBackend } from "./backend.js";
import { geluGradScalar, geluScalar } from "./erf.js";
import { loadF32, outF32, storeF32 } from "./storage.js";

/** Allocates y like `like` (shape) in dtype, fills it through f over a float32 buffer. */
function produce(be: CpuBackend, shape: readonly number[], like: Tensor, fn: (y: Float32Array) => void): Tensor {
  const y = be.empty(shape, like.dtype);
  const buf = outF32(y);
  fn(buf);
  storeF32(y, buf);
  return y;
}

export function add(be: CpuBackend, a: Tensor, b: Tensor, opts?: { out?: Tensor | null }): Tensor {
  const out = validateAdd(be, a, b, opts).out ?? be.empty(a.shape, a.dtype);
  const av = loadF32(a);
  const bv = loadF32(b);
  const n = a.size;
  const res = new Float32Array(n);
  for (let i = 0; i < n; i++) res[i] = av[i]! + bv[i]!;
  storeF32(out, res);
  return out;
}

export function addInPlace(be: CpuBackend, a: Tensor, b: Tensor, alpha: number): void {
  validateAddInPlace(be, a, b, alpha);
  const av = loadF32(a);
  const bv = loadF32(b);
  for (let i = 0; i < a.size; i++) av[i] = av[i]! + alpha * bv[i]!;
  storeF32(a, av);
}

export function scaleInPlace(be: CpuBackend, x: Tensor, s: number): void {
  validateScaleInPlace(be, x, s);
  const xv = loadF32(x);
  for (let i = 0; i < x.size; i++) xv[i] = xv[i]! * s;
  storeF32(x, xv);
}

export function gelu(be: CpuBackend, x: Tensor): Tensor {
  validateUnary(be, "gelu", x);
  const xv = loadF32(x);
  return produce(be, x.shape, x, (y) => {
    for (let i = 0; i < y.length; i++) y[i] = geluScalar(xv[i]!);
  });
}

export function geluBackward(be: CpuBackend, dy: Tensor, x: Tensor): Tensor {
  validateUnaryBackward(be, "geluBackward", dy, x);
  const xv = loadF32(x);
  const dv = loadF32(dy);
  return produce(be, dy.shape, dy, (y) => {
    for (let i = 0; i < y.length; i++) y[i] = dv[i]! * geluGradScalar(xv[i]!);
  });
}

/** The fused dropout's per-element factor (0 or 1/(1−p)) for h's element i; 1 without dropout. */
function dropFactor(d: DropoutPlan | null): (i: number) => number {
  if (!d) return () => 1;
  const key = seedKey(d.seed);
  const scale = 1 / (1 - d.p);
  return (i) => (uniformAtKey(key, d.offset + i) >= d.p ? scale : 0);
}

export function geglu(be: CpuBackend, g: Tensor, opts?: GegluOptions): Tensor {
  const { n, inner, outShape, dropout: drop } = validateGeglu(be, g, opts);
  const gv = loadF32(g);
  const m = dropFactor(drop);
  return produce(be, outShape, g, (h) => {
    for (let r = 0; r < n; r++) {
      const gi = r * 2 * inner;
      const hi = r * inner;
      for (let j = 0; j < inner; j++) h[hi + j] = geluScalar(gv[gi + j]!) * gv[gi + inner + j]! * m(hi + j);
    }
  });
}

export function gegluBackward(be: CpuBackend, dh: Tensor, g: Tensor, opts?: GegluOptions): Tensor {
  const { n, inner, dropout: drop } = validateGegluBackward(be, dh, g, opts);
  const gv = loadF32(g);
  const dv = loadF32(dh);
  const m = dropFactor(drop);
  return produce(be, g.shape, dh, (dg) => {
    for (let r = 0; r < n; r++) {
      const gi = r * 2 * inner;
      const hi = r * inner;
      for (let j = 0; j < inner; j++) {
        const u = gv[gi + j]!;
        const v = gv[gi + inner + j]!;
        const d = dv[hi + j]! * m(hi + j);
        dg[gi + j] = d * v * geluGradScalar(u);
        dg[gi + inner + j] = d * geluScalar(u);
      }
    }
  });
}

export function tanh(be: CpuBackend, x: Tensor): Tensor {
  validateUnary(be, "tanh", x);
  const xv = loadF32(x);
  return produce(be, x.shape, x, (y) => {
    for (let i = 0; i < y.length; i++) y[i] = Math.tanh(xv[i]!);
  });
}

export function tanhBackward(be: CpuBackend, dy: Tensor, y: Tensor): Tensor {
  validateUnaryBackward(be, "tanhBackward", dy, y);
  const yv = loadF32(y);
  const dv = loadF32(dy);
  return produce(be, dy.shape, dy, (dx) => {
    for (let i = 0; i < dx.length; i++) {
      const t = yv[i]!;
      dx[i] = dv[i]! * (1 - t * t);
    }
  });
}

/**
 * Inverted dropout (forward and backward are the same map): element i is kept iff
 * uniformAt(seed, offset + i) ≥ p, and scaled by 1/(1 − p).
 */
export function dropout(be: CpuBackend, x: Tensor, opts: DropoutOptions, op: "dropout" | "dropoutBackward" = "dropout"): Tensor {
  const { p, seed, offset } = validateDropout(be, op, x, opts);
  const xv = loadF32(x);
  const key = seedKey(seed);
  const scale = 1 / (1 - p);
  return produce(be, x.shape, x, (y) => {
    if (p === 0) {
      y.set(xv);
      return;
    }
    for (let i = 0; i < y.length; i++) y[i] = uniformAtKey(key, offset + i) >= p ? xv[i]! * scale : 0;
  });
}
