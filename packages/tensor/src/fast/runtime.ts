import { availableParallelism } from "node:os";
import { setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";
import { OpError } from "../errors.js";
import { Heap } from "./heap.js";
import { KERNELS_FMA_BASE64, KERNELS_SIMD_BASE64 } from "./kernels.wasm.js";

/**
 * The WebAssembly side of the fast CPU backend: one module (wasm/kernels.c), one shared linear
 * memory, and worker threads that instantiate the same module on the same memory.
 *
 * The op contract is synchronous, so a parallel call writes each worker its kernel and arguments
 * in the shared memory and wakes it (Atomics.notify: no message, no event loop turn), runs the
 * first share on the calling thread, then blocks in Atomics.wait until every worker has signalled.
 * Kernels take only pointers and numbers and keep no state, so any thread may run any call.
 *
 * Memory: [0, CONTROL) is the module's own (it declares no data and uses no stack); CONTROL holds
 * the completion counter, the error flag and one wake-up counter per worker, ARGS one argument
 * block per worker; from HEAP on, `heap` hands out blocks: tensor storage (the fast backend
 * keeps its tensors here, so kernels read and write them in place) and one scratch block that ops
 * reuse one after another (they run one at a time). The memory grows on demand up to 4 GiB.
 */

const PAGE = 65536;
/** Byte offset of the Int32 control words: [0] done count, [1] error flag, [2] workers started, [3 + i] worker i's wake-up count. */
const CONTROL = 4096;
/** Byte offset of the workers' argument blocks (Float64: kernel index, argument count, arguments). */
const ARGS = 8192;
const ARG_SLOTS = 24;
const MAX_THREADS = 256;
/** How long a new worker thread may take to start. */
const WORKER_START_MS = 60_000;
/** First byte of the scratch area (the module's data and stack end well below). */
export const HEAP = 64 * 1024;
const MAX_PAGES = 65536;
/** The heap stops short of 4 GiB by one page (byte offsets stay below 2^32 − 64 Ki). */
const HEAP_LIMIT = (MAX_PAGES - 1) * PAGE;

export type KernelArg = number;

// The few WebAssembly JS API types used here (the package compiles without lib.dom).
interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Memory: new (desc: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
};
type Exports = Record<string, (...args: number[]) => number>;

/** Which build runs: relaxed-SIMD fused multiply-add where V8 accepts it, else plain simd128. */
export type KernelVariant = "fma" | "simd";

let flagsSet = false;

/**
 * V8 settings the kernels need, set once per process before the module is compiled: relaxed SIMD
 * (default from Node 22; Node 20 has it behind a flag, which V8 still reads when a module is
 * compiled). V8's wasm loop unrolling, which slows the GEMM micro-kernel by ~25%, cannot be turned
 * off this way (--no-wasm-loop-unrolling is read at start-up only): kernels.c keeps V8 from
 * unrolling that loop instead (NO_V8_UNROLL).
 */
function setV8Flags(): void {
  if (flagsSet) return;
  flagsSet = true;
  setFlagsFromString("--experimental-wasm-relaxed-simd");
}

function compile(): { module: WasmModule; variant: KernelVariant } {
  setV8Flags();
  const want = process.env.MOSAICBERT_CPU_WASM;
  if (want !== undefined && want !== "" && want !== "fma" && want !== "simd") {
    throw new OpError("FastCpuBackend", "MOSAICBERT_CPU_WASM", `expected 'fma' or 'simd', got '${want}'`);
  }
  const fma = Buffer.from(KERNELS_FMA_BASE64, "base64");
  if (want !== "simd" && WebAssembly.validate(fma)) return { module: new WebAssembly.Module(fma), variant: "fma" };
  if (want === "fma") throw new OpError("FastCpuBackend", "MOSAICBERT_CPU_WASM", "relaxed SIMD (fma) is not supported by this Node.js");
  const simd = Buffer.from(KERNELS_SIMD_BASE64, "base64");
  if (!WebAssembly.validate(simd)) throw new OpError("FastCpuBackend", "wasm", "this Node.js does not support WebAssembly SIMD (simd128)");
  return { module: new WebAssembly.Module(simd), variant: "simd" };
}

/** The kernels a worker may run, by index (the argument blocks name them by number). */
const KERNELS = ["gemm", "cross_entropy", "sum_rows", "attention_fwd", "attention_bwd", "adamw", "sum_squares", "geglu_fwd", "geglu_bwd"];

// A worker waits on its wake-up word; a negative value tells it to stop.
const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, control, args, slots, index, kernels } = workerData;
const exp = new WebAssembly.Instance(module, { env: { memory } }).exports;
const fns = kernels.map((k) => exp[k]);
const ctl = new Int32Array(memory.buffer, control, 3 + index + 1);
const block = new Float64Array(memory.buffer, args + index * slots * 8, slots);
const word = 3 + index;
let seen = 0;
Atomics.add(ctl, 2, 1);
Atomics.notify(ctl, 2);
for (;;) {
  Atomics.wait(ctl, word, seen);
  seen = Atomics.load(ctl, word);
  if (seen < 0) break;
  try {
    const n = block[1];
    fns[block[0]](...block.subarray(2, 2 + n));
  } catch (e) {
    Atomics.store(ctl, 1, 1);
  }
  Atomics.add(ctl, 0, 1);
  Atomics.notify(ctl, 0);
}
`;

/** Splits [0, n) into `parts` ranges aligned to `align` (the last takes the rest). */
export function splitRange(n: number, parts: number, align: number): Array<[number, number]> {
  const blocks = Math.ceil(n / align);
  const p = Math.max(1, Math.min(parts, blocks));
  const out: Array<[number, number]> = [];
  for (let i = 0; i < p; i++) {
    const b0 = Math.round((i * blocks) / p);
    const b1 = Math.round(((i + 1) * blocks) / p);
    if (b1 > b0) out.push([b0 * align, Math.min(n, b1 * align)]);
  }
  return out;
}

/** MOSAICBERT_CPU_THREADS, else every core. */
export function defaultThreads(): number {
  const raw = process.env.MOSAICBERT_CPU_THREADS;
  if (raw === undefined || raw === "") return availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    throw new OpError("FastCpuBackend", "MOSAICBERT_CPU_THREADS", `expected an integer in [1, 256], got '${raw}'`);
  }
  return n;
}

export class WasmRuntime {
  private readonly memory: WasmMemory;
  readonly variant: KernelVariant;
  private readonly module: WasmModule;
  private readonly exports: Exports;
  private workers: Worker[] = [];
  private nThreads: number;
  private f32view: Float32Array;
  private u16view: Uint16Array;
  private i32view: Int32Array;
  /** Every buffer object the memory has returned (one per growth): views on them are views of this memory. */
  private readonly buffers = new WeakSet<object>();
  /** Blocks of the memory from HEAP on. */
  readonly heap: Heap;
  private scratchAt = -1;

  constructor(threads = defaultThreads()) {
    const { module, variant } = compile();
    this.module = module;
    this.variant = variant;
    this.memory = new WebAssembly.Memory({ initial: 256, maximum: MAX_PAGES, shared: true });
    this.exports = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as Exports;
    this.nThreads = 1;
    this.f32view = new Float32Array(0);
    this.u16view = new Uint16Array(0);
    this.i32view = new Int32Array(0);
    this.heap = new Heap(HEAP, HEAP_LIMIT, (end) => this.reserve(end));
    this.refreshViews();
    this.setThreads(threads);
  }

  get threads(): number {
    return this.nThreads;
  }

  /** Threads used by parallel kernels (the calling thread counts as one). */
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new OpError("setThreads", "n", `expected an integer in [1, ${MAX_THREADS}], got ${String(n)}`);
    this.nThreads = n;
    const ctl = this.control();
    while (this.workers.length > n - 1) {
      const i = this.workers.length - 1;
      Atomics.store(ctl, 3 + i, -1);
      Atomics.notify(ctl, 3 + i);
      Atomics.sub(ctl, 2, 1);
      void this.workers.pop()!.terminate();
    }
  }

  private control(): Int32Array {
    return new Int32Array(this.memory.buffer, CONTROL, 3 + MAX_THREADS);
  }

  /**
   * Starts workers until there are `count`, and waits until each runs (a worker that cannot start
   * would otherwise leave the caller waiting forever). Workers take no Node.js options of the
   * process (e.g. --input-type=module would make their script a module).
   */
  private spawn(count: number): void {
    if (this.workers.length >= count) return;
    const ctl = this.control();
    while (this.workers.length < count) {
      const index = this.workers.length;
      Atomics.store(ctl, 3 + index, 0);
      const workerData = { module: this.module, memory: this.memory, control: CONTROL, args: ARGS, slots: ARG_SLOTS, index, kernels: KERNELS };
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData, execArgv: [] });
      w.unref();
      this.workers.push(w);
    }
    const deadline = Date.now() + WORKER_START_MS;
    for (;;) {
      const started = Atomics.load(ctl, 2);
      if (started >= count) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        this.setThreads(1);
        Atomics.store(ctl, 2, 0);
        throw new OpError("FastCpuBackend", "threads", `worker threads did not start within ${WORKER_START_MS / 1000} s (${started} of ${count})`);
      }
      Atomics.wait(ctl, 2, started, left);
    }
  }

  private refreshViews(): void {
    const buf = this.memory.buffer;
    if (this.f32view.buffer === buf && this.f32view.byteLength === buf.byteLength) return;
    this.buffers.add(buf);
    this.f32view = new Float32Array(buf);
    this.u16view = new Uint16Array(buf);
    this.i32view = new Int32Array(buf);
  }

  /** Makes [0, bytes) addressable; views taken before must be re-read (f32/u16/i32 below). */
  reserve(bytes: number): void {
    const need = Math.ceil(bytes / PAGE);
    const have = this.memory.buffer.byteLength / PAGE;
    if (need > MAX_PAGES) throw new OpError("FastCpuBackend", "memory", `an op needs ${bytes} bytes of WebAssembly scratch, more than the 4 GiB limit`);
    if (need > have) this.memory.grow(need - have);
    this.refreshViews();
  }

  /** The memory's current buffer (views on it stay valid when the memory grows: it is shared). */
  get buffer(): ArrayBuffer | SharedArrayBuffer {
    this.refreshViews();
    return this.f32view.buffer;
  }

  /** Whether `a` is a view of this memory (its byteOffset is then its address). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /**
   * Address of the scratch block, grown to at least `bytes`: one block that every op reuses (ops
   * run one at a time), kept between ops. Throws when the memory cannot hold it.
   */
  scratch(bytes: number): number {
    if (this.scratchAt >= 0 && this.heap.sizeOf(this.scratchAt) >= bytes) return this.scratchAt;
    if (this.scratchAt >= 0) this.heap.release(this.scratchAt);
    this.scratchAt = -1;
    const at = this.heap.alloc(Math.max(bytes, 1 << 20));
    if (at < 0) throw new OpError("FastCpuBackend", "memory", `an op needs ${bytes} bytes of WebAssembly scratch, more than the 4 GiB memory has left`);
    this.scratchAt = at;
    return at;
  }

  get f32(): Float32Array {
    this.refreshViews();
    return this.f32view;
  }
  get u16(): Uint16Array {
    this.refreshViews();
    return this.u16view;
  }
  get i32(): Int32Array {
    this.refreshViews();
    return this.i32view;
  }

  /** Runs one kernel on the calling thread. */
  call(fn: string, ...args: KernelArg[]): number {
    return this.exports[fn]!(...args);
  }

  /**
   * Runs fn once per argument list, in parallel: the first on this thread, the others on workers;
   * returns when all are done.
   */
  parallel(fn: string, argLists: readonly (readonly KernelArg[])[]): void {
    if (argLists.length === 0) return;
    if (argLists.length === 1) {
      this.exports[fn]!(...argLists[0]!);
      return;
    }
    const kernel = KERNELS.indexOf(fn);
    if (kernel < 0) throw new OpError("parallel", "fn", `'${fn}' is not a parallel kernel (${KERNELS.join(", ")})`);
    const others = argLists.length - 1;
    this.spawn(others);
    const buf = this.memory.buffer;
    const ctl = this.control();
    Atomics.store(ctl, 0, 0);
    Atomics.store(ctl, 1, 0);
    for (let i = 0; i < others; i++) {
      const a = argLists[i + 1]!;
      if (a.length > ARG_SLOTS - 2) throw new OpError(fn, "args", `at most ${ARG_SLOTS - 2} arguments, got ${a.length}`);
      const block = new Float64Array(buf, ARGS + i * ARG_SLOTS * 8, ARG_SLOTS);
      block[0] = kernel;
      block[1] = a.length;
      block.set(a, 2);
      // Wake-up counts stay positive (a negative one means stop).
      Atomics.store(ctl, 3 + i, (Atomics.load(ctl, 3 + i) % 0x3fffffff) + 1);
      Atomics.notify(ctl, 3 + i);
    }
    let failure: unknown = null;
    try {
      this.exports[fn]!(...argLists[0]!);
    } catch (e) {
      failure = e;
    }
    for (;;) {
      const finished = Atomics.load(ctl, 0);
      if (finished >= others) break;
      Atomics.wait(ctl, 0, finished);
    }
    if (failure !== null) throw failure;
    if (Atomics.load(ctl, 1) !== 0) throw new OpError(fn, "threads", "a worker thread failed while running its share of the kernel");
  }

  /** Stops the worker threads (they are also unref'd, so they never keep a process alive). */
  close(): void {
    this.setThreads(1);
  }
}
