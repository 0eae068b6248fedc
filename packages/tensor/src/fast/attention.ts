import type { AttentionArgs, AttentionResult } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { type AttentionPlan, validateAttention, validateAttentionBackward } from "../validate/attention.js";
import { attention as refAttention, attentionBackward as refAttentionBackward } from "../cpu/attention.js";
import { i32Of, loadF32, maskOf, storeF32 } from "../cpu/storage.js";
import type { FastCpuBackend } from "./backend.js";
import { splitRange } from "./runtime.js";
import { Scratch } from "./scratch.js";

/**
 * Attention as WebAssembly kernels, one (sequence, head) pair per work item, pairs split over the
 * threads. Attention dropout (the BERT baseline's) runs on the reference implementation.
 */

interface Placed {
  s: Scratch;
  qkvAt: number;
  cuAt: number;
  slopesAt: number;
  posAt: number;
  maskAt: number;
  shares: Array<[number, number]>;
  sAt: number[];
}

/** Copies qkv and the index arguments into the scratch area (before `extra` regions are taken). */
function place(be: FastCpuBackend, pl: AttentionPlan, qkv: Tensor, extra: (s: Scratch) => void): Placed {
  const rt = be.runtime;
  const s = new Scratch(rt);
  const { T, numHeads: nh } = pl;
  const cu = pl.cu!;
  const qkvAt = s.take(qkv.size * 4);
  const cuAt = s.take(cu.length * 4);
  const slopesAt = s.take(nh * 4);
  const posAt = pl.positions === null ? 0 : s.take(T * 4);
  const maskAt = pl.keyMask === null ? 0 : s.take(T * 4);
  const pairs = (cu.length - 1) * nh;
  const shares = splitRange(pairs, T * pl.maxSeqlen * pl.headDim * nh < 2e5 ? 1 : rt.threads, 1);
  const sAt = shares.map(() => s.take(Math.max(1, pl.maxSeqlen) * 4));
  extra(s);
  s.commit();
  s.putF32(qkvAt, loadF32(qkv));
  s.putI32(cuAt, cu);
  s.putF32(slopesAt, pl.slopes === null ? new Float32Array(nh) : Float32Array.from(pl.slopes));
  if (pl.positions !== null) s.putI32(posAt, i32Of(pl.positions));
  if (pl.keyMask !== null) s.putI32(maskAt, Int32Array.from(maskOf(pl.keyMask)));
  return { s, qkvAt, cuAt, slopesAt, posAt, maskAt, shares, sAt };
}

export function attention(be: FastCpuBackend, qkv: Tensor, args: AttentionArgs): AttentionResult {
  const pl = validateAttention(be, "attention", qkv, args, i32Of);
  if (pl.dropout !== null) return refAttention(be, qkv, args);
  const { T, numHeads: nh, headDim: dh, H, scale } = pl;
  let outAt = 0;
  let statsAt = 0;
  const p = place(be, pl, qkv, (s) => {
    outAt = s.take(T * H * 4);
    statsAt = s.take(T * nh * 8);
  });
  be.runtime.parallel(
    "attention_fwd",
    p.shares.map(([p0, p1], t) => [p.qkvAt, p.cuAt, nh, dh, H, p.slopesAt, p.posAt, p.maskAt, scale, p0, p1, outAt, statsAt, p.sAt[t]!]),
  );
  const out = be.empty([T, H], qkv.dtype);
  storeF32(out, p.s.f32(outAt, T * H));
  const stats = p.s.f32(statsAt, 2 * T * nh);
  const lv = new Float32Array(T * nh);
  for (let i = 0; i < T * nh; i++) {
    const mx = stats[2 * i]!;
    lv[i] = mx === -Infinity ? Infinity : mx + Math.log(stats[2 * i + 1]!);
  }
  const lse = be.fromArray(lv, [T, nh], "f32");
  return { out, lse };
}

export function attentionBackward(be: FastCpuBackend, dout: Tensor, qkv: Tensor, out: Tensor, lse: Tensor, args: AttentionArgs): Tensor {
  const pl = validateAttentionBackward(be, dout, qkv, out, lse, args, i32Of);
  if (pl.dropout !== null) return refAttentionBackward(be, dout, qkv, out, lse, args);
  const { T, numHeads: nh, headDim: dh, H, scale } = pl;
  let doutAt = 0;
  let outAt = 0;
  let lseAt = 0;
  let gradAt = 0;
  const p = place(be, pl, qkv, (s) => {
    doutAt = s.take(T * H * 4);
    outAt = s.take(T * H * 4);
    lseAt = s.take(T * nh * 4);
    gradAt = s.take(T * 3 * H * 4);
  });
  p.s.putF32(doutAt, loadF32(dout));
  p.s.putF32(outAt, loadF32(out));
  p.s.putF32(lseAt, loadF32(lse));
  // Rows of sequences no pair covers (none when cuSeqlens ends at T) stay zero.
  p.s.f32(gradAt, T * 3 * H).fill(0);
  be.runtime.parallel(
    "attention_bwd",
    p.shares.map(([p0, p1], t) => [p.qkvAt, p.cuAt, nh, dh, H, p.slopesAt, p.posAt, p.maskAt, scale, p0, p1, doutAt, outAt, lseAt, gradAt, p.sAt[t]!]),
  );
  const dqkv = be.empty([T, 3 * H], dout.dtype);
  storeF32(dqkv, p.s.f32(gradAt, T * 3 * H));
  return dqkv;
}
