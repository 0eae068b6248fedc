import { MASK_DTYPES, expectDtype, expectNumber, expectRank, expectShape, expectTensor } from "../checks.js";
import { OpError, fmtShape } from "../errors.js";
import type { AttentionArgs, Backend } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { type DropoutPlan, type ReadIndices, dropoutArgs, floatArg, indexArg } from "./args.js";

export interface AttentionPlan {
  /** Rows of qkv (tokens). */
  T: number;
  numHeads: number;
  headDim: number;
  /** numHeads·headDim: qkv is [T, 3H]. */
  H: number;
  maxSeqlen: number;
  /** cuSeqlens' values, when the caller passed readIndices (then they were checked); else null. */
  cu: Int32Array | null;
  /** The checked slopes, one per head; null when none were given. */
  slopes: Float64Array | null;
  positions: Tensor | null;
  keyMask: Tensor | null;
  scale: number;
  /** Dropout on the probabilities; null when absent or p = 0. */
  dropout: DropoutPlan | null;
}

/**
 * Checks qkv and the attention arguments (attention and the shared part of attentionBackward).
 * With readIndices, cuSeqlens' contents are checked too: [0, …, T], non-decreasing, no sequence
 * longer than maxSeqlen (device backends check them in the kernel instead).
 */
export function validateAttention(
  be: Backend,
  op: "attention" | "attentionBackward",
  qkv: Tensor,
  args: AttentionArgs,
  readIndices?: ReadIndices,
): AttentionPlan {
  floatArg(be, op, "qkv", qkv);
  expectRank(op, "qkv", qkv, 2);
  if (args === null || typeof args !== "object") throw new OpError(op, "args", "expected { numHeads, cuSeqlens, maxSeqlen, ... }");
  const numHeads = expectNumber(op, "numHeads", args.numHeads, (v) => Number.isInteger(v) && v > 0, "a positive integer");
  const [T, C] = qkv.shape as [number, number];
  if (C % (3 * numHeads) !== 0) {
    throw new OpError(op, "qkv", `expected shape [T, 3·numHeads·headDim] with numHeads ${numHeads}, got ${fmtShape(qkv.shape)}`);
  }
  const H = C / 3;
  const headDim = H / numHeads;
  const maxSeqlen = expectNumber(op, "maxSeqlen", args.maxSeqlen, (v) => Number.isInteger(v) && v >= 0, "a non-negative integer");
  indexArg(be, op, "cuSeqlens", args.cuSeqlens);
  expectRank(op, "cuSeqlens", args.cuSeqlens, 1);
  const cu = readIndices ? readIndices(args.cuSeqlens) : null;
  const n = cu?.length ?? args.cuSeqlens.size;
  if (n < 1 || (cu !== null && (cu[0] !== 0 || cu[n - 1] !== T))) {
    const got = cu === null ? "" : `${Array.from(cu.slice(0, 8)).join(", ")}${n > 8 ? ", …" : ""}`;
    throw new OpError(op, "cuSeqlens", `expected [0, …, ${T}] (cumulative lengths ending at the ${T} rows of qkv), got [${got}]`);
  }
  if (cu !== null) {
    for (let b = 0; b + 1 < n; b++) {
      const len = cu[b + 1]! - cu[b]!;
      if (len < 0) throw new OpError(op, "cuSeqlens", `expected non-decreasing offsets, got ${cu[b]} then ${cu[b + 1]} at position ${b}`);
      if (len > maxSeqlen) throw new OpError(op, "maxSeqlen", `sequence ${b} has length ${len} > maxSeqlen ${maxSeqlen}`);
    }
  }
  let slopes: Float64Array | null = null;
  if (args.slopes !== null && args.slopes !== undefined) {
    if (args.slopes.length !== numHeads) throw new OpError(op, "slopes", `expected ${numHeads} slopes (one per head), got ${args.slopes.length}`);
    slopes = new Float64Array(numHeads);
    for (let h = 0; h < numHeads; h++) {
      const s = args.slopes[h]!;
      if (typeof s !== "number" || !Number.isFinite(s)) throw new OpError(op, "slopes", `expected finite numbers, got ${String(s)} at position ${h}`);
      slopes[h] = s;
    }
  }
  let positions: Tensor | null = null;
  if (args.positions !== null && args.positions !== undefined) {
    positions = indexArg(be, op, "positions", args.positions);
    expectShape(op, "positions", positions, [T]);
  }
  let keyMask: Tensor | null = null;
  if (args.keyMask !== null && args.keyMask !== undefined) {
    keyMask = expectTensor(op, "keyMask", args.keyMask, be);
    expectDtype(op, "keyMask", keyMask, MASK_DTYPES);
    expectShape(op, "keyMask", keyMask, [T]);
  }
  const scale = args.scale ?? 1 / Math.sqrt(headDim);
  expectNumber(op, "scale", scale, () => true, "a finite number");
  let dropout: AttentionPlan["dropout"] = null;
  if (args.dropout !== null && args.dropout !== undefined) {
    const d = dropoutArgs(op, args.dropout);
    if (d.p > 0) dropout = d;
  }
  return { T, numHeads, headDim, H, maxSeqlen, cu, slopes, positions, keyMask, scale, dropout };
}

/** attentionBackward: the attention arguments, then dout and out [T, H] and the float32 lse [T, numHeads]. */
export function validateAttentionBackward(
  be: Backend,
  dout: Tensor,
  qkv: Tensor,
  out: Tensor,
  lse: Tensor,
  args: AttentionArgs,
  readIndices?: ReadIndices,
): AttentionPlan {
  const op = "attentionBackward";
  const plan = validateAttention(be, op, qkv, args, readIndices);
  const { T, H, numHeads } = plan;
  floatArg(be, op, "dout", dout);
  expectShape(op, "dout", dout, [T, H]);
  floatArg(be, op, "out", out);
  expectShape(op, "out", out, [T, H]);
  floatArg(be, op, "lse", lse);
  expectDtype(op, "lse", lse, ["f32"]);
  expectShape(op, "lse", lse, [T, numHeads]);
  return plan;
}
