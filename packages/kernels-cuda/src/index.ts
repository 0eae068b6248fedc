import { CudaBackend } from "./backend.js";
import { loadNative } from "./native.js";

export { CudaBackend, DT } from "./backend.js";
export { CachingAllocator } from "./allocator.js";
export { NcclCommunicator, connectCudaCollectives } from "./collectives.js";
export { addonPath, loadNative, type NativeAddon } from "./native.js";
// (The conformance cases live beside the op contract: @mosaicbert/tensor/testing.)
export { PhaseProfiler, phaseOf, gemmShape, type GemmShapeTime, type PhaseProfile } from "./profile.js";

let cached: CudaBackend | null = null;
let why: string | null = null;

/**
 * The CUDA backend, or the reason it cannot run here: { backend } or { reason }. One backend per
 * process (it owns the stream and the device memory cache); later calls return the same one.
 */
export function cudaAvailable(): { backend: CudaBackend; reason?: undefined } | { backend?: undefined; reason: string } {
  if (cached) return { backend: cached };
  if (why !== null) return { reason: why };
  const n = loadNative();
  if ("reason" in n) {
    why = `CUDA backend unavailable: ${n.reason}`;
    return { reason: why };
  }
  try {
    cached = new CudaBackend(n.addon);
    return { backend: cached };
  } catch (e) {
    why = `CUDA backend unavailable: ${(e as Error).message}`;
    return { reason: why };
  }
}

/** The CUDA backend; throws "CUDA backend unavailable: <reason>" where it cannot run. */
export function loadCudaBackend(): CudaBackend {
  const r = cudaAvailable();
  if (r.backend) return r.backend;
  throw new Error(r.reason);
}
