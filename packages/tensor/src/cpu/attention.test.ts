import { describe, expect, it } from "vitest";
import { Rng, uniformAt } from "../random.js";
import { checkGradient, relativeL2 } from "../testing.js";
import type { AttentionArgs } from "../backend.js";
import { cpu } from "./backend.js";

/**
 * Naive padded attention, the reference's formulation: qkv padded to [B, S, 3H], an explicit
 * bias [B, nh, S, S] = −slope·|i − j| + (mask[b, j] ? 0 : −10000), softmax over all S keys,
 * optional dropout multipliers on the probabilities, then P·V. Returns [B, S, H].
 */
function naivePadded(
  qkv: Float32Array, B: number, S: number, nh: number, dh: number, mask: number[], slopes: number[] | null,
  scale: number, dropMul: ((b: number, h: number, i: number, j: number) => number) | null = null,
): Float64Array {
  const H = nh * dh;
  const bias = new Float64Array(B * nh * S * S);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < nh; h++)
      for (let i = 0; i < S; i++)
        for (let j = 0; j < S; j++)
          bias[((b * nh + h) * S + i) * S + j] = -(slopes?.[h] ?? 0) * Math.abs(i - j) + (mask[b * S + j] ? 0 : -10000);
  const out = new Float64Array(B * S * H);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < nh; h++)
      for (let i = 0; i < S; i++) {
        const sc = new Float64Array(S);
        for (let j = 0; j < S; j++) {
          let dot = 0;
          for (let d = 0; d < dh; d++) dot += qkv[(b * S + i) * 3 * H + h * dh + d]! * qkv[(b * S + j) * 3 * H + H + h * dh + d]!;
          sc[j] = scale * dot + bias[((b * nh + h) * S + i) * S + j]!;
        }
        const mx = Math.max(...sc);
        let sum = 0;
        for (let j = 0; j < S; j++) sum += (sc[j] = Math.exp(sc[j]! - mx));
        for (let j = 0; j < S; j++) {
          const p = (sc[j]! / sum) * (dropMul ? dropMul(b, h, i, j) : 1);
          for (let d = 0; d < dh; d++) out[(b * S + i) * H + h * dh + d] += p * qkv[(b * S + j) * 3 * H + 2 * H + h * dh + d]!;
        }
      }
  return out;
}

/** Unpads a [B, S] mask: the row-major indices of real tokens, cuSeqlens, and padded positions. */
function unpad(mask: number[], B: number, S: number) {
  const indices: number[] = [];
  const positions: number[] = [];
  const cu = [0];
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) if (mask[b * S + s]) { indices.push(b * S + s); positions.push(s); }
    cu.push(indices.length);
  }
  return { indices, positions, cu };
}

function gatherRows(x: ArrayLike<number>, rows: number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => { for (let c = 0; c < width; c++) out[i * width + c] = x[r * width + c]!; });
  return out;
}

const rng = new Rng(11);
const SLOPES = [0.5, 0.25, 2 ** -0.5];

interface Case { name: string; B: number; S: number; nh: number; dh: number; mask: number[]; slopes: number[] | null; usePositions: boolean }

const cases: Case[] = [
  { name: "unequal right-padded lengths 5, 1, 8, 3 with ALiBi", B: 4, S: 8, nh: 3, dh: 4, slopes: SLOPES, usePositions: false,
    mask: [[5, 8], [1, 8], [8, 8], [3, 8]].flatMap(([n, s]) => Array.from({ length: s! }, (_, i) => (i < n! ? 1 : 0))) },
  { name: "no ALiBi", B: 2, S: 6, nh: 2, dh: 5, slopes: null, usePositions: false, mask: [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1] },
  { name: "length-1 sequences only", B: 3, S: 1, nh: 3, dh: 2, slopes: SLOPES, usePositions: false, mask: [1, 1, 1] },
  { name: "holes in the mask, ALiBi on padded positions", B: 2, S: 7, nh: 3, dh: 3, slopes: SLOPES, usePositions: true,
    mask: [0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0] },
];

describe("attention (unpadded varlen) against naive padded attention with an explicit bias", () => {
  for (const c of cases)
    it(c.name, () => {
      const H = c.nh * c.dh;
      const padded = rng.normalArray(c.B * c.S * 3 * H);
      const ref = naivePadded(padded, c.B, c.S, c.nh, c.dh, c.mask, c.slopes, 1 / Math.sqrt(c.dh));
      const { indices, positions, cu } = unpad(c.mask, c.B, c.S);
      const qkv = cpu.fromArray(gatherRows(padded, indices, 3 * H), [indices.length, 3 * H], "f32");
      const { out, lse } = cpu.attention(qkv, {
        numHeads: c.nh, cuSeqlens: cpu.fromArray(cu, [c.B + 1], "i32"), maxSeqlen: c.S, slopes: c.slopes,
        positions: c.usePositions ? cpu.fromArray(positions, [indices.length], "i32") : null,
      });
      expect(out.shape).toEqual([indices.length, H]);
      expect(lse.shape).toEqual([indices.length, c.nh]);
      expect(relativeL2(out.toArray() as Float32Array, gatherRows(ref, indices, H))).toBeLessThan(1e-6);
    });

  it("keyMask mode (padded rows, the BERT baseline) matches on every row; a row with no valid key is zero", () => {
    const [B, S, nh, dh] = [3, 5, 2, 4];
    const H = nh * dh;
    const mask = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
    const padded = rng.normalArray(B * S * 3 * H);
    const ref = naivePadded(padded, B, S, nh, dh, mask, [0.5, 0.25], 0.3);
    const { out, lse } = cpu.attention(cpu.fromArray(padded, [B * S, 3 * H], "f32"), {
      numHeads: nh, cuSeqlens: cpu.fromArray([0, 5, 10, 15], [4], "i32"), maxSeqlen: S, slopes: [0.5, 0.25], scale: 0.3,
      keyMask: cpu.fromArray(mask, [B * S], "u8"),
    });
    const o = out.toArray() as Float32Array;
    expect(relativeL2(o.subarray(0, 10 * H), ref.subarray(0, 10 * H))).toBeLessThan(1e-6);
    expect(Array.from(o.subarray(10 * H)).every((v) => v === 0)).toBe(true);
    expect((lse.toArray() as Float32Array)[10 * nh]).toBe(Infinity);
  });

  it("dropout uses counter ((row·numHeads + head)·maxSeqlen + key) + offset and keeps ≈ 1 − p", () => {
    const [B, S, nh, dh] = [2, 6, 2, 3];
    const H = nh * dh;
    const mask = [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1];
    const padded = rng.normalArray(B * S * 3 * H);
    const { indices, cu } = unpad(mask, B, S);
    const maxSeqlen = 7; // an upper bound, part of the counter
    const [p, seed, offset] = [0.3, 1234, 99];
    const rowOf = (b: number, i: number) => cu[b]! + i;
    const dropMul = (b: number, h: number, i: number, j: number) =>
      uniformAt(seed, offset + (rowOf(b, i) * nh + h) * maxSeqlen + j) >= p ? 1 / (1 - p) : 0;
    const ref = naivePadded(padded, B, S, nh, dh, mask, [0.5, 0.25], 1 / Math.sqrt(dh), dropMul);
    const { out } = cpu.attention(cpu.fromArray(gatherRows(padded, indices, 3 * H), [indices.length, 3 * H], "f32"), {
      numHeads: nh, cuSeqlens: cpu.fromArray(cu, [3], "i32"), maxSeqlen, slopes: [0.5, 0.25], dropout: { p, seed, offset },
    });
    expect(relativeL2(out.toArray() as Float32Array, gatherRows(ref, indices, H))).toBeLessThan(1e-6);
    let kept = 0;
    const n = 200000;
    for (let c = 0; c < n; c++) if (uniformAt(seed, c) >= p) kept++;
    expect(Math.abs(kept / n - (1 - p))).toBeLessThan(0.005);
  });
});

describe("attentionBackward", () => {
  const gradCases: { name: string; lens: number[]; nh: number; dh: number; slopes: number[] | null; keyMask?: number[]; positions?: number[]; dropout?: boolean }[] = [
    { name: "unequal lengths with ALiBi", lens: [4, 1, 3], nh: 2, dh: 3, slopes: [0.5, 0.25] },
    { name: "no ALiBi, one sequence", lens: [5], nh: 1, dh: 4, slopes: null },
    { name: "positions and keyMask", lens: [4, 3], nh: 2, dh: 2, slopes: [0.5, 0.7], positions: [0, 2, 3, 5, 1, 2, 4], keyMask: [1, 0, 1, 1, 1, 1, 0] },
    { name: "dropout on the probabilities", lens: [4, 2], nh: 2, dh: 3, slopes: [0.5, 0.25], dropout: true },
  ];
  for (const c of gradCases)
    it(`${c.name} matches finite differences`, () => {
      const T = c.lens.reduce((a, b) => a + b, 0);
      const H = c.nh * c.dh;
      const cu = c.lens.reduce((acc, l) => [...acc, acc[acc.length - 1]! + l], [0]);
      const args: AttentionArgs = {
        numHeads: c.nh, cuSeqlens: cpu.fromArray(cu, [cu.length], "i32"), maxSeqlen: Math.max(...c.lens), slopes: c.slopes,
        positions: c.positions ? cpu.fromArray(c.positions, [T], "i32") : null,
        keyMask: c.keyMask ? cpu.fromArray(c.keyMask, [T], "i32") : null,
        dropout: c.dropout ? { p: 0.4, seed: 5, offset: 3 } : null,
      };
      const x = rng.normalArray(T * 3 * H);
      const w = rng.normalArray(T * H);
      const f = (xv: Float32Array) => {
        const o = cpu.attention(cpu.fromArray(xv, [T, 3 * H], "f32"), args).out.toArray() as Float32Array;
        return o.reduce((s, v, i) => s + v * w[i]!, 0);
      };
      const qkv = cpu.fromArray(x, [T, 3 * H], "f32");
      const { out, lse } = cpu.attention(qkv, args);
      const dqkv = cpu.attentionBackward(cpu.fromArray(w, [T, H], "f32"), qkv, out, lse, args);
      expect(dqkv.shape).toEqual([T, 3 * H]);
      expect(checkGradient(f, x, dqkv.toArray() as Float32Array, { eps: 1e-3 }).error).toBeLessThan(2e-3);
    });

  it("rejects bad cuSeqlens, a too-small maxSeqlen and mismatched lse", () => {
    const qkv = cpu.zeros([4, 6], "f32");
    const cu = (v: number[]) => cpu.fromArray(v, [v.length], "i32");
    expect(() => cpu.attention(qkv, { numHeads: 2, cuSeqlens: cu([0, 3]), maxSeqlen: 4 })).toThrow(/attention: cuSeqlens: expected \[0, …, 4\]/);
    expect(() => cpu.attention(qkv, { numHeads: 2, cuSeqlens: cu([0, 4]), maxSeqlen: 3 })).toThrow(/attention: maxSeqlen: sequence 0 has length 4 > maxSeqlen 3/);
    expect(() => cpu.attention(qkv, { numHeads: 4, cuSeqlens: cu([0, 4]), maxSeqlen: 4 })).toThrow(/attention: qkv: expected shape \[T, 3·numHeads·headDim\]/);
    expect(() => cpu.attention(qkv, { numHeads: 2, cuSeqlens: cu([0, 4]), maxSeqlen: 4, slopes: [1] })).toThrow(/attention: slopes: expected 2 slopes/);
    const args = { numHeads: 2, cuSeqlens: cu([0, 4]), maxSeqlen: 4 };
    const { out } = cpu.attention(qkv, args);
    expect(() => cpu.attentionBackward(out, qkv, out, cpu.zeros([4, 3], "f32"), args)).toThrow(/attentionBackward: lse: expected shape \[4, 2\]/);
  });
});
