import type { AttentionArgs, AttentionResult, Backend, CrossEntropyOptions, LossResult, MatmulOptions } from "../backend.js";
import { OpError } from "../errors.js";
import type { Tensor } from "../tensor.js";
import { CpuBackend, cpu } from "../cpu/backend.js";
import { attention, attentionBackward } from "./attention.js";
import { crossEntropy } from "./loss.js";
import { matmul } from "./matmul.js";
import { sumRows } from "./rows.js";
import { defaultThreads, type KernelVariant, WasmRuntime } from "./runtime.js";

/**
 * The fast CPU backend: the reference backend's storage and op contract, with the hot ops run as
 * WebAssembly SIMD kernels (wasm/kernels.c) on worker threads sharing one WebAssembly memory.
 * Tensors are the same host typed arrays as on the reference backend; each fast op copies its
 * operands into the shared memory, runs, and copies the result out. Ops not listed here are the
 * reference implementations. Tested op by op against the reference (conformance.test.ts).
 *
 * Threads: MOSAICBERT_CPU_THREADS, else every core (`setThreads` changes it).
 */
export class FastCpuBackend extends CpuBackend {
  readonly runtime: WasmRuntime;

  constructor(opts: { threads?: number } = {}) {
    super({ threads: 1 });
    this.runtime = new WasmRuntime(opts.threads ?? defaultThreads());
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
