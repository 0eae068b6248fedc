import { type DType, decodeBf16, decodeF16, isFloat, itemsize, rawArray, type RawArray } from "../dtype.js";
import type { CollectiveGroup, Communicator } from "../collectives.js";
import { OpError, fmtShape } from "../errors.js";
import { Tensor } from "../tensor.js";
import { expectTensor } from "../checks.js";
import { validateAlloc, validateCopy, validateFill } from "../validate/index.js";
import type {
  AddLayerNormOptions,
  AddLayerNormResult,
  AdamWOptions,
  AdamWParam,
  AttentionArgs,
  AttentionResult,
  Backend,
  CrossEntropyOptions,
  DropoutOptions,
  GegluOptions,
  HostArray,
  HostData,
  LayerNormResult,
  LossResult,
  MatmulOptions,
  MemoryStats,
  NormGrads,
  PendingRead,
} from "../backend.js";
import { checkConvertible, convertInto } from "./convert.js";
import { loadF32, rawOf, storeF32 } from "./storage.js";
import { matmul } from "./matmul.js";
import { GemmPool } from "./parallel.js";
import * as ew from "./elementwise.js";
import { addLayerNorm, layerNorm, layerNormBackward } from "./layernorm.js";
import { gatherRows, scatterAddRows, scatterRows, sumRows } from "./rows.js";
import { embedding, embeddingBackward } from "./embedding.js";
import { attention, attentionBackward } from "./attention.js";
import { argmax, crossEntropy, mse } from "./loss.js";
import { adamw, clipCoefficient, globalNorm } from "./optim.js";

/**
 * The CPU reference backend: plain TypeScript on typed arrays, float math in float32 or better
 * (reductions accumulate in JS doubles). Every other backend is tested against it.
 * Storage: f32 Float32Array, bf16/f16 Uint16Array bit patterns, i32 Int32Array, i64 BigInt64Array,
 * u8/bool Uint8Array. Tensors are freed by accounting only; the garbage collector reclaims memory.
 */
export class CpuBackend implements Backend {
  readonly name = "cpu";
  private allocated = 0;
  private peak = 0;
  /** Worker threads for large matmuls (1 thread unless setThreads / MOSAICBERT_CPU_THREADS). */
  readonly pool: GemmPool;

  constructor(opts: { threads?: number } = {}) {
    this.pool = new GemmPool();
    if (opts.threads !== undefined) this.pool.setThreads(opts.threads);
  }

  /**
   * Threads for large matmuls (default 1, or MOSAICBERT_CPU_THREADS). Results are bit-identical
   * for any thread count; other ops stay single-threaded.
   */
  setThreads(n: number): void {
    this.pool.setThreads(n);
  }

  get threads(): number {
    return this.pool.size;
  }

  // ---- memory ----------------------------------------------------------------------------------

  /** Zeroed storage for `size` elements of dtype (a backend may place it elsewhere). */
  protected newStorage(dtype: DType, size: number): RawArray {
    return rawArray(dtype, size);
  }

  /** Wraps fresh storage in a tensor and counts its bytes. */
  protected alloc(op: string, shape: readonly number[], dtype: DType): Tensor {
    const size = validateAlloc(op, shape, dtype);
    let storage: RawArray;
    try {
      storage = this.newStorage(dtype, size);
    } catch (e) {
      // The host refused the typed array (past its length limit, or out of memory): nothing was allocated.
      if (!(e instanceof RangeError)) throw e;
      throw new OpError(op, "shape", `cannot allocate ${fmtShape(shape)} ${dtype} (${size} elements, ${size * itemsize(dtype)} bytes) in host memory: ${e.message}`);
    }
    const t = new Tensor(this, [...shape], dtype, storage);
    this.allocated += size * itemsize(dtype);
    if (this.allocated > this.peak) this.peak = this.allocated;
    return t;
  }

  empty(shape: readonly number[], dtype: DType): Tensor {
    return this.alloc("empty", shape, dtype);
  }

  zeros(shape: readonly number[], dtype: DType): Tensor {
    return this.alloc("zeros", shape, dtype);
  }

  fromArray(data: HostData, shape: readonly number[], dtype: DType): Tensor {
    if (data === null || data === undefined || typeof (data as { length?: unknown }).length !== "number") {
      throw new OpError("fromArray", "data", "expected an array or typed array");
    }
    // Every check before the allocation: a refused call allocates (and counts) nothing.
    const size = validateAlloc("fromArray", shape, dtype);
    checkConvertible("fromArray", "data", size, dtype, data);
    const t = this.alloc("fromArray", shape, dtype);
    convertInto("fromArray", "data", rawOf(t), dtype, data);
    return t;
  }

  write(t: Tensor, data: HostData): void {
    expectTensor("write", "t", t, this);
    convertInto("write", "data", rawOf(t), t.dtype, data);
  }

  read(t: Tensor): HostArray {
    expectTensor("read", "t", t, this);
    const r = rawOf(t);
    switch (t.dtype) {
      case "bf16":
        return decodeBf16(r as Uint16Array);
      case "f16":
        return decodeF16(r as Uint16Array);
      default:
        return (r as Float32Array | Int32Array | BigInt64Array | Uint8Array).slice();
    }
  }

  readBytes(t: Tensor): Uint8Array {
    expectTensor("readBytes", "t", t, this);
    const r = rawOf(t);
    return new Uint8Array(r.buffer, r.byteOffset, r.byteLength).slice();
  }

  /** Host memory: the values are copied now, so `wait()` has nothing to wait for. */
  readLater(t: Tensor): PendingRead {
    const values = this.read(t);
    return { wait: () => values };
  }

  free(t: Tensor): void {
    if (t.owner !== null) return;
    this.allocated -= t.nbytes;
  }

  copy(src: Tensor, dst: Tensor): void {
    validateCopy(this, src, dst);
    if (src.dtype === dst.dtype) {
      (rawOf(dst) as RawArray).set(rawOf(src) as never);
      return;
    }
    if (isFloat(src.dtype) && isFloat(dst.dtype)) {
      storeF32(dst, loadF32(src));
      return;
    }
    convertInto("copy", "dst", rawOf(dst), dst.dtype, this.read(src), true);
  }

  cast(x: Tensor, dtype: DType): Tensor {
    expectTensor("cast", "x", x, this);
    validateAlloc("cast", x.shape, dtype);
    if (x.dtype === dtype || (isFloat(x.dtype) && isFloat(dtype))) {
      const y = this.alloc("cast", x.shape, dtype);
      this.copy(x, y);
      return y;
    }
    // A conversion that can throw (to an integer dtype): checked before the output is allocated.
    const values = this.read(x);
    checkConvertible("cast", "x", x.size, dtype, values, true);
    const y = this.alloc("cast", x.shape, dtype);
    convertInto("cast", "x", rawOf(y), dtype, values, true);
    return y;
  }

  fill(t: Tensor, value: number): void {
    validateFill(this, t, value);
    const r = rawOf(t);
    if (isFloat(t.dtype)) {
      const one = new Float32Array([value]);
      const tmp = new Tensor(this, [1], t.dtype, rawArray(t.dtype, 1));
      storeF32(tmp, one);
      (r as Uint16Array | Float32Array).fill((tmp.storage as Uint16Array | Float32Array)[0]!);
      return;
    }
    const tmp = rawArray(t.dtype, 1);
    convertInto("fill", "value", tmp, t.dtype, [value]);
    if (t.dtype === "i64") (r as BigInt64Array).fill((tmp as BigInt64Array)[0]!);
    else (r as Int32Array | Uint8Array).fill((tmp as Int32Array | Uint8Array)[0]!);
  }

  synchronize(): void {}

  /** CPU tensors are host memory: the collectives are the host channel itself (TCP through rank 0). */
  async connectCollectives(group: CollectiveGroup): Promise<Communicator> {
    return group.bootstrap;
  }

  memoryStats(): MemoryStats {
    return { allocatedBytes: this.allocated, peakBytes: this.peak, reservedBytes: this.allocated };
  }

  /** Starts a new peak measurement from the current allocation. */
  resetPeak(): void {
    this.peak = this.allocated;
  }

  // ---- ops (one file per family) ---------------------------------------------------------------

  embedding(ids: Tensor, table: Tensor, opts?: { dtype?: DType }): Tensor {
    return embedding(this, ids, table, opts);
  }
  embeddingBackward(ids: Tensor, dy: Tensor, dtable: Tensor, opts?: { paddingIdx?: number | null }): void {
    embeddingBackward(this, ids, dy, dtable, opts);
  }
  matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor {
    return matmul(this, a, b, opts);
  }
  sumRows(x: Tensor, opts?: { out?: Tensor | null; accumulate?: boolean }): Tensor {
    return sumRows(this, x, opts);
  }
  add(a: Tensor, b: Tensor, opts?: { out?: Tensor | null }): Tensor {
    return ew.add(this, a, b, opts);
  }
  addInPlace(a: Tensor, b: Tensor, alpha = 1): void {
    ew.addInPlace(this, a, b, alpha);
  }
  scaleInPlace(x: Tensor, s: number): void {
    ew.scaleInPlace(this, x, s);
  }
  gelu(x: Tensor): Tensor {
    return ew.gelu(this, x);
  }
  geluBackward(dy: Tensor, x: Tensor): Tensor {
    return ew.geluBackward(this, dy, x);
  }
  geglu(g: Tensor, opts?: GegluOptions): Tensor {
    return ew.geglu(this, g, opts);
  }
  gegluBackward(dh: Tensor, g: Tensor, opts?: GegluOptions): Tensor {
    return ew.gegluBackward(this, dh, g, opts);
  }
  tanh(x: Tensor): Tensor {
    return ew.tanh(this, x);
  }
  tanhBackward(dy: Tensor, y: Tensor): Tensor {
    return ew.tanhBackward(this, dy, y);
  }
  dropout(x: Tensor, opts: DropoutOptions): Tensor {
    return ew.dropout(this, x, opts);
  }
  dropoutBackward(dy: Tensor, opts: DropoutOptions): Tensor {
    return ew.dropout(this, dy, opts, "dropoutBackward");
  }
  layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): LayerNormResult {
    return layerNorm(this, x, weight, bias, eps);
  }
  addLayerNorm(x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, eps: number, opts?: AddLayerNormOptions): AddLayerNormResult {
    return addLayerNorm(this, x, residual, weight, bias, eps, opts);
  }
  layerNormBackward(dy: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, grads: NormGrads): Tensor {
    return layerNormBackward(this, dy, x, weight, mean, rstd, grads);
  }
  gatherRows(x: Tensor, indices: Tensor): Tensor {
    return gatherRows(this, x, indices);
  }
  scatterRows(x: Tensor, indices: Tensor, numRows: number): Tensor {
    return scatterRows(this, x, indices, numRows);
  }
  scatterAddRows(x: Tensor, indices: Tensor, out: Tensor): void {
    scatterAddRows(this, x, indices, out);
  }
  attention(qkv: Tensor, args: AttentionArgs): AttentionResult {
    return attention(this, qkv, args);
  }
  attentionBackward(dout: Tensor, qkv: Tensor, out: Tensor, lse: Tensor, args: AttentionArgs): Tensor {
    return attentionBackward(this, dout, qkv, out, lse, args);
  }
  crossEntropy(logits: Tensor, targets: Tensor, opts?: CrossEntropyOptions): LossResult {
    return crossEntropy(this, logits, targets, opts);
  }
  mse(pred: Tensor, target: Tensor, opts?: { computeGrad?: boolean; gradScale?: number }): LossResult {
    return mse(this, pred, target, opts);
  }
  argmax(x: Tensor): Tensor {
    return argmax(this, x);
  }
  globalNorm(tensors: readonly Tensor[]): Tensor {
    return globalNorm(this, tensors);
  }
  clipCoefficient(norm: Tensor, maxNorm: number): Tensor {
    return clipCoefficient(this, norm, maxNorm);
  }
  adamw(params: readonly AdamWParam[], opts: AdamWOptions): void {
    adamw(this, params, opts);
  }
}

/** The process-wide CPU backend. */
export const cpu = new CpuBackend();
