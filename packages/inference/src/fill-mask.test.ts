import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { afterAll, describe, expect, it } from "vitest";
import { topKSoftmax } from "./fill-mask.js";
import { runInfer } from "./infer.js";
import { NO_MASK_NOTE, formatInferResult } from "./format.js";

const DATA = fileURLToPath(new URL("../../../../shared/data/", import.meta.url));
const GOLDEN = `${DATA}golden/`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "inference-fill-mask-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Naming ids needs only the vocab's token list (maskId and idToToken), not a whole tokenizer.
const vocab = fs.readFileSync(`${DATA}vocab/bert-base-uncased-vocab.txt`, "utf8").split("\n").slice(0, -1);
const namer = { maskId: vocab.indexOf("[MASK]"), idToToken: (id: number) => vocab[id] };

interface Inputs { input_ids: number[][]; attention_mask: number[][]; token_type_ids: number[][] }
const readInputs = (name: string): Inputs => JSON.parse(fs.readFileSync(`${GOLDEN}${name}/inputs.json`, "utf8"));

/** Softmax over a whole row and a full sort: the plain way, to check the k-list selection against. */
function fullSortTop(row: Float32Array, k: number): Array<{ id: number; prob: number }> {
  const xs = Array.from(row, Number);
  const max = Math.max(...xs);
  const sum = xs.reduce((a, x) => a + Math.exp(x - max), 0);
  return xs.map((x, id) => ({ id, prob: Math.exp(x - max) / sum })).sort((a, b) => b.prob - a.prob || a.id - b.id).slice(0, k);
}

describe("fill-mask on ids (runInfer with --input rows)", () => {
  for (const name of ["mosaic-tiny-mlm", "bert-tiny-mlm"]) {
    it(`${name}: top-k at every [MASK] equals the reference logits' softmax top-k`, async () => {
      const res = await runInfer({ modelDir: `${GOLDEN}${name}`, input: `${GOLDEN}${name}/inputs.json`, tokenizer: namer, topK: 7 });
      expect(res.task).toBe("mlm");
      expect(res.tensors).toEqual({});
      const inputs = readInputs(name);
      // Every real [MASK] (id 103) of the golden rows gets one prediction, in row then position order.
      const expectedPositions = inputs.input_ids.flatMap((r, b) => r.flatMap((id, s) => (id === 103 && inputs.attention_mask[b]![s] === 1 ? [[b, s]] : [])));
      expect(res.fill!.masks.map((m) => [m.row, m.position])).toEqual(expectedPositions);
      expect(res.fill!.rowsWithoutMask).toEqual([]);
      // The reference's logits at its predicted positions include the [MASK] ones.
      const ref = readSafetensors(`${GOLDEN}${name}/outputs.safetensors`);
      const pos = toFloat32(ref.get("masked_positions")!);
      const refLogits = toFloat32(ref.get("masked_logits")!);
      const V = ref.get("masked_logits")!.shape[1]!;
      let compared = 0;
      for (const m of res.fill!.masks) {
        const i = Array.from({ length: pos.length / 2 }, (_, j) => j).find((j) => pos[2 * j] === m.row && pos[2 * j + 1] === m.position);
        if (i === undefined) continue;
        const want = fullSortTop(refLogits.subarray(i * V, (i + 1) * V), 7);
        expect(m.top.map((t) => t.id)).toEqual(want.map((t) => t.id));
        for (let j = 0; j < 7; j++) expect(m.top[j]!.prob).toBeCloseTo(want[j]!.prob, 5);
        expect(m.top.map((t) => t.token)).toEqual(want.map((t) => vocab[t.id]));
        compared++;
      }
      expect(compared).toBeGreaterThan(10);
    });
  }

  it("a row without [MASK] gets a note, not a crash; JSON lines carry the same", async () => {
    const inputs = readInputs("mosaic-tiny-mlm");
    const rows = [0, 2].map((b) => inputs.input_ids[b]!.slice(0, 16));
    rows[1] = rows[1]!.map((id) => (id === 103 ? 1996 : id));
    const file = path.join(tmp, "no-mask.json");
    fs.writeFileSync(file, JSON.stringify({ input_ids: rows, attention_mask: rows.map((r) => r.map(() => 1)) }));
    const res = await runInfer({ modelDir: `${GOLDEN}mosaic-tiny-mlm`, input: file, tokenizer: namer, topK: 3 });
    expect(res.fill!.rowsWithoutMask).toEqual([1]);
    const lines = formatInferResult(res);
    expect(lines.at(-1)).toBe(`row 1: ${NO_MASK_NOTE}`);
    expect(lines[0]).toMatch(/^row 0, position \d+: \S+ [\d.e-]+ \| \S+ [\d.e-]+ \| \S+ [\d.e-]+$/);
    const json = formatInferResult(res, true).map((l) => JSON.parse(l));
    expect(json.at(-1)).toEqual({ row: 1, position: null, top: [], note: NO_MASK_NOTE });
    expect(json[0].top).toHaveLength(3);
    expect(json[0].top[0].prob).toBe(res.fill!.masks[0]!.top[0]!.prob);
  });

  it("needs exactly one of --input and --text, and a positive --top-k", async () => {
    const model = `${GOLDEN}mosaic-tiny-mlm`;
    await expect(runInfer({ modelDir: model, tokenizer: namer })).rejects.toThrow(/exactly one of --input <file> .* or --text <sentence> .*, got neither/);
    await expect(runInfer({ modelDir: model, texts: [], tokenizer: namer })).rejects.toThrow(/got neither/);
    await expect(runInfer({ modelDir: model, input: `${model}/inputs.json`, texts: ["a [MASK]"], tokenizer: namer })).rejects.toThrow(/got both/);
    await expect(runInfer({ modelDir: model, texts: ["a [MASK]"], tokenizer: namer })).rejects.toThrow(/--text needs a tokenizer/);
    await expect(runInfer({ modelDir: model, input: `${model}/inputs.json`, tokenizer: namer, topK: 0 })).rejects.toThrow(/--top-k: expected a positive integer, got 0/);
  });
});

describe("topKSoftmax", () => {
  it("sorted, summing to at most 1, ties to the lower id, k clamped to the vocab", () => {
    const ref = readSafetensors(`${GOLDEN}bert-tiny-mlm/outputs.safetensors`);
    const V = ref.get("masked_logits")!.shape[1]!;
    const row = toFloat32(ref.get("masked_logits")!).subarray(0, V);
    const top = topKSoftmax(row, 50);
    for (let j = 1; j < top.length; j++) expect(top[j]!.prob).toBeLessThanOrEqual(top[j - 1]!.prob);
    expect(top.reduce((a, t) => a + t.prob, 0)).toBeLessThanOrEqual(1);
    const all = topKSoftmax(row, V + 10);
    expect(all).toHaveLength(V);
    expect(all.reduce((a, t) => a + t.prob, 0)).toBeCloseTo(1, 12);
    expect(topKSoftmax([2, 5, 5, 1], 3).map((t) => t.id)).toEqual([1, 2, 0]);
  });
});

describe("classifier rows", () => {
  it("mosaic-tiny-cls3: class probabilities are the softmax of the reference logits", async () => {
    const res = await runInfer({ modelDir: `${GOLDEN}mosaic-tiny-cls3`, input: `${GOLDEN}mosaic-tiny-cls3/inputs.json` });
    expect(res.task).toBe("classification");
    const ref = toFloat32(readSafetensors(`${GOLDEN}mosaic-tiny-cls3/outputs.safetensors`).get("logits")!);
    // The softmax of each row of the reference logits, by hand (not through the code under test).
    const want = [0, 1, 2, 3].map((b) => {
      const row = Array.from(ref.subarray(3 * b, 3 * b + 3), Number);
      const z = row.reduce((a, x) => a + Math.exp(x), 0);
      return row.map((x) => Math.exp(x) / z);
    });
    expect(res.classes).toHaveLength(4);
    for (let b = 0; b < 4; b++) {
      const got = res.classes![b]!;
      expect(got.kind).toBe("softmax");
      expect(got.labels.map(([n]) => n)).toEqual(["LABEL_0", "LABEL_1", "LABEL_2"]);
      expect(got.labels.reduce((a, [, p]) => a + p, 0)).toBeCloseTo(1, 12);
      for (let c = 0; c < 3; c++) expect(got.labels[c]![1]).toBeCloseTo(want[b]![c]!, 5);
    }
    expect(formatInferResult(res)[0]).toMatch(/^row 0: LABEL_0 [\d.]+ \| LABEL_1 [\d.]+ \| LABEL_2 [\d.]+$/);
  });
});
