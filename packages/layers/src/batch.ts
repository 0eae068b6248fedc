import type { ModelConfig } from "./config.js";
import { InputError } from "./errors.js";

/**
 * A batch as the data pipeline produces it: row-major [B, S] typed arrays. `@mosaicbert/data-streaming`'s
 * `MlmCollator` fills every field, the unpadded layout and masked positions included (its `MlmBatch` is
 * this shape), and the model then uses them as they are; a batch without them (inference, GLUE) has its
 * layout derived from `attentionMask` once, at the start of the forward pass.
 */
export interface Batch {
  inputIds: Int32Array;
  /** 1 = real token, 0 = padding. Default: all ones. */
  attentionMask?: Int32Array | null;
  /** Default: all zeros. */
  tokenTypeIds?: Int32Array | null;
  /** MLM: [B, S] with −100 = not predicted. Classification: [B] (Int32Array, or Float32Array for regression). */
  labels?: Int32Array | Float32Array | null;
  batchSize: number;
  seqLen: number;
  /** The unpadded layout: [B+1] cumulative real-token counts (with `indices` and `maxSeqlen`, or none of them). */
  cuSeqlens?: Int32Array | null;
  /** Flat padded position (b·S + s) of each real token, row-major. */
  indices?: Int32Array | null;
  /** Longest row, in real tokens. */
  maxSeqlen?: number | null;
  /** MLM: the flat positions whose label is not −100, increasing. */
  maskedPositions?: Int32Array | null;
}

/** Host-side description of the unpadded layout: token t of the packed [T, H] matrix is padded slot indices[t]. */
export interface Unpadding {
  batchSize: number;
  seqLen: number;
  /** Number of real tokens. */
  total: number;
  /** Flat padded index (b·S + s) of each real token, row-major. */
  indices: Int32Array;
  /** [B+1] prefix sums of the row lengths. */
  cuSeqlens: Int32Array;
  /** Position of each real token inside its padded row. */
  positions: Int32Array;
  /** True when every row is a prefix of real tokens (positions equal the packed offsets). */
  rightPadded: boolean;
  maxSeqlen: number;
}

function checkLength(field: string, a: ArrayLike<number>, n: number, form: string): void {
  if (a.length !== n) throw new InputError(field, `expected ${n} elements (${form}), got ${a.length}`);
}

/**
 * Checks a batch against a config and throws InputError naming the field and row on bad input:
 * wrong lengths, ids ≥ vocab size, token types out of range, mask values other than 0/1, a row with
 * no real token, labels out of range.
 */
export function validateBatch(batch: Batch, config: ModelConfig, task: "mlm" | "cls" | "none"): void {
  const { batchSize: B, seqLen: S } = batch;
  if (!Number.isInteger(B) || B < 1) throw new InputError("batchSize", `expected a positive integer, got ${B}`);
  if (!Number.isInteger(S) || S < 1) throw new InputError("seqLen", `expected a positive integer, got ${S}`);
  const form = `batchSize ${B} × seqLen ${S}`;
  checkLength("inputIds", batch.inputIds, B * S, form);
  const V = config.vocabSize;
  for (let i = 0; i < B * S; i++) {
    const id = batch.inputIds[i]!;
    if (!(id >= 0 && id < V)) {
      throw new InputError("inputIds", `position ${i % S}: token id ${id} is outside [0, ${V}) (vocab_size ${V})`, Math.floor(i / S));
    }
  }
  if (batch.tokenTypeIds) {
    checkLength("tokenTypeIds", batch.tokenTypeIds, B * S, form);
    const T = config.typeVocabSize;
    for (let i = 0; i < B * S; i++) {
      const t = batch.tokenTypeIds[i]!;
      if (!(t >= 0 && t < T)) throw new InputError("tokenTypeIds", `position ${i % S}: type ${t} is outside [0, ${T}) (type_vocab_size ${T})`, Math.floor(i / S));
    }
  }
  const mask = batch.attentionMask;
  if (mask) {
    checkLength("attentionMask", mask, B * S, form);
    for (let b = 0; b < B; b++) {
      let n = 0;
      for (let s = 0; s < S; s++) {
        const m = mask[b * S + s]!;
        if (m !== 0 && m !== 1) throw new InputError("attentionMask", `position ${s}: expected 0 or 1, got ${m}`, b);
        n += m;
      }
      if (n === 0) throw new InputError("attentionMask", "row has no real token (all zeros)", b);
    }
  }
  validateLayout(batch);
  if (config.arch === "bert" && S > config.maxPositionEmbeddings) {
    throw new InputError("seqLen", `${S} exceeds max_position_embeddings ${config.maxPositionEmbeddings} of this BERT model (learned positions)`);
  }
  const labels = batch.labels;
  if (!labels || task === "none") return;
  if (task === "mlm") {
    checkLength("labels", labels, B * S, `${form}, −100 = not predicted`);
    for (let i = 0; i < B * S; i++) {
      const l = labels[i]!;
      const row = Math.floor(i / S);
      if (l === -100) continue;
      if (!(Number.isInteger(l) && l >= 0 && l < V)) throw new InputError("labels", `position ${i % S}: label ${l} is neither −100 nor in [0, ${V})`, row);
      if (mask && mask[i] === 0 && (config.arch === "bert" || l > 0)) {
        throw new InputError("labels", `position ${i % S}: label ${l} on a padded position (attentionMask 0)`, row);
      }
    }
    if (batch.maskedPositions) validateMaskedPositions(batch.maskedPositions, labels, S);
    return;
  }
  checkLength("labels", labels, B, `one per row (batchSize ${B})`);
  const C = config.numLabels;
  for (let b = 0; b < B; b++) {
    const l = labels[b]!;
    if (C === 1) {
      if (!Number.isFinite(l)) throw new InputError("labels", `regression target must be finite, got ${l}`, b);
    } else if (!(Number.isInteger(l) && l >= 0 && l < C)) {
      throw new InputError("labels", `class ${l} is outside [0, ${C}) (num_labels ${C})`, b);
    }
  }
}

/**
 * A batch's own layout (cuSeqlens, indices, maxSeqlen) must describe its attention mask exactly: rows of
 * 1…S real tokens, each row's indices increasing inside the row, and a real token wherever the mask is 1.
 */
function validateLayout(batch: Batch): void {
  const { cuSeqlens: cu, indices, maxSeqlen } = batch;
  const given = [cu, indices, maxSeqlen].filter((v) => v !== undefined && v !== null).length;
  if (given === 0) return;
  if (given !== 3) throw new InputError("cuSeqlens", "the unpadded layout needs cuSeqlens, indices and maxSeqlen together (or none of them)");
  const { batchSize: B, seqLen: S } = batch;
  checkLength("cuSeqlens", cu!, B + 1, `batchSize ${B} + 1`);
  if (cu![0] !== 0) throw new InputError("cuSeqlens", `expected 0 first, got ${cu![0]}`);
  let longest = 0;
  for (let b = 0; b < B; b++) {
    const n = cu![b + 1]! - cu![b]!;
    if (!(n >= 1 && n <= S)) throw new InputError("cuSeqlens", `row length ${n} is outside [1, seqLen ${S}]`, b);
    longest = Math.max(longest, n);
  }
  if (!(Number.isInteger(maxSeqlen) && maxSeqlen! >= longest && maxSeqlen! <= S)) {
    throw new InputError("maxSeqlen", `expected an integer in [${longest} (the longest row), ${S}], got ${maxSeqlen}`);
  }
  checkLength("indices", indices!, cu![B]!, "cuSeqlens[batchSize] real tokens");
  const mask = batch.attentionMask;
  let k = 0;
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      const i = b * S + s;
      const real = k < cu![b + 1]! && indices![k] === i;
      if (real) k++;
      if ((mask ? mask[i] === 1 : true) !== real) {
        throw new InputError("indices", `position ${s}: ${real ? "listed as a real token" : "not listed"} but attentionMask is ${mask ? mask[i] : "absent (all ones)"}`, b);
      }
    }
    if (k !== cu![b + 1]) throw new InputError("indices", `expected ${cu![b + 1]! - cu![b]!} increasing positions inside the row (cuSeqlens)`, b);
  }
}

/** `maskedPositions` must be exactly the positions whose label is not −100, increasing. */
function validateMaskedPositions(positions: Int32Array, labels: Int32Array | Float32Array, S: number): void {
  let k = 0;
  for (let i = 0; i < labels.length; i++) {
    const listed = k < positions.length && positions[k] === i;
    if (listed) k++;
    if (listed !== (labels[i] !== -100)) {
      throw new InputError("maskedPositions", `position ${i % S}: ${listed ? "listed but its label is −100" : `label ${labels[i]} not listed`} (expected the labelled positions, increasing)`, Math.floor(i / S));
    }
  }
  if (k !== positions.length) throw new InputError("maskedPositions", `entry ${k} (${positions[k]}) is out of order or outside [0, ${labels.length})`);
}

/**
 * The layout the encoder runs on. MosaicBERT: the batch's own (collator) layout when it has one, else the
 * one `unpad` derives from the attention mask; BERT runs every padded position (identity layout).
 */
export function batchLayout(batch: Batch, arch: ModelConfig["arch"]): Unpadding {
  const { batchSize: B, seqLen: S } = batch;
  if (arch === "bert") return identityLayout(B, S);
  if (batch.cuSeqlens && batch.indices) return fromLayout(batch.cuSeqlens, batch.indices, batch.maxSeqlen!, B, S);
  return unpad(batch.attentionMask, B, S);
}

/** Every padded position, in order (BERT's layout). */
export function identityLayout(B: number, S: number): Unpadding {
  const indices = new Int32Array(B * S);
  const positions = new Int32Array(B * S);
  for (let i = 0; i < B * S; i++) {
    indices[i] = i;
    positions[i] = i % S;
  }
  const cuSeqlens = Int32Array.from({ length: B + 1 }, (_, b) => b * S);
  return { batchSize: B, seqLen: S, total: B * S, indices, cuSeqlens, positions, rightPadded: true, maxSeqlen: S };
}

/** An Unpadding from a given (validated) layout: positions from the indices, no scan of the mask. */
function fromLayout(cuSeqlens: Int32Array, indices: Int32Array, maxSeqlen: number, B: number, S: number): Unpadding {
  const total = indices.length;
  const positions = new Int32Array(total);
  let rightPadded = true;
  for (let b = 0; b < B; b++) {
    for (let t = cuSeqlens[b]!, end = cuSeqlens[b + 1]!; t < end; t++) {
      const s = indices[t]! - b * S;
      positions[t] = s;
      if (s !== t - cuSeqlens[b]!) rightPadded = false;
    }
  }
  return { batchSize: B, seqLen: S, total, indices, cuSeqlens, positions, rightPadded, maxSeqlen: rightPadded ? maxSeqlen : S };
}

/** Computes the unpadded layout from the attention mask (all ones when absent). */
export function unpad(mask: Int32Array | null | undefined, B: number, S: number): Unpadding {
  const cuSeqlens = new Int32Array(B + 1);
  let total = 0;
  let maxSeqlen = 0;
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let s = 0; s < S; s++) n += mask ? (mask[b * S + s] !== 0 ? 1 : 0) : 1;
    total += n;
    cuSeqlens[b + 1] = total;
    maxSeqlen = Math.max(maxSeqlen, n);
  }
  const indices = new Int32Array(total);
  const positions = new Int32Array(total);
  let t = 0;
  let rightPadded = true;
  for (let b = 0; b < B; b++) {
    for (let s = 0; s < S; s++) {
      if (mask && mask[b * S + s] === 0) continue;
      indices[t] = b * S + s;
      positions[t] = s;
      if (s !== t - cuSeqlens[b]!) rightPadded = false;
      t++;
    }
  }
  // With holes or left padding, distances are measured in the padded frame, so the kernel needs
  // every query's position and the longest padded extent.
  if (!rightPadded) maxSeqlen = S;
  return { batchSize: B, seqLen: S, total, indices, cuSeqlens, positions, rightPadded, maxSeqlen };
}

/** Derives a per-call-site dropout seed, so every backend draws the same masks for the same call. */
export function siteSeed(seed: number, site: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < site.length; i++) {
    h ^= site.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let x = (h ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
