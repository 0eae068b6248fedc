import { fileURLToPath } from "node:url";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { describe, expect, it } from "vitest";
import { classesFromLogits } from "./class-probs.js";
import { runInfer } from "./infer.js";

// Multi-label classifiers of @mosaicbert/layers' fixtures: the reference's (MosaicBERT bert_layers.py,
// transformers 5.17 for BERT) logits, made by packages/layers/src/fixtures/config-audit/gen.py.
const FIXTURES = fileURLToPath(new URL("../../layers/src/fixtures/config-audit/", import.meta.url));

describe("class probabilities", () => {
  for (const name of ["mosaic-cls-multi", "bert-cls-multi"]) {
    it(`${name}: infer gives an independent sigmoid probability per label (problem_type multi_label_classification)`, async () => {
      const dir = `${FIXTURES}${name}`;
      const res = await runInfer({ modelDir: dir, input: `${dir}/inputs.json` });
      expect(res.task).toBe("classification");
      const logits = toFloat32(readSafetensors(`${dir}/ref.safetensors`).get("logits")!);
      expect(res.classes).toHaveLength(2);
      for (const row of res.classes!) {
        expect(row.kind).toBe("sigmoid");
        expect(row.labels.map(([n]) => n)).toEqual(["a", "b", "c"]);
        row.labels.forEach(([, p], c) => expect(p).toBeCloseTo(1 / (1 + Math.exp(-logits[row.row * 3 + c]!)), 5));
      }
      // Not a softmax: the probabilities of a row need not sum to 1.
      expect(res.classes!.some((r) => Math.abs(r.labels.reduce((s, [, p]) => s + p, 0) - 1) > 0.05)).toBe(true);
    });
  }

  it("softmax, sigmoid and score by problem type", () => {
    const logits = Float32Array.from([0, Math.log(3)]);
    const soft = classesFromLogits(logits, 1, { numLabels: 2, problemType: null, id2label: null })[0]!;
    expect(soft.kind).toBe("softmax");
    expect(soft.labels).toEqual([["LABEL_0", expect.closeTo(0.25, 7)], ["LABEL_1", expect.closeTo(0.75, 7)]]);
    const multi = classesFromLogits(logits, 1, { numLabels: 2, problemType: "multi_label_classification", id2label: null })[0]!;
    expect(multi.kind).toBe("sigmoid");
    expect(multi.labels[0]![1]).toBe(0.5);
    expect(multi.labels[1]![1]).toBeCloseTo(0.75, 7);
    expect(classesFromLogits(Float32Array.from([2.5]), 1, { numLabels: 1, problemType: "regression", id2label: null })[0]!.labels).toEqual([["LABEL_0", 2.5]]);
  });
});
