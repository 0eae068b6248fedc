import { asMatrix, expectNumber, expectSameShape, expectShape } from "../checks.js";
import { OpError } from "../errors.js";
import { seedKey, uniformAtKey } from "../random.js";
import type { DropoutOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import type { CpuBackend } from "./backend.js";
import { geluGradScalar, geluScalar } from "./erf.js";
import { loadF32, outF32, storeF32 } from "./storage.js";
import { dropoutArgs, floatArg, outArg } from "./validate.js";

/** Allocates y like `like` (shape) in dtype, fills it through f over a float32 buffer. */
function produce(be: CpuBackend, shape: readonly number[], like: Tensor, fn: (y: Float32Array) => void): Tensor {
  const y = be.empty(shape, like.dtype);
  const buf = outF32(y);
  fn(buf);
  storeF32(y, buf);
  return y;
}

export function add(be: CpuBackend, a: Tensor, b: Tensor, opts?: { out?: Tensor | null }): Tensor {
  floatArg(be, "add", "a", a);
  floatArg(be, "add", "b", b);
  expectSameShape("add", "b", b, a, "a");
  const out = outArg(be, "add", opts?.out, a.shape) ?? be.empty(a.shape, a.dtype);
  const av = loadF32(a);
  const bv = loadF32(b);
  const n = a.size;
  const res = new Float32Array(n);
  for (let i = 0; i < n; i++) res[i] = av[i]! + bv[i]!;
  storeF32(out, res);
  return out;
}

export function addInPlace(be: CpuBackend, a: Tensor, b: Tensor, alpha: number): void {
  floatArg(be, "addInPlace", "a", a);
  floatArg(be, "addInPlace", "b", b);
  expectSameShape("addInPlace", "b", b, a, "a");
  expectNumber("addInPlace", "alpha", alpha, () => true, "a finite number");
  const av = loadF32(a);
  const bv = loadF32(b);
  for (let i = 0; i < a.size; i++) av[i] = av[i]! + alpha * bv[i]!;
  storeF32(a, av);
}

export function scaleInPlace(be: CpuBackend, x: Tensor, s: number): void {
  floatArg(be, "scaleInPlace", "x", x);
  expectNumber("scaleInPlace", "s", s, () => true, "a finite number");
  const xv = loadF32(x);
  for (let i = 0; i < x.size; i++) xv[i] = xv[i]! * s;
  storeF32(x, xv);
}

export function gelu(be: CpuBackend, x: Tensor): Tensor {
  floatArg(be, "gelu", "x", x);
  const xv = loadF32(x);
  return produce(be, x.shape, x, (y) => {
    for (let i = 0; i < y.length; i++) y[i] = geluScalar(xv[i]!);
  });
}

export function geluBackward(be: CpuBackend, dy: Tensor, x: Tensor): Tensor {
  floatArg(be, "geluBackward", "dy", dy);
  floatArg(be, "geluBackward", "x", x);
  expectSameShape("geluBackward", "x", x, dy, "dy");
  const xv = loadF32(x);
  const dv = loadF32(dy);
  return produce(be, dy.shape, dy, (y) => {
    for (let i = 0; i < y.length; i++) y[i] = dv[i]! * geluGradScalar(xv[i]!);
  });
}

function gegluShape(op: string, g: Tensor): [number, number] {
  const [n, c] = asMatrix(op, "g", g);
  if (c % 2 !== 0) throw new OpError(op, "g", `expected an even last dimension [N, 2I], got [${g.shape.join(", ")}]`);
  return [n, c / 2];
}

export function geglu(be: CpuBackend, g: Tensor): Tensor {
  floatArg(be, "geglu", "g", g);
  const [n, inner] = gegluShape("geglu", g);
  const gv = loadF32(g);
  return produce(be, [...g.shape.slice(0, -1), inner], g, (h) => {
    for (let r = 0; r < n; r++) {
      const gi = r * 2 * inner;
      const hi = r * inner;
      for (let j = 0; j < inner; j++) h[hi + j] = geluScalar(gv[gi + j]!) * gv[gi + inner + j]!;
    }
  });
}

export function gegluBackward(be: CpuBackend, dh: Tensor, g: Tensor): Tensor {
  floatArg(be, "gegluBackward", "dh", dh);
  floatArg(be, "gegluBackward", "g", g);
  const [n, inner] = gegluShape("gegluBackward", g);
  expectShape("gegluBackward", "dh", dh, [...g.shape.slice(0, -1), inner]);
  const gv = loadF32(g);
  const dv = loadF32(dh);
  return produce(be, g.shape, dh, (dg) => {
    for (let r = 0; r < n; r++) {
      const gi = r * 2 * inner;
      const hi = r * inner;
      for (let j = 0; j < inner; j++) {
        const u = gv[gi + j]!;
        const v = gv[gi + inner + j]!;
        const d = dv[hi + j]!;
        dg[gi + j] = d * v * geluGradScalar(u);
        dg[gi + inner + j] = d * geluScalar(u);
      }
    }
  });
}

export function tanh(be: CpuBackend, x: Tensor): Tensor {
  floatArg(be, "tanh", "x", x);
  const xv = loadF32(x);
  return produce(be, x.shape, x, (y) => {
    for (let i = 0; i < y.length; i++) y[i] = Math.tanh(xv[i]!);
  });
}

export function tanhBackward(be: CpuBackend, dy: Tensor, y: Tensor): Tensor {
  floatArg(be, "tanhBackward", "dy", dy);
  floatArg(be, "tanhBackward", "y", y);
  expectSameShape("tanhBackward", "y", y, dy, "dy");
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
export function dropout(be: CpuBackend, x: Tensor, opts: DropoutOptions, op = "dropout"): Tensor {
  floatArg(be, op, op === "dropout" ? "x" : "dy", x);
  const { p, seed, offset } = dropoutArgs(op, opts);
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
