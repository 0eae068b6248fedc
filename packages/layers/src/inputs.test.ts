import { cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import type { Batch } from "./batch.js";
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
