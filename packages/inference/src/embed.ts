import { type ComputeDtype, type EncoderModel, InputError, loadPretrained } from "@mosaicbert/layers";
import type { Backend, Tensor } from "@mosaicbert/tensor";
import type { TextTokenizer } from "./fill-mask.js";

export type Pooling = "mean" | "cls";

/** Longest input a MosaicBERT embeds (ALiBi has no learned table; this bounds the allocation). */
export const MOSAIC_MAX_SEQ_LEN = 8192;
/** Padded positions per forward pass by default. */
export const DEFAULT_TOKEN_BUDGET = 16384;
/** Float32 values of pooled embeddings kept on the device between reads by default (64 MiB). */
const DEVICE_FLOATS = 1 << 24;

export interface EncodeOptions {
  /** "mean" (default): the mean of the last hidden states of the text's tokens ([CLS] and [SEP] included); "cls": the [CLS] row. */
  pooling?: Pooling;
  /** Scale each embedding to unit L2 norm. */
  normalize?: boolean;
  /** Truncate texts to this many tokens, [CLS] and [SEP] included (default: min(512, the model's limit)). */
  maxSeqLen?: number;
  /** Padded positions per forward pass (rows × longest row; a longer text runs alone); texts are sorted by length so padding stays small. */
  tokenBudget?: number;
  /** At most this many texts per forward pass. */
  maxBatchRows?: number;
  /** "rows" (default): one Float32Array per text; "matrix": one row-major [n, hidden] Float32Array. */
  format?: "rows" | "matrix";
  /**
   * Embeddings kept on the device before they are read back (default: 64 MiB of float32). A read waits
   * for the device, so between reads the host prepares the next batches while the device computes.
   */
  deviceRows?: number;
  /** Called after every forward pass is launched with the texts and real tokens launched so far. */
  onProgress?: (p: { texts: number; totalTexts: number; tokens: number; totalTokens: number }) => void;
}

/** Pooled sums of the texts launched since the last read, one float32 row each, on the device. */
interface Chunk {
  sums: Tensor;
  /** Input index of each row. */
  texts: number[];
}

export interface EmbedderOptions {
  backend: Backend;
  /** Tokenizes texts (ids must fit the model's vocab_size). */
  tokenizer: TextTokenizer;
  /** "bf16" on a GPU for speed; default "f32". Pooling always accumulates in float32. */
  computeDtype?: ComputeDtype;
}

/** Rows in input order with their lengths → batches of input indices, longest texts first, each within the budget. */
export function planBatches(lengths: ArrayLike<number>, tokenBudget: number, maxRows = Infinity): number[][] {
  const order = Array.from({ length: lengths.length }, (_, i) => i).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const batches: number[][] = [];
  let cur: number[] = [];
  let longest = 0;
  for (const i of order) {
    const L = Math.max(longest, lengths[i]!);
    if (cur.length > 0 && ((cur.length + 1) * L > tokenBudget || cur.length >= maxRows)) {
      batches.push(cur);
      cur = [];
    }
    if (cur.length === 0) longest = lengths[i]!;
    cur.push(i);
  }
  if (cur.length) batches.push(cur);
  return batches;
}

/**
 * Sentence embeddings from an encoder: `encode(texts)` tokenizes, sorts the texts by length, runs
 * them in batches within a token budget (MosaicBERT computes only the real tokens; sorting keeps the
 * padded batch small for BERT too), pools each text's last hidden states on the device (mean over
 * its tokens, or the [CLS] row) and returns the embeddings in input order.
 */
export class Embedder {
  readonly hiddenSize: number;
  /** The longest input this model takes (BERT: max_position_embeddings; MosaicBERT: MOSAIC_MAX_SEQ_LEN). */
  readonly maxSeqLen: number;

  constructor(readonly model: EncoderModel, readonly tokenizer: TextTokenizer) {
    const c = model.config;
    this.hiddenSize = c.hiddenSize;
    this.maxSeqLen = c.arch === "bert" ? c.maxPositionEmbeddings : MOSAIC_MAX_SEQ_LEN;
  }

  /** Loads the encoder of a model folder (MLM checkpoint, classifier or bare encoder: heads are skipped). */
  static load(modelDir: string, o: EmbedderOptions): Embedder {
    const { model } = loadPretrained(modelDir, o.backend, { task: "encoder", computeDtype: o.computeDtype });
    return new Embedder(model as EncoderModel, o.tokenizer);
  }

  /** [CLS] text [SEP], truncated to maxSeqLen; throws InputError naming the text when an id does not fit the vocabulary. */
  tokenize(texts: readonly string[], maxSeqLen: number): Int32Array[] {
    const V = this.model.config.vocabSize;
    const t = this.tokenizer;
    return texts.map((text, i) => {
      if (typeof text !== "string") throw new InputError("texts", `expected a string, got ${typeof text}`, i);
      const body = t.textToIds(text).slice(0, maxSeqLen - 2);
      const ids = Int32Array.from([t.clsId, ...body, t.sepId]);
      const bad = ids.findIndex((id) => id >= V);
      if (bad >= 0) {
        throw new InputError(
          "texts",
          `token '${t.idToToken(ids[bad]!)}' has id ${ids[bad]}, outside the model's vocab_size ${V}; expected the tokenizer of the model (its vocab.txt or tokenizer.json)`,
          i,
        );
      }
      return ids;
    });
  }

  private maxLen(o: EncodeOptions): number {
    const m = o.maxSeqLen ?? Math.min(512, this.maxSeqLen);
    if (!Number.isInteger(m) || m < 2 || m > this.maxSeqLen) {
      throw new RangeError(`maxSeqLen: expected an integer in [2, ${this.maxSeqLen}] (this model's limit), got ${m}`);
    }
    return m;
  }

  /** Embeddings of texts, in input order. */
  encode(texts: readonly string[], o: EncodeOptions & { format: "matrix" }): Float32Array;
  encode(texts: readonly string[], o?: EncodeOptions & { format?: "rows" }): Float32Array[];
  encode(texts: readonly string[], o?: EncodeOptions): Float32Array[] | Float32Array;
  encode(texts: readonly string[], o: EncodeOptions = {}): Float32Array[] | Float32Array {
    return this.encodeIds(this.tokenize(texts, this.maxLen(o)), o);
  }

  /**
   * Embeddings of token id rows ([CLS] … [SEP] each, as `tokenize` makes them), in input order. Rows
   * longer than maxSeqLen are refused rather than cut (ids come from elsewhere: a benchmark file, a
   * user's own tokenizer).
   */
  encodeIds(rows: readonly Int32Array[], o: EncodeOptions & { format: "matrix" }): Float32Array;
  encodeIds(rows: readonly Int32Array[], o?: EncodeOptions & { format?: "rows" }): Float32Array[];
  encodeIds(rows: readonly Int32Array[], o?: EncodeOptions): Float32Array[] | Float32Array;
  encodeIds(rows: readonly Int32Array[], o: EncodeOptions = {}): Float32Array[] | Float32Array {
    const maxLen = this.maxLen(o);
    const pooling = o.pooling ?? "mean";
    if (pooling !== "mean" && pooling !== "cls") throw new RangeError(`pooling: expected mean or cls, got ${String(pooling)}`);
    const budget = o.tokenBudget ?? DEFAULT_TOKEN_BUDGET;
    if (!Number.isInteger(budget) || budget < 1) throw new RangeError(`tokenBudget: expected a positive integer, got ${budget}`);
    const maxRows = o.maxBatchRows ?? Infinity;
    if (maxRows !== Infinity && !(Number.isInteger(maxRows) && maxRows >= 1)) throw new RangeError(`maxBatchRows: expected a positive integer, got ${maxRows}`);
    const n = rows.length;
    const H = this.hiddenSize;
    const lengths = rows.map((r, i) => {
      if (r.length < 1 || r.length > maxLen) throw new InputError("ids", `length ${r.length}: expected 1 to ${maxLen} tokens`, i);
      return r.length;
    });
    const deviceRows = o.deviceRows ?? Math.max(1, Math.floor(DEVICE_FLOATS / H));
    if (!(Number.isInteger(deviceRows) && deviceRows >= 1)) throw new RangeError(`deviceRows: expected a positive integer, got ${deviceRows}`);
    const out = new Float32Array(n * H);
    const totalTokens = lengths.reduce((a, b) => a + b, 0);
    let doneTexts = 0;
    let doneTokens = 0;
    let chunk: Chunk | null = null;
    try {
      for (const batch of planBatches(lengths, budget, maxRows)) {
        if (chunk !== null && chunk.texts.length + batch.length > deviceRows) {
          const full: Chunk = chunk;
          chunk = null;
          this.readChunk(full, lengths, pooling, o.normalize === true, out);
        }
        // A batch larger than deviceRows (maxBatchRows above it) gets a chunk of its own.
        chunk ??= { sums: this.model.backend.zeros([Math.max(batch.length, Math.min(deviceRows, n - doneTexts)), H], "f32"), texts: [] };
        this.launchPooled(batch.map((i) => rows[i]!), pooling, chunk.sums, chunk.texts.length);
        chunk.texts.push(...batch);
        for (const i of batch) doneTokens += lengths[i]!;
        doneTexts += batch.length;
        o.onProgress?.({ texts: doneTexts, totalTexts: n, tokens: doneTokens, totalTokens });
      }
      if (chunk !== null) {
        const last: Chunk = chunk;
        chunk = null;
        this.readChunk(last, lengths, pooling, o.normalize === true, out);
      }
    } finally {
      // Only after an error: readChunk frees the chunks it reads.
      chunk?.sums.dispose();
    }
    if (o.format === "matrix") return out;
    return Array.from({ length: n }, (_, i) => out.slice(i * H, (i + 1) * H));
  }

  /** Reads a chunk's pooled rows (the one wait for the device), finishes them on the host into `out`, frees the chunk. */
  private readChunk(chunk: Chunk, lengths: readonly number[], pooling: Pooling, normalize: boolean, out: Float32Array): void {
    const H = this.hiddenSize;
    // A copy: what read returns may be the backend's own storage, which dispose gives back.
    let host: Float32Array;
    try {
      host = (this.model.backend.read(chunk.sums) as Float32Array).slice();
    } finally {
      chunk.sums.dispose();
    }
    chunk.texts.forEach((i, r) => {
      const v = host.subarray(r * H, (r + 1) * H);
      // Mean pooling summed the text's rows on the device; its length divides here.
      const scale = pooling === "mean" ? 1 / lengths[i]! : 1;
      let inv = scale;
      if (normalize) {
        let s = 0;
        for (let h = 0; h < H; h++) s += v[h]! * v[h]!;
        inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      }
      const o = i * H;
      for (let h = 0; h < H; h++) out[o + h] = v[h]! * inv;
    });
  }

  /**
   * One padded batch through the encoder, pooled on the device into rows [row0, row0 + B) of `sums`
   * (float32, zero there before): each text's token rows summed (mean pooling divides on the host), or
   * its [CLS] row. Nothing is read back, so the host can go on to the next batch.
   */
  private launchPooled(rows: Int32Array[], pooling: Pooling, sums: Tensor, row0: number): void {
    const be = this.model.backend;
    const B = rows.length;
    const S = Math.max(...rows.map((r) => r.length));
    const inputIds = new Int32Array(B * S).fill(this.tokenizer.padId);
    const attentionMask = new Int32Array(B * S);
    rows.forEach((r, b) => {
      inputIds.set(r, b * S);
      attentionMask.fill(1, b * S, b * S + r.length);
    });
    const cls = pooling === "cls";
    // The encoder's own rows, not padded back: [CLS] pooling asks the last layer for the first token of each
    // text alone; mean pooling sums the rows that are real tokens (all of MosaicBERT's packed rows).
    const { hidden, layout } = this.model.forwardPacked({ inputIds, attentionMask, tokenTypeIds: new Int32Array(B * S), batchSize: B, seqLen: S }, { firstTokens: cls });
    const owned: Tensor[] = [hidden];
    try {
      let src = hidden;
      let seg: Int32Array;
      if (cls) seg = Int32Array.from({ length: B }, (_, b) => row0 + b);
      else {
        const pick: number[] = [];
        const segs: number[] = [];
        for (let b = 0; b < B; b++) {
          for (let t = layout.cuSeqlens[b]!; t < layout.cuSeqlens[b + 1]!; t++) {
            if (attentionMask[layout.indices[t]!] === 0) continue;
            pick.push(t);
            segs.push(row0 + b);
          }
        }
        seg = Int32Array.from(segs);
        if (pick.length !== layout.total) {
          const pickT = be.fromArray(Int32Array.from(pick), [pick.length], "i32");
          owned.push(pickT);
          src = be.gatherRows(hidden, pickT);
          owned.push(src);
        }
      }
      const segT = be.fromArray(seg, [seg.length], "i32");
      owned.push(segT);
      const f32 = src.dtype === "f32" ? src : be.cast(src, "f32");
      if (f32 !== src) owned.push(f32);
      be.scatterAddRows(f32, segT, sums);
    } finally {
      for (const x of owned) x.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

/**
 * One-shot embeddings: loads `model` (a folder) or uses an Embedder, encodes `texts`, and disposes
 * what it loaded. For many calls, keep an Embedder (`Embedder.load`) instead.
 */
export function encode(texts: readonly string[], o: EncodeOptions & { model: string | Embedder } & Partial<EmbedderOptions>): Float32Array[] | Float32Array {
  if (typeof o.model !== "string") return o.model.encode(texts, o);
  if (!o.backend || !o.tokenizer) throw new Error("encode: loading a model folder needs `backend` and `tokenizer` (or pass an Embedder as `model`)");
  const e = Embedder.load(o.model, { backend: o.backend, tokenizer: o.tokenizer, computeDtype: o.computeDtype });
  try {
    return e.encode(texts, o);
  } finally {
    e.dispose();
  }
}
