import type { NativeAddon } from "./native.js";

/** One device allocation handed to a tensor. */
export interface Block {
  ptr: number;
  bytes: number;
  live: boolean;
}

/** A cached block of at most this factor × the request serves a large request (best fit). */
export const LARGE_SLACK = 1.25;

/**
 * A caching device allocator. Freed blocks go to a free list keyed by their rounded size and are
 * handed out again without touching cudaMalloc, so a training loop allocates nothing once warm.
 * Shapes in real training jitter from batch to batch (the number of masked tokens sets the MLM
 * logits' rows, ≈ 600 MB for a base model), so a large request with no cached block of its exact
 * size takes the smallest cached block up to LARGE_SLACK × its size instead of a new cudaMalloc;
 * without that the cache grows by a new size nearly every step and cudaMalloc dominates the step.
 * Reuse is safe without synchronisation because every kernel runs on the backend's single stream,
 * in order: work queued before the free finishes before work queued after the reuse starts.
 */
export class CachingAllocator {
  private readonly pool = new Map<number, number[]>();
  /** Cached large sizes (≥ 1 MiB), ascending: where best fit searches. */
  private readonly largeSizes: number[] = [];
  allocatedBytes = 0;
  peakBytes = 0;
  reservedBytes = 0;
  /** cudaMalloc calls so far (a warm training loop adds none). */
  mallocCount = 0;

  constructor(
    private readonly addon: NativeAddon,
    /** Waits for queued work (and reports device-side errors). */
    private readonly sync: () => void,
  ) {}

  /**
   * Sizes round up to 512 B below 1 MiB; above, to one of 16 classes per power of two (at least
   * 1 MiB apart, ≤ 6.25% waste), so shapes that jitter by a few percent share blocks.
   */
  static round(bytes: number): number {
    if (bytes <= 0) return 512;
    if (bytes < 1 << 20) return Math.ceil(bytes / 512) * 512;
    const step = Math.max(1 << 20, 2 ** (Math.floor(Math.log2(bytes)) - 4));
    return Math.ceil(bytes / step) * step;
  }

  alloc(bytes: number): Block {
    let size = CachingAllocator.round(bytes);
    let ptr = this.pool.get(size)?.pop();
    if (ptr === undefined && size >= 1 << 20) {
      const fit = this.bestFit(size);
      if (fit !== undefined) {
        ptr = this.pool.get(fit)!.pop();
        size = fit;
      }
    }
    if (ptr === undefined) {
      this.mallocCount++;
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
    if (list === undefined) {
      this.pool.set(b.bytes, (list = []));
      if (b.bytes >= 1 << 20) this.largeSizes.splice(this.lowerBound(b.bytes), 0, b.bytes);
    }
    list.push(b.ptr);
  }

  /** The smallest cached size in [size, LARGE_SLACK·size] with a free block. */
  private bestFit(size: number): number | undefined {
    const limit = size * LARGE_SLACK;
    for (let i = this.lowerBound(size); i < this.largeSizes.length && this.largeSizes[i]! <= limit; i++) {
      const s = this.largeSizes[i]!;
      if (this.pool.get(s)!.length > 0) return s;
    }
    return undefined;
  }

  private lowerBound(size: number): number {
    let lo = 0;
    let hi = this.largeSizes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.largeSizes[mid]! < size) lo = mid + 1;
      else hi = mid;
    }
    return lo;
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
    this.largeSizes.length = 0;
  }
}
