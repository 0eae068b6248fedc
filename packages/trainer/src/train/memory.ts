import type { Backend } from "@mosaicbert/tensor";

/**
 * The metrics fields on device memory: what the backend's cache holds and how many allocations it
 * has asked the device for. A warm loop adds none; a count that keeps rising means shapes the cache
 * cannot serve (each cudaMalloc costs far more than a kernel). Nothing on the CPU.
 */
export function deviceMemory(backend: Backend): { reserved_gib?: number; device_allocations?: number } {
  const m = backend.memoryStats();
  if (m.deviceAllocations === undefined) return {};
  return { reserved_gib: Math.round((m.reservedBytes / 2 ** 30) * 1000) / 1000, device_allocations: m.deviceAllocations };
}
