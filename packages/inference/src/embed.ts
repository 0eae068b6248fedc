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
  /**
   * Writes the row-major [n, hidden] embeddings into this array (exactly n·hidden long) instead of a new one,
   * e.g. one buffer reused over many calls; with format "matrix" it is what the call returns.
   */
  into?: Float32Array;
  /** Filled in with where the call's host time went (benchmarks, `embed-bench run --profile`); its previous contents are replaced. */
  timings?: EncodeTimings;
}

/**
 * Host milliseconds of one encodeIds call. The device runs the queued forwards while the host goes on,
 * so the host waits only in `reads[].waitMs`; the rest is the host's own work.
 */
export interface EncodeTimings {
  /** Sorting the texts into batches and allocating the output. */
  planMs: number;
  /** One per forward pass, in launch order. */
  batches: Array<{
    texts: number;
    /** Padded width (the batch's longest text). */
    seqLen: number;
    /** Real tokens. */
    tokens: number;
    /** Building the padded batch, its layout and uploads, and queuing the encoder and the pooling. */
    launchMs: number;
    /** Rows of the previous read finished on the host (mean division, normalisation) after this launch, while the device works. */
    finishMs: number;
  }>;
  /** One per read of pooled rows. */
  reads: Array<{
    texts: number;
    /** Waiting for the device to finish everything queued before the read. */
    waitMs: number;
    /** Copying the pooled rows (float32, the chunk's every row) back to the host. */
    copyMs: number;
  }>;
  /** Rows finished on the host after the last launch (nothing left to overlap with). */
  tailFinishMs: number;
  /** The whole call. */
  totalMs: number;
}

/** Pooled sums of the texts launched since the last read, one float32 row each, on the device. */
interface Chunk {
  sums: Tensor;
  /** Input index of each row. */
  texts: number[];
}

/** A chunk read back to the host, its rows finished into the output a few at a time. */
interface ReadChunk {
  host: Float32Array;
  texts: number[];
  /** Rows [0, done) are in the output. */
  done: number;
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
  const order = lengthOrder(lengths);
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

/** Longest counted by a counting sort (lengths of texts are small integers); larger or fractional lengths are compared. */
const COUNTING_SORT_MAX = 1 << 20;

/**
 * Input indices by length, longest first, equal lengths in input order. Token counts (small non-negative
 * integers) take a counting sort, linear in the number of texts, which encodeIds runs on every call.
 */
export function lengthOrder(lengths: ArrayLike<number>): ArrayLike<number> & Iterable<number> {
  const n = lengths.length;
  let longest = 0;
  for (let i = 0; i < n; i++) {
    const l = lengths[i]!;
    if (!(Number.isInteger(l) && l >= 0 && l <= COUNTING_SORT_MAX)) {
      return Array.from({ length: n }, (_, k) => k).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
    }
    if (l > longest) longest = l;
  }
  // Bucket longest − l (0 first), each bucket in input order.
  const start = new Int32Array(longest + 2);
  for (let i = 0; i < n; i++) {
    const k = longest - lengths[i]! + 1;
    start[k] = start[k]! + 1;
  }
  for (let k = 1; k < start.length; k++) start[k] = start[k]! + start[k - 1]!;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = longest - lengths[i]!;
    order[start[k]!] = i;
    start[k] = start[k]! + 1;
  }
  return order;
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
    if (o.into !== undefined && !(o.into instanceof Float32Array && o.into.length === n * H)) {
      throw new RangeError(`into: expected a Float32Array of ${n} × ${H} = ${n * H} elements, got ${o.into instanceof Float32Array ? `${o.into.length}` : typeof o.into}`);
    }
    const tm = o.timings;
    const t0 = tm ? performance.now() : 0;
    if (tm) Object.assign(tm, { planMs: 0, batches: [], reads: [], tailFinishMs: 0, totalMs: 0 } satisfies EncodeTimings);
    // Every row of it is written below (each text is in exactly one batch).
    const out = o.into ?? new Float32Array(n * H);
    const totalTokens = lengths.reduce((a, b) => a + b, 0);
    const batches = planBatches(lengths, budget, maxRows);
    if (tm) tm.planMs = performance.now() - t0;
    const normalize = o.normalize === true;
    let doneTexts = 0;
    let doneTokens = 0;
    let chunk: Chunk | null = null;
    // The chunk read last, finished into `out` a few rows after each launch, while the device computes.
    let read: ReadChunk | null = null;
    try {
      for (const batch of batches) {
        let finishMs = 0;
        if (chunk !== null && chunk.texts.length + batch.length > deviceRows) {
          // Only one chunk waits on the host: what is left of the previous one is finished before the next read.
          if (read !== null) {
            const f0 = tm ? performance.now() : 0;
            this.finishRows(read, Infinity, lengths, pooling, normalize, out);
            if (tm) finishMs += performance.now() - f0;
          }
          const full: Chunk = chunk;
          chunk = null;
          read = this.readChunk(full, tm);
        }
        // A batch larger than deviceRows (maxBatchRows above it) gets a chunk of its own.
        chunk ??= { sums: this.model.backend.zeros([Math.max(batch.length, Math.min(deviceRows, n - doneTexts)), H], "f32"), texts: [] };
        const l0 = tm ? performance.now() : 0;
        const S = this.launchPooled(batch.map((i) => rows[i]!), pooling, chunk.sums, chunk.texts.length);
        const l1 = tm ? performance.now() : 0;
        let tokens = 0;
        for (const i of batch) {
          chunk.texts.push(i);
          tokens += lengths[i]!;
        }
        doneTokens += tokens;
        doneTexts += batch.length;
        // Twice the rows this batch added to the device's chunk: the chunk read before is done before this one fills.
        if (read !== null && this.finishRows(read, 2 * batch.length, lengths, pooling, normalize, out)) read = null;
        if (tm) tm.batches.push({ texts: batch.length, seqLen: S, tokens, launchMs: l1 - l0, finishMs: finishMs + performance.now() - l1 });
        o.onProgress?.({ texts: doneTexts, totalTexts: n, tokens: doneTokens, totalTokens });
      }
      if (read !== null) {
        const f0 = tm ? performance.now() : 0;
        this.finishRows(read, Infinity, lengths, pooling, normalize, out);
        if (tm) tm.tailFinishMs += performance.now() - f0;
      }
      if (chunk !== null) {
        const last: Chunk = chunk;
        chunk = null;
        const r = this.readChunk(last, tm);
        const f0 = tm ? performance.now() : 0;
        this.finishRows(r, Infinity, lengths, pooling, normalize, out);
        if (tm) tm.tailFinishMs += performance.now() - f0;
      }
    } finally {
      // Only after an error: readChunk frees the chunks it reads.
      chunk?.sums.dispose();
    }
    if (tm) tm.totalMs = performance.now() - t0;
    if (o.format === "matrix") return out;
    return Array.from({ length: n }, (_, i) => out.slice(i * H, (i + 1) * H));
  }

  /** Reads a chunk's pooled rows (the one wait for the device) and frees it on the device. */
  private readChunk(chunk: Chunk, tm: EncodeTimings | undefined): ReadChunk {
    const be = this.model.backend;
    let host: Float32Array;
    try {
      if (tm) {
        // read waits for the device anyway: synchronizing first splits the wait from the copy.
        const w0 = performance.now();
        be.synchronize();
        const w1 = performance.now();
        host = be.read(chunk.sums) as Float32Array;
        tm.reads.push({ texts: chunk.texts.length, waitMs: w1 - w0, copyMs: performance.now() - w1 });
      } else {
        // No copy of it: read returns a new array (the contract's download), which dispose leaves alone.
        host = be.read(chunk.sums) as Float32Array;
      }
    } finally {
      chunk.sums.dispose();
    }
    return { host, texts: chunk.texts, done: 0 };
  }

  /**
   * Finishes up to `count` more rows of a read chunk into `out` (mean pooling divides by the text's length
   * here, the device summed its rows; normalize scales to unit length). Returns whether every row is done.
   */
  private finishRows(r: ReadChunk, count: number, lengths: readonly number[], pooling: Pooling, normalize: boolean, out: Float32Array): boolean {
    const H = this.hiddenSize;
    const host = r.host;
    const end = Math.min(r.texts.length, r.done + count);
    for (let row = r.done; row < end; row++) {
      const i = r.texts[row]!;
      const v = host.subarray(row * H, (row + 1) * H);
      const scale = pooling === "mean" ? 1 / lengths[i]! : 1;
      let inv = scale;
      if (normalize) {
        let s = 0;
        for (let h = 0; h < H; h++) s += v[h]! * v[h]!;
        inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      }
      const o = i * H;
      for (let h = 0; h < H; h++) out[o + h] = v[h]! * inv;
    }
    r.done = end;
    return end === r.texts.length;
  }

  /**
   * One padded batch through the encoder, pooled on the device into rows [row0, row0 + B) of `sums`
   * (float32, zero there before): each text's token rows summed (mean pooling divides on the host), or
   * its [CLS] row. Nothing is read back, so the host can go on to the next batch. Returns the padded width.
   */
  private launchPooled(rows: Int32Array[], pooling: Pooling, sums: Tensor, row0: number): number {
    const be = this.model.backend;
    const B = rows.length;
    let S = 0;
    let real = 0;
    for (const r of rows) {
      if (r.length > S) S = r.length;
      real += r.length;
    }
    const inputIds = new Int32Array(B * S).fill(this.tokenizer.padId);
    const attentionMask = new Int32Array(B * S);
    rows.forEach((r, b) => {
      inputIds.set(r, b * S);
      attentionMask.fill(1, b * S, b * S + r.length);
    });
    const cls = pooling === "cls";
    // The encoder's own rows, not padded back: [CLS] pooling asks the last layer for the first token of each
    // text alone; mean pooling sums the rows that are real tokens (all of MosaicBERT's packed rows).
    // Token types all 0: left out (the encoder's default) rather than a row of zeros to check.
    const { hidden, layout } = this.model.forwardPacked({ inputIds, attentionMask, tokenTypeIds: null, batchSize: B, seqLen: S }, { firstTokens: cls });
    const owned: Tensor[] = [hidden];
    try {
      let src = hidden;
      const seg = new Int32Array(cls ? B : real);
      const cu = layout.cuSeqlens;
      if (cls) {
        for (let b = 0; b < B; b++) seg[b] = row0 + b;
      } else if (layout.total === real) {
        // Every row the encoder computed is a real token (MosaicBERT's packed rows, or BERT without padding): text b's are [cu[b], cu[b+1]).
        for (let b = 0; b < B; b++) seg.fill(row0 + b, cu[b]!, cu[b + 1]!);
      } else {
        // BERT's padded positions: the real ones gathered first.
        const pick = new Int32Array(real);
        let k = 0;
        for (let b = 0; b < B; b++) {
          for (let t = cu[b]!; t < cu[b + 1]!; t++) {
            if (attentionMask[layout.indices[t]!] === 0) continue;
            pick[k] = t;
            seg[k++] = row0 + b;
          }
        }
        const pickT = be.fromArray(pick, [real], "i32");
        owned.push(pickT);
        src = be.gatherRows(hidden, pickT);
        owned.push(src);
      }
      const segT = be.fromArray(seg, [seg.length], "i32");
      owned.push(segT);
      // bf16 rows add into the float32 sums as they are (scatterAddRows converts each value exactly), no float32 copy first.
      be.scatterAddRows(src, segT, sums);
    } finally {
      for (const x of owned) x.dispose();
    }
    return S;
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
