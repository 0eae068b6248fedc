/** The unpadded layout MosaicBERT's attention runs on: real tokens only, packed row after row. */
export interface UnpaddedLayout {
  /** Flat positions (row * seqLen + col) of real tokens, in row-major order. */
  indices: Int32Array;
  /** Cumulative real-token counts, length batchSize + 1: row r's tokens are indices[cuSeqlens[r] … cuSeqlens[r+1]). */
  cuSeqlens: Int32Array;
  /** Longest row, in real tokens. */
  maxSeqlen: number;
}

/** Derives the unpadded layout from an attention mask (1 = real token), row-major [batchSize, seqLen]. */
export function unpaddedLayout(attentionMask: Int32Array, batchSize: number, seqLen: number): UnpaddedLayout {
  if (attentionMask.length !== batchSize * seqLen) {
    throw new RangeError(`unpaddedLayout: attentionMask has ${attentionMask.length} entries, expected batchSize*seqLen = ${batchSize * seqLen}`);
  }
  const cuSeqlens = new Int32Array(batchSize + 1);
  let total = 0;
  let maxSeqlen = 0;
  for (let r = 0; r < batchSize; r++) {
    let n = 0;
    for (let i = r * seqLen, end = i + seqLen; i < end; i++) n += attentionMask[i]! !== 0 ? 1 : 0;
    total += n;
    cuSeqlens[r + 1] = total;
    if (n > maxSeqlen) maxSeqlen = n;
  }
  const indices = new Int32Array(total);
  let k = 0;
  for (let i = 0; i < attentionMask.length; i++) if (attentionMask[i]! !== 0) indices[k++] = i;
  return { indices, cuSeqlens, maxSeqlen };
}
