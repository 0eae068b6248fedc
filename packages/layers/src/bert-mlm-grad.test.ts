import { checkGradient } from "@mosaicbert/tensor/testing";
import { cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import type { Batch } from "./batch.js";
import type { ModelConfig } from "./config.js";
import { createModel } from "./factory.js";
import type { ForMaskedLM } from "./mlm.js";
import { preset } from "./presets.js";

// The BERT baseline's MLM training path (learned positions, separate q/k/v, attention-probability
// dropout, the last-layer subset on label ≠ −100) against finite differences, dropout active.
const bert = (o: Partial<ModelConfig>): ModelConfig =>
  preset("tiny", {
    vocabSize: 30, hiddenSize: 16, numAttentionHeads: 2, intermediateSize: 12, numHiddenLayers: 2,
    arch: "bert", alibiStartingSize: null, maxPositionEmbeddings: 8, initializerRange: 0.3, ...o,
  });

function batch(): Batch {
  const labels = new Int32Array(15).fill(-100);
  labels[1] = 4;
  labels[3] = 0;
  labels[6] = 9;
  labels[13] = 2;
  return {
    inputIds: Int32Array.from([2, 5, 7, 9, 0, 3, 4, 0, 0, 0, 8, 11, 13, 17, 19]),
    attentionMask: Int32Array.from([1, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1]),
    tokenTypeIds: Int32Array.from([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]),
    labels, batchSize: 3, seqLen: 5,
  };
}

function fdError(m: ForMaskedLM, b: Batch, fwd: object): number {
  m.zeroGrad();
  m.forward(b, { ...fwd, grad: true });
  m.backward();
  const analytic = m.flat.grads.toArray() as Float32Array;
  const x = m.flat.params.toArray() as Float32Array;
  const indices: number[] = [];
  for (const p of m.parameters().values()) for (let k = 0; k < 4; k++) indices.push(p.offset + Math.floor(((k + 0.5) / 4) * p.size));
  const f = (v: Float32Array): number => {
    m.backend.write(m.flat.params, v);
    return m.forward(b, { ...fwd, grad: false }).loss!.item();
  };
  const { error } = checkGradient(f, x, analytic, { eps: 1e-2, indices });
  m.backend.write(m.flat.params, x);
  return error;
}

describe("BERT MLM gradients vs finite differences", () => {
  it("eval mode", () => {
    const m = createModel(bert({ hiddenDropoutProb: 0, attentionProbsDropoutProb: 0 }), "mlm", cpu, { seed: 3 });
    expect(fdError(m, batch(), {})).toBeLessThan(2e-3);
    m.dispose();
  });
  it("training mode: hidden dropout 0.2 and attention dropout 0.2", () => {
    const m = createModel(bert({ hiddenDropoutProb: 0.2, attentionProbsDropoutProb: 0.2 }), "mlm", cpu, { seed: 3 });
    expect(fdError(m, batch(), { training: true, seed: 11 })).toBeLessThan(2e-3);
    m.dispose();
  });
});
