import type { BertTokenizer } from "../tokenizer/bert-tokenizer.js";
import type { TokenBatch } from "./batch.js";
import { unpaddedLayout, type UnpaddedLayout } from "./layout.js";
import { MaskRng } from "./rng.js";

/** Label value of positions the MLM loss ignores (PyTorch's ignore_index). */
export const IGNORE_INDEX = -100;

/**
 * An MLM batch: the shared padded fields, labels, the masked positions and the unpadded layout, computed
 * once here. `@mosaicbert/layers` models take it as it is (their `Batch` has the same optional fields).
 */
export interface MlmBatch extends TokenBatch, UnpaddedLayout {
  /** Original id at masked positions, −100 elsewhere; [batchSize, seqLen]. */
  labels: Int32Array;
  /** Flat positions whose label is ≥ 0, row-major. */
  maskedPositions: Int32Array;
}

export interface MlmOptions {
  /** Probability that a position is chosen for prediction: 0.3 MosaicBERT (default), 0.15 BERT. */
  mlmProbability?: number;
  /** Seed of the masking stream. Default 0. */
  seed?: number;
  /** Random replacements are uniform in [0, vocabSize): `len(tokenizer)`, 30522 for bert-base-uncased. */
  vocabSize?: number;
  maskId?: number;
  /** Ids never chosen: [PAD], [UNK], [CLS], [SEP], [MASK] by default (0, 100, 101, 102, 103). */
  specialIds?: readonly number[];
}

/** Settings of a tokenizer for `MlmCollator`: its size, [MASK] id and special ids. */
export function mlmOptionsFor(tokenizer: BertTokenizer, options: Omit<MlmOptions, "vocabSize" | "maskId" | "specialIds"> = {}): MlmOptions {
  return { ...options, vocabSize: tokenizer.vocabSize, maskId: tokenizer.maskId, specialIds: tokenizer.specialIds };
}

/**
 * Masked-language-model collation as HF `DataCollatorForLanguageModeling`: each real, non-special position is
 * chosen with probability `mlmProbability`; chosen positions get label = original id and are replaced by
 * [MASK] 80% of the time, a uniformly random id 10%, left unchanged 10%. Padding and special tokens are never
 * chosen. Deterministic: the same seed and the same batches give the same masks.
 */
export class MlmCollator {
  readonly mlmProbability: number;
  readonly vocabSize: number;
  readonly maskId: number;
  private readonly special: Uint8Array;
  private rng: MaskRng;

  constructor(options: MlmOptions = {}) {
    const { mlmProbability = 0.3, seed = 0, vocabSize = 30522, maskId = 103, specialIds = [0, 100, 101, 102, 103] } = options;
    if (!(mlmProbability >= 0 && mlmProbability <= 1)) {
      throw new RangeError(`MlmCollator: mlmProbability must be in [0, 1] (0.3 MosaicBERT, 0.15 BERT), got ${mlmProbability}`);
    }
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new RangeError(`MlmCollator: vocabSize must be a positive integer, got ${vocabSize}`);
    this.mlmProbability = mlmProbability;
    this.vocabSize = vocabSize;
    this.maskId = maskId;
    this.special = new Uint8Array(Math.max(0, ...specialIds) + 1);
    for (const id of specialIds) this.special[id] = 1;
    this.rng = new MaskRng(seed);
  }

  /**
   * Masks a batch (its arrays are not modified) and adds labels, the masked positions and the unpadded
   * layout: the one batch shape the model consumes as it is. With `rowSeeds` (one per row) row r is
   * masked by its own stream seeded `rowSeeds[r]` — exactly what a fresh collator with that seed gives
   * the row alone — so a sample's masks do not depend on which batch, microbatch or process holds it;
   * without, the collator's own stream advances across rows and batches.
   */
  collate(batch: TokenBatch, rowSeeds?: readonly number[]): MlmBatch {
    const { batchSize, seqLen } = batch;
    const n = batchSize * seqLen;
    for (const f of ["inputIds", "tokenTypeIds", "attentionMask"] as const) {
      if (batch[f].length !== n) throw new RangeError(`MlmCollator.collate: ${f} has ${batch[f].length} entries, expected batchSize*seqLen = ${n}`);
    }
    if (rowSeeds !== undefined && rowSeeds.length !== batchSize) {
      throw new RangeError(`MlmCollator.collate: rowSeeds has ${rowSeeds.length} entries, expected one per row (batchSize ${batchSize})`);
    }
    const inputIds = Int32Array.from(batch.inputIds);
    const labels = new Int32Array(n).fill(IGNORE_INDEX);
    const mask = batch.attentionMask;
    const chosen: number[] = [];
    for (let r = 0; r < batchSize; r++) {
      const rng = rowSeeds === undefined ? this.rng : new MaskRng(rowSeeds[r]!);
      this.maskRange(inputIds, labels, mask, r * seqLen, (r + 1) * seqLen, rng, chosen);
    }
    return mlmBatch({ ...batch, inputIds, tokenTypeIds: Int32Array.from(batch.tokenTypeIds), attentionMask: Int32Array.from(mask) }, labels, Int32Array.from(chosen));
  }

  /** Masks positions [start, end) in place with `rng`, appending the chosen ones to `chosen`. */
  private maskRange(inputIds: Int32Array, labels: Int32Array, mask: Int32Array, start: number, end: number, rng: MaskRng, chosen: number[]): void {
    const special = this.special;
    const nSpecial = special.length;
    const p = this.mlmProbability;
    for (let i = start; i < end; i++) {
      const id = inputIds[i]!;
      if (mask[i] === 0 || (id < nSpecial && special[id] === 1)) continue;
      if (rng.next() >= p) continue;
      labels[i] = id;
      chosen.push(i);
      const r = rng.next();
      if (r < 0.8) inputIds[i] = this.maskId;
      else if (r < 0.9) inputIds[i] = rng.int(this.vocabSize);
      // else: kept unchanged, still predicted
    }
  }
}

/**
 * An MLM batch from ids already masked and their labels (−100 = not predicted): the unpadded layout and
 * the masked positions are added (`maskedPositions` when the caller has them, else from the labels). The
 * arrays are taken as they are, not copied. `MlmCollator.collate` ends here.
 */
export function mlmBatch(batch: TokenBatch, labels: Int32Array, maskedPositions?: Int32Array): MlmBatch {
  const { batchSize, seqLen } = batch;
  if (labels.length !== batchSize * seqLen) {
    throw new RangeError(`mlmBatch: labels has ${labels.length} entries, expected batchSize*seqLen = ${batchSize * seqLen}`);
  }
  const masked = maskedPositions ?? Int32Array.from([...labels.keys()].filter((i) => labels[i] !== IGNORE_INDEX));
  return { ...batch, labels, ...unpaddedLayout(batch.attentionMask, batchSize, seqLen), maskedPositions: masked };
}

/**
 * Rows [r0, r1) of an MLM batch as a batch of its own (microbatches): the padded fields are views, the
 * layout and masked positions are the batch's own, re-based to the slice (no scan of the mask).
 */
export function sliceMlmBatch(b: MlmBatch, r0: number, r1: number): MlmBatch {
  const S = b.seqLen;
  if (!(Number.isInteger(r0) && Number.isInteger(r1) && 0 <= r0 && r0 < r1 && r1 <= b.batchSize)) {
    throw new RangeError(`sliceMlmBatch: rows [${r0}, ${r1}) are not a non-empty range inside [0, ${b.batchSize})`);
  }
  const t0 = b.cuSeqlens[r0]!;
  const t1 = b.cuSeqlens[r1]!;
  const cuSeqlens = Int32Array.from(b.cuSeqlens.subarray(r0, r1 + 1), (c) => c - t0);
  let maxSeqlen = 0;
  for (let r = 0; r < r1 - r0; r++) maxSeqlen = Math.max(maxSeqlen, cuSeqlens[r + 1]! - cuSeqlens[r]!);
  const lo = lowerBound(b.maskedPositions, r0 * S);
  const hi = lowerBound(b.maskedPositions, r1 * S);
  return {
    inputIds: b.inputIds.subarray(r0 * S, r1 * S),
    tokenTypeIds: b.tokenTypeIds.subarray(r0 * S, r1 * S),
    attentionMask: b.attentionMask.subarray(r0 * S, r1 * S),
    labels: b.labels.subarray(r0 * S, r1 * S),
    batchSize: r1 - r0,
    seqLen: S,
    indices: Int32Array.from(b.indices.subarray(t0, t1), (i) => i - r0 * S),
    cuSeqlens,
    maxSeqlen,
    maskedPositions: Int32Array.from(b.maskedPositions.subarray(lo, hi), (p) => p - r0 * S),
  };
}

/** First index of a sorted array whose value is ≥ x. */
function lowerBound(a: Int32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
