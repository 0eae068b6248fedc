import { describe, expect, it } from "vitest";
import { createModel, preset, type ForMaskedLM } from "@mosaicbert/layers";
import { cpu, type Tensor } from "@mosaicbert/tensor";
import { SingleProcessCommunicator, type Communicator } from "../parallel/communicator.js";
import { mlmBatch, type MlmBatch } from "@mosaicbert/data-streaming";
import { evaluate } from "./step.js";

// The held-out MLM accuracy and loss behind every quality figure, against a hand computation from the
// model's logits: argmax and log-sum-exp in doubles, over every predicted token of every batch.

const V = 40;
const S = 8;
const config = preset("tiny", { vocabSize: V, hiddenSize: 16, numAttentionHeads: 2, intermediateSize: 12, numHiddenLayers: 2, initializerRange: 0.5 });

/** Rows of ids (0 = padding) with every 2nd real position predicted (label values set later), or none. */
function rows(ids: number[][], predict = true): MlmBatch {
  const B = ids.length;
  const b = { inputIds: new Int32Array(B * S), tokenTypeIds: new Int32Array(B * S), attentionMask: new Int32Array(B * S), batchSize: B, seqLen: S };
  const labels = new Int32Array(B * S).fill(-100);
  ids.forEach((r, i) =>
    r.forEach((id, s) => {
      b.inputIds[i * S + s] = id;
      b.attentionMask[i * S + s] = 1;
      if (predict && s % 2 === 1) labels[i * S + s] = 1;
    }),
  );
  return mlmBatch(b, labels);
}

interface Hand {
  /** Logits [V] of each predicted flat position (hand forward of the whole batch at once). */
  logits: Map<number, Float64Array>;
}

function logitsByPosition(model: ForMaskedLM, b: MlmBatch): Hand {
  const out = model.forward(b, { training: false, grad: false, returnLogits: true });
  const l = out.logits!.toArray() as Float32Array;
  const pos = out.predictedPositions!;
  const logits = new Map<number, Float64Array>();
  pos.forEach((p, i) => logits.set(p, Float64Array.from(l.subarray(i * V, (i + 1) * V))));
  out.loss?.dispose();
  out.logits?.dispose();
  return { logits };
}

const argmax = (x: Float64Array): number => {
  let best = 0;
  for (let j = 1; j < x.length; j++) if (x[j]! > x[best]!) best = j;
  return best;
};
const crossEntropy = (x: Float64Array, label: number): number => {
  const m = Math.max(...x);
  let s = 0;
  for (const v of x) s += Math.exp(v - m);
  return m + Math.log(s) - x[label]!;
};

/**
 * Sets the labels of `b` so that the model's top-1 is right at the predicted positions whose index
 * satisfies `right(k)` and wrong elsewhere; returns the hand-computed loss sum, correct count, count.
 */
function label(b: MlmBatch, hand: Hand, right: (k: number) => boolean): { lossSum: number; correct: number; count: number } {
  let lossSum = 0;
  let correct = 0;
  let k = 0;
  for (const [p, x] of [...hand.logits].sort((a, c) => a[0] - c[0])) {
    const top = argmax(x);
    // A wrong label: the runner-up (never the top), kept away from the [PAD] id 0 (label > 0 selects).
    let y = top;
    if (!right(k)) {
      y = top === 1 ? 2 : 1;
      for (let j = 1; j < V; j++) if (j !== top && x[j]! > x[y]!) y = j;
    } else if (top === 0) throw new Error("fixture: the model's top-1 is [PAD]; change the seed");
    b.labels[p] = y;
    if (y === top) correct++;
    lossSum += crossEntropy(x, y);
    k++;
  }
  return { lossSum, correct, count: k };
}

/** Two ranks: this one and a fixed other rank whose sums are added by the all-reduce. */
class TwoRanks implements Communicator {
  readonly rank = 0;
  readonly worldSize = 2;
  readonly kind = "fake";
  calls = 0;
  constructor(private readonly other: number[]) {}
  async allReduce(t: Tensor, op: "sum" | "mean" = "sum"): Promise<void> {
    this.calls++;
    expect(op).toBe("sum");
    const x = t.toArray() as Float32Array;
    t.backend.write(t, Float32Array.from(x, (v, i) => v + this.other[i]!));
  }
  async broadcast(): Promise<void> {}
  async barrier(): Promise<void> {}
  async close(): Promise<void> {}
}

describe("evaluate (held-out MLM loss and accuracy)", () => {
  const model = createModel(config, "mlm", cpu, { seed: 11 });
  const b1 = rows([
    [2, 5, 7, 9, 11, 13, 3],
    [4, 6, 8, 10, 12],
    [21, 22, 23, 24, 25, 26, 27, 28],
  ]);
  const b2 = rows([
    [30, 31, 32, 33, 34, 35],
    [14, 15, 16, 17, 18, 19, 20, 29],
  ]);
  const h1 = logitsByPosition(model, b1);
  const h2 = logitsByPosition(model, b2);
  // About a third right: accuracy, 1 − accuracy and 0.5 all differ.
  const s1 = label(b1, h1, (k) => k % 3 === 0);
  const s2 = label(b2, h2, (k) => k % 3 === 1);
  const total = { lossSum: s1.lossSum + s2.lossSum, correct: s1.correct + s2.correct, count: s1.count + s2.count };

  it("equals the hand computation over every predicted token, for any microbatch size", async () => {
    expect(total.count).toBe(16);
    expect(total.correct).toBe(5);
    for (const M of [1, 2, 3, 8]) {
      const r = await evaluate(model, [b1, b2], new SingleProcessCommunicator(), M);
      expect(r.tokens).toBe(16);
      expect(r.accuracy).toBe(5 / 16);
      // Token-weighted mean cross-entropy (not a mean of per-batch or per-microbatch means).
      expect(r.loss).toBeCloseTo(total.lossSum / 16, 5);
    }
  });

  it("skips microbatches without predicted tokens and sums the ranks before dividing", async () => {
    const none = rows([[2, 3, 4]], false);
    const other = [7 * 2.5, 3, 7]; // the other rank: 7 tokens, 3 right, mean loss 2.5
    const comm = new TwoRanks(other);
    const r = await evaluate(model, [none, b1, b2], comm, 2);
    expect(comm.calls).toBe(1);
    expect(r.tokens).toBe(23);
    expect(r.accuracy).toBeCloseTo(8 / 23, 6);
    expect(r.loss).toBeCloseTo((total.lossSum + 17.5) / 23, 4);
  });

  it("reports NaN, not 0 or 1, when nothing is predicted", async () => {
    const none = rows([[2, 3, 4]], false);
    const r = await evaluate(model, [none], new SingleProcessCommunicator(), 4);
    expect(r.tokens).toBe(0);
    expect(r.accuracy).toBeNaN();
    expect(r.loss).toBeNaN();
  });

  it("leaves no tensor behind: evaluation keeps no activations for a backward pass", async () => {
    const before = cpu.memoryStats().allocatedBytes;
    const r = await evaluate(model, [b1, b2], new SingleProcessCommunicator(), 3);
    expect(r.tokens).toBe(16);
    expect(cpu.memoryStats().allocatedBytes).toBe(before);
  });
});

