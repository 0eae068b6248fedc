import type { AdamWOptions, AdamWParam, AttentionArgs, GegluOptions, AttentionResult, Backend, CrossEntropyOptions, LossResult, MatmulOptions } from "../backend.js";
import { OpError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { type DType, itemsize, type RawArray } from "../dtype.js";
import { CpuBackend, cpu } from "../cpu/backend.js";
import { attention, attentionBackward } from "./attention.js";
import { crossEntropy } from "./loss.js";
import { matmul } from "./matmul.js";
import { loadNativeGemm, type NativeGemm } from "./native.js";
import { adamw, globalNorm } from "./optim.js";
import { geglu, gegluBackward } from "./elementwise.js";
import { sumRows } from "./rows.js";
import { defaultThreads, type KernelVariant, WasmRuntime } from "./runtime.js";

/** Tensors of at least this many bytes live in the WebAssembly memory (smaller ones stay host arrays). */
const RESIDENT_BYTES = 1024;

/**
 * The fast CPU backend: the reference backend's storage and op contract, with the hot ops run as
 * WebAssembly SIMD kernels (wasm/kernels.c) on worker threads sharing one WebAssembly memory.
 * Tensors are typed arrays as on the reference backend, but f32, bf16 and i32 tensors of 1 KiB or
 * more are views of that shared memory, so the kernels read and write them in place (operands that
 * live elsewhere are copied in and out). Their blocks return to the memory when the tensor is
 * disposed, or else when the garbage collector drops it. When the memory (4 GiB) is full, new
 * tensors are host arrays again. Ops not listed here are the reference implementations. Tested op
 * by op against the reference (conformance.test.ts).
 *
 * Threads: MOSAICBERT_CPU_THREADS, else every core (`setThreads` changes it).
 */
export class FastCpuBackend extends CpuBackend {
  readonly runtime: WasmRuntime;
  /** Gives back the blocks of tensors dropped without dispose(). */
  private readonly reclaim: FinalizationRegistry<number>;

  /**
   * The native AVX2/AVX-512 GEMM for f32 products when it was built at install (`fast/native.ts`), else null.
   * `{ native: false }` or MOSAICBERT_CPU_NATIVE=0 keeps every product on the WebAssembly GEMM.
   */
  readonly nativeGemm: NativeGemm | null;

  constructor(opts: { threads?: number; native?: boolean } = {}) {
    super({ threads: 1 });
    const rt = new WasmRuntime(opts.threads ?? defaultThreads());
    this.runtime = rt;
    this.nativeGemm = opts.native === false ? null : loadNativeGemm();
    this.reclaim = new FinalizationRegistry((at) => rt.heap.release(at));
  }

  /** Set while allocating a tensor that its op overwrites entirely (see `emptyForOutput`). */
  private noZero = false;

  /**
   * A tensor like `empty()` for an op that writes every element: its block of the WebAssembly memory is
   * not zeroed first (a 37 MB logits tensor costs ~5 ms to zero).
   */
  emptyForOutput(shape: readonly number[], dtype: DType): Tensor {
    this.noZero = true;
    try {
      return this.empty(shape, dtype);
    } finally {
      this.noZero = false;
    }
  }

  protected override newStorage(dtype: DType, size: number): RawArray {
    const bytes = size * itemsize(dtype);
    if (bytes < RESIDENT_BYTES || (dtype !== "f32" && dtype !== "bf16" && dtype !== "i32")) return super.newStorage(dtype, size);
    const at = this.runtime.heap.alloc(bytes);
    if (at < 0) return super.newStorage(dtype, size);
    const buf = this.runtime.buffer;
    const raw = dtype === "f32" ? new Float32Array(buf, at, size) : dtype === "i32" ? new Int32Array(buf, at, size) : new Uint16Array(buf, at, size);
    if (!this.noZero) raw.fill(0);
    return raw;
  }

  protected override alloc(op: string, shape: readonly number[], dtype: DType): Tensor {
    const t = super.alloc(op, shape, dtype);
    const raw = t.storage as RawArray;
    if (this.runtime.owns(raw)) this.reclaim.register(t, raw.byteOffset, t);
    return t;
  }

  override free(t: Tensor): void {
    super.free(t);
    if (t.owner !== null) return;
    const raw = t.storage as RawArray;
    if (!this.runtime.owns(raw)) return;
    this.reclaim.unregister(t);
    this.runtime.heap.release(raw.byteOffset);
  }

  /** "fma" (relaxed-SIMD fused multiply-add) or "simd" (plain simd128). */
  get variant(): KernelVariant {
    return this.runtime.variant;
  }

  override setThreads(n: number): void {
    this.runtime.setThreads(n);
  }

  override get threads(): number {
    return this.runtime.threads;
  }

  override matmul(a: Tensor, b: Tensor, opts?: MatmulOptions): Tensor {
    return matmul(this, a, b, opts);
  }

  override sumRows(x: Tensor, opts?: { out?: Tensor | null; accumulate?: boolean }): Tensor {
    return sumRows(this, x, opts);
  }

  override attention(qkv: Tensor, args: AttentionArgs): AttentionResult {
    return attention(this, qkv, args);
  }

  override attentionBackward(dout: Tensor, qkv: Tensor, out: Tensor, lse: Tensor, args: AttentionArgs): Tensor {
    return attentionBackward(this, dout, qkv, out, lse, args);
  }

  override geglu(g: Tensor, opts?: GegluOptions): Tensor {
    return geglu(this, g, opts);
  }

  override gegluBackward(dh: Tensor, g: Tensor, opts?: GegluOptions): Tensor {
    return gegluBackward(this, dh, g, opts);
  }

  override adamw(params: readonly AdamWParam[], opts: AdamWOptions): void {
    adamw(this, params, opts);
  }

  override globalNorm(tensors: readonly Tensor[]): Tensor {
    return globalNorm(this, tensors);
  }

  override crossEntropy(logits: Tensor, targets: Tensor, opts?: CrossEntropyOptions): LossResult {
    return crossEntropy(this, logits, targets, opts);
  }
}

let shared: FastCpuBackend | null = null;

/** The process-wide fast CPU backend (created on first use: compiles the WebAssembly module). */
export function fastCpu(): FastCpuBackend {
  shared ??= new FastCpuBackend();
  return shared;
}

/**
 * The CPU backend a program should compute on: the fast backend, or the reference (oracle) backend
 * when MOSAICBERT_CPU_BACKEND=reference (for checking a result against plain TypeScript).
 */
export function defaultCpuBackend(): Backend {
  const want = process.env.MOSAICBERT_CPU_BACKEND;
  if (want === undefined || want === "" || want === "fast") return fastCpu();
  if (want === "reference") return cpu;
  throw new OpError("defaultCpuBackend", "MOSAICBERT_CPU_BACKEND", `expected 'fast' or 'reference', got '${want}'`);
}
