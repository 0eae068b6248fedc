import type { GegluOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { validateGeglu, validateGegluBackward } from "../validate/elementwise.js";
import { geglu as refGeglu, gegluBackward as refGegluBackward } from "../cpu/elementwise.js";
import type { FastCpuBackend } from "./backend.js";
import { splitRange } from "./runtime.js";
import { Scratch } from "./scratch.js";

/** Elements below which GeGLU runs on one thread. */
const MIN_PARALLEL = 1 << 15;

/**
 * GeGLU (exact-erf GELU of the first half times the second half) as WebAssembly kernels, rows split
 * across threads, for float32 without dropout; bf16 and dropout (its masks come from the reference's
 * counter-based generator) take the reference path.
 */
export function geglu(be: FastCpuBackend, g: Tensor, opts?: GegluOptions): Tensor {
  const { n, inner, outShape, dropout } = validateGeglu(be, g, opts);
  if (dropout !== null || g.dtype !== "f32" || n * inner === 0) return refGeglu(be, g, opts);
  const rt = be.runtime;
  const s = new Scratch(rt);
  const G = s.input(g);
  const h = be.emptyForOutput(outShape, "f32");
  const H = s.output(h);
  s.commit();
  const shares = splitRange(n, n * inner < MIN_PARALLEL ? 1 : rt.threads, 1);
  rt.parallel("geglu_fwd", shares.map(([r0, r1]) => [G.at, inner, r0, r1, H.at]));
  s.store(H, h);
  return h;
}

export function gegluBackward(be: FastCpuBackend, dh: Tensor, g: Tensor, opts?: GegluOptions): Tensor {
  const { n, inner, dropout } = validateGegluBackward(be, dh, g, opts);
  if (dropout !== null || g.dtype !== "f32" || dh.dtype !== "f32" || n * inner === 0) return refGegluBackward(be, dh, g, opts);
  const rt = be.runtime;
  const s = new Scratch(rt);
  const G = s.input(g);
  const D = s.input(dh);
  const dg = be.emptyForOutput(g.shape, "f32");
  const O = s.output(dg);
  s.commit();
  const shares = splitRange(n, n * inner < MIN_PARALLEL ? 1 : rt.threads, 1);
  rt.parallel("geglu_bwd", shares.map(([r0, r1]) => [G.at, D.at, inner, r0, r1, O.at]));
  s.store(O, dg);
  return dg;
}
