import type { AttentionArgs, AttentionResult } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { type AttentionPlan, validateAttention, validateAttentionBackward } from "../validate/attention.js";
import { attention as refAttention, attentionBackward as refAttentionBackward } from "../cpu/attention.js";
import { i32Of, loadF32, maskOf } from "../cpu/storage.js";
import type { FastCpuBackend } from "./backend.js";
import { splitRange } from "./runtime.js";
import { type Region, Scratch } from "./scratch.js";

/**
 * Attention as WebAssembly kernels, one (sequence, head) pair per work item, pairs split over the
 * threads. Attention dropout (the BERT baseline's) runs on the reference implementation.
 */

interface Placed {
  s: Scratch;
  qkv: Region;
  cu: Region;
  slopes: Region;
  pos: Region | null;
  mask: Region | null;
  shares: Array<[number, number]>;
  rows: Region[];
}

/** Lays out qkv and the index arguments (commit() is the caller's, after its own regions). */
function place(be: FastCpuBackend, pl: AttentionPlan, qkv: Tensor): Placed {
  const rt = be.runtime;
  const s = new Scratch(rt);
  const { T, numHeads: nh } = pl;
  const cu = pl.cu!;
  const qkvR = qkv.dtype === "f32" ? s.input(qkv) : s.floats(loadF32(qkv));
  const cuR = s.ints(cu);
  const slopes = s.floats(pl.slopes === null ? new Float32Array(nh) : Float32Array.from(pl.slopes));
  const pos = pl.positions === null ? null : s.ints(i32Of(pl.positions));
  const mask = pl.keyMask === null ? null : s.ints(Int32Array.from(maskOf(pl.keyMask)));
  const pairs = (cu.length - 1) * nh;
  const shares = splitRange(pairs, T * pl.maxSeqlen * pl.headDim * nh < 2e5 ? 1 : rt.threads, 1);
  const rows = shares.map(() => s.take(Math.max(1, pl.maxSeqlen) * 4));
  return { s, qkv: qkvR, cu: cuR, slopes, pos, mask, shares, rows };
}

export function attention(be: FastCpuBackend, qkv: Tensor, args: AttentionArgs): AttentionResult {
  const pl = validateAttention(be, "attention", qkv, args, i32Of);
  if (pl.dropout !== null) return refAttention(be, qkv, args);
  const { T, numHeads: nh, headDim: dh, H, scale } = pl;
  const p = place(be, pl, qkv);
  const out = be.empty([T, H], qkv.dtype);
  const O = p.s.output(out);
  const stats = p.s.take(T * nh * 8);
  p.s.commit();
  be.runtime.parallel(
    "attention_fwd",
    p.shares.map(([p0, p1], t) => [p.qkv.at, p.cu.at, nh, dh, H, p.slopes.at, p.pos?.at ?? 0, p.mask?.at ?? 0, scale, p0, p1, O.at, stats.at, p.rows[t]!.at]),
  );
  p.s.store(O, out);
  const st = p.s.f32(stats, 2 * T * nh);
  const lv = new Float32Array(T * nh);
  for (let i = 0; i < T * nh; i++) {
    const mx = st[2 * i]!;
    lv[i] = mx === -Infinity ? Infinity : mx + Math.log(st[2 * i + 1]!);
  }
  const lse = be.fromArray(lv, [T, nh], "f32");
  return { out, lse };
}

export function attentionBackward(be: FastCpuBackend, dout: Tensor, qkv: Tensor, out: Tensor, lse: Tensor, args: AttentionArgs): Tensor {
  const pl = validateAttentionBackward(be, dout, qkv, out, lse, args, i32Of);
  if (pl.dropout !== null) return refAttentionBackward(be, dout, qkv, out, lse, args);
  const { T, numHeads: nh, headDim: dh, H, scale } = pl;
  const p = place(be, pl, qkv);
  const f32In = (t: Tensor): Region => (t.dtype === "f32" ? p.s.input(t) : p.s.floats(loadF32(t)));
  const D = f32In(dout);
  const O = f32In(out);
  const L = f32In(lse);
  // Rows of sequences no pair covers (none when cuSeqlens ends at T) stay zero: a fresh tensor is
  // zeroed, and so is a scratch region.
  const dqkv = be.empty([T, 3 * H], dout.dtype);
  const G = p.s.output(dqkv);
  p.s.commit();
  if (!p.s.inPlace(G, dqkv)) p.s.f32(G, T * 3 * H).fill(0);
  be.runtime.parallel(
    "attention_bwd",
    p.shares.map(([p0, p1], t) => [p.qkv.at, p.cu.at, nh, dh, H, p.slopes.at, p.pos?.at ?? 0, p.mask?.at ?? 0, scale, p0, p1, D.at, O.at, L.at, G.at, p.rows[t]!.at]),
  );
  p.s.store(G, dqkv);
  return dqkv;
}
