import { describe, expect, it } from "vitest";
import { bertBaseUncased } from "@mosaicbert/data-streaming";
import { batchLayout, createModel, preset } from "@mosaicbert/layers";
import { cpu } from "@mosaicbert/tensor";
import { mlmCollator, sliceRows, tokenizeAndMask } from "./batches.js";

const texts = [
  "The quick brown fox jumps over the lazy dog near the river bank.",
  "A short one.",
  "Masked language models predict the tokens hidden behind [MASK] from both sides of the context.",
];

describe("one batch shape from the collator to the model", () => {
  const tok = bertBaseUncased();
  const batch = tokenizeAndMask(texts, tok, 24, mlmCollator(tok, 0.3), [5, 6, 7]);
  const model = createModel(preset("tiny", { numHiddenLayers: 1 }), "mlm", cpu, { seed: 3 });

  it("the model runs on the collator's layout and masked positions as they are", () => {
    const layout = batchLayout(batch, "mosaic-bert");
    expect(layout.indices).toBe(batch.indices);
    expect(layout.cuSeqlens).toBe(batch.cuSeqlens);
    const { cuSeqlens: _c, indices: _i, maxSeqlen: _m, maskedPositions: _p, ...plain } = batch;
    const a = model.forward(batch, { returnLogits: false });
    const b = model.forward(plain, { returnLogits: false });
    expect(a.numPredicted).toBe(batch.maskedPositions.length);
    expect(Array.from(a.predictedPositions!)).toEqual(Array.from(batch.maskedPositions));
    expect(a.loss!.item()).toBe(b.loss!.item());
  });

  it("a microbatch slice carries its own re-based layout, which the model accepts", () => {
    const mb = sliceRows(batch, 1, 3);
    expect(mb.cuSeqlens[0]).toBe(0);
    expect(mb.cuSeqlens[2]).toBe(batch.cuSeqlens[3]! - batch.cuSeqlens[1]!);
    const out = model.forward(mb, { returnLogits: false });
    expect(out.numPredicted).toBe(mb.maskedPositions.length);
  });
});
