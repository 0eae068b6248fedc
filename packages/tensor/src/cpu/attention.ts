import { seedKey, uniformAtKey } from "../random.js";
import type { AttentionArgs, AttentionResult } from "../backend.js";
import type { Tensor } from "../tensor.js";
import { type AttentionPlan, validateAttention, validateAttentionBackward } from "../validate/attention.js";
import type { CpuBackend } from "./backend.js";
import { i32Of, loadF32, maskOf, outF32, storeF32 } from "./storage.js";

interface Plan {
  T: number;
  nh: number;
  dh: number;
  H: number;
  cu: Int32Array;
  maxSeqlen: number;
  slopes: Float64Array;
  positions: Int32Array | null;
  keyMask: Int32Array | Uint8Array | null;
  scale: number;
  drop: { p: number; key: number; offset: number } | null;
}

/** The loops' view of a validated AttentionPlan (cuSeqlens and masks read from host storage). */
function plan(v: AttentionPlan): Plan {
  const { T, numHeads: nh, headDim: dh, H, maxSeqlen, scale } = v;
  const d = v.dropout;
  return {
    T, nh, dh, H, maxSeqlen, scale,
    cu: v.cu!,
    slopes: v.slopes ?? new Float64Array(nh),
    positions: v.positions === null ? null : i32Of(v.positions),
    keyMask: v.keyMask === null ? null : maskOf(v.keyMask),
    drop: d === null ? null : { p: d.p, key: seedKey(d.seed), offset: d.offset },
  };
}

/**
 * Scores of query row qi against keys ks…ks+len−1 of head h into s[0…len); masked keys get −∞.
 * Returns the row maximum (−∞ when no key is valid).
 */
function scores(pl: Plan, qv: Float32Array, qi: number, ks: number, len: number, h: number, s: Float64Array): number {
  const { dh, H, positions, keyMask, scale } = pl;
  const C = 3 * H;
  const qo = qi * C + h * dh;
  const slope = pl.slopes[h]!;
  const pq = positions === null ? qi - ks : positions[qi]!;
  let mx = -Infinity;
  for (let j = 0; j < len; j++) {
    const kr = ks + j;
    if (keyMask !== null && keyMask[kr] === 0) {
      s[j] = -Infinity;
      continue;
    }
    const ko = kr * C + H + h * dh;
    let dot = 0;
    for (let d = 0; d < dh; d++) dot += qv[qo + d]! * qv[ko + d]!;
    const pk = positions === null ? j : positions[kr]!;
    const v = scale * dot - (slope === 0 ? 0 : slope * Math.abs(pq - pk));
    s[j] = v;
    if (v > mx) mx = v;
  }
  return mx;
}

/**
 * Dropout multiplier of probability (qi, h, j): the counter is
 *   offset + (qi·numHeads + h)·maxSeqlen + j   (mod 2³²),
 * with qi the global query row and j the key's index inside its sequence (see backend.ts).
 */
function dropScale(pl: Plan, qi: number, h: number, j: number): number {
  const d = pl.drop!;
  const counter = d.offset + (qi * pl.nh + h) * pl.maxSeqlen + j;
  return uniformAtKey(d.key, counter % 4294967296) >= d.p ? 1 / (1 - d.p) : 0;
}

export function attention(be: CpuBackend, qkv: Tensor, args: AttentionArgs): AttentionResult {
  const pl = plan(validateAttention(be, "attention", qkv, args, i32Of));
  const { T, nh, dh, H, cu } = pl;
  const C = 3 * H;
  const qv = loadF32(qkv);
  const out = be.empty([T, H], qkv.dtype);
  const lse = be.empty([T, nh], "f32");
  const ov = outF32(out);
  const lv = outF32(lse);
  const s = new Float64Array(Math.max(1, pl.maxSeqlen));
  const acc = new Float64Array(dh);
  for (let b = 0; b + 1 < cu.length; b++) {
    const ks = cu[b]!;
    const len = cu[b + 1]! - ks;
    for (let h = 0; h < nh; h++) {
      const vo = H * 2 + h * dh;
      for (let i = 0; i < len; i++) {
        const qi = ks + i;
        const mx = scores(pl, qv, qi, ks, len, h, s);
        const oo = qi * H + h * dh;
        if (mx === -Infinity) {
          // No valid key: zeros out, lse = +∞ so that exp(s − lse) recomputes P = 0 in backward.
          for (let d = 0; d < dh; d++) ov[oo + d] = 0;
          lv[qi * nh + h] = Infinity;
          continue;
        }
        let sum = 0;
        for (let j = 0; j < len; j++) {
          const e = Math.exp(s[j]! - mx);
          s[j] = e;
          sum += e;
        }
        acc.fill(0);
        for (let j = 0; j < len; j++) {
          let p = s[j]! / sum;
          if (p === 0) continue;
          if (pl.drop !== null) p *= dropScale(pl, qi, h, j);
          const vr = (ks + j) * C + vo;
          for (let d = 0; d < dh; d++) acc[d] += p * qv[vr + d]!;
        }
        for (let d = 0; d < dh; d++) ov[oo + d] = acc[d]!;
        lv[qi * nh + h] = mx + Math.log(sum);
      }
    }
  }
  storeF32(out, ov);
  return { out, lse };
}

/**
 * FlashAttention-style backward: P is recomputed from the saved lse (P = exp(s − lse)), and with
 * P̃ = P·dropmask, D = Σ_d dout·out = Σ_j P̃·(dout·v):
 *   dS = P·(mask·(dout·v) − D),  dq = scale·Σ dS·k,  dk += scale·dS·q,  dv += P̃·dout.
 */
export function attentionBackward(be: CpuBackend, dout: Tensor, qkv: Tensor, out: Tensor, lse: Tensor, args: AttentionArgs): Tensor {
  const pl = plan(validateAttentionBackward(be, dout, qkv, out, lse, args, i32Of));
  const { T, nh, dh, H, cu, scale } = pl;
  const C = 3 * H;
  const qv = loadF32(qkv);
  const dov = loadF32(dout);
  const outv = loadF32(out);
  const lv = loadF32(lse);
  const grad = new Float64Array(T * C);
  const s = new Float64Array(Math.max(1, pl.maxSeqlen));
  const dq = new Float64Array(dh);
  for (let b = 0; b + 1 < cu.length; b++) {
    const ks = cu[b]!;
    const len = cu[b + 1]! - ks;
    for (let h = 0; h < nh; h++) {
      const qoff = h * dh;
      const koff = H + h * dh;
      const voff = 2 * H + h * dh;
      for (let i = 0; i < len; i++) {
        const qi = ks + i;
        const l = lv[qi * nh + h]!;
        if (l === Infinity) continue;
        scores(pl, qv, qi, ks, len, h, s);
        const go = qi * H + h * dh;
        let D = 0;
        for (let d = 0; d < dh; d++) D += dov[go + d]! * outv[go + d]!;
        dq.fill(0);
        const qo = qi * C + qoff;
        for (let j = 0; j < len; j++) {
          if (s[j] === -Infinity) continue;
          const p = Math.exp(s[j]! - l);
          const m = pl.drop !== null ? dropScale(pl, qi, h, j) : 1;
          const kr = (ks + j) * C;
          let dpv = 0;
          for (let d = 0; d < dh; d++) dpv += dov[go + d]! * qv[kr + voff + d]!;
          const ds = p * (m * dpv - D);
          const pm = p * m;
          const dss = scale * ds;
          for (let d = 0; d < dh; d++) {
            dq[d] += dss * qv[kr + koff + d]!;
            grad[kr + koff + d] += dss * qv[qo + d]!;
            grad[kr + voff + d] += pm * dov[go + d]!;
          }
        }
        for (let d = 0; d < dh; d++) grad[qo + d] += dq[d]!;
      }
    }
  }
  const dqkv = be.empty([T, C], dout.dtype);
  const gv = outF32(dqkv);
  for (let i = 0; i < gv.length; i++) gv[i] = grad[i]!;
  storeF32(dqkv, gv);
  return dqkv;
}
