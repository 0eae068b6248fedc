import { type Tensor, cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import type { Batch } from "./batch.js";
import type { ModelConfig } from "./config.js";
import { createModel } from "./factory.js";
import type { ForwardOptions } from "./model.js";
import { preset } from "./presets.js";

const base = preset("tiny", { vocabSize: 50, hiddenSize: 32, numAttentionHeads: 2, intermediateSize: 24, numHiddenLayers: 2, hiddenDropoutProb: 0.1 });
const bert: ModelConfig = { ...base, arch: "bert", alibiStartingSize: null, attentionProbsDropoutProb: 0.1, maxPositionEmbeddings: 16 };

const batch = (labels: Int32Array | Float32Array): Batch => ({
  inputIds: Int32Array.from([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
  attentionMask: Int32Array.from([0, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
  labels,
  batchSize: 2,
  seqLen: 5,
});

type Out = { loss: Tensor | null; logits: Tensor | null; lastHiddenState: Tensor | null };
type Trainable = { forward(b: Batch, o: ForwardOptions): Out; backward(): void; release(): void; dispose(): void };

/** Every tensor a forward/backward allocates is given back: nothing leaks on a GPU either. */
describe("no leaked tensors", () => {
  for (const config of [base, bert]) {
    it(`${config.arch}: MLM and classifier, train, eval, inference, released passes`, () => {
      const mlmLabels = new Int32Array(10).fill(-100);
      mlmLabels[2] = 7;
      mlmLabels[6] = 9;
      for (const task of ["mlm", "classification", "regression"] as const) {
        const m = (task === "regression"
          ? createModel({ ...config, numLabels: 1, problemType: "regression" }, "classification", cpu, { seed: 1 })
          : createModel(config, task, cpu, { seed: 1 })) as unknown as Trainable;
        const labels = task === "mlm" ? mlmLabels : task === "regression" ? Float32Array.from([0.5, -2]) : Int32Array.from([1, 0]);
        const before = cpu.memoryStats().allocatedBytes;
        const disposeOut = (o: Out) => {
          o.loss?.dispose();
          o.logits?.dispose();
          o.lastHiddenState?.dispose();
        };
        disposeOut(m.forward(batch(labels), { training: true, seed: 3, outputHiddenStates: true }));
        m.backward();
        disposeOut(m.forward(batch(labels), {}));
        const { labels: _, ...unlabeled } = batch(labels);
        disposeOut(m.forward(unlabeled, {}));
        disposeOut(m.forward(batch(labels), { grad: true }));
        m.release();
        if (task === "mlm") {
          disposeOut(m.forward(batch(labels), { grad: true, returnLogits: false }));
          m.backward();
        }
        expect(cpu.memoryStats().allocatedBytes).toBe(before);
        m.dispose();
      }
    });
  }
});
