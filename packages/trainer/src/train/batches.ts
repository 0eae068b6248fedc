import { encodeBatch, MlmCollator, type BertTokenizer } from "@mosaicbert/data-streaming";
import type { Batch } from "@mosaicbert/layers";
import { deriveSeed } from "./seeds.js";

/** An MLM batch in the shared field names, [B, S] row-major. */
export interface MlmRows extends Batch {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
  labels: Int32Array;
}

/**
 * Tokenises texts exactly as the reference loader does (truncate to max_seq_len, pad to it) and
 * masks every row with its own seed (`rowSeeds[i]`): the masks of a sample depend only on that seed,
 * not on how the batch is later split into microbatches or across processes.
 */
export function tokenizeAndMask(
  texts: readonly string[],
  tokenizer: BertTokenizer,
  seqLen: number,
  mlmProbability: number,
  rowSeeds: readonly number[],
): MlmRows {
  const tb = encodeBatch(texts, undefined, seqLen, tokenizer);
  const B = tb.batchSize;
  const out: MlmRows = {
    inputIds: new Int32Array(B * seqLen),
    tokenTypeIds: tb.tokenTypeIds,
    attentionMask: tb.attentionMask,
    labels: new Int32Array(B * seqLen),
    batchSize: B,
    seqLen,
  };
  for (let r = 0; r < B; r++) {
    const collator = new MlmCollator({ mlmProbability, seed: rowSeeds[r]!, vocabSize: tokenizer.vocabSize, maskId: tokenizer.maskId, specialIds: tokenizer.specialIds });
    const row = collator.collate({
      inputIds: tb.inputIds.subarray(r * seqLen, (r + 1) * seqLen),
      tokenTypeIds: tb.tokenTypeIds.subarray(r * seqLen, (r + 1) * seqLen),
      attentionMask: tb.attentionMask.subarray(r * seqLen, (r + 1) * seqLen),
      batchSize: 1,
      seqLen,
    });
    out.inputIds.set(row.inputIds, r * seqLen);
    out.labels.set(row.labels, r * seqLen);
  }
  return out;
}

/** Rows [r0, r1) as a batch (views, no copies). */
export function sliceRows(b: MlmRows, r0: number, r1: number): MlmRows {
  const S = b.seqLen;
  return {
    inputIds: b.inputIds.subarray(r0 * S, r1 * S),
    tokenTypeIds: b.tokenTypeIds.subarray(r0 * S, r1 * S),
    attentionMask: b.attentionMask.subarray(r0 * S, r1 * S),
    labels: b.labels.subarray(r0 * S, r1 * S),
    batchSize: r1 - r0,
    seqLen: S,
  };
}

/**
 * Mask seeds of training samples: one per (epoch, global sample id), so a document gets the same
 * masks whichever process, microbatch or position reads it, and new masks each epoch.
 */
export function sampleSeeds(seed: number, stream: number, epoch: number, ids: readonly number[]): number[] {
  return ids.map((id) => deriveSeed(seed, stream, epoch, id));
}
