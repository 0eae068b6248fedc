import { FLOAT_DTYPES, asMatrix, expectNumber, expectRank, expectShape } from "../checks.js";
import { type DType, isFloat } from "../dtype.js";
import { OpError, fmtShape } from "../errors.js";
import type { Backend, MatmulOptions } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { accumulateArg, floatArg, outArg } from "./args.js";

export interface MatmulPlan {
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  /** a's leading dimensions then N (a may be [..., K] without transA). */
  outShape: number[];
  outDtype: DType;
  alpha: number;
  activation: "none" | "gelu";
  bias: Tensor | null;
  preActivation: Tensor | null;
  out: Tensor | null;
  accumulate: boolean;
  /** f32 [M]: receives Σₖ a[k, m] (see MatmulOptions.biasGrad). */
  biasGrad: Tensor | null;
}

/** Checks every argument of matmul and returns the GEMM sizes and the resolved options. */
export function validateMatmul(be: Backend, a: Tensor, b: Tensor, opts: MatmulOptions = {}): MatmulPlan {
  const op = "matmul";
  floatArg(be, op, "a", a);
  floatArg(be, op, "b", b);
  const transA = opts.transA === true;
  const transB = opts.transB === true;
  let M: number;
  let K: number;
  let lead: readonly number[];
  if (transA) {
    expectRank(op, "a", a, 2);
    K = a.shape[0]!;
    M = a.shape[1]!;
    lead = [M];
  } else {
    [M, K] = asMatrix(op, "a", a);
    lead = a.shape.slice(0, -1);
  }
  expectRank(op, "b", b, 2);
  const Kb = transB ? b.shape[1]! : b.shape[0]!;
  const N = transB ? b.shape[0]! : b.shape[1]!;
  if (Kb !== K) {
    const want = transB ? `[N, ${K}] (transB)` : `[${K}, N]`;
    throw new OpError(op, "b", `expected shape ${want} to match the inner dimension ${K} of a ${fmtShape(a.shape)}, got ${fmtShape(b.shape)}`);
  }
  const outShape = [...lead, N];
  const alpha = opts.alpha ?? 1;
  expectNumber(op, "alpha", alpha, () => true, "a finite number");
  const activation = opts.activation ?? "none";
  if (activation !== "none" && activation !== "gelu") throw new OpError(op, "activation", `expected "none" or "gelu", got ${String(activation)}`);
  let bias: Tensor | null = null;
  if (opts.bias !== null && opts.bias !== undefined) {
    bias = floatArg(be, op, "bias", opts.bias);
    expectShape(op, "bias", bias, [N]);
  }
  const preActivation = outArg(be, op, opts.preActivation, outShape);
  const out = outArg(be, op, opts.out, outShape);
  const accumulate = accumulateArg(op, opts.accumulate, out);
  const outDtype = out?.dtype ?? opts.dtype ?? a.dtype;
  if (!isFloat(outDtype)) throw new OpError(op, "dtype", `expected ${FLOAT_DTYPES.join(" or ")}, got ${String(outDtype)}`);
  const biasGrad = biasGradArg(be, opts.biasGrad, { M, transA, alpha, activation, bias, preActivation, a, b, out });
  return { M, N, K, transA, transB, outShape, outDtype, alpha, activation, bias, preActivation, out, accumulate, biasGrad };
}

/** Checks MatmulOptions.biasGrad: float32 [M], only beside a plain weight-gradient product (transA, alpha 1). */
function biasGradArg(
  be: Backend,
  t: Tensor | null | undefined,
  p: {
    M: number; transA: boolean; alpha: number; activation: string; bias: Tensor | null; preActivation: Tensor | null;
    a: Tensor; b: Tensor; out: Tensor | null;
  },
): Tensor | null {
  const op = "matmul";
  if (t === null || t === undefined) return null;
  const g = outArg(be, op, t, [p.M], "biasGrad")!;
  if (g.dtype !== "f32") throw new OpError(op, "biasGrad", `expected dtype f32, got ${g.dtype}`);
  if (!p.transA) {
    throw new OpError(op, "biasGrad", `needs transA (a = dy stored [K, M]: the bias gradient is Σ over its K rows), got a ${fmtShape(p.a.shape)} without transA`);
  }
  if (p.alpha !== 1) throw new OpError(op, "biasGrad", `needs alpha 1 (the sums are not scaled), got alpha ${p.alpha}`);
  if (p.bias !== null || p.activation !== "none" || p.preActivation !== null) {
    throw new OpError(op, "biasGrad", "cannot be combined with bias, an activation or preActivation");
  }
  // Backends may write it before or after the product: it must not overlap what the product reads or writes.
  for (const [name, t] of [["a", p.a], ["b", p.b], ["out", p.out]] as const) {
    if (t !== null && overlaps(g, t)) throw new OpError(op, "biasGrad", `must not overlap ${name}`);
  }
  return g;
}

/** Whether two tensors share elements (views of one storage at disjoint ranges do not). */
function overlaps(x: Tensor, y: Tensor): boolean {
  if (x.storage !== y.storage) return false;
  if (x.dtype !== y.dtype) return true;
  return x.offset < y.offset + y.size && y.offset < x.offset + x.size;
}
