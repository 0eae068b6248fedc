import type { MlmBatch } from "@mosaicbert/data-streaming";
import type { ModelConfig } from "@mosaicbert/layers";

/** What a batch costs, from its layout: real tokens, Σ(sequence length²) and predicted positions (label > 0). */
export interface BatchCost {
  realTokens: number;
  sumSqLen: number;
  predicted: number;
}

export function batchCost(batch: Pick<MlmBatch, "batchSize" | "cuSeqlens" | "labels" | "maskedPositions">): BatchCost {
  const { batchSize, cuSeqlens, labels, maskedPositions } = batch;
  let sumSqLen = 0;
  for (let b = 0; b < batchSize; b++) {
    const n = cuSeqlens[b + 1]! - cuSeqlens[b]!;
    sumSqLen += n * n;
  }
  let predicted = 0;
  for (const p of maskedPositions) if (labels[p]! > 0) predicted++;
  return { realTokens: cuSeqlens[batchSize]!, sumSqLen, predicted };
}

/**
 * Model FLOPs of one training pass (forward + backward = 3 × forward matmul FLOPs) over the work the
 * model actually does: MosaicBERT runs on unpadded tokens, attention costs Σ s² per layer; the last
 * layer projects Q/K/V and attends for every token but runs its output projection and feed-forward
 * only on the predicted rows (spec §3.5, both architectures here), and the MLM head runs on those rows
 * only. The BERT baseline computes every padded position. A batch without predicted rows runs the
 * last layer whole.
 */
export function trainFlops(c: ModelConfig, cost: BatchCost, paddedTokens: number, seqLen: number, batchSize: number): number {
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const L = c.numHiddenLayers;
  const V = c.vocabSize;
  const mosaic = c.arch === "mosaic-bert";
  const qkv = 2 * 3 * H * H;
  // Output projection + feed-forward (MosaicBERT's GLU: H → 2I, then I → H).
  const post = mosaic ? 2 * (H * H + 3 * I * H) : 2 * (H * H + 2 * I * H);
  const tokens = mosaic ? cost.realTokens : paddedTokens;
  const sumSq = mosaic ? cost.sumSqLen : batchSize * seqLen * seqLen;
  const attention = 2 * 2 * H * sumSq;
  const lastRows = cost.predicted > 0 ? cost.predicted : tokens;
  const head = 2 * (H * H + H * V);
  const forward = L * (tokens * qkv + attention) + (L - 1) * tokens * post + lastRows * post + cost.predicted * head;
  return 3 * forward;
}
