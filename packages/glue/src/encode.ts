import type { BertTokenizer } from "@mosaicbert/data-streaming";
import type { GlueExample } from "./example.js";

/**
 * A split tokenized once: per example its ids ([CLS] a [SEP] (b [SEP]), truncated longest-first to
 * maxSeqLen) and where token type 1 starts. Batches are cut from it without re-tokenizing.
 */
export interface EncodedSplit {
  ids: Int32Array[];
  /** Index of the first token of type 1 (the second text); ids.length for single texts. */
  typeStart: Int32Array;
  labels: Float64Array;
  maxSeqLen: number;
}

/** Tokenizes examples as the reference does (HF tokenizer, truncation=True, max_length=maxSeqLen). */
export function encodeExamples(examples: readonly GlueExample[], tokenizer: BertTokenizer, maxSeqLen: number): EncodedSplit {
  if (!Number.isInteger(maxSeqLen) || maxSeqLen < 3) {
    throw new RangeError(`--max-seq-len: expected an integer ≥ 3 (room for [CLS] a [SEP] b [SEP]), got ${maxSeqLen}`);
  }
  const ids: Int32Array[] = [];
  const typeStart = new Int32Array(examples.length);
  const labels = new Float64Array(examples.length);
  examples.forEach((ex, i) => {
    const enc = tokenizer.encode(ex.a, ex.b, { maxLength: maxSeqLen, truncation: true });
    ids.push(Int32Array.from(enc.inputIds));
    const t = enc.tokenTypeIds.indexOf(1);
    typeStart[i] = t < 0 ? enc.inputIds.length : t;
    labels[i] = ex.label;
  });
  return { ids, typeStart, labels, maxSeqLen };
}

/** One batch in the shared field layout (row-major [B, S] typed arrays, labels of length B). */
export interface GlueBatch {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  attentionMask: Int32Array;
  labels: Int32Array | Float32Array;
  batchSize: number;
  seqLen: number;
}

/**
 * Rows [start, end) as a right-padded batch. The reference pads every row to max_length (256); this
 * pads to the longest row of the batch instead. The outputs are the same — MosaicBERT unpads before
 * the encoder and BERT masks padded keys, and a right-padded row keeps its positions — at a fraction
 * of the cost for short tasks such as SST-2.
 */
export function sliceBatch(set: EncodedSplit, start: number, end: number, regression: boolean, padId = 0): GlueBatch {
  return gatherBatch(set, Int32Array.from({ length: end - start }, (_, i) => start + i), regression, padId);
}

/** The given rows (in that order) as a right-padded batch, padded to the longest of them. */
export function gatherBatch(set: EncodedSplit, rows: ArrayLike<number>, regression: boolean, padId = 0): GlueBatch {
  const B = rows.length;
  let S = 1;
  for (let r = 0; r < B; r++) S = Math.max(S, set.ids[rows[r]!]!.length);
  const inputIds = new Int32Array(B * S).fill(padId);
  const tokenTypeIds = new Int32Array(B * S);
  const attentionMask = new Int32Array(B * S);
  const labels = regression ? new Float32Array(B) : new Int32Array(B);
  for (let r = 0; r < B; r++) {
    const i = rows[r]!;
    const ids = set.ids[i]!;
    inputIds.set(ids, r * S);
    attentionMask.fill(1, r * S, r * S + ids.length);
    tokenTypeIds.fill(1, r * S + set.typeStart[i]!, r * S + ids.length);
    labels[r] = set.labels[i]!;
  }
  return { inputIds, tokenTypeIds, attentionMask, labels, batchSize: B, seqLen: S };
}
