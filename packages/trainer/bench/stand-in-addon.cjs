// A stand-in for the CUDA addon whose every call returns at once (device memory is only addresses, reads give
// zeros): with MOSAICBERT_CUDA_ADDON pointing here, `mosaicbert pretrain --device cuda` runs its whole host side
// (data workers, batches, launches, metrics) with no GPU, and metrics.jsonl's step_ms is the host's own time per
// step. See BENCHMARKS.md ("Host side of a training step"). `host-launch.bench.mjs` drives the backend with it too
// and reads its calls by name from `__counts` (a Map, not an addon function). Its CUDA events read a clock that
// every other call advances by 1 ms, so a profiled step (MOSAICBERT_PROFILE_STEP) reports known times.
let next = 1 << 20;
let clock = 0;
const at = new Map();
const counts = new Map();
const impl = {
  init: () => ({ device: "stand-in", smCount: 132, computeCapability: 90, totalMemory: 2 ** 37, cublasLt: 0, cudaRuntime: 0, nccl: 0 }),
  malloc: (n) => { const p = next; next += n + 4096; return p; },
  memGetInfo: () => [2 ** 37, 2 ** 37],
  sync: () => 0,
  d2h: (dst) => { if (dst && dst.fill) dst.fill(0); },
  readLater: () => 0,
  readTake: (dst) => { if (dst && dst.fill) dst.fill(0); return 0; },
  eventRecord: (i) => { at.set(i, clock); },
  eventElapsed: (i, j) => (at.get(j) ?? NaN) - (at.get(i) ?? NaN),
};
module.exports = new Proxy({}, {
  get(_t, fn) {
    if (fn === "then" || typeof fn === "symbol") return undefined;
    if (fn === "__counts") return counts;
    return (...args) => {
      counts.set(fn, (counts.get(fn) ?? 0) + 1);
      if (fn !== "eventRecord" && fn !== "eventElapsed") clock += 1;
      return impl[fn] ? impl[fn](...args) : undefined;
    };
  },
  has() { return true; },
});
