import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { cpu } from "@mosaicbert/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { Embedder, planBatches } from "./embed.js";
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

  it("planBatches: longest first, rows × longest within the budget, a longer row alone", () => {
    expect(planBatches([5, 9, 3, 9, 1], 20)).toEqual([[1, 3], [0, 2, 4]]);
    expect(planBatches([5, 9, 3, 9, 1], 14)).toEqual([[1], [3], [0, 2], [4]]);
    expect(planBatches([50, 3], 10)).toEqual([[0], [1]]);
    expect(planBatches([5, 9, 3, 9, 1], 100, 2)).toEqual([[1, 3], [0, 2], [4]]);
  });
});
