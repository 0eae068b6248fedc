/**
 * The resampled ("big") -> real ("small") sample id map of one epoch (mds-format §7.1), kept per shard
 * instead of one entry per big id: at C4 scale (365 M samples) a whole-epoch id array is 1.5–2.9 GB,
 * and a rank only maps its own 1/R of the positions. Each shard with samples drawn this epoch owns a
 * contiguous block of big ids: `full` whole repeats of its samples in order, then its partial repeat
 * (the sorted samples NumPy's `choice` picked), stored as a bitmap of the shard (n/8 bytes) plus a
 * per-word count of the set bits before it, so the k-th picked sample is found by binary search.
 */
export class BigToSmall {
  /**
   * @param start   big id where each block starts, ascending, plus the end of the epoch.
   * @param base    small id of each block's shard's first sample.
   * @param size    samples in each block's shard.
   * @param repeated big ids of each block covered by whole repeats (full × size).
   * @param word    first bitmap word of the block's partial repeat (−1: none).
   * @param bits    partial repeats, one bit per sample of each such shard (word-aligned per shard).
   * @param before  per bitmap word: set bits in the earlier words of the same shard.
   */
  constructor(
    private readonly start: Float64Array,
    private readonly base: Float64Array,
    private readonly size: Float64Array,
    private readonly repeated: Float64Array,
    private readonly word: Int32Array,
    private readonly bits: Uint32Array,
    private readonly before: Uint32Array,
  ) {}

  /** Big ids in the epoch. */
  get length(): number {
    return this.start[this.start.length - 1]!;
  }

  /** Real sample id of one big id (0 <= big < length). */
  small(big: number): number {
    if (!(big >= 0 && big < this.length)) throw new Error(`resample: big id ${big} outside the epoch 0..${this.length - 1}`);
    const start = this.start;
    let lo = 0;
    let hi = start.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (start[mid]! <= big) lo = mid;
      else hi = mid - 1;
    }
    const k = big - start[lo]!;
    const rep = this.repeated[lo]!;
    if (k < rep) return this.base[lo]! + (k % this.size[lo]!);
    return this.base[lo]! + this.select(this.word[lo]!, Math.ceil(this.size[lo]! / 32), k - rep);
  }

  /** Replace every big id of `ids` by its real sample id. */
  mapInPlace(ids: Uint32Array): void {
    for (let i = 0; i < ids.length; i++) ids[i] = this.small(ids[i]!);
  }

  /** Position within its shard of the r-th (0-based) set bit of the shard's words [w0, w0 + nw). */
  private select(w0: number, nw: number, r: number): number {
    const before = this.before;
    let lo = w0;
    let hi = w0 + nw - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (before[mid]! <= r) lo = mid;
      else hi = mid - 1;
    }
    let x = this.bits[lo]!;
    for (let t = r - before[lo]!; t > 0; t--) x &= x - 1; // drop the lower set bits
    return (lo - w0) * 32 + (31 - Math.clz32(x & -x));
  }
}
