import type { CollectiveGroup, Communicator } from "./collectives.js";
import type { DType } from "./dtype.js";
import type { Tensor } from "./tensor.js";

/** What `read` returns: floats decoded to float32, integers in their natural typed array. */
export type HostArray = Float32Array | Int32Array | BigInt64Array | Uint8Array;

/** Host data accepted by `fromArray` / `write`. Numbers are converted to the target dtype. */
export type HostData = ArrayLike<number> | Float32Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array;

export interface MatmulOptions {
  /** Use aᵀ: a is stored [K, M]. */
  transA?: boolean;
  /** Use bᵀ: b is stored [N, K] (the PyTorch Linear weight layout). */
  transB?: boolean;
  /** Added to every row: [N]. */
  bias?: Tensor | null;
  /** Applied after the bias. "gelu" is the exact erf GELU. */
  activation?: "none" | "gelu";
  /** With activation "gelu": receives the pre-activation (a·b + bias), for the backward pass. */
  preActivation?: Tensor | null;
  /** Scales the product (not the bias). Default 1. */
  alpha?: number;
  /** Write into this tensor instead of allocating. */
  out?: Tensor | null;
  /** out += result (out required). */
  accumulate?: boolean;
  /** dtype of a newly allocated output (default: a's dtype). */
  dtype?: DType;
  /**
   * The bias gradient of a linear layer beside its weight gradient (gW = dyᵀ·x with a = dy): float32 [M]
   * receives the column sums of a as stored [K, M], Σₖ a[k, m] — added to it with `accumulate`, else
   * written. Needs transA, alpha 1, no bias, activation or preActivation, and no overlap with a, b or out.
   * A backend may take it from the same pass over a as the product (the CUDA backend: cuBLASLt's BGRADB
   * epilogue).
   */
  biasGrad?: Tensor | null;
}

export interface LayerNormResult {
  y: Tensor;
  /** float32 [N] per-row mean and reciprocal standard deviation, saved for the backward pass. */
  mean: Tensor;
  rstd: Tensor;
}

export interface AddLayerNormResult extends LayerNormResult {
  /** x + residual, the LayerNorm input (saved for the backward pass). */
  sum: Tensor;
}

export interface NormGrads {
  /** float32 [H], accumulated (+=). */
  dweight: Tensor;
  /** float32 [H], accumulated (+=). */
  dbias: Tensor;
  /**
   * After addLayerNorm with `dropout`: `out` (dy's shape and dtype) receives the gradient of its x,
   * dropoutBackward(dx, dropout) — the returned dx (the residual's gradient) through the forward's mask.
   */
  dropoutGrad?: { out: Tensor; dropout: DropoutOptions } | null;
}

export interface AddLayerNormOptions {
  /**
   * Dropout on x before the add, exactly as `dropout(x, …)` would apply it (rounded to x's dtype): the
   * post-LN block's LN(Dropout(x) + residual) in one pass. layerNormBackward's `dropoutGrad` undoes it.
   */
  dropout?: DropoutOptions | null;
}

export interface DropoutOptions {
  /** Drop probability in [0, 1). 0 copies. */
  p: number;
  /** 32-bit seed of the counter-based generator (see random.ts). */
  seed: number;
  /** Counter offset added to each element index, so one seed can serve many calls. Default 0. */
  offset?: number;
}

/**
 * Scaled-dot-product attention over unpadded variable-length sequences (FlashAttention layout).
 *
 * qkv is [T, 3·H] with H = numHeads·headDim: columns [0, H) are Q, [H, 2H) K, [2H, 3H) V, each
 * head-major. Sequence b owns rows cuSeqlens[b] … cuSeqlens[b+1]−1. A query attends to every key of
 * its own sequence (bidirectional) with score
 *   scale·q·k − slope[h]·|pos(q) − pos(k)|   (ALiBi; slopes null or 0 = plain attention)
 * where pos is the row's index inside its sequence, or `positions[row]` when given (positions in
 * the padded frame, as the reference computes distances). Keys whose `keyMask` is 0 are excluded
 * (the BERT baseline runs padded rows of length S with the attention mask as keyMask). A query with
 * no valid key outputs zeros.
 */
export interface AttentionArgs {
  numHeads: number;
  /** i32 [B+1], on this backend. */
  cuSeqlens: Tensor;
  /** Longest sequence (an upper bound is fine). */
  maxSeqlen: number;
  slopes?: Float32Array | readonly number[] | null;
  /** i32 [T]. */
  positions?: Tensor | null;
  /** i32 or u8 [T]; 0 = padded key. */
  keyMask?: Tensor | null;
  /** Default 1/√headDim. */
  scale?: number;
  /**
   * Dropout on the attention probabilities (the BERT baseline trains with 0.1). Probability
   * P[q, h, j] (query row q of the whole batch, head h, key j = index of the key inside its
   * sequence) is kept iff uniformAt(seed, counter) ≥ p, with the 32-bit wrapping counter
   *   counter = (offset + (q·numHeads + h)·maxSeqlen + j) mod 2³²,
   * and then scaled by 1/(1 − p). The lse is that of the undropped softmax. maxSeqlen is part of
   * the counter, so forward and backward must pass the same value. Every backend must reproduce
   * this formula bit for bit (the CUDA kernel included).
   */
  dropout?: DropoutOptions | null;
}

/** Options of `geglu` / `gegluBackward`. */
export interface GegluOptions {
  /** Dropout on the GeGLU output, fused into the same pass (null or absent: none). */
  dropout?: DropoutOptions | null;
}

export interface AttentionResult {
  /** [T, H] in qkv's dtype. */
  out: Tensor;
  /**
   * float32 [T, numHeads]: log-sum-exp of each softmax row (scaled scores plus bias), saved for
   * the backward pass. +Infinity for a query with no valid key, so exp(s − lse) recomputes P = 0.
   */
  lse: Tensor;
}

export interface CrossEntropyOptions {
  /** Targets equal to this are ignored (default −100). */
  ignoreIndex?: number;
  /** "mean" over non-ignored rows (default) or "sum". */
  reduction?: "mean" | "sum";
  /** Also compute d(loss·gradScale)/dlogits. */
  computeGrad?: boolean;
  /** Multiplies the gradient (microbatch weighting). Default 1. */
  gradScale?: number;
  /** Write the gradient over the logits instead of allocating (saves a [N, C] buffer). */
  inPlace?: boolean;
}

export interface LossResult {
  /** float32 [1] on this backend. */
  loss: Tensor;
  /** Gradient w.r.t. the input, when requested. */
  grad?: Tensor;
}

export interface AdamWParam {
  /** float32 master weights, updated in place. */
  param: Tensor;
  /** float32 gradient. */
  grad: Tensor;
  /** float32 first and second moments, updated in place. */
  m: Tensor;
  v: Tensor;
  /** Optional low-precision copy (bf16) refreshed from the new master weights. */
  lowp?: Tensor | null;
}

export interface AdamWOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /**
   * Decoupled decay applied before the Adam step: p ← p·(1 − decay). Composer's DecoupledAdamW
   * uses decay = (lr_t / lr_peak)·weight_decay; torch.optim.AdamW uses lr_t·weight_decay.
   */
  decay: number;
  /** 1-based step count, for bias correction. */
  step: number;
  /** Multiplies every gradient before use (e.g. 1/world_size). Default 1. */
  gradScale?: number;
  /**
   * float32 [1] on this backend: a further gradient multiplier computed on the device (clipping).
   * When it is NaN or ±Inf the step changes nothing (params, m, v and lowp keep their values): a
   * guard the device applies without the host reading it.
   */
  gradScaleTensor?: Tensor | null;
}

/** A read started by `Backend.readLater`. */
export interface PendingRead {
  /**
   * The values the tensor held when `readLater` was called. Waits only for the work queued before
   * that call; calling it again returns the same array.
   */
  wait(): HostArray;
}

export interface MemoryStats {
  /** Bytes held by live tensors. */
  allocatedBytes: number;
  /** Highest allocatedBytes since creation or the last resetPeak(). */
  peakBytes: number;
  /** Bytes held by the backend, live or cached for reuse. */
  reservedBytes: number;
  /** Allocations requested from the device so far (a caching backend adds none once warm); absent on the CPU. */
  deviceAllocations?: number;
}

/**
 * The op contract: every coarse op a BERT encoder needs for training and inference, forward and
 * backward. The CPU backend (cpu/) is the reference every other backend is tested against.
 *
 * Conventions for every op:
 * - Inputs are contiguous row-major tensors of this backend; a leading "N" dimension may be any
 *   product of leading dimensions (ops that take [N, H] accept [..., H]).
 * - New outputs have the dtype of the op's main input unless said otherwise; statistics, losses,
 *   norms and optimizer state are float32. Float math is at least float32; bf16 outputs round to
 *   nearest even on write.
 * - Gradients named "accumulated" are added into (+=) the tensor passed in; callers zero them.
 * - Bad input (wrong rank, shape, dtype, backend, a disposed tensor, an index out of range) throws
 *   an OpError naming the op, the argument and the expected form — never a silent wrong answer.
 * - Outputs are independent new tensors owned by the caller, who disposes them.
 */
export interface Backend {
  readonly name: string;

  // ---- memory --------------------------------------------------------------------------------
  /** Uninitialised tensor (contents unspecified). */
  empty(shape: readonly number[], dtype: DType): Tensor;
  zeros(shape: readonly number[], dtype: DType): Tensor;
  /** Upload host data, converting numbers to dtype (bf16/f16 round to nearest even). */
  fromArray(data: HostData, shape: readonly number[], dtype: DType): Tensor;
  /** Overwrite a tensor's contents from host data of the same element count. */
  write(t: Tensor, data: HostData): void;
  /** Download, decoded (see HostArray), into a new array the caller owns (never the backend's storage). */
  read(t: Tensor): HostArray;
  /** The raw little-endian bytes of the storage (bf16 as its 16-bit patterns). */
  readBytes(t: Tensor): Uint8Array;
  /**
   * Starts a read of t as it is now and returns at once: ops queued later may change or free t
   * without changing what `wait()` returns, and `wait()` waits only for the ops queued before this
   * call (`read` waits for all of them). For the few numbers a training step reports (its loss, the
   * gradient norm): the host reads them a step late while the device already runs the next one.
   */
  readLater(t: Tensor): PendingRead;
  /** Give the storage back (called by Tensor.dispose). */
  free(t: Tensor): void;
  /** Copy src into dst (same element count), converting dtype. */
  copy(src: Tensor, dst: Tensor): void;
  /** New tensor with the values of x in another dtype. */
  cast(x: Tensor, dtype: DType): Tensor;
  fill(t: Tensor, value: number): void;
  /** Wait for all queued work. */
  synchronize(): void;
  memoryStats(): MemoryStats;
  /** Starts a new peak measurement: peakBytes ← allocatedBytes. */
  resetPeak(): void;
  /**
   * A backend with memory of its own (a GPU): what the device has free now, outside this backend's cache,
   * and in all. Absent on the CPU backends, whose tensors live in the process's memory.
   */
  deviceMemory?(): { freeBytes: number; totalBytes: number };

  // ---- collectives ---------------------------------------------------------------------------
  /**
   * The all-reduce / broadcast of a multi-process run on this backend's tensors: the device's own
   * library where it has one (NCCL on CUDA), else the host channel it is given (`group.bootstrap`).
   * Optional: a backend without it gets the host channel.
   */
  connectCollectives?(group: CollectiveGroup): Promise<Communicator>;

  // ---- embeddings ----------------------------------------------------------------------------
  /** table[ids] : ids i32 [N], table [V, H] → [N, H]. */
  embedding(ids: Tensor, table: Tensor, opts?: { dtype?: DType }): Tensor;
  /** dtable[ids[i]] += dy[i] (float32 dtable [V, H], accumulated); rows whose id is paddingIdx are skipped. */
  embeddingBackward(ids: Tensor, dy: Tensor, dtable: Tensor, opts?: { paddingIdx?: number | null }): void;

  // ---- dense ---------------------------------------------------------------------------------
  /** out = act(alpha·op(a)·op(b) + bias) (+ out when accumulate). a [M, K], b [K, N] → [M, N]. */
  matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor;
  /** Column sums of x [N, M] → float32 [M] (the bias gradient); into/accumulate like matmul. */
  sumRows(x: Tensor, opts?: { out?: Tensor | null; accumulate?: boolean }): Tensor;

  // ---- elementwise ---------------------------------------------------------------------------
  add(a: Tensor, b: Tensor, opts?: { out?: Tensor | null }): Tensor;
  /** a += alpha·b, in place; alpha·b as written, so alpha = 0 still turns a NaN or ±Inf of b into NaN. */
  addInPlace(a: Tensor, b: Tensor, alpha?: number): void;
  /** x ·= s, in place. */
  scaleInPlace(x: Tensor, s: number): void;
  /** Exact GELU: x·Φ(x). */
  gelu(x: Tensor): Tensor;
  geluBackward(dy: Tensor, x: Tensor): Tensor;
  /**
   * GeGLU: g [N, 2I] → gelu(g[:, :I]) ⊙ g[:, I:] [N, I]. With `dropout`, the same pass applies
   * dropout to the result as `dropout` would (element i of h, in row-major order, kept iff
   * uniform(seed, offset + i) ≥ p, scaled by 1/(1−p)), rounded once: MosaicBERT's FFN dropout.
   */
  geglu(g: Tensor, opts?: GegluOptions): Tensor;
  /** → dg [N, 2I]; with `dropout`, dh first goes through the forward's mask (same options). */
  gegluBackward(dh: Tensor, g: Tensor, opts?: GegluOptions): Tensor;
  tanh(x: Tensor): Tensor;
  /** Takes the forward output y: dx = dy·(1 − y²). */
  tanhBackward(dy: Tensor, y: Tensor): Tensor;
  /** Inverted dropout with a counter-based mask: element i kept iff uniform(seed, offset + i) ≥ p, then scaled by 1/(1−p). */
  dropout(x: Tensor, opts: DropoutOptions): Tensor;
  /** The same mask applied to dy. */
  dropoutBackward(dy: Tensor, opts: DropoutOptions): Tensor;

  // ---- normalisation -------------------------------------------------------------------------
  /** Row-wise LayerNorm of x [N, H] with weight, bias [H]. */
  layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): LayerNormResult;
  /** LayerNorm(x + residual), the post-LN block's residual add fused in. */
  addLayerNorm(x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, eps: number, opts?: AddLayerNormOptions): AddLayerNormResult;
  /** → dx; dweight/dbias accumulated. `x` is the LayerNorm input (the `sum` of addLayerNorm). */
  layerNormBackward(dy: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, grads: NormGrads): Tensor;

  // ---- unpadding -----------------------------------------------------------------------------
  /** x [N, H], indices i32 [T] → x[indices] [T, H]. */
  gatherRows(x: Tensor, indices: Tensor): Tensor;
  /** x [T, H] → [numRows, H] with row indices[i] = x[i], zero elsewhere. */
  scatterRows(x: Tensor, indices: Tensor, numRows: number): Tensor;
  /** out[indices[i]] += x[i] (out [N, H]). */
  scatterAddRows(x: Tensor, indices: Tensor, out: Tensor): void;

  // ---- attention -----------------------------------------------------------------------------
  attention(qkv: Tensor, args: AttentionArgs): AttentionResult;
  /** → dqkv [T, 3H]. */
  attentionBackward(dout: Tensor, qkv: Tensor, out: Tensor, lse: Tensor, args: AttentionArgs): Tensor;

  // ---- losses and metrics --------------------------------------------------------------------
  /** Softmax cross-entropy of logits [N, C] against targets i32 [N]. */
  crossEntropy(logits: Tensor, targets: Tensor, opts?: CrossEntropyOptions): LossResult;
  /** Mean squared error of pred [N] against target [N]; grad = d(loss·gradScale)/dpred. */
  mse(pred: Tensor, target: Tensor, opts?: { computeGrad?: boolean; gradScale?: number }): LossResult;
  /** Index of the largest value in each row of x [N, C] → i32 [N]. */
  argmax(x: Tensor): Tensor;

  // ---- optimizer -----------------------------------------------------------------------------
  /** float32 [1]: √(Σ over tensors of Σ x²). */
  globalNorm(tensors: readonly Tensor[]): Tensor;
  /** float32 [1]: min(1, maxNorm / (norm + 1e-6)), the clipping multiplier; NaN when the norm is NaN or ±Inf. */
  clipCoefficient(norm: Tensor, maxNorm: number): Tensor;
  /** One decoupled AdamW step on every parameter, in place. */
  adamw(params: readonly AdamWParam[], opts: AdamWOptions): void;
}
