import type { ForMaskedLM } from "@mosaicbert/layers";
import { type Backend, cpu, type Tensor } from "@mosaicbert/tensor";
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

/** A forward and backward whose work is queued: this rank's microbatch losses, still on the device. */
export interface LaunchedForwardBackward {
  /** Each microbatch's mean loss (float32 [1]) and its weight rows/device rows; the caller disposes them. */
  losses: Array<{ loss: Tensor; weight: number }>;
  /** This rank's cost. */
  cost: BatchCost;
}

/**
 * Forward + backward of one device batch split into microbatches of `microbatchSize` rows, with
 * Composer's weighting: microbatch j's mean loss is scaled by (rows_j / device rows) before its
 * backward, so the accumulated gradient is the sample-weighted mean. Gradients are then averaged
 * across ranks (DDP), in buckets: during the last microbatch's backward each bucket is launched as
 * soon as its gradients are final, so with NCCL the reduction overlaps the rest of backward. The
 * caller zeroes the gradients before and steps the optimizer after. Nothing is read back: the losses
 * stay on the device (see `reduceStepLoss`).
 */
export async function launchForwardBackward(
  model: ForMaskedLM,
  batch: MlmBatch,
  o: { microbatchSize: number; seed: number; step: number; rank: number; comm: Communicator; bucketElements: number },
): Promise<LaunchedForwardBackward> {
  const D = batch.batchSize;
  const cost: BatchCost = { realTokens: 0, sumSqLen: 0, predicted: 0 };
  const losses: LaunchedForwardBackward["losses"] = [];
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
    losses.push({ loss: out.loss!, weight });
    model.backward(r1 === D ? { onGradsReady: (frontier) => buckets.ready(frontier) } : {});
    const c = batchCost(mb);
    cost.realTokens += c.realTokens;
    cost.sumSqLen += c.sumSqLen;
    cost.predicted += c.predicted;
  }
  await buckets.finish();
  return { losses, cost };
}

/**
 * The step's loss and cost across ranks, from this rank's microbatch losses (as read back, in
 * microbatch order) and cost.
 */
export async function reduceStepLoss(comm: Communicator, backend: Backend, losses: ReadonlyArray<{ value: number; weight: number }>, cost: BatchCost): Promise<StepResult> {
  let loss = 0;
  for (const l of losses) loss += l.value * l.weight;
  const summed = await allReduceHost(comm, backend, [loss, cost.realTokens, cost.sumSqLen, cost.predicted]);
  return {
    loss: summed[0]! / comm.worldSize,
    cost: { realTokens: summed[1]!, sumSqLen: summed[2]!, predicted: summed[3]! },
  };
}

/** `launchForwardBackward`, then the losses read back (one wait for the device) and reduced across ranks. */
export async function forwardBackward(
  model: ForMaskedLM,
  batch: MlmBatch,
  o: { microbatchSize: number; seed: number; step: number; rank: number; comm: Communicator; bucketElements: number },
): Promise<StepResult> {
  const { losses, cost } = await launchForwardBackward(model, batch, o);
  const values = losses.map((l) => {
    const value = l.loss.item();
    l.loss.dispose();
    return { value, weight: l.weight };
  });
  return reduceStepLoss(o.comm, model.backend, values, cost);
}

/** Sums a few host numbers across ranks. */
export async function allReduceHost(comm: Communicator, backend: Backend, values: number[]): Promise<number[]> {
  if (comm.worldSize === 1) return values;
  // Over the host channel where the communicator has one (NCCL's): a device all-reduce and its read
  // would wait for every step queued on the stream, the one launched ahead included.
  const via = comm.host ?? comm;
  const t: Tensor = (comm.host ? cpu : backend).fromArray(values, [values.length], "f32");
  try {
    await via.allReduce(t, "sum");
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
