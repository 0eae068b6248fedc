/**
 * Test helpers for code that drives a CudaBackend without a GPU (`@mosaicbert/kernels-cuda/testing`).
 */
import { CudaBackend } from "../backend.js";
import type { NativeAddon } from "../native.js";

/**
 * A CudaBackend on a stand-in addon: no device memory (reads give zeros) and events stamped with a clock that each
 * other native call advances by `opMs(name)` milliseconds, so the device times a profiler reports are known
 * exactly. `calls`, when given, overrides native functions by name (e.g. `readLater: () => -1`).
 */
export function timedStandInBackend(opMs: (fn: string) => number, calls: Record<string, (...args: unknown[]) => unknown> = {}): CudaBackend {
  let next = 1 << 20;
  let clock = 0;
  const at = new Map<number, number>();
  const addon = new Proxy({} as Record<string, unknown>, {
    get(_t, fn: string) {
      if (fn === "then") return undefined;
      const own = calls[fn];
      if (own) return own;
      return (...args: unknown[]) => {
        switch (fn) {
          case "init": return { device: "fake", smCount: 1, computeCapability: 90, totalMemory: 1 << 30, cublasLt: 0, cudaRuntime: 0, nccl: 0 };
          case "malloc": { const p = next; next += (args[0] as number) + 4096; return p; }
          case "memGetInfo": return [1 << 30, 1 << 30];
          case "sync": return 0;
          case "eventRecord": at.set(args[0] as number, clock); return undefined;
          case "eventElapsed": return at.get(args[1] as number)! - at.get(args[0] as number)!;
          default: clock += opMs(fn); return undefined;
        }
      };
    },
  }) as unknown as NativeAddon;
  return new CudaBackend(addon);
}
