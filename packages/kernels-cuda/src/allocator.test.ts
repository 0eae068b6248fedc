import { describe, expect, it } from "vitest";
import { CachingAllocator, LARGE_SLACK } from "./allocator.js";
import type { NativeAddon } from "./native.js";

// The caching policy, driven through a device-memory stand-in that hands out addresses and counts
// calls (the policy is plain TypeScript; the CUDA conformance run exercises it on the GPU).
function device(capacity = Number.MAX_SAFE_INTEGER) {
  let next = 4096;
  let used = 0;
  const live = new Map<number, number>();
  const calls = { malloc: 0, free: 0, sync: 0 };
  const addon = {
    malloc(bytes: number): number {
      calls.malloc++;
      if (used + bytes > capacity) return 0;
      const p = next;
      next += bytes;
      used += bytes;
      live.set(p, bytes);
      return p;
    },
    free(p: number): void {
      calls.free++;
      used -= live.get(p)!;
      live.delete(p);
    },
    memGetInfo: (): [number, number] => [capacity - used, capacity],
  } as unknown as NativeAddon;
  return { alloc: new CachingAllocator(addon, () => void calls.sync++), calls, used: () => used };
}

const MiB = 1 << 20;

describe("CachingAllocator", () => {
  it("a fixed-shape loop allocates nothing after its first step", () => {
    const { alloc, calls } = device();
    const step = () => {
      const bs = [3000, 70_000, 5 * MiB + 17, 600 * MiB].map((n) => alloc.alloc(n));
      for (const b of bs) alloc.release(b);
    };
    step();
    const after1 = calls.malloc;
    for (let i = 0; i < 10; i++) step();
    expect(calls.malloc).toBe(after1);
    expect(alloc.mallocCount).toBe(after1);
  });

  it("jittering large shapes (the MLM logits' rows) reuse a cached block within the slack instead of growing the cache", () => {
    const { alloc } = device();
    const row = 30528 * 2; // one bf16 logits row of the 30528-word vocabulary
    // Masked-token counts of successive microbatches around 9830 (30% of 256 × 128), ± a few %.
    const counts = [9830, 9901, 9712, 9954, 9788, 9866, 9745, 9990, 9801, 9702, 9930, 9850];
    for (const n of counts) alloc.release(alloc.alloc(n * row));
    // Two size classes cover them (576 and 608 MiB: 32 MiB steps between 512 MiB and 1 GiB): two cudaMallocs, not one per new count.
    expect(alloc.mallocCount).toBe(2);
    expect(alloc.reservedBytes).toBe((576 + 608) * MiB);
  });

  it("never hands out a block smaller than asked, nor one beyond the slack", () => {
    const { alloc } = device();
    const big = alloc.alloc(100 * MiB);
    alloc.release(big);
    const small = alloc.alloc(70 * MiB); // 100 > 1.25 × 70: a new block
    expect(small.bytes).toBe(72 * MiB); // its class: 4 MiB steps between 64 and 128 MiB
    expect(small.ptr).not.toBe(big.ptr);
    const fits = alloc.alloc(90 * MiB); // 100 ≤ 1.25 × 90: the cached block
    expect(fits.ptr).toBe(big.ptr);
    expect(fits.bytes).toBe(100 * MiB);
    expect(fits.bytes).toBeLessThanOrEqual(LARGE_SLACK * 90 * MiB);
    alloc.release(fits);
    const larger = alloc.alloc(101 * MiB);
    expect(larger.bytes).toBe(104 * MiB);
    expect(larger.ptr).not.toBe(big.ptr);
    // Accounting follows the block actually handed out.
    expect(alloc.allocatedBytes).toBe(72 * MiB + 104 * MiB);
  });

  it("small sizes keep exact-size reuse (512-byte classes)", () => {
    const { alloc } = device();
    const a = alloc.alloc(1000);
    alloc.release(a);
    const b = alloc.alloc(1500); // a different 512-byte class: no best fit below 1 MiB
    expect(b.ptr).not.toBe(a.ptr);
    const c = alloc.alloc(1024);
    expect(c.ptr).toBe(a.ptr);
  });

  it("on out-of-memory empties the cache (after a sync) and retries, then names the sizes", () => {
    const { alloc, calls } = device(300 * MiB);
    alloc.release(alloc.alloc(200 * MiB));
    const b = alloc.alloc(250 * MiB); // 200 MiB cached is too small; freeing it makes room
    expect(b.bytes).toBe(256 * MiB); // its class: 8 MiB steps between 128 and 256 MiB
    expect(calls.sync).toBe(1);
    expect(calls.free).toBe(1);
    expect(() => alloc.alloc(100 * MiB)).toThrow(/CUDA out of memory: cannot allocate 104857600 bytes \(46137344 of 314572800 bytes free, 268435456 held by tensors\)/);
  });
});
