import type { BertTokenizer } from "../tokenizer/bert-tokenizer.js";
import type { TokenBatch } from "./batch.js";
import { unpaddedLayout, type UnpaddedLayout } from "./layout.js";
import { MaskRng } from "./rng.js";

/** Label value of positions the MLM loss ignores (PyTorch's ignore_index). */
export const IGNORE_INDEX = -100;

/** An MLM batch: the shared padded fields, labels, and the unpadded layout. */
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

  /** Masks a batch (its arrays are not modified) and adds labels and the unpadded layout. */
  collate(batch: TokenBatch): MlmBatch {
    const { batchSize, seqLen } = batch;
    const n = batchSize * seqLen;
    for (const f of ["inputIds", "tokenTypeIds", "attentionMask"] as const) {
      if (batch[f].length !== n) throw new RangeError(`MlmCollator.collate: ${f} has ${batch[f].length} entries, expected batchSize*seqLen = ${n}`);
    }
    const inputIds = Int32Array.from(batch.inputIds);
    const labels = new Int32Array(n).fill(IGNORE_INDEX);
    const mask = batch.attentionMask;
    const special = this.special;
    const nSpecial = special.length;
    const p = this.mlmProbability;
    const rng = this.rng;
    const chosen: number[] = [];
    for (let i = 0; i < n; i++) {
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
    const layout = unpaddedLayout(mask, batchSize, seqLen);
    return {
      inputIds,
      tokenTypeIds: Int32Array.from(batch.tokenTypeIds),
      attentionMask: Int32Array.from(mask),
      labels,
      batchSize,
      seqLen,
      ...layout,
      maskedPositions: Int32Array.from(chosen),
    };
  }
}
