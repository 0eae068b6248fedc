import { fileURLToPath } from "node:url";
import { cpu } from "@mosaicbert/tensor";
import { checkGradient, relativeL2 } from "@mosaicbert/tensor/testing";
import { describe, expect, it } from "vitest";
import type { Batch } from "./batch.js";
import type { ModelConfig } from "./config.js";
import { createModel } from "./factory.js";
import type { ModelBase } from "./model.js";
import { preset } from "./presets.js";
import { readConfig, readWeights } from "./io.js";
import * as fs from "node:fs";

const small = (o: Partial<ModelConfig>): ModelConfig =>
  preset("tiny", { vocabSize: 30, hiddenSize: 16, numAttentionHeads: 2, intermediateSize: 12, numHiddenLayers: 1, ...o });

const batch = (labels: Int32Array | Float32Array): Batch => ({
  inputIds: Int32Array.from([2, 5, 7, 9, 0, 3, 4, 0, 0, 0, 8, 11, 13, 17, 19]),
  attentionMask: Int32Array.from([1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1]),
  tokenTypeIds: Int32Array.from([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]),
  labels,
  batchSize: 3,
  seqLen: 5,
});

/** Finite differences of the loss over a few entries of every parameter, against backward(). */
function fdCheck(model: ModelBase & { forward(b: Batch, o: object): { loss: { item(): number } | null }; backward(): void }, b: Batch, fwd: object): number {
  model.zeroGrad();
  model.forward(b, { ...fwd, grad: true });
  model.backward();
  const analytic = model.flat.grads.toArray() as Float32Array;
  const x = model.flat.params.toArray() as Float32Array;
  const indices: number[] = [];
  for (const p of model.parameters().values()) for (let k = 0; k < 3; k++) indices.push(p.offset + Math.floor(((k + 0.5) / 3) * p.size));
  const f = (v: Float32Array): number => {
    model.backend.write(model.flat.params, v);
    return model.forward(b, { ...fwd, grad: false }).loss!.item();
  };
  const { error } = checkGradient(f, x, analytic, { eps: 1e-2, indices });
  model.backend.write(model.flat.params, x);
  return error;
}

describe("gradients vs finite differences", () => {
  it("MosaicBERT regression head (num_labels 1, MSE)", () => {
    const m = createModel(small({ numLabels: 1, problemType: "regression", initializerRange: 0.3 }), "classification", cpu, { seed: 5 });
    expect(fdCheck(m, batch(Float32Array.from([0.5, -1.25, 2])), {})).toBeLessThan(2e-3);
    m.dispose();
  });

  it("BERT classifier with dropout active (the backward replays the forward's masks)", () => {
    const m = createModel({ ...small({ numLabels: 2, initializerRange: 0.3 }), arch: "bert", alibiStartingSize: null, maxPositionEmbeddings: 8 }, "classification", cpu, { seed: 6 });
    expect(fdCheck(m, batch(Int32Array.from([1, 0, 1])), { training: true, seed: 42 })).toBeLessThan(2e-3);
    m.dispose();
  });

  it("MosaicBERT MLM with dropout active", () => {
    const labels = new Int32Array(15).fill(-100);
    labels[1] = 4;
    labels[6] = 9;
    labels[13] = 2;
    const m = createModel(small({ initializerRange: 0.3, hiddenDropoutProb: 0.2 }), "mlm", cpu, { seed: 7 });
    expect(fdCheck(m, batch(labels), { training: true, seed: 9 })).toBeLessThan(2e-3);
    m.dispose();
  });
});

describe("dropout seeds", () => {
  it("same seed → same loss; another seed → another loss; eval ignores the seed", () => {
    const labels = new Int32Array(15).fill(-100);
    labels[2] = 3;
    labels[11] = 8;
    const m = createModel(small({ hiddenDropoutProb: 0.3 }), "mlm", cpu, { seed: 1 });
    const loss = (o: object) => m.forward(batch(labels), o).loss!.item();
    expect(loss({ training: true, seed: 1 })).toBe(loss({ training: true, seed: 1 }));
    expect(loss({ training: true, seed: 1 })).not.toBe(loss({ training: true, seed: 2 }));
    expect(loss({ seed: 1 })).toBe(loss({ seed: 2 }));
    m.dispose();
  });
});

describe("bf16 compute (mixed precision)", () => {
  it("mosaic-tiny-mlm golden within bf16 tolerance, grads in the f32 flat buffer", () => {
    const dir = fileURLToPath(new URL("../../../../shared/data/golden/mosaic-tiny-mlm", import.meta.url));
    const { config } = readConfig(dir);
    const m = createModel(config, "mlm", cpu, { computeDtype: "bf16" });
    m.loadStateDict(readWeights(dir).stateDict);
    expect(m.flat.lowp?.dtype).toBe("bf16");
    const inputs = JSON.parse(fs.readFileSync(`${dir}/inputs.json`, "utf8")) as Record<string, number[][]>;
    const b: Batch = {
      inputIds: Int32Array.from(inputs.input_ids!.flat()), tokenTypeIds: Int32Array.from(inputs.token_type_ids!.flat()),
      attentionMask: Int32Array.from(inputs.attention_mask!.flat()), labels: Int32Array.from(inputs.labels!.flat()), batchSize: 4, seqLen: 128,
    };
    const lowp = m.forward(b, { grad: true });
    expect(lowp.logits!.dtype).toBe("bf16");
    m.backward();
    const g16 = m.flat.grads.toArray() as Float32Array;
    const f32 = createModel(config, "mlm", cpu);
    f32.loadStateDict(readWeights(dir).stateDict);
    const ref = f32.forward(b, { grad: true });
    f32.backward();
    expect(Math.abs(lowp.loss!.item() - ref.loss!.item()) / ref.loss!.item()).toBeLessThan(2e-2);
    expect(relativeL2(lowp.logits!.toArray() as Float32Array, ref.logits!.toArray() as Float32Array)).toBeLessThan(3e-2);
    expect(relativeL2(g16, f32.flat.grads.toArray() as Float32Array)).toBeLessThan(5e-2);
    m.dispose();
    f32.dispose();
  });
});
