/**
 * Stream weighting and per-epoch resampling (mosaicml-streaming `get_sampling`, `resample_streams`;
 * `Stream.apply_weights` is in stream-choose.ts). Single unweighted streams give the identity mapping.
 * Sized for C4 (365 M samples): typed arrays only, and the big->small id map is kept per shard
 * (BigToSmall) rather than as one entry per big id.
 */
import { defaultRng, type Generator } from "../shuffle/numpy-rng.js";
import { BigToSmall } from "./big-to-small.js";

export { streamChoose } from "./stream-choose.js";

export interface Weighting {
  proportion?: number;
  repeat?: number;
  choose?: number;
}

/** How many samples to draw from each shard of a stream (whole repeats + a random remainder). */
export function shardSampling(perShard: number[], choose: number, granularity: number, seed: number, epoch: number, useEpoch: boolean): number[] {
  const total = perShard.reduce((a, b) => a + b, 0);
  if (choose % total === 0) return perShard.map((s) => (s * choose) / total);
  const out = perShard.map((s) => s * Math.floor(choose / total));
  let left = choose % total;
  // Granules in shard order, each stored as 2·shard + (1 for the shard's last, possibly short,
  // granule): the walk below needs only a granule's shard and size, and this fits 16 bits for up to
  // 32,768 shards (C4: 12,162), halving the one whole-stream array (365 M granules at granularity 1).
  let count = 0;
  for (const s of perShard) count += Math.ceil(s / granularity);
  const gran = perShard.length <= 0x8000 ? new Uint16Array(count) : new Uint32Array(count);
  let g = 0;
  perShard.forEach((s, id) => {
    const k = Math.ceil(s / granularity);
    if (!k) return;
    gran.fill(2 * id, g, g + k - 1);
    gran[g + k - 1] = 2 * id + 1;
    g += k;
  });
  // rng.permutation(count): Fisher–Yates from the end, random_interval draws; step i fixes entry i.
  const rng = defaultRng(useEpoch ? seed + epoch : seed);
  if (granularity === 1) {
    // Every granule counts 1, so the walk takes exactly the first `left` entries: a shard's count is
    // its size minus its entries fixed at steps count-1 .. left. The later steps only reorder the
    // first `left` and this generator is private to the call, so they are skipped (C4 at 0.9: 27 M
    // draws instead of 365 M).
    for (let i = count - 1; i >= left; i--) {
      const j = rng.randomInterval(i);
      out[gran[j]! >>> 1]! -= 1;
      gran[j] = gran[i]!;
    }
    perShard.forEach((s, id) => (out[id]! += s));
    return out;
  }
  for (let i = count - 1; i >= 1; i--) {
    const j = rng.randomInterval(i);
    const t = gran[i]!;
    gran[i] = gran[j]!;
    gran[j] = t;
  }
  for (let p = 0; left > 0 && p < count; p++) {
    const shard = gran[p]! >>> 1;
    const s = perShard[shard]!;
    const c = Math.min(left, gran[p]! & 1 ? s - (Math.ceil(s / granularity) - 1) * granularity : granularity);
    out[shard]! += c;
    left -= c;
  }
  return out;
}

/**
 * NumPy `random_bounded_uint64(0, max)` for max < 2^32 (Lemire's method on 32-bit draws): the same
 * draws and result as Generator.boundedUint64, with the 64-bit product split into 16-bit halves so it
 * stays exact in doubles (BigInt per draw is too slow for the ≈ 700 M draws of a C4-sized stream).
 */
export function bounded32(rng: Generator, max: number): number {
  if (max === 0) return 0;
  const bits = rng.bitgen;
  if (max === 0xffffffff) return bits.nextUint32();
  const excl = max + 1;
  let threshold = -1;
  for (;;) {
    const u = bits.nextUint32();
    const lowPart = (u & 0xffff) * excl; // < 2^48
    const highPart = (u >>> 16) * excl; // < 2^48; product = highPart·2^16 + lowPart
    const t = (highPart % 65536) * 65536 + lowPart; // < 2^49
    const lo = t % 4294967296;
    const hi = Math.floor(highPart / 65536) + Math.floor(t / 4294967296);
    if (lo >= excl) return hi;
    if (threshold < 0) threshold = (0xffffffff - max) % excl;
    if (lo >= threshold) return hi;
  }
}

/**
 * Set, in `bits` from word `at`, the samples of `rng.choice(n, k, replace=False)`, making exactly its
 * draws. Only the set matters (the reference sorts it), so Floyd's result shuffle is drawn, not applied.
 */
function chooseInto(rng: Generator, n: number, k: number, bits: Uint32Array, at: number, scratch: { idx: Uint32Array }): void {
  if (n > 10000 && k > Math.floor(n / 50)) {
    // NumPy's tail shuffle: _shuffle_int over arange(n) for i in [n-1 .. max(n-k, 1)], take the last k.
    if (scratch.idx.length < n) scratch.idx = new Uint32Array(n);
    const idx = scratch.idx;
    for (let i = 0; i < n; i++) idx[i] = i;
    for (let i = n - 1, first = Math.max(n - k, 1); i >= first; i--) {
      const j = bounded32(rng, i);
      const t = idx[j]!;
      idx[j] = idx[i]!;
      idx[i] = t;
    }
    for (let i = n - k; i < n; i++) bits[at + (idx[i]! >>> 5)]! |= 1 << (idx[i]! & 31);
    return;
  }
  // Floyd's algorithm: the bitmap is the set (the picks so far are all below j, so j is new).
  for (let j = n - k; j < n; j++) {
    const v = bounded32(rng, j);
    const x = bits[at + (v >>> 5)]! & (1 << (v & 31)) ? j : v;
    bits[at + (x >>> 5)]! |= 1 << (x & 31);
  }
  for (let i = k - 1; i >= 1; i--) bounded32(rng, i);
}

/**
 * Shuffle units (pseudo-shard sizes) and the big->small sample id map for one epoch: per shard, its
 * samples repeated `full` times, then a sorted partial repeat drawn by one generator shared by all
 * shards in order (so every shard's draws are made, but only the picked set is kept, as bits).
 */
export function resample(
  streams: Array<{ choose: number; shardSizes: number[]; sampleOffset: number }>,
  seed: number, epoch: number, granularity: number, balanced: boolean,
): { units: number[]; bigToSmall: BigToSmall } {
  const units: number[] = [];
  const start: number[] = [0];
  const base: number[] = [];
  const size: number[] = [];
  const repeated: number[] = [];
  const word: number[] = [];
  const partial: Array<{ n: number; rem: number; at: number }> = [];
  let words = 0;
  for (const st of streams) {
    const per = shardSampling(st.shardSizes, st.choose, granularity, seed, epoch, balanced);
    let offset = st.sampleOffset;
    st.shardSizes.forEach((n, s) => {
      const want = per[s]!;
      // An empty shard contributes no shuffle unit (the reference's 0 // 0 gives none).
      if (n > 0 && want > 0) {
        const full = Math.floor(want / n);
        const rem = want % n;
        for (let k = 0; k < full; k++) units.push(n);
        if (rem) units.push(rem);
        start.push(start.at(-1)! + want);
        base.push(offset);
        size.push(n);
        repeated.push(full * n);
        word.push(rem ? words : -1);
        if (rem) {
          partial.push({ n, rem, at: words });
          words += Math.ceil(n / 32);
        }
      }
      offset += n;
    });
  }
  const bits = new Uint32Array(words);
  const before = new Uint32Array(words);
  const rng = defaultRng(balanced ? seed + epoch : seed);
  const scratch = { idx: new Uint32Array(0) };
  for (const { n, rem, at } of partial) {
    chooseInto(rng, n, rem, bits, at, scratch);
    let c = 0;
    for (let w = at; w < at + Math.ceil(n / 32); w++) {
      before[w] = c;
      let x = bits[w]!;
      for (; x; c++) x &= x - 1;
    }
  }
  const f64 = (a: number[]) => Float64Array.from(a);
  return { units, bigToSmall: new BigToSmall(f64(start), f64(base), f64(size), f64(repeated), Int32Array.from(word), bits, before) };
}
