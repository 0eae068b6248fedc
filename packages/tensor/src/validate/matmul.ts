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
  return { M, N, K, transA, transB, outShape, outDtype, alpha, activation, bias, preActivation, out, accumulate };
}
