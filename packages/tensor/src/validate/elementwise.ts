import { asMatrix, expectNumber, expectSameShape, expectShape } from "../checks.js";
import { OpError } from "../errors.js";
import type { Backend, DropoutOptions, GegluOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { type DropoutPlan, dropoutArgs, floatArg, outArg } from "./args.js";

/** add: a and b float of one shape; a given `out` has that shape too. Returns the checked `out`. */
export function validateAdd(be: Backend, a: Tensor, b: Tensor, opts?: { out?: Tensor | null }): { out: Tensor | null } {
  floatArg(be, "add", "a", a);
  floatArg(be, "add", "b", b);
  expectSameShape("add", "b", b, a, "a");
  return { out: outArg(be, "add", opts?.out, a.shape) };
}

export function validateAddInPlace(be: Backend, a: Tensor, b: Tensor, alpha: number): void {
  floatArg(be, "addInPlace", "a", a);
  floatArg(be, "addInPlace", "b", b);
  expectSameShape("addInPlace", "b", b, a, "a");
  expectNumber("addInPlace", "alpha", alpha, () => true, "a finite number");
}

export function validateScaleInPlace(be: Backend, x: Tensor, s: number): void {
  floatArg(be, "scaleInPlace", "x", x);
  expectNumber("scaleInPlace", "s", s, () => true, "a finite number");
}

/** A one-input float op (gelu, tanh): x is a float tensor of any shape. */
export function validateUnary(be: Backend, op: "gelu" | "tanh", x: Tensor): void {
  floatArg(be, op, "x", x);
}

/**
 * The backward of a one-input op: dy and the saved forward tensor (`x` for gelu, the output `y`
 * for tanh) are float tensors of one shape.
 */
export function validateUnaryBackward(be: Backend, op: "geluBackward" | "tanhBackward", dy: Tensor, saved: Tensor): void {
  const name = op === "geluBackward" ? "x" : "y";
  floatArg(be, op, "dy", dy);
  floatArg(be, op, name, saved);
  expectSameShape(op, name, saved, dy, "dy");
}

function gegluShape(op: string, g: Tensor): [number, number] {
  const [n, c] = asMatrix(op, "g", g);
  if (c % 2 !== 0) throw new OpError(op, "g", `expected an even last dimension [N, 2I], got [${g.shape.join(", ")}]`);
  return [n, c / 2];
}

/** The fused dropout of geglu / gegluBackward: null when absent, null or p = 0. */
function gegluDropout(op: string, opts: GegluOptions | undefined): DropoutPlan | null {
  if (opts === undefined) return null;
  if (opts === null || typeof opts !== "object") throw new OpError(op, "opts", "expected { dropout?: { p, seed, offset? } | null }");
  if (opts.dropout === undefined || opts.dropout === null) return null;
  const d = dropoutArgs(op, opts.dropout);
  return d.p === 0 ? null : d;
}

/** geglu: g [..., 2I] → { n rows, inner I, outShape [..., I], dropout }. */
export function validateGeglu(
  be: Backend,
  g: Tensor,
  opts?: GegluOptions,
): { n: number; inner: number; outShape: number[]; dropout: DropoutPlan | null } {
  floatArg(be, "geglu", "g", g);
  const [n, inner] = gegluShape("geglu", g);
  return { n, inner, outShape: [...g.shape.slice(0, -1), inner], dropout: gegluDropout("geglu", opts) };
}

/** gegluBackward: dh [..., I] against g [..., 2I]. */
export function validateGegluBackward(
  be: Backend,
  dh: Tensor,
  g: Tensor,
  opts?: GegluOptions,
): { n: number; inner: number; dropout: DropoutPlan | null } {
  floatArg(be, "gegluBackward", "dh", dh);
  floatArg(be, "gegluBackward", "g", g);
  const [n, inner] = gegluShape("gegluBackward", g);
  expectShape("gegluBackward", "dh", dh, [...g.shape.slice(0, -1), inner]);
  return { n, inner, dropout: gegluDropout("gegluBackward", opts) };
}

/** dropout / dropoutBackward (the same map): the input (x or dy) and the options. */
export function validateDropout(
  be: Backend,
  op: "dropout" | "dropoutBackward",
  x: Tensor,
  opts: DropoutOptions,
): DropoutPlan {
  floatArg(be, op, op === "dropout" ? "x" : "dy", x);
  return dropoutArgs(op, opts);
}
