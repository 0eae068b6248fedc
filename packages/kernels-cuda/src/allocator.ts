import type { NativeAddon } from "./native.js";

/** One device allocation handed to a tensor. */
export interface Block {
  ptr: number;
  bytes: number;
  live: boolean;
}

/**
 * A caching device allocator. Freed blocks go to a free list keyed by their rounded size and are
 * handed out again without touching cudaMalloc, so a training loop with fixed shapes allocates
 * nothing after its first step. Reuse is safe without synchronisation because every kernel runs on
 * the backend's single stream, in order: work queued before the free finishes before work queued
 * after the reuse starts.
 */
export class CachingAllocator {
  private readonly pool = new Map<number, number[]>();
  allocatedBytes = 0;
  peakBytes = 0;
  reservedBytes = 0;

  constructor(
    private readonly addon: NativeAddon,
    /** Waits for queued work (and reports device-side errors). */
    private readonly sync: () => void,
  ) {}

  /** Sizes round up to 512 B below 1 MiB and to 1 MiB above, so similar shapes share blocks. */
  static round(bytes: number): number {
    if (bytes <= 0) return 512;
    if (bytes < 1 << 20) return Math.ceil(bytes / 512) * 512;
    return Math.ceil(bytes / (1 << 20)) * (1 << 20);
  }

  alloc(bytes: number): Block {
    const size = CachingAllocator.round(bytes);
    let ptr = this.pool.get(size)?.pop();
    if (ptr === undefined) {
      ptr = this.addon.malloc(size);
      if (ptr === 0) {
        // Out of memory: give the cache back to the driver and try once more.
        this.emptyCache();
        ptr = this.addon.malloc(size);
        if (ptr === 0) {
          const [free, total] = this.addon.memGetInfo();
          throw new Error(`CUDA out of memory: cannot allocate ${size} bytes (${free} of ${total} bytes free, ${this.allocatedBytes} held by tensors)`);
        }
      }
      this.reservedBytes += size;
    }
    this.allocatedBytes += size;
    if (this.allocatedBytes > this.peakBytes) this.peakBytes = this.allocatedBytes;
    return { ptr, bytes: size, live: true };
  }

  release(b: Block): void {
    if (!b.live) return;
    b.live = false;
    this.allocatedBytes -= b.bytes;
    let list = this.pool.get(b.bytes);
    if (list === undefined) this.pool.set(b.bytes, (list = []));
    list.push(b.ptr);
  }

  /** Frees every cached (unused) block. Waits for the stream first: cudaFree must not race queued work. */
  emptyCache(): void {
    this.sync();
    for (const [size, list] of this.pool) {
      for (const p of list) {
        this.addon.free(p);
        this.reservedBytes -= size;
      }
    }
    this.pool.clear();
  }
}
