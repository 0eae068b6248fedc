import { cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import { type Batch, batchLayout, unpad } from "./batch.js";
import { predictedRows } from "./mlm.js";
import { createModel } from "./factory.js";
import { preset } from "./presets.js";

const config = preset("tiny", { vocabSize: 100, hiddenSize: 32, numAttentionHeads: 2, intermediateSize: 32, numHiddenLayers: 1 });
const model = createModel(config, "mlm", cpu, { seed: 1 });
const cls = createModel({ ...config, numLabels: 3 }, "classification", cpu, { seed: 1 });

const ok = (): Batch => ({
  inputIds: Int32Array.from([2, 3, 4, 5, 6, 7, 8, 0]),
  attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 0]),
  tokenTypeIds: Int32Array.from([0, 0, 0, 0, 0, 0, 1, 0]),
  labels: Int32Array.from([-100, 9, -100, -100, -100, 11, -100, -100]),
  batchSize: 2,
  seqLen: 4,
});

describe("bad inputs are rejected with the field and row named", () => {
  it("a valid batch runs", () => {
    const out = model.forward(ok());
    expect(out.numPredicted).toBe(2);
    expect(Array.from(out.predictedPositions!)).toEqual([1, 5]);
  });
  it("ids ≥ vocab size", () => {
    const b = ok();
    b.inputIds[6] = 100;
    expect(() => model.forward(b)).toThrow(/inputIds \(row 1\): position 2: token id 100 is outside \[0, 100\)/);
  });
  it("wrong lengths (ragged)", () => {
    expect(() => model.forward({ ...ok(), inputIds: new Int32Array(7) })).toThrow(/inputIds: expected 8 elements/);
    expect(() => model.forward({ ...ok(), attentionMask: new Int32Array(9).fill(1) })).toThrow(/attentionMask: expected 8 elements/);
  });
  it("an all-zero attention-mask row", () => {
    const b = ok();
    b.attentionMask!.fill(0, 4, 8);
    b.labels!.fill(-100);
    expect(() => model.forward(b)).toThrow(/attentionMask \(row 1\): row has no real token/);
  });
  it("mask values other than 0/1, token types out of range", () => {
    const b = ok();
    b.attentionMask![2] = 2;
    expect(() => model.forward(b)).toThrow(/attentionMask \(row 0\): position 2: expected 0 or 1/);
    const c = ok();
    c.tokenTypeIds![1] = 2;
    expect(() => model.forward(c)).toThrow(/tokenTypeIds \(row 0\): position 1/);
  });
  it("labels out of range or on padding", () => {
    const b = ok();
    b.labels![2] = 100;
    expect(() => model.forward(b)).toThrow(/labels \(row 0\): position 2: label 100/);
    const c = ok();
    c.labels![7] = 5;
    expect(() => model.forward(c)).toThrow(/labels \(row 1\): position 3: label 5 on a padded position/);
    const d = { ...ok(), labels: Int32Array.from([0, 2]) };
    expect(() => cls.forward(d)).not.toThrow();
    expect(() => cls.forward({ ...d, labels: Int32Array.from([0, 3]) })).toThrow(/labels \(row 1\): class 3 is outside \[0, 3\)/);
    expect(() => cls.forward({ ...d, labels: Int32Array.from([0]) })).toThrow(/labels: expected 2 elements/);
  });
  it("gradients need labels", () => {
    const { labels: _, ...b } = ok();
    expect(() => model.forward(b, { grad: true })).toThrow(/labels: required/);
  });
});

/** ok() with the layout and masked positions a collator would attach (computed here by `unpad`, the model's own fallback). */
function withLayout(b: Batch): Batch {
  const u = unpad(b.attentionMask, b.batchSize, b.seqLen);
  const maskedPositions = Int32Array.from([...b.labels!.keys()].filter((i) => b.labels![i] !== -100));
  return { ...b, cuSeqlens: u.cuSeqlens, indices: u.indices, maxSeqlen: u.maxSeqlen, maskedPositions };
}

describe("a batch that carries its unpadded layout (the collator's MlmBatch shape)", () => {
  it("is run on that layout as it is, with the same loss and logits as the mask-derived one", () => {
    const plain = ok();
    const given = withLayout(plain);
    const layout = batchLayout(given, "mosaic-bert");
    expect(layout.indices).toBe(given.indices);
    expect(layout.cuSeqlens).toBe(given.cuSeqlens);
    const a = model.forward(plain);
    const b = model.forward(given);
    expect(b.loss!.item()).toBe(a.loss!.item());
    expect(Array.from(b.logits!.toArray() as Float32Array)).toEqual(Array.from(a.logits!.toArray() as Float32Array));
    expect(Array.from(b.predictedPositions!)).toEqual([1, 5]);
    // BERT runs every padded position whatever layout the batch carries.
    expect(batchLayout(given, "bert").total).toBe(8);
  });
  it("the head's rows come from maskedPositions: MosaicBERT predicts label > 0 only", () => {
    const b = ok();
    b.labels![2] = 0;
    expect(Array.from(predictedRows(withLayout(b), batchLayout(withLayout(b), "mosaic-bert"), true))).toEqual([1, 5]);
    expect(Array.from(predictedRows(withLayout(b), batchLayout(withLayout(b), "bert"), false))).toEqual([1, 2, 5]);
    expect(Array.from(predictedRows(b, batchLayout(b, "bert"), false))).toEqual([1, 2, 5]);
  });
  it("a layout that does not describe the attention mask is refused, naming the field and row", () => {
    const g = withLayout(ok());
    expect(() => model.forward({ ...g, indices: Int32Array.from([0, 1, 2, 3, 4, 5, 7]) })).toThrow(/indices \(row 1\): position 2: not listed but attentionMask is 1/);
    expect(() => model.forward({ ...g, cuSeqlens: Int32Array.from([0, 4, 8]) })).toThrow(/indices: expected 8 elements/);
    expect(() => model.forward({ ...g, cuSeqlens: Int32Array.from([0, 5, 7]) })).toThrow(/cuSeqlens \(row 0\): row length 5 is outside \[1, seqLen 4\]/);
    expect(() => model.forward({ ...g, maxSeqlen: 2 })).toThrow(/maxSeqlen: expected an integer in \[4 \(the longest row\), 4\], got 2/);
    expect(() => model.forward({ ...g, indices: null })).toThrow(/cuSeqlens: the unpadded layout needs cuSeqlens, indices and maxSeqlen together/);
    expect(() => model.forward({ ...g, maskedPositions: Int32Array.from([1]) })).toThrow(/maskedPositions \(row 1\): position 1: label 11 not listed/);
    expect(() => model.forward({ ...g, maskedPositions: Int32Array.from([1, 3, 5]) })).toThrow(/maskedPositions \(row 0\): position 3: listed but its label is −100/);
  });
});
