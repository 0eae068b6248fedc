import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { bertBaseUncased } from "../tokenizer/bert-base-uncased.js";
import { classificationBatch, encodeBatch, padBatch } from "./batch.js";
import { IGNORE_INDEX, MlmCollator, mlmBatch, mlmOptionsFor, sliceMlmBatch } from "./mlm.js";
import { MaskRng } from "./rng.js";

const tok = bertBaseUncased();
const SPECIAL = new Set([0, 100, 101, 102, 103]);
const wikiFile = fileURLToPath(new URL("../../../../../shared/data/text/wikitext-2-raw/wiki.test.raw", import.meta.url));
const lines = readFileSync(wikiFile, "utf8")
  .split("\n")
  .filter((l) => l.trim().length > 0)
  .slice(0, 1200);
// Real text, padded to 128: short headings give plenty of padding, long paragraphs get truncated.
const batch = encodeBatch(lines, undefined, 128, tok);

/** Binomial count within 5 standard deviations of its mean. */
function expectRate(count: number, trials: number, p: number): void {
  const sd = Math.sqrt(trials * p * (1 - p));
  expect(Math.abs(count - trials * p)).toBeLessThan(5 * sd);
}

const same = (x: Int32Array, y: Int32Array): boolean =>
  Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength));

function stats(p: number, seed: number) {
  const out = new MlmCollator({ ...mlmOptionsFor(tok), mlmProbability: p, seed }).collate(batch);
  let candidates = 0;
  let chosen = 0;
  let masked = 0;
  let unchanged = 0;
  let random = 0;
  for (let i = 0; i < batch.inputIds.length; i++) {
    const orig = batch.inputIds[i]!;
    if (batch.attentionMask[i] === 1 && !SPECIAL.has(orig)) candidates++;
    if (out.labels[i] === IGNORE_INDEX) continue;
    chosen++;
    if (out.inputIds[i] === tok.maskId) masked++;
    else if (out.inputIds[i] === orig) unchanged++;
    else random++;
  }
  return { out, candidates, chosen, masked, unchanged, random };
}

describe("encodeBatch", () => {
  it("equals tokenizer.encode with max-length padding, row by row", () => {
    for (let r = 0; r < 200; r++) {
      const e = tok.encode(lines[r]!, undefined, { maxLength: 128, padding: true });
      const row = (a: Int32Array) => Array.from(a.subarray(r * 128, (r + 1) * 128));
      expect(row(batch.inputIds)).toEqual(e.inputIds);
      expect(row(batch.attentionMask)).toEqual(e.attentionMask);
      expect(row(batch.tokenTypeIds)).toEqual(e.tokenTypeIds);
    }
  });

  it("encodes pairs with token types and labels for classification", () => {
    const a = lines.slice(0, 20);
    const b = lines.slice(20, 40);
    const cb = classificationBatch(a, b, a.map((_, i) => i % 3), 64, { tokenizer: tok });
    expect(cb.labels).toBeInstanceOf(Int32Array);
    for (let r = 0; r < 20; r++) {
      const e = tok.encode(a[r]!, b[r]!, { maxLength: 64, padding: true });
      expect(Array.from(cb.inputIds.subarray(r * 64, r * 64 + 64))).toEqual(e.inputIds);
      expect(Array.from(cb.tokenTypeIds.subarray(r * 64, r * 64 + 64))).toEqual(e.tokenTypeIds);
    }
    expect(classificationBatch(["a"], ["b"], [3.5], 16, { regression: true }).labels).toEqual(Float32Array.of(3.5));
    expect(() => classificationBatch(["a"], ["b"], [0.5], 16)).toThrow(/labels\[0\].*integer/);
    expect(() => encodeBatch(["a", "b"], ["c"])).toThrow(/pairs has 1 entries but texts has 2/);
  });

  it("pads pre-tokenized sequences", () => {
    const pb = padBatch([[101, 7, 102], [101, 1, 2, 3, 4, 102]], 4);
    expect(Array.from(pb.inputIds)).toEqual([101, 7, 102, 0, 101, 1, 2, 3]);
    expect(Array.from(pb.attentionMask)).toEqual([1, 1, 1, 0, 1, 1, 1, 1]);
  });
});

describe("MlmCollator on real WikiText-2 text", () => {
  for (const p of [0.3, 0.15]) {
    it(`selects ${p * 100}% of real tokens, split 80/10/10`, () => {
      const s = stats(p, 7);
      expect(s.candidates).toBeGreaterThan(50_000);
      expectRate(s.chosen, s.candidates, p);
      expectRate(s.masked, s.chosen, 0.8);
      expectRate(s.unchanged, s.chosen, 0.1);
      expectRate(s.random, s.chosen, 0.1);
    });
  }

  it("never selects special tokens or padding, labels hold the original ids", () => {
    const { out } = stats(0.3, 11);
    const bad: string[] = [];
    let randomIds = 0;
    for (let i = 0; i < out.labels.length; i++) {
      const orig = batch.inputIds[i]!;
      const got = out.inputIds[i]!;
      const label = out.labels[i]!;
      if (batch.attentionMask[i] === 0 || SPECIAL.has(orig)) {
        if (label !== IGNORE_INDEX || got !== orig) bad.push(`special/padding position ${i} changed`);
      } else if (label !== IGNORE_INDEX) {
        if (label !== orig) bad.push(`position ${i}: label ${label} ≠ original ${orig}`);
        if (got < 0 || got >= 30522) bad.push(`position ${i}: id ${got} out of range`);
        if (got !== orig && got !== tok.maskId) randomIds++;
      } else if (got !== orig) {
        bad.push(`unselected position ${i} changed`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(randomIds).toBeGreaterThan(0);
    // Input arrays are left as they were.
    expect(Array.from(batch.inputIds.subarray(0, 128))).toEqual(tok.encode(lines[0]!, undefined, { maxLength: 128, padding: true }).inputIds);
  });

  it("is deterministic per seed", () => {
    const a = stats(0.3, 5).out;
    const b = stats(0.3, 5).out;
    const c = stats(0.3, 6).out;
    expect(same(a.inputIds, b.inputIds)).toBe(true);
    expect(same(a.labels, b.labels)).toBe(true);
    expect(same(a.labels, c.labels)).toBe(false);
    // A collator's stream moves on: its second batch differs from its first.
    const col = new MlmCollator({ seed: 5 });
    const first = col.collate(batch);
    expect(same(first.labels, a.labels)).toBe(true);
    expect(same(col.collate(batch).labels, a.labels)).toBe(false);
  });

  it("gives an unpadded layout consistent with the attention mask", () => {
    const { out } = stats(0.3, 3);
    const { batchSize: B, seqLen: S } = out;
    expect(out.cuSeqlens.length).toBe(B + 1);
    expect(out.cuSeqlens[0]).toBe(0);
    let max = 0;
    const expected: number[] = [];
    for (let r = 0; r < B; r++) {
      let n = 0;
      for (let c = 0; c < S; c++) if (out.attentionMask[r * S + c] === 1) (n++, expected.push(r * S + c));
      expect(out.cuSeqlens[r + 1]! - out.cuSeqlens[r]!).toBe(n);
      max = Math.max(max, n);
    }
    expect(Array.from(out.indices)).toEqual(expected);
    expect(out.maxSeqlen).toBe(max);
    expect(out.maxSeqlen).toBe(128);
    const masked = [...out.labels.keys()].filter((i) => out.labels[i]! >= 0);
    expect(Array.from(out.maskedPositions)).toEqual(masked);
  });

  it("with row seeds, masks each row as a fresh collator with that seed masks the row alone", () => {
    const rows = 40;
    const sub = { ...batch, batchSize: rows, inputIds: batch.inputIds.subarray(0, rows * 128), tokenTypeIds: batch.tokenTypeIds.subarray(0, rows * 128), attentionMask: batch.attentionMask.subarray(0, rows * 128) };
    const seeds = Array.from({ length: rows }, (_, r) => 1000 + 7 * r);
    const col = new MlmCollator({ ...mlmOptionsFor(tok) });
    const out = col.collate(sub, seeds);
    expect(same(col.collate(sub, seeds).labels, out.labels)).toBe(true); // the collator's own stream is not used
    for (let r = 0; r < rows; r++) {
      const one = new MlmCollator({ ...mlmOptionsFor(tok), seed: seeds[r]! }).collate({
        inputIds: sub.inputIds.subarray(r * 128, (r + 1) * 128), tokenTypeIds: sub.tokenTypeIds.subarray(r * 128, (r + 1) * 128),
        attentionMask: sub.attentionMask.subarray(r * 128, (r + 1) * 128), batchSize: 1, seqLen: 128,
      });
      expect(same(out.inputIds.subarray(r * 128, (r + 1) * 128), one.inputIds)).toBe(true);
      expect(same(out.labels.subarray(r * 128, (r + 1) * 128), one.labels)).toBe(true);
    }
    expect(Array.from(out.maskedPositions)).toEqual([...out.labels.keys()].filter((i) => out.labels[i]! >= 0));
    expect(() => col.collate(sub, seeds.slice(1))).toThrow(/rowSeeds has 39 entries, expected one per row \(batchSize 40\)/);
  });

  it("slices a batch into microbatches whose layout and masked positions are re-based, not recomputed", () => {
    const { out } = stats(0.3, 9);
    const S = out.seqLen;
    for (const [r0, r1] of [[0, 1], [3, 17], [1190, 1200], [0, 1200]] as const) {
      const m = sliceMlmBatch(out, r0, r1);
      const alone = new MlmCollator({ mlmProbability: 0 }).collate({
        inputIds: m.inputIds, tokenTypeIds: m.tokenTypeIds, attentionMask: m.attentionMask, batchSize: r1 - r0, seqLen: S,
      });
      expect([m.batchSize, m.seqLen, m.maxSeqlen]).toEqual([r1 - r0, S, alone.maxSeqlen]);
      expect(Array.from(m.cuSeqlens)).toEqual(Array.from(alone.cuSeqlens));
      expect(Array.from(m.indices)).toEqual(Array.from(alone.indices));
      expect(Array.from(m.maskedPositions)).toEqual([...m.labels.keys()].filter((i) => m.labels[i]! >= 0));
      expect(m.inputIds.buffer).toBe(out.inputIds.buffer); // the padded fields are views
    }
    expect(() => sliceMlmBatch(out, 5, 5)).toThrow(/rows \[5, 5\) are not a non-empty range inside \[0, 1200\)/);
    expect(() => sliceMlmBatch(out, 0, 1201)).toThrow(/not a non-empty range/);
  });

  it("rejects bad options and mismatched batches", () => {
    expect(() => new MlmCollator({ mlmProbability: 1.5 })).toThrow(/mlmProbability must be in \[0, 1\]/);
    expect(() => new MlmCollator().collate({ ...batch, seqLen: 64 })).toThrow(/inputIds has .* expected batchSize\*seqLen/);
  });
});

describe("MlmCollator's options and edges", () => {
  const vocabFile = fileURLToPath(new URL("../../../../../shared/data/vocab/bert-base-uncased-vocab.txt", import.meta.url));
  const vocab = readFileSync(vocabFile, "utf8").split("\n");
  if (vocab.at(-1) === "") vocab.pop();

  /** One row of `ids`, attention 1 on the first `real` positions. */
  const row = (ids: number[], real = ids.length) => ({
    inputIds: Int32Array.from(ids),
    tokenTypeIds: new Int32Array(ids.length),
    attentionMask: Int32Array.from(ids, (_, i) => (i < real ? 1 : 0)),
    batchSize: 1,
    seqLen: ids.length,
  });

  it("mlmOptionsFor takes the size, [MASK] and special ids from the tokenizer's vocabulary file", () => {
    const o = mlmOptionsFor(tok, { mlmProbability: 0.15, seed: 3 });
    expect(o.vocabSize).toBe(vocab.length);
    expect(o.vocabSize).toBe(30522);
    expect(vocab[o.maskId!]).toBe("[MASK]");
    expect([...o.specialIds!].sort((a, b) => a - b).map((i) => vocab[i])).toEqual(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]);
    expect([o.mlmProbability, o.seed]).toEqual([0.15, 3]);
    // A collator built from them masks with [MASK] and keeps the special tokens.
    const out = new MlmCollator({ ...o, mlmProbability: 1 }).collate(batch);
    const firstReal = batch.inputIds.findIndex((id, i) => batch.attentionMask[i] === 1 && !SPECIAL.has(id));
    expect(out.labels[firstReal]).toBe(batch.inputIds[firstReal]);
    expect(out.inputIds.includes(vocab.indexOf("[MASK]"))).toBe(true);
  });

  it("accepts the probabilities 0 and 1: nothing chosen, every real non-special position chosen", () => {
    const none = new MlmCollator({ mlmProbability: 0, seed: 1 }).collate(batch);
    expect(none.maskedPositions.length).toBe(0);
    expect(none.labels.every((l) => l === IGNORE_INDEX)).toBe(true);
    expect(same(none.inputIds, batch.inputIds)).toBe(true);
    const all = new MlmCollator({ mlmProbability: 1, seed: 1 }).collate(batch);
    const eligible = [...batch.inputIds.keys()].filter((i) => batch.attentionMask[i] === 1 && !SPECIAL.has(batch.inputIds[i]!));
    expect(Array.from(all.maskedPositions)).toEqual(eligible);
    expect(eligible.every((i) => all.labels[i] === batch.inputIds[i])).toBe(true);
  });

  it("a probability of 0 chooses nothing even when a draw is exactly 0 (chosen when draw < p)", () => {
    // The seed whose first draw is 0: the generator's state after one golden-ratio step must be 0, so its
    // mixed seed is −0x9e3779b9 mod 2³²; undo the MurmurHash3 finaliser (xor-shifts and odd multipliers).
    const M = 2n ** 32n;
    const inv = (a: bigint): bigint => {
      let [r0, r1, s0, s1] = [a, M, 1n, 0n];
      while (r1 !== 0n) {
        const q = r0 / r1;
        [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
      }
      return ((s0 % M) + M) % M;
    };
    const unshift = (x: number, k: number): number => {
      let y = x;
      for (let i = 0; i < 32 / k; i++) y = (x ^ (y >>> k)) >>> 0;
      return y;
    };
    const mul = (x: number, c: number): number => Number((BigInt(x) * inv(BigInt(c))) % M);
    let x = (2 ** 32 - 0x9e3779b9) >>> 0;
    x = unshift(x, 16);
    x = mul(x, 0xc2b2ae35);
    x = unshift(x, 13);
    x = mul(x, 0x85ebca6b);
    x = unshift(x, 16);
    const seed = (x ^ 0x5bd1e995) >>> 0;
    expect(new MaskRng(seed).next()).toBe(0);
    const out = new MlmCollator({ mlmProbability: 0, seed }).collate(row([101, 2000, 2001, 102]));
    expect(Array.from(out.labels)).toEqual([IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX]);
  });

  it("excludes exactly the given special ids and the positions outside the attention mask", () => {
    // Special ids [7]: ids below and above it are ordinary tokens (here 1…6 and 8…10).
    const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const out = new MlmCollator({ mlmProbability: 1, specialIds: [7], vocabSize: 11, maskId: 7 }).collate(row(ids));
    expect(Array.from(out.maskedPositions)).toEqual([0, 1, 2, 3, 4, 5, 7, 8, 9]);
    expect(Array.from(out.labels)).toEqual([1, 2, 3, 4, 5, 6, IGNORE_INDEX, 8, 9, 10]);
    // Padding is what the attention mask says, whatever id it holds (a pad id outside the special list).
    const padded = new MlmCollator({ mlmProbability: 1, specialIds: [101, 102] }).collate(row([101, 2000, 2001, 102, 5, 5], 4));
    expect(Array.from(padded.maskedPositions)).toEqual([1, 2]);
    expect(Array.from(padded.inputIds.subarray(4))).toEqual([5, 5]);
  });

  it("refuses probabilities outside [0, 1] and vocabulary sizes that are not positive integers; size 1 replaces with id 0", () => {
    for (const p of [-0.1, -1e-9, 1 + 1e-9, NaN, Infinity]) {
      expect(() => new MlmCollator({ mlmProbability: p })).toThrow(`MlmCollator: mlmProbability must be in [0, 1] (0.3 MosaicBERT, 0.15 BERT), got ${p}`);
    }
    for (const v of [0, -3, 2.5, NaN]) {
      expect(() => new MlmCollator({ vocabSize: v })).toThrow(`MlmCollator: vocabSize must be a positive integer, got ${v}`);
    }
    // Random replacements are uniform in [0, vocabSize): with one id they are all 0.
    const out = new MlmCollator({ mlmProbability: 1, vocabSize: 1, seed: 2 }).collate(batch);
    const replaced = [...out.maskedPositions].map((i) => out.inputIds[i]!).filter((id, k) => id !== tok.maskId && id !== batch.inputIds[out.maskedPositions[k]!]);
    expect(replaced.length).toBeGreaterThan(1000);
    expect(new Set(replaced)).toEqual(new Set([0]));
  });

  it("mlmBatch finds the masked positions from the labels when not given, and refuses labels of another size", () => {
    // Pre-tokenized rows without [CLS]: a row's first position can be predicted.
    const tb = padBatch([[7, 8, 9], [10, 11, 12, 13]], 4);
    const labels = Int32Array.from([IGNORE_INDEX, 8, IGNORE_INDEX, IGNORE_INDEX, 10, IGNORE_INDEX, 12, IGNORE_INDEX]);
    const b = mlmBatch(tb, labels);
    expect(Array.from(b.maskedPositions)).toEqual([1, 4, 6]);
    expect(Array.from(b.cuSeqlens)).toEqual([0, 3, 7]);
    expect(() => mlmBatch(tb, new Int32Array(7))).toThrow("mlmBatch: labels has 7 entries, expected batchSize*seqLen = 8");
    // The second row alone: its first position (flat 4, the row's start) stays predicted, re-based to 0.
    const second = sliceMlmBatch(b, 1, 2);
    expect(Array.from(second.maskedPositions)).toEqual([0, 2]);
    expect(Array.from(sliceMlmBatch(b, 0, 1).maskedPositions)).toEqual([1]);
    for (const [r0, r1] of [[0.5, 2], [0, 1.5], [-1, 1], [1, 0]]) {
      expect(() => sliceMlmBatch(b, r0!, r1!)).toThrow(`sliceMlmBatch: rows [${r0}, ${r1}) are not a non-empty range inside [0, 2)`);
    }
  });
});

