import { OpError, Tensor, cpu, decodeBf16, decodeF16, isFloat, itemsize } from "@mosaicbert/tensor";
import {
  expectTensor, seedKey, validateAdamW, validateAdd, validateAddInPlace, validateAddLayerNorm, validateAlloc,
  validateArgmax, validateAttention, validateAttentionBackward, validateClipCoefficient, validateCopy,
  validateCrossEntropy, validateDropout, validateEmbedding, validateEmbeddingBackward, validateFill, validateGatherRows,
  validateGeglu, validateGegluBackward, validateGlobalNorm, validateLayerNorm, validateLayerNormBackward,
  validateMatmul, validateMse, validateScaleInPlace, validateScatterAddRows, validateScatterRows, validateSumRows,
  validateUnary, validateUnaryBackward,
} from "@mosaicbert/tensor/backend-kit";
import type { DropoutPlan } from "@mosaicbert/tensor/backend-kit";
import type {
  AddLayerNormOptions,
  AddLayerNormResult, AdamWOptions, AdamWParam, AttentionArgs, AttentionResult, Backend, CollectiveGroup, Communicator, CrossEntropyOptions,
  DType, DropoutOptions, GegluOptions, HostArray, HostData, LayerNormResult, LossResult, MatmulOptions, MemoryStats, NormGrads, PendingRead,
} from "@mosaicbert/tensor";
import type { AttentionPlan } from "@mosaicbert/tensor/backend-kit";
import { CachingAllocator, type Block } from "./allocator.js";
import { ATTN, attnPack } from "./attn-pack.js";
import { MATMUL, MATMUL_SLOTS } from "./matmul-pack.js";
import { ADAMW_ROW, ADAMW_ROW_WIDTH, NORM_ROW, NORM_ROW_WIDTH } from "./optim-pack.js";
import { connectCudaCollectives } from "./collectives.js";
import type { NativeAddon } from "./native.js";

/** dtype codes shared with native/kernels.h. */
export const DT: Record<DType, number> = { f32: 0, bf16: 1, f16: 2, i32: 3, i64: 4, u8: 5, bool: 6 };

/** Device-side error codes (kernels.h) → the op and argument they concern. */
const DEVICE_ERRORS: Record<number, [string, string, string]> = {
  1: ["embedding", "ids", "an id is out of range [0, V) (found on the device)"],
  2: ["embeddingBackward", "ids", "an id is out of range [0, V) (found on the device)"],
  3: ["gatherRows", "indices", "an index is out of range [0, N) (found on the device)"],
  4: ["scatterRows", "indices", "an index is out of range [0, numRows) (found on the device)"],
  5: ["scatterAddRows", "indices", "an index is out of range [0, N) (found on the device)"],
  6: ["crossEntropy", "targets", "a target is out of range [0, C) and not ignoreIndex (found on the device)"],
  7: ["attention", "maxSeqlen", "a sequence is longer than maxSeqlen (found on the device)"],
  8: ["attention", "cuSeqlens", "expected [0, …, T] non-decreasing cumulative lengths (found on the device)"],
};

/** Storage of a CUDA tensor: one block of the caching allocator. */
interface CudaStorage {
  block: Block;
}

/**
 * The op contract on an NVIDIA GPU. Device memory belongs to the backend (a caching allocator);
 * every op is queued asynchronously on one CUDA stream, and only reads (`read`, `item`,
 * `readBytes`) and `synchronize` wait. Index errors that only the device can see (an id out of
 * range) are reported by the next wait, as an OpError naming the op.
 */
export class CudaBackend implements Backend {
  readonly name = "cuda";
  readonly allocator: CachingAllocator;
  readonly info: ReturnType<NativeAddon["init"]>;
  private readonly scratch: Tensor;
  private readonly slopeCache = new Map<string, Tensor>();
  /** When true, every new tensor starts as NaN / −1 (conformance tests). */
  poison = false;

  constructor(readonly native: NativeAddon) {
    this.info = native.init();
    this.allocator = new CachingAllocator(native, () => this.synchronize());
    this.scratch = this.empty([64], "f32");
  }

  /** Device address of t's first element. */
  ptr(t: Tensor): number {
    return (t.storage as CudaStorage).block.ptr + t.offset * itemsize(t.dtype);
  }
  private p(t: Tensor | null | undefined): number {
    return t === null || t === undefined ? 0 : this.ptr(t);
  }

  // ---- memory ----------------------------------------------------------------------------------

  empty(shape: readonly number[], dtype: DType): Tensor {
    return this.alloc("empty", shape, dtype);
  }

  /** A new tensor on fresh device storage; `op` names the caller in validation errors. */
  private alloc(op: string, shape: readonly number[], dtype: DType): Tensor {
    const size = validateAlloc(op, shape, dtype);
    const storage: CudaStorage = { block: this.allocator.alloc(size * itemsize(dtype)) };
    const t = new Tensor(this, [...shape], dtype, storage);
    // Testing aid: fresh storage full of NaN (−1 for integers) shows any element an op fails to write.
    if (this.poison && size > 0) this.native.fill(DT[dtype], this.ptr(t), size, isFloat(dtype) ? NaN : -1);
    return t;
  }

  zeros(shape: readonly number[], dtype: DType): Tensor {
    const t = this.alloc("zeros", shape, dtype);
    if (t.nbytes > 0) this.native.memset0(this.ptr(t), t.nbytes);
    return t;
  }

  fromArray(data: HostData, shape: readonly number[], dtype: DType): Tensor {
    // Host data already in the storage's form (an Int32Array for i32: ids, lengths, row lists; a Float32Array for f32)
    // goes up as it is: every element is valid as it stands, so no per-element conversion and checks, and no host
    // copy (the upload has copied the bytes when it returns). A batch's ids are tens of thousands of elements.
    if ((dtype === "i32" && data instanceof Int32Array) || (dtype === "f32" && data instanceof Float32Array)) {
      const size = validateAlloc("fromArray", shape, dtype);
      if (data.length !== size) throw new OpError("fromArray", "data", `expected ${size} elements, got ${data.length}`);
      const t = this.empty(shape, dtype);
      this.upload(t, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      return t;
    }
    // The CPU backend converts and validates the host data exactly; its raw bytes are uploaded.
    const h = cpu.fromArray(data, shape, dtype);
    const t = this.empty(shape, dtype);
    this.upload(t, cpu.readBytes(h));
    return t;
  }

  write(t: Tensor, data: HostData): void {
    expectTensor("write", "t", t, this);
    const h = cpu.empty(t.shape, t.dtype);
    cpu.write(h, data);
    this.upload(t, cpu.readBytes(h));
  }

  private upload(t: Tensor, bytes: Uint8Array): void {
    if (bytes.byteLength > 0) this.native.h2d(this.ptr(t), bytes, bytes.byteLength);
  }

  read(t: Tensor): HostArray {
    expectTensor("read", "t", t, this);
    // readBytes downloads into a new buffer of exactly the tensor's bytes: decoded where it is, not copied again
    // (a second copy of a large read, e.g. 64 MiB of pooled embeddings, is host time the device waits through).
    const bytes = this.readBytes(t);
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    return decodeHost(t.dtype, whole ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }

  readLater(t: Tensor): PendingRead {
    expectTensor("readLater", "t", t, this);
    const slot = t.nbytes > 0 ? this.native.readLater(this.ptr(t), t.nbytes) : -1;
    // The first wait() takes the values (or fails); later calls give the same values (or the same error).
    let outcome: { values: HostArray } | { error: unknown } | undefined;
    const once = (take: () => HostArray): PendingRead => ({
      wait: () => {
        if (outcome === undefined) {
          try {
            outcome = { values: take() };
          } catch (error) {
            outcome = { error };
          }
        }
        if ("error" in outcome) throw outcome.error;
        return outcome.values;
      },
    });
    if (slot >= 0) {
      const { dtype, nbytes } = t;
      return once(() => {
        const bytes = new Uint8Array(nbytes);
        // An index error found on the device before this read (the flag as it was then): reported
        // now, naming its op, as every wait reports it; synchronize raises it and clears the flag.
        if (this.native.readTake(bytes, slot, nbytes) !== 0) this.synchronize();
        return decodeHost(dtype, bytes.buffer);
      });
    }
    // Larger than a pinned slot, or every slot awaits its wait(): a copy on the device, read whole later.
    const snapshot = this.cast(t, t.dtype);
    return once(() => {
      try {
        return this.read(snapshot);
      } finally {
        snapshot.dispose();
      }
    });
  }

  readBytes(t: Tensor): Uint8Array {
    expectTensor("readBytes", "t", t, this);
    const out = new Uint8Array(t.nbytes);
    this.synchronize();
    if (out.byteLength > 0) this.native.d2h(out, this.ptr(t), out.byteLength);
    return out;
  }

  free(t: Tensor): void {
    const s = t.storage as CudaStorage;
    this.allocator.release(s.block);
  }

  copy(src: Tensor, dst: Tensor): void {
    validateCopy(this, src, dst);
    this.native.copy(DT[dst.dtype], this.ptr(dst), DT[src.dtype], this.ptr(src), src.size);
  }

  cast(x: Tensor, dtype: DType): Tensor {
    expectTensor("cast", "x", x, this);
    const y = this.alloc("cast", x.shape, dtype);
    this.copy(x, y);
    return y;
  }

  fill(t: Tensor, value: number): void {
    validateFill(this, t, value);
    // Convert the value through the CPU backend's fill, which refuses what it does (an integer dtype
    // takes integers in range) with the same message.
    const v = cpu.empty([1], t.dtype);
    cpu.fill(v, value);
    const host = cpu.read(v);
    this.native.fill(DT[t.dtype], this.ptr(t), t.size, Number(host[0]));
  }

  synchronize(): void {
    const code = this.native.sync();
    if (code !== 0) {
      const e = DEVICE_ERRORS[code];
      if (e) throw new OpError(e[0], e[1], e[2]);
      throw new Error(`CUDA backend: unknown device error code ${code}`);
    }
  }

  memoryStats(): MemoryStats {
    return { allocatedBytes: this.allocator.allocatedBytes, peakBytes: this.allocator.peakBytes, reservedBytes: this.allocator.reservedBytes, deviceAllocations: this.allocator.mallocCount };
  }

  /** Restarts peak tracking at the current allocation. */
  resetPeak(): void {
    this.allocator.peakBytes = this.allocator.allocatedBytes;
  }

  /** Free and total device memory (cudaMemGetInfo); the allocator's cached blocks count as used. */
  deviceMemory(): { freeBytes: number; totalBytes: number } {
    const [freeBytes, totalBytes] = this.native.memGetInfo();
    return { freeBytes, totalBytes };
  }

  /** NCCL all-reduce / broadcast between the processes of a run (the host channel without an NCCL build). */
  connectCollectives(group: CollectiveGroup): Promise<Communicator> {
    return connectCudaCollectives(this, group);
  }

  /** Records CUDA event `i` (a small slot index) on the stream, for device-side timing. */
  recordEvent(i: number): void {
    this.native.eventRecord(i);
  }

  /** Device milliseconds between recorded events `i` and `j` (call after `synchronize`). */
  elapsedMs(i: number, j: number): number {
    return this.native.eventElapsed(i, j);
  }

  // ---- embeddings ------------------------------------------------------------------------------

  embedding(ids: Tensor, table: Tensor, opts: { dtype?: DType } = {}): Tensor {
    const { V, H, outShape, outDtype: dtype } = validateEmbedding(this, ids, table, opts);
    const y = this.empty(outShape, dtype);
    this.native.embedding(DT[dtype], this.ptr(y), this.ptr(ids), DT[table.dtype], this.ptr(table), ids.size, V, H);
    return y;
  }

  embeddingBackward(ids: Tensor, dy: Tensor, dtable: Tensor, opts: { paddingIdx?: number | null } = {}): void {
    const { V, H, paddingIdx: pad } = validateEmbeddingBackward(this, ids, dy, dtable, opts);
    this.native.embeddingBackward(this.ptr(dtable), this.ptr(ids), DT[dy.dtype], this.ptr(dy), ids.size, V, H, pad === null ? -1 : pad);
  }

  // ---- dense -----------------------------------------------------------------------------------

  matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
    const { M, N, K, transA, transB, outShape, outDtype: dtype, alpha, activation, bias, preActivation: pre, out, accumulate, biasGrad } =
      validateMatmul(this, a, b, opts);

    // cuBLASLt wants one operand type: bring a mixed pair to the lower-precision one.
    const temps: Tensor[] = [];
    let A = a, B = b;
    if (a.dtype !== b.dtype) {
      if (a.dtype === "f32") { A = this.cast(a, b.dtype); temps.push(A); } else { B = this.cast(b, a.dtype); temps.push(B); }
    }
    const y = out ?? this.empty(outShape, dtype);
    // The product may not be written over its own operands: compute aside when out shares storage.
    const aliased = out !== null && (out.storage === a.storage || out.storage === b.storage);
    const plain = activation === "none" && pre === null && !aliased;
    // The bias gradient rides the GEMM (cuBLASLt BGRADB) when a goes in as given; else its own column sums, first.
    const fusedBiasGrad = biasGrad !== null && A === a && plain ? biasGrad : null;
    if (biasGrad !== null && fusedBiasGrad === null) this.sumRows(a, { out: biasGrad, accumulate });
    if (plain) {
      this.gemm(A, B, y, bias, M, N, K, transA, transB, alpha, accumulate, fusedBiasGrad);
    } else {
      // Exact-erf GELU and "accumulate after the activation" are outside cuBLASLt's epilogues:
      // the product + bias goes to an f32 buffer, then one kernel applies the rest.
      const tmp = this.empty([M, N], "f32");
      temps.push(tmp);
      this.gemm(A, B, tmp, bias, M, N, K, transA, transB, alpha, false);
      this.native.biasAct(DT[y.dtype], this.ptr(y), DT.f32, this.ptr(tmp), 0, 0, M, N, activation === "gelu" ? 1 : 0,
        pre ? DT[pre.dtype] : 0, this.p(pre), accumulate ? 1 : 0);
    }
    for (const t of temps) t.dispose();
    return y;
  }

  /** One matmul pack, reused by every call (src/matmul-pack.ts names its slots). */
  private readonly matmulPack = new Float64Array(MATMUL_SLOTS);
  private gemm(
    A: Tensor, B: Tensor, D: Tensor, bias: Tensor | null, M: number, N: number, K: number, tA: boolean, tB: boolean, alpha: number, acc: boolean,
    biasGrad: Tensor | null = null,
  ): void {
    const g = this.matmulPack;
    g[MATMUL.dtA] = DT[A.dtype]; g[MATMUL.dtB] = DT[B.dtype]; g[MATMUL.dtOut] = DT[D.dtype]; g[MATMUL.dtBias] = bias ? DT[bias.dtype] : 0;
    g[MATMUL.a] = this.ptr(A); g[MATMUL.b] = this.ptr(B); g[MATMUL.out] = this.ptr(D); g[MATMUL.bias] = this.p(bias);
    g[MATMUL.m] = M; g[MATMUL.n] = N; g[MATMUL.k] = K; g[MATMUL.transA] = tA ? 1 : 0; g[MATMUL.transB] = tB ? 1 : 0;
    g[MATMUL.alpha] = alpha; g[MATMUL.accumulate] = acc ? 1 : 0; g[MATMUL.biasGrad] = this.p(biasGrad);
    this.native.matmul(g);
  }

  sumRows(x: Tensor, opts: { out?: Tensor | null; accumulate?: boolean } = {}): Tensor {
    const { n, m, out, accumulate } = validateSumRows(this, x, opts);
    const y = out ?? this.empty([m], "f32");
    this.native.sumRows(this.ptr(y), DT[x.dtype], this.ptr(x), n, m, accumulate ? 1 : 0);
    return y;
  }

  // ---- elementwise -----------------------------------------------------------------------------

  add(a: Tensor, b: Tensor, opts?: { out?: Tensor | null }): Tensor {
    const out = validateAdd(this, a, b, opts).out ?? this.empty(a.shape, a.dtype);
    this.native.add(DT[out.dtype], this.ptr(out), DT[a.dtype], this.ptr(a), DT[b.dtype], this.ptr(b), a.size);
    return out;
  }

  addInPlace(a: Tensor, b: Tensor, alpha = 1): void {
    validateAddInPlace(this, a, b, alpha);
    this.native.addInPlace(DT[a.dtype], this.ptr(a), DT[b.dtype], this.ptr(b), alpha, a.size);
  }

  scaleInPlace(x: Tensor, s: number): void {
    validateScaleInPlace(this, x, s);
    this.native.scaleInPlace(DT[x.dtype], this.ptr(x), s, x.size);
  }

  gelu(x: Tensor): Tensor {
    validateUnary(this, "gelu", x);
    const y = this.empty(x.shape, x.dtype);
    this.native.gelu(DT[y.dtype], this.ptr(y), DT[x.dtype], this.ptr(x), x.size);
    return y;
  }

  geluBackward(dy: Tensor, x: Tensor): Tensor {
    validateUnaryBackward(this, "geluBackward", dy, x);
    const dx = this.empty(dy.shape, dy.dtype);
    this.native.geluBackward(DT[dx.dtype], this.ptr(dx), DT[dy.dtype], this.ptr(dy), DT[x.dtype], this.ptr(x), dy.size);
    return dx;
  }

  geglu(g: Tensor, opts?: GegluOptions): Tensor {
    const { n, inner, outShape, dropout: d } = validateGeglu(this, g, opts);
    const h = this.empty(outShape, g.dtype);
    this.native.geglu(DT[h.dtype], this.ptr(h), DT[g.dtype], this.ptr(g), n, inner, ...dropArgs(d));
    return h;
  }

  gegluBackward(dh: Tensor, g: Tensor, opts?: GegluOptions): Tensor {
    const { n, inner, dropout: d } = validateGegluBackward(this, dh, g, opts);
    const dg = this.empty(g.shape, dh.dtype);
    this.native.gegluBackward(DT[dg.dtype], this.ptr(dg), DT[dh.dtype], this.ptr(dh), DT[g.dtype], this.ptr(g), n, inner, ...dropArgs(d));
    return dg;
  }

  tanh(x: Tensor): Tensor {
    validateUnary(this, "tanh", x);
    const y = this.empty(x.shape, x.dtype);
    this.native.tanh(DT[y.dtype], this.ptr(y), DT[x.dtype], this.ptr(x), x.size);
    return y;
  }

  tanhBackward(dy: Tensor, y: Tensor): Tensor {
    validateUnaryBackward(this, "tanhBackward", dy, y);
    const dx = this.empty(dy.shape, dy.dtype);
    this.native.tanhBackward(DT[dx.dtype], this.ptr(dx), DT[dy.dtype], this.ptr(dy), DT[y.dtype], this.ptr(y), dy.size);
    return dx;
  }

  dropout(x: Tensor, opts: DropoutOptions): Tensor {
    return this.dropoutOp("dropout", x, opts);
  }

  dropoutBackward(dy: Tensor, opts: DropoutOptions): Tensor {
    return this.dropoutOp("dropoutBackward", dy, opts);
  }

  private dropoutOp(op: "dropout" | "dropoutBackward", x: Tensor, opts: DropoutOptions): Tensor {
    const d = validateDropout(this, op, x, opts);
    const y = this.empty(x.shape, x.dtype);
    this.native.dropout(DT[y.dtype], this.ptr(y), DT[x.dtype], this.ptr(x), x.size, ...dropArgs(d));
    return y;
  }

  // ---- normalisation ---------------------------------------------------------------------------

  layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): LayerNormResult {
    const { n, h } = validateLayerNorm(this, x, weight, bias, eps);
    const y = this.empty(x.shape, x.dtype);
    const mean = this.empty([n], "f32");
    const rstd = this.empty([n], "f32");
    this.native.layerNorm(DT[y.dtype], this.ptr(y), DT[x.dtype], this.ptr(x), 0, 0, 0, DT[weight.dtype], this.ptr(weight),
      bias ? DT[bias.dtype] : 0, this.p(bias), this.ptr(mean), this.ptr(rstd), n, h, eps, ...dropArgs(null));
    return { y, mean, rstd };
  }

  addLayerNorm(x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, eps: number, opts?: AddLayerNormOptions): AddLayerNormResult {
    const { n, h, dropout: d } = validateAddLayerNorm(this, x, residual, weight, bias, eps, opts);
    const y = this.empty(x.shape, x.dtype);
    const sum = this.empty(x.shape, x.dtype);
    const mean = this.empty([n], "f32");
    const rstd = this.empty([n], "f32");
    this.native.layerNorm(DT[y.dtype], this.ptr(y), DT[x.dtype], this.ptr(x), DT[residual.dtype], this.ptr(residual), this.ptr(sum),
      DT[weight.dtype], this.ptr(weight), bias ? DT[bias.dtype] : 0, this.p(bias), this.ptr(mean), this.ptr(rstd), n, h, eps, ...dropArgs(d));
    return { y, mean, rstd, sum };
  }

  layerNormBackward(dy: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, grads: NormGrads): Tensor {
    const { n, h, dropoutGrad: dg } = validateLayerNormBackward(this, dy, x, weight, mean, rstd, grads);
    const dx = this.empty(dy.shape, dy.dtype);
    this.native.layerNormBackward(DT[dx.dtype], this.ptr(dx), DT[dy.dtype], this.ptr(dy), DT[x.dtype], this.ptr(x), DT[weight.dtype],
      this.ptr(weight), this.ptr(mean), this.ptr(rstd), this.ptr(grads.dweight), this.ptr(grads.dbias), n, h, this.p(dg?.out),
      ...dropArgs(dg?.dropout ?? null));
    return dx;
  }

  // ---- unpadding -------------------------------------------------------------------------------

  gatherRows(x: Tensor, indices: Tensor): Tensor {
    const { n, h, outShape } = validateGatherRows(this, x, indices);
    const y = this.empty(outShape, x.dtype);
    this.native.gatherRows(DT[x.dtype], this.ptr(y), this.ptr(x), this.ptr(indices), indices.size, n, h);
    return y;
  }

  scatterRows(x: Tensor, indices: Tensor, numRows: number): Tensor {
    const { t, h, outShape } = validateScatterRows(this, x, indices, numRows);
    const y = this.zeros(outShape, x.dtype);
    this.native.scatterRows(DT[x.dtype], this.ptr(y), this.ptr(x), this.ptr(indices), t, numRows, h, 0, DT[x.dtype]);
    return y;
  }

  scatterAddRows(x: Tensor, indices: Tensor, out: Tensor): void {
    const { t, h, n } = validateScatterAddRows(this, x, indices, out);
    this.native.scatterRows(DT[out.dtype], this.ptr(out), this.ptr(x), this.ptr(indices), t, n, h, 1, DT[x.dtype]);
  }

  // ---- attention -------------------------------------------------------------------------------

  /** The validated slopes on the device, uploaded once per distinct list (an upload waits for the stream). */
  private slopesTensor(slopes: Float64Array | null): Tensor | null {
    if (slopes === null) return null;
    const key = `${slopes.join(",")},`;
    let t = this.slopeCache.get(key);
    if (t === undefined) {
      t = this.fromArray(slopes, [slopes.length], "f32");
      this.slopeCache.set(key, t);
    }
    return t;
  }

  /** The kernel's argument pack (src/attn-pack.ts); the caller fills out, lse and their dtypes. */
  private attnPack(op: string, qkv: Tensor, args: AttentionArgs, v: AttentionPlan): Float64Array {
    const { T, numHeads: nh, headDim: dh, maxSeqlen, scale, positions, keyMask, dropout } = v;
    // A limit of this backend's kernels, checked after the contract's own checks.
    if (dh > 128) throw new OpError(op, "qkv", `head dim ${dh} > 128 is not supported by the CUDA backend`);
    const slopes = this.slopesTensor(v.slopes);
    const [dropP, dropKey, dropOffset] = dropArgs(dropout);
    return attnPack({
      dt: DT[qkv.dtype], qkv: this.ptr(qkv), cuSeqlens: this.ptr(args.cuSeqlens), positions: this.p(positions),
      dtMask: keyMask ? DT[keyMask.dtype] : 0, keyMask: this.p(keyMask), slopes: this.p(slopes),
      batch: args.cuSeqlens.size - 1, tokens: T, heads: nh, headDim: dh, maxSeqlen,
      scale, dropP, dropKey, dropOffset,
    });
  }

  attention(qkv: Tensor, args: AttentionArgs): AttentionResult {
    const v = validateAttention(this, "attention", qkv, args);
    const pack = this.attnPack("attention", qkv, args, v);
    const out = this.empty([v.T, v.H], qkv.dtype);
    const lse = this.empty([v.T, v.numHeads], "f32");
    pack[ATTN.out] = this.ptr(out); pack[ATTN.lse] = this.ptr(lse); pack[ATTN.dtOut] = DT[out.dtype];
    this.native.attention(pack);
    return { out, lse };
  }

  attentionBackward(dout: Tensor, qkv: Tensor, out: Tensor, lse: Tensor, args: AttentionArgs): Tensor {
    const v = validateAttentionBackward(this, dout, qkv, out, lse, args);
    const pack = this.attnPack("attentionBackward", qkv, args, v);
    pack[ATTN.out] = this.ptr(out); pack[ATTN.lse] = this.ptr(lse); pack[ATTN.dtOut] = DT[out.dtype]; pack[ATTN.dtDout] = DT[dout.dtype];
    const dqkv = this.empty([v.T, 3 * v.H], dout.dtype);
    const floats = this.native.attentionBackwardScratch(pack, this.ptr(dout));
    const scratch = floats > 0 ? this.empty([floats], "f32") : null;
    this.native.attentionBackward(pack, this.ptr(dout), this.ptr(dqkv), this.p(scratch));
    scratch?.dispose();
    return dqkv;
  }

  // ---- losses and metrics ----------------------------------------------------------------------

  crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): LossResult {
    const { n, c, ignoreIndex, reduction, gradScale, computeGrad, inPlace } = validateCrossEntropy(this, logits, targets, opts);
    const loss = this.empty([1], "f32");
    const grad = !computeGrad ? null : inPlace ? logits : this.empty(logits.shape, logits.dtype);
    this.native.crossEntropy(this.ptr(loss), DT[logits.dtype], this.ptr(logits), this.ptr(targets), n, c, ignoreIndex,
      reduction === "mean" ? 1 : 0, grad ? DT[grad.dtype] : 0, this.p(grad), gradScale, this.ptr(this.scratch));
    return grad ? { loss, grad } : { loss };
  }

  mse(pred: Tensor, target: Tensor, opts: { computeGrad?: boolean; gradScale?: number } = {}): LossResult {
    const { n, gradScale, computeGrad } = validateMse(this, pred, target, opts);
    const loss = this.empty([1], "f32");
    const grad = computeGrad ? this.empty(pred.shape, pred.dtype) : null;
    this.native.mse(this.ptr(loss), DT[pred.dtype], this.ptr(pred), DT[target.dtype], this.ptr(target), n,
      grad ? DT[grad.dtype] : 0, this.p(grad), gradScale);
    return grad ? { loss, grad } : { loss };
  }

  argmax(x: Tensor): Tensor {
    const { n, c, outShape } = validateArgmax(this, x);
    const y = this.empty(outShape, "i32");
    this.native.argmax(this.ptr(y), DT[x.dtype], this.ptr(x), n, c);
    return y;
  }

  // ---- optimizer -------------------------------------------------------------------------------

  globalNorm(tensors: readonly Tensor[]): Tensor {
    validateGlobalNorm(this, tensors);
    const table = new Float64Array(NORM_ROW_WIDTH * tensors.length);
    tensors.forEach((t, i) => {
      const o = NORM_ROW_WIDTH * i;
      table[o + NORM_ROW.ptr] = this.ptr(t); table[o + NORM_ROW.size] = t.size; table[o + NORM_ROW.dtype] = DT[t.dtype];
    });
    const out = this.empty([1], "f32");
    this.native.globalNorm(this.ptr(out), table, this.ptr(this.scratch));
    return out;
  }

  clipCoefficient(norm: Tensor, maxNorm: number): Tensor {
    validateClipCoefficient(this, norm, maxNorm);
    const out = this.empty([1], "f32");
    this.native.clipCoefficient(this.ptr(out), this.ptr(norm), maxNorm);
    return out;
  }

  adamw(params: readonly AdamWParam[], opts: AdamWOptions): void {
    const { lr, beta1: b1, beta2: b2, eps, decay, step, gradScale, gradScaleTensor } = validateAdamW(this, params, opts);
    const table = new Float64Array(ADAMW_ROW_WIDTH * params.length);
    params.forEach((e, i) => {
      const o = ADAMW_ROW_WIDTH * i;
      table[o + ADAMW_ROW.param] = this.ptr(e.param); table[o + ADAMW_ROW.grad] = this.ptr(e.grad);
      table[o + ADAMW_ROW.m] = this.ptr(e.m); table[o + ADAMW_ROW.v] = this.ptr(e.v);
      table[o + ADAMW_ROW.lowp] = this.p(e.lowp); table[o + ADAMW_ROW.size] = e.param.size;
      table[o + ADAMW_ROW.lowpDtype] = e.lowp ? DT[e.lowp.dtype] : 0;
    });
    this.native.adamw(table, lr, b1, b2, eps, decay, 1 - b1 ** step, 1 - b2 ** step, gradScale, this.p(gradScaleTensor));
  }
}

/** A dropout's kernel arguments (dropout, GeGLU, attention): p, the seed's key and the counter offset mod 2³² (zeros: none). */
/** Host bytes of a tensor, decoded as `read` returns them. */
function decodeHost(dtype: DType, buf: ArrayBufferLike): HostArray {
  switch (dtype) {
    case "f32": return new Float32Array(buf);
    case "bf16": return decodeBf16(new Uint16Array(buf));
    case "f16": return decodeF16(new Uint16Array(buf));
    case "i32": return new Int32Array(buf);
    case "i64": return new BigInt64Array(buf);
    default: return new Uint8Array(buf);
  }
}

function dropArgs(d: DropoutPlan | null): [number, number, number] {
  return d ? [d.p, seedKey(d.seed), d.offset % 4294967296] : [0, 0, 0];
}
