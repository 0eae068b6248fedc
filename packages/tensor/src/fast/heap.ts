/**
 * A first-fit allocator over a byte range [start, limit) of the WebAssembly memory, with the free
 * blocks kept sorted by address and merged with their neighbours. Blocks are ALIGN-byte aligned.
 * `grow(end)` is called when the used range must reach `end` (the runtime grows the memory; if it
 * throws, the allocation fails as if the limit were reached).
 * Pure bookkeeping: it never touches the memory itself.
 */
export const ALIGN = 64;

export class Heap {
  /** Free blocks [at, at + size), sorted by address, never adjacent (merged). */
  private free: Array<{ at: number; size: number }> = [];
  /** Live blocks: address → size. */
  private readonly live = new Map<number, number>();
  private top: number;
  private used = 0;

  constructor(
    start: number,
    private readonly limit: number,
    private readonly grow: (end: number) => void,
  ) {
    this.top = Math.ceil(start / ALIGN) * ALIGN;
  }

  /** Bytes in live blocks. */
  get liveBytes(): number {
    return this.used;
  }

  /** End of the highest block handed out so far. */
  get end(): number {
    return this.top;
  }

  /** Address of a fresh block of at least `bytes`, or -1 when it would pass the limit. */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const f = this.free[i]!;
      if (f.size < size) continue;
      const at = f.at;
      if (f.size === size) this.free.splice(i, 1);
      else {
        f.at += size;
        f.size -= size;
      }
      return this.hand(at, size);
    }
    // Extend the top, first taking back a free block that ends there.
    const last = this.free[this.free.length - 1];
    const at = last !== undefined && last.at + last.size === this.top ? last.at : this.top;
    if (at + size > this.limit) return -1;
    try {
      this.grow(at + size);
    } catch {
      // The memory could not grow (the system refused the pages): as full.
      return -1;
    }
    if (at !== this.top) this.free.pop();
    this.top = at + size;
    return this.hand(at, size);
  }

  private hand(at: number, size: number): number {
    this.live.set(at, size);
    this.used += size;
    return at;
  }

  /** Size of the live block at `at` (0 if none). */
  sizeOf(at: number): number {
    return this.live.get(at) ?? 0;
  }

  /** Gives a block back; an address that is not a live block is refused. */
  release(at: number): void {
    const size = this.live.get(at);
    if (size === undefined) throw new Error(`Heap.release: ${at} is not a live block`);
    this.live.delete(at);
    this.used -= size;
    // Binary search for the first free block after `at`.
    let lo = 0;
    let hi = this.free.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.free[mid]!.at < at) lo = mid + 1;
      else hi = mid;
    }
    const prev = this.free[lo - 1];
    const next = this.free[lo];
    let block = { at, size };
    if (prev !== undefined && prev.at + prev.size === at) {
      prev.size += size;
      block = prev;
    } else {
      this.free.splice(lo, 0, block);
      lo++;
    }
    if (next !== undefined && block.at + block.size === next.at) {
      block.size += next.size;
      this.free.splice(lo, 1);
    }
  }
}
