import type { ForMaskedLM } from "@mosaicbert/layers";
import type { Backend, Tensor } from "@mosaicbert/tensor";
import { type Communicator, GradBuckets } from "../parallel/communicator.js";
import { type BatchCost, batchCost } from "./flops.js";
import type { MlmBatch } from "@mosaicbert/data-streaming";
import { sliceRows } from "./batches.js";
import { deriveSeed, SeedStream } from "./seeds.js";

export interface StepResult {
  /** Sample-weighted mean over microbatches of the per-microbatch mean MLM loss, averaged over ranks. */
  loss: number;
  /** Summed over ranks. */
  cost: BatchCost;
}

/**
 * Forward + backward of one device batch split into microbatches of `microbatchSize` rows, with
 * Composer's weighting: microbatch j's mean loss is scaled by (rows_j / device rows) before its
 * backward, so the accumulated gradient is the sample-weighted mean. Gradients are then averaged
 * across ranks (DDP), in buckets: during the last microbatch's backward each bucket is launched as
 * soon as its gradients are final, so with NCCL the reduction overlaps the rest of backward. The
 * caller zeroes the gradients before and steps the optimizer after.
 */
export async function forwardBackward(
  model: ForMaskedLM,
  batch: MlmBatch,
  o: {
    microbatchSize: number; seed: number; step: number; rank: number; comm: Communicator; bucketElements: number;
    /**
     * Launched after the gradients are final and before the host reads the losses (the gradient
     * norm): the device then goes straight on to it, and the host waits once per step, not twice.
     */
    afterBackward?: () => void;
  },
): Promise<StepResult> {
  const D = batch.batchSize;
  let loss = 0;
  const cost: BatchCost = { realTokens: 0, sumSqLen: 0, predicted: 0 };
  // Loss values are read only after every microbatch's backward has been launched: reading one
  // right after its forward would stall the host (and leave the device idle) once per microbatch.
  const pending: Array<{ loss: Tensor; weight: number }> = [];
  const buckets = new GradBuckets(o.comm, model.flat.grads, o.bucketElements, "mean");
  for (let r0 = 0, j = 0; r0 < D; r0 += o.microbatchSize, j++) {
    const r1 = Math.min(D, r0 + o.microbatchSize);
    const mb = sliceRows(batch, r0, r1);
    const weight = (r1 - r0) / D;
    const out = model.forward(mb, {
      training: true,
      // Dropout masks: a function of (step, j·worldSize + rank), like every other draw. The loader
      // deals a global batch's samples round-robin to the ranks (StreamingDataset), so with 1-sample
      // microbatches this index is the sample's place in the global batch: any process count then
      // draws the same masks as one process.
      seed: deriveSeed(o.seed, SeedStream.dropout, o.step, j * o.comm.worldSize + o.rank),
      gradScale: weight,
      returnLogits: false,
    });
    pending.push({ loss: out.loss!, weight });
    model.backward(r1 === D ? { onGradsReady: (frontier) => buckets.ready(frontier) } : {});
    const c = batchCost(mb);
    cost.realTokens += c.realTokens;
    cost.sumSqLen += c.sumSqLen;
    cost.predicted += c.predicted;
  }
  await buckets.finish();
  o.afterBackward?.();
  // Same summation order as reading them one by one, so the logged loss is bit-identical.
  for (const p of pending) {
    loss += p.loss.item() * p.weight;
    p.loss.dispose();
  }
  const stats = [loss, cost.realTokens, cost.sumSqLen, cost.predicted];
  const summed = await allReduceHost(o.comm, model.backend, stats);
  return {
    loss: summed[0]! / o.comm.worldSize,
    cost: { realTokens: summed[1]!, sumSqLen: summed[2]!, predicted: summed[3]! },
  };
}

/** Sums a few host numbers across ranks. */
export async function allReduceHost(comm: Communicator, backend: Backend, values: number[]): Promise<number[]> {
  if (comm.worldSize === 1) return values;
  const t: Tensor = backend.fromArray(values, [values.length], "f32");
  try {
    await comm.allReduce(t, "sum");
    return Array.from(t.toArray() as Float32Array);
  } finally {
    t.dispose();
  }
}

export interface EvalResult {
  /** Mean cross-entropy over every predicted token (Composer LanguageCrossEntropy). */
  loss: number;
  /** Top-1 accuracy over the predicted tokens (Composer MaskedAccuracy). */
  accuracy: number;
  /** Predicted tokens evaluated (all ranks). */
  tokens: number;
}

/** Evaluates fixed, pre-masked batches (no dropout, no gradients); sums are reduced across ranks. */
export async function evaluate(model: ForMaskedLM, batches: readonly MlmBatch[], comm: Communicator, microbatchSize: number): Promise<EvalResult> {
  const be = model.backend;
  let lossSum = 0;
  let correct = 0;
  let count = 0;
  for (const full of batches) {
    for (let r0 = 0; r0 < full.batchSize; r0 += microbatchSize) {
      const b = sliceRows(full, r0, Math.min(full.batchSize, r0 + microbatchSize));
      const out = model.forward(b, { training: false, grad: false, returnLogits: true });
      const n = out.numPredicted;
      if (n > 0) {
        lossSum += out.loss!.item() * n;
        const pred = be.argmax(out.logits!);
        const p = pred.toArray() as Int32Array;
        pred.dispose();
        const pos = out.predictedPositions!;
        for (let i = 0; i < n; i++) if (p[i] === b.labels[pos[i]!]) correct++;
        count += n;
      }
      out.loss?.dispose();
      out.logits?.dispose();
    }
  }
  const [ls, c, t] = await allReduceHost(comm, be, [lossSum, correct, count]);
  // Stryker disable next-line EqualityOperator,ConditionalExpression: with t = 0 the division is 0/0 = NaN too (equivalent mutants)
  return { loss: t! > 0 ? ls! / t! : NaN, accuracy: t! > 0 ? c! / t! : NaN, tokens: t! };
}
