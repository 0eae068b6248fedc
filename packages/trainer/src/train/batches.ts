import { encodeBatch, MlmCollator, sliceMlmBatch, type BertTokenizer, type MlmBatch } from "@mosaicbert/data-streaming";
import { deriveSeed } from "./seeds.js";

/** The MLM collator of a run: the recipe's masking probability with the tokenizer's size and ids. Build one per thread. */
export function mlmCollator(tokenizer: BertTokenizer, mlmProbability: number): MlmCollator {
  return new MlmCollator({ mlmProbability, vocabSize: tokenizer.vocabSize, maskId: tokenizer.maskId, specialIds: tokenizer.specialIds });
}

/**
 * Tokenises texts exactly as the reference loader does (truncate to max_seq_len, pad to it) and
 * masks every row with its own seed (`rowSeeds[i]`): the masks of a sample depend only on that seed,
 * not on how the batch is later split into microbatches or across processes. The result is the one
 * batch shape the model takes: ids, labels, masked positions and the unpadded layout, computed here once.
 */
export function tokenizeAndMask(
  texts: readonly string[],
  tokenizer: BertTokenizer,
  seqLen: number,
  collator: MlmCollator,
  rowSeeds: readonly number[],
): MlmBatch {
  return collator.collate(encodeBatch(texts, undefined, seqLen, tokenizer), rowSeeds);
}

/** Rows [r0, r1) as a batch (views of the padded fields; the layout re-based, not recomputed). */
export const sliceRows = sliceMlmBatch;

/**
 * Mask seeds of training samples: one per (epoch, global sample id), so a document gets the same
 * masks whichever process, microbatch or position reads it, and new masks each epoch.
 */
export function sampleSeeds(seed: number, stream: number, epoch: number, ids: readonly number[]): number[] {
  return ids.map((id) => deriveSeed(seed, stream, epoch, id));
}
