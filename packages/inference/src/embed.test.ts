import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { cpu } from "@mosaicbert/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { Embedder, type EncodeTimings, lengthOrder, planBatches } from "./embed.js";
import { runInfer } from "./infer.js";

const GOLDEN = fileURLToPath(new URL("../../../../shared/data/golden/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "embed-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
/** Only the pad id is read when embedding ids. */
const ids = { padId: 0, clsId: 101, sepId: 102, maskId: 103, textToIds: () => [], idToToken: () => undefined };

describe("Embedder.encodeIds on the golden models' inputs", () => {
  for (const name of ["mosaic-tiny-mlm", "bert-tiny-mlm"]) {
    it(`${name}: each row's mean / [CLS] of runInfer's last_hidden_state, in input order, for every token budget`, async () => {
      const dir = join(GOLDEN, name);
      const inputs = JSON.parse(readFileSync(join(dir, "inputs.json"), "utf8")) as { input_ids: number[][]; attention_mask: number[][] };
      const rows = inputs.input_ids.map((r, b) => Int32Array.from(r.slice(0, inputs.attention_mask[b]!.reduce((a, m) => a + m, 0))));
      // The reference: runInfer on the same rows (right-padded, token types 0), pooled here by hand.
      const file = join(tmp, `${name}.json`);
      writeFileSync(file, JSON.stringify({ input_ids: inputs.input_ids, attention_mask: inputs.attention_mask }));
      const out = join(tmp, `${name}.safetensors`);
      await runInfer({ modelDir: dir, input: file, output: out, log: () => {} });
      const h = readSafetensors(out).get("last_hidden_state")!;
      const [B, L, H] = h.shape as [number, number, number];
      const hs = toFloat32(h);
      const mean = rows.map((r, b) => {
        const v = new Float64Array(H);
        for (let s = 0; s < r.length; s++) for (let k = 0; k < H; k++) v[k] += hs[(b * L + s) * H + k]! / r.length;
        return v;
      });
      const e = Embedder.load(dir, { backend: cpu, tokenizer: ids });
      try {
        const live = cpu.memoryStats().allocatedBytes;
        // Any batching, and any number of embeddings kept on the device between reads (1: a read after
        // every text; 3: reads mid-batch-sequence; default: one read at the end).
        for (const tokenBudget of [100, 1 << 16]) {
          for (const deviceRows of [1, 3, undefined]) {
            const got = e.encodeIds(rows, { tokenBudget, maxSeqLen: 128, deviceRows });
            expect(got).toHaveLength(B);
            const what = `budget ${tokenBudget}, deviceRows ${deviceRows}`;
            got.forEach((g, b) => g.forEach((x, k) => expect(Math.abs(x - mean[b]![k]!), `row ${b} ${what}`).toBeLessThan(1e-4 * (1 + Math.abs(mean[b]![k]!)))));
          }
        }
        const unit = e.encodeIds(rows, { tokenBudget: 100, maxSeqLen: 128, deviceRows: 2, normalize: true });
        unit.forEach((g, b) => {
          const norm = Math.hypot(...mean[b]!);
          g.forEach((x, k) => expect(Math.abs(x - mean[b]![k]! / norm), `normalized row ${b}`).toBeLessThan(1e-4));
        });
        expect(() => e.encodeIds(rows, { deviceRows: 0 })).toThrow(/deviceRows: expected a positive integer, got 0/);
        // Every chunk and batch tensor was given back.
        expect(cpu.memoryStats().allocatedBytes).toBe(live);
        const cls = e.encodeIds(rows, { pooling: "cls", format: "matrix", maxSeqLen: 128 });
        for (let b = 0; b < B; b++) for (let k = 0; k < H; k++) expect(Math.abs(cls[b * H + k]! - hs[b * L * H + k]!)).toBeLessThan(1e-4 * (1 + Math.abs(hs[b * L * H + k]!)));
        expect(() => e.encodeIds([new Int32Array(129)], { maxSeqLen: 128 })).toThrow(/length 129: expected 1 to 128 tokens/);
      } finally {
        e.dispose();
      }
    });
  }

  it("bf16 compute: the pooled rows are the float32 sums of the bf16 last hidden states (no float32 copy of them first)", () => {
    const dir = join(GOLDEN, "mosaic-tiny-mlm");
    const inputs = JSON.parse(readFileSync(join(dir, "inputs.json"), "utf8")) as { input_ids: number[][]; attention_mask: number[][] };
    const rows = inputs.input_ids.map((r, b) => Int32Array.from(r.slice(0, inputs.attention_mask[b]!.reduce((a, m) => a + m, 0))));
    const e = Embedder.load(dir, { backend: cpu, tokenizer: ids, computeDtype: "bf16" });
    try {
      const H = e.hiddenSize;
      // One batch (the budget holds every row), so the reference is that batch's forward, longest row first.
      const order = planBatches(rows.map((r) => r.length), 1 << 16)[0]!;
      const S = rows[order[0]!]!.length;
      const inputIds = new Int32Array(order.length * S);
      const attentionMask = new Int32Array(order.length * S);
      order.forEach((i, b) => {
        inputIds.set(rows[i]!, b * S);
        attentionMask.fill(1, b * S, b * S + rows[i]!.length);
      });
      const { hidden, layout } = e.model.forwardPacked({ inputIds, attentionMask, batchSize: order.length, seqLen: S });
      expect(hidden.dtype).toBe("bf16");
      const hs = cpu.read(hidden) as Float32Array;
      hidden.dispose();
      const got = e.encodeIds(rows, { tokenBudget: 1 << 16, maxSeqLen: 128, format: "matrix" });
      order.forEach((i, b) => {
        // float32 sums in row order (as scatterAddRows adds), then the mean's division, as the Embedder does.
        const sum = new Float32Array(H);
        for (let t = layout.cuSeqlens[b]!; t < layout.cuSeqlens[b + 1]!; t++) for (let k = 0; k < H; k++) sum[k] = sum[k]! + hs[t * H + k]!;
        const want = Float32Array.from(sum, (v) => v * (1 / rows[i]!.length));
        expect(got.subarray(i * H, (i + 1) * H), `row ${i}`).toEqual(want);
      });
    } finally {
      e.dispose();
    }
  });

  it("timings: one entry per forward pass and per read, every real token counted, host times inside the call; embeddings unchanged", () => {
    const dir = join(GOLDEN, "bert-tiny-mlm");
    const inputs = JSON.parse(readFileSync(join(dir, "inputs.json"), "utf8")) as { input_ids: number[][]; attention_mask: number[][] };
    const rows = inputs.input_ids.map((r, b) => Int32Array.from(r.slice(0, inputs.attention_mask[b]!.reduce((a, m) => a + m, 0))));
    const e = Embedder.load(dir, { backend: cpu, tokenizer: ids });
    try {
      const o = { tokenBudget: 130, maxSeqLen: 128, deviceRows: 2, format: "matrix" as const, normalize: true };
      const plain = e.encodeIds(rows, o);
      const tm = { batches: [{ texts: 99 }] } as unknown as EncodeTimings;
      const timed = e.encodeIds(rows, { ...o, timings: tm });
      expect(timed).toEqual(plain);
      // Into a caller's array (old contents overwritten), returned as the matrix; the rows format fills it too.
      const into = new Float32Array(plain.length).fill(Number.NaN);
      expect(e.encodeIds(rows, { ...o, into })).toBe(into);
      expect(into).toEqual(plain);
      into.fill(-1);
      const asRows = e.encodeIds(rows, { ...o, format: "rows", into });
      expect(into).toEqual(plain);
      asRows.forEach((r, i) => expect(r).toEqual(plain.subarray(i * e.hiddenSize, (i + 1) * e.hiddenSize)));
      expect(() => e.encodeIds(rows, { ...o, into: new Float32Array(plain.length - 1) })).toThrow(/into: expected a Float32Array of 4 × \d+ = \d+ elements, got \d+/);
      const batches = planBatches(rows.map((r) => r.length), 130);
      expect(tm.batches.map((b) => [b.texts, b.seqLen, b.tokens])).toEqual(
        batches.map((b) => [b.length, rows[b[0]!]!.length, b.reduce((a, i) => a + rows[i]!.length, 0)]),
      );
      // Chunks of at most 2 texts: read when the next batch does not fit, and once at the end.
      expect(tm.reads.reduce((a, r) => a + r.texts, 0)).toBe(rows.length);
      expect(tm.reads.every((r) => r.texts >= 1 && r.texts <= 2)).toBe(true);
      const parts = [tm.planMs, tm.tailFinishMs, ...tm.batches.flatMap((b) => [b.launchMs, b.finishMs]), ...tm.reads.flatMap((r) => [r.waitMs, r.copyMs])];
      expect(parts.every((x) => x >= 0)).toBe(true);
      expect(parts.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(tm.totalMs + 1e-6);
    } finally {
      e.dispose();
    }
  });

  it("lengthOrder: longest first, equal lengths in input order (counting sort, and the comparison sort for other numbers)", () => {
    let x = 7;
    const lengths = Array.from({ length: 2000 }, () => {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      return 1 + (x % 40);
    });
    const byCompare = lengths.map((_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
    expect(Array.from(lengthOrder(lengths))).toEqual(byCompare);
    expect(Array.from(lengthOrder([0, 3, 0, 3, 1]))).toEqual([1, 3, 4, 0, 2]);
    expect(Array.from(lengthOrder([2.5, 3, 2.5, 1]))).toEqual([1, 0, 2, 3]);
    expect(Array.from(lengthOrder([]))).toEqual([]);
  });

  it("planBatches: longest first, rows × longest within the budget, a longer row alone", () => {
    expect(planBatches([5, 9, 3, 9, 1], 20)).toEqual([[1, 3], [0, 2, 4]]);
    expect(planBatches([5, 9, 3, 9, 1], 14)).toEqual([[1], [3], [0, 2], [4]]);
    expect(planBatches([50, 3], 10)).toEqual([[0], [1]]);
    expect(planBatches([5, 9, 3, 9, 1], 100, 2)).toEqual([[1, 3], [0, 2], [4]]);
  });
});
