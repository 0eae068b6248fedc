import { BertTokenizer } from "../tokenizer/bert-tokenizer.js";
import { bertBaseUncased } from "../tokenizer/bert-base-uncased.js";
import { longestFirstLengths } from "../tokenizer/truncate.js";

/** A padded batch of token ids, row-major [batchSize, seqLen] (the shared batch field names). */
export interface TokenBatch {
  inputIds: Int32Array;
  tokenTypeIds: Int32Array;
  /** 1 = real token, 0 = padding. */
  attentionMask: Int32Array;
  batchSize: number;
  seqLen: number;
}

/** A classification batch: `labels` has one entry per row (Int32Array classes, Float32Array for regression). */
export interface ClassificationBatch extends TokenBatch {
  labels: Int32Array | Float32Array;
}

function checkLength(maxLength: number, pair: boolean, where: string): void {
  if (!Number.isInteger(maxLength) || maxLength < (pair ? 3 : 2)) {
    throw new RangeError(`${where}: maxLength must be an integer ≥ ${pair ? 3 : 2} (room for the special tokens), got ${maxLength}`);
  }
}

/**
 * Tokenizes texts (or text pairs) into a [B, maxLength] batch exactly like HF
 * `tokenizer(texts, pairs, truncation=True, padding="max_length", max_length=maxLength)`.
 */
export function encodeBatch(
  texts: readonly string[],
  pairs?: readonly string[],
  maxLength = 128,
  tokenizer: BertTokenizer = bertBaseUncased(),
): TokenBatch {
  checkLength(maxLength, pairs !== undefined, "encodeBatch");
  if (pairs !== undefined && pairs.length !== texts.length) {
    throw new RangeError(`encodeBatch: pairs has ${pairs.length} entries but texts has ${texts.length}; expected one second text per text`);
  }
  const batchSize = texts.length;
  const seqLen = maxLength;
  const inputIds = new Int32Array(batchSize * seqLen).fill(tokenizer.padId);
  const tokenTypeIds = new Int32Array(batchSize * seqLen);
  const attentionMask = new Int32Array(batchSize * seqLen);
  for (let r = 0; r < batchSize; r++) {
    const row = r * seqLen;
    let k = row;
    inputIds[k++] = tokenizer.clsId;
    if (pairs === undefined) {
      const ids = tokenizer.textToIds(texts[r]!, seqLen - 2);
      for (const id of ids) inputIds[k++] = id;
      inputIds[k++] = tokenizer.sepId;
    } else {
      const a = tokenizer.textToIds(texts[r]!);
      const b = tokenizer.textToIds(pairs[r]!);
      const [nA, nB] = longestFirstLengths(a.length, b.length, seqLen - 3);
      for (let i = 0; i < nA; i++) inputIds[k++] = a[i]!;
      inputIds[k++] = tokenizer.sepId;
      const second = k;
      for (let i = 0; i < nB; i++) inputIds[k++] = b[i]!;
      inputIds[k++] = tokenizer.sepId;
      tokenTypeIds.fill(1, second, k);
    }
    attentionMask.fill(1, row, k);
  }
  return { inputIds, tokenTypeIds, attentionMask, batchSize, seqLen };
}

/** `encodeBatch` plus one label per row (GLUE: classes as Int32Array, STS-B scores with `regression`). */
export function classificationBatch(
  texts: readonly string[],
  pairs: readonly string[] | undefined,
  labels: ArrayLike<number>,
  maxLength = 256,
  options: { regression?: boolean; tokenizer?: BertTokenizer } = {},
): ClassificationBatch {
  if (labels.length !== texts.length) {
    throw new RangeError(`classificationBatch: labels has ${labels.length} entries but texts has ${texts.length}; expected one label per text`);
  }
  const batch = encodeBatch(texts, pairs, maxLength, options.tokenizer);
  const out = options.regression ? Float32Array.from(labels) : Int32Array.from(labels);
  if (!options.regression) {
    for (let i = 0; i < labels.length; i++) {
      if (!Number.isInteger(labels[i])) throw new RangeError(`classificationBatch: labels[${i}] is ${labels[i]}, expected an integer class (pass regression: true for scores)`);
    }
  }
  return { ...batch, labels: out };
}

/**
 * Pads (and truncates) already tokenized sequences to [B, seqLen]: for pre-tokenized data such as MDS
 * `tokens` columns. Ids are copied as they are; token types are 0.
 */
export function padBatch(sequences: readonly ArrayLike<number>[], seqLen: number, padId = 0): TokenBatch {
  if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`padBatch: seqLen must be a positive integer, got ${seqLen}`);
  const batchSize = sequences.length;
  const inputIds = new Int32Array(batchSize * seqLen).fill(padId);
  const attentionMask = new Int32Array(batchSize * seqLen);
  for (let r = 0; r < batchSize; r++) {
    const s = sequences[r]!;
    const n = Math.min(s.length, seqLen);
    for (let i = 0; i < n; i++) inputIds[r * seqLen + i] = Number(s[i]);
    attentionMask.fill(1, r * seqLen, r * seqLen + n);
  }
  return { inputIds, tokenTypeIds: new Int32Array(batchSize * seqLen), attentionMask, batchSize, seqLen };
}
