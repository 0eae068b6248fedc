import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { OpError } from "../errors.js";
import { gemmPacked, packA, packB, panelsLength } from "./gemm.js";

/**
 * Optional multi-threaded matmul. The op contract is synchronous, so the main thread hands each
 * worker a range of output panels (operands packed into SharedArrayBuffers), computes its own
 * range, then blocks in Atomics.wait until every worker has signalled. Each output element is
 * computed by the same kernel code whatever the split, so results are bit-identical to one thread.
 *
 * Off by default (1 thread): enable with `cpu.setThreads(n)` or MOSAICBERT_CPU_THREADS=n.
 * Workers are unref'd, so they never keep the process alive.
 */

/** Products smaller than this many flops run on one thread (worker hand-off costs ~0.1 ms). */
const MIN_PARALLEL_FLOPS = 1 << 24;

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const gemmPacked = ${gemmPacked.toString()};
parentPort.on("message", (m) => {
  try {
    gemmPacked(m.ap, m.bp, m.c, m.M, m.N, m.K, m.alpha, m.bias, m.ip0, m.ip1, m.jp0, m.jp1);
  } catch (e) {
    Atomics.store(m.done, 1, 1);
  }
  Atomics.add(m.done, 0, 1);
  Atomics.notify(m.done, 0);
});
`;

function envThreads(): number {
  const raw = process.env.MOSAICBERT_CPU_THREADS;
  if (raw === undefined || raw === "") return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new OpError("CpuBackend", "MOSAICBERT_CPU_THREADS", `expected a positive integer, got '${raw}'`);
  return n;
}

export class GemmPool {
  private threads: number;
  private workers: Worker[] = [];

  constructor(threads = envThreads()) {
    this.threads = threads;
  }

  get size(): number {
    return this.threads;
  }

  /** Worker threads started so far. */
  get spawned(): number {
    return this.workers.length;
  }

  /** Threads used by large products (1 = no workers). At most os.availableParallelism() × 2. */
  setThreads(n: number): void {
    const max = availableParallelism() * 2;
    if (!Number.isInteger(n) || n < 1 || n > max) throw new OpError("setThreads", "n", `expected an integer in [1, ${max}], got ${String(n)}`);
    this.threads = n;
    while (this.workers.length > n - 1) void this.workers.pop()!.terminate();
  }

  private worker(i: number): Worker {
    while (this.workers.length <= i) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.unref();
      this.workers.push(w);
    }
    return this.workers[i]!;
  }

  /** Whether a product of this size is worth splitting. */
  wants(M: number, N: number, K: number): boolean {
    return this.threads > 1 && 2 * M * N * K >= MIN_PARALLEL_FLOPS;
  }

  /** c = alpha·op(A)·op(B) (+ bias) over all threads; returns c [M, N] (a shared buffer). */
  gemm(a: Float32Array, b: Float32Array, M: number, N: number, K: number, transA: boolean, transB: boolean, alpha: number, bias: Float32Array | null): Float32Array {
    const shared = (n: number) => new Float32Array(new SharedArrayBuffer(Math.max(n, 1) * 4));
    const ap = packA(a, M, K, transA, shared(panelsLength(M, K)));
    const bp = packB(b, K, N, transB, shared(panelsLength(N, K)));
    const c = shared(M * N);
    let sb: Float32Array | null = null;
    if (bias !== null) {
      sb = shared(N);
      sb.set(bias);
    }
    const MP = (M + 3) >> 2;
    const NP = (N + 3) >> 2;
    // Split the longer panel dimension into contiguous ranges, one per thread.
    const byCols = NP >= MP;
    const total = byCols ? NP : MP;
    const parts = Math.min(this.threads, total);
    const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * total) / parts));
    const done = new Int32Array(new SharedArrayBuffer(8));
    const range = (i: number) =>
      byCols ? [0, MP, bounds[i]!, bounds[i + 1]!] : [bounds[i]!, bounds[i + 1]!, 0, NP];
    for (let i = 1; i < parts; i++) {
      const [ip0, ip1, jp0, jp1] = range(i);
      this.worker(i - 1).postMessage({ ap, bp, c, M, N, K, alpha, bias: sb, ip0, ip1, jp0, jp1, done });
    }
    const [ip0, ip1, jp0, jp1] = range(0);
    gemmPacked(ap, bp, c, M, N, K, alpha, sb, ip0, ip1, jp0, jp1);
    for (;;) {
      const finished = Atomics.load(done, 0);
      if (finished >= parts - 1) break;
      Atomics.wait(done, 0, finished);
    }
    if (Atomics.load(done, 1) !== 0) throw new OpError("matmul", "threads", "a worker thread failed while computing its share of the product");
    return c;
  }
}
