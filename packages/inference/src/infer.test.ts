import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { relativeL2 } from "@mosaicbert/tensor/testing";
import { afterAll, describe, expect, it } from "vitest";
import { runInfer } from "./infer.js";

const GOLDEN = fileURLToPath(new URL("../../../../shared/data/golden/", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "inference-infer-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const read = (file: string) => readSafetensors(file);
const f32 = (m: ReturnType<typeof read>, k: string) => toFloat32(m.get(k)!);

describe("runInfer reproduces the goldens from the files alone", () => {
  for (const name of ["mosaic-tiny-mlm", "bert-tiny-mlm"]) {
    it(`${name}: last_hidden_state and [B, L, V] logits (in chunks, with progress)`, async () => {
      const out = path.join(tmp, `${name}.safetensors`);
      const lines: string[] = [];
      const res = await runInfer({ modelDir: `${GOLDEN}${name}`, input: `${GOLDEN}${name}/inputs.json`, output: out, chunkRows: 3, log: (l) => lines.push(l) });
      expect(res.task).toBe("mlm");
      expect(lines).toEqual(["infer: 3/4 rows", "infer: 4/4 rows"]);
      const got = read(out);
      const ref = read(`${GOLDEN}${name}/outputs.safetensors`);
      expect(got.get("last_hidden_state")!.shape).toEqual(ref.get("last_hidden_state")!.shape);
      expect(relativeL2(f32(got, "last_hidden_state"), f32(ref, "last_hidden_state"))).toBeLessThan(1e-5);
      const [B, L, V] = got.get("logits")!.shape as [number, number, number];
      expect([B, L]).toEqual([4, 128]);
      const logits = f32(got, "logits");
      const pos = f32(ref, "masked_positions");
      const n = pos.length / 2;
      const picked = new Float32Array(n * V);
      for (let i = 0; i < n; i++) picked.set(logits.subarray((pos[2 * i]! * L + pos[2 * i + 1]!) * V, (pos[2 * i]! * L + pos[2 * i + 1]! + 1) * V), i * V);
      expect(relativeL2(picked, f32(ref, "masked_logits"))).toBeLessThan(1e-5);
    });
  }

  it("mosaic-tiny-cls3: [B, num_labels] logits", async () => {
    const out = path.join(tmp, "cls3.safetensors");
    const res = await runInfer({ modelDir: `${GOLDEN}mosaic-tiny-cls3`, input: `${GOLDEN}mosaic-tiny-cls3/inputs.json`, output: out });
    expect(res.task).toBe("classification");
    const got = read(out);
    expect(got.get("logits")!.shape).toEqual([4, 3]);
    expect(got.get("last_hidden_state")!.shape).toEqual([4, 128, 128]);
    expect(relativeL2(f32(got, "logits"), f32(read(`${GOLDEN}mosaic-tiny-cls3/outputs.safetensors`), "logits"))).toBeLessThan(1e-5);
  });

  it("ragged rows and bad ids are named with file, field and row", async () => {
    const bad = path.join(tmp, "ragged.json");
    fs.writeFileSync(bad, JSON.stringify({ input_ids: [[2, 3, 4], [5, 6]], attention_mask: [[1, 1, 1], [1, 1]] }));
    const args = { modelDir: `${GOLDEN}mosaic-tiny-mlm`, input: bad, output: path.join(tmp, "x.safetensors") };
    await expect(runInfer(args)).rejects.toThrow(/ragged\.json: input_ids \(row 1\): ragged: length 2, expected 3/);
    fs.writeFileSync(bad, JSON.stringify({ input_ids: [[2, 3, 4], [5, 6, 4000]], attention_mask: [[1, 1, 1], [1, 1, 1]] }));
    await expect(runInfer({ ...args, chunkRows: 1 })).rejects.toThrow(/inputIds \(row 1\): position 2: token id 4000/);
  });
});
