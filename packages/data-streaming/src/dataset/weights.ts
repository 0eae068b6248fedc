/**
 * Stream weighting and per-epoch resampling (mosaicml-streaming `Stream.apply_weights`,
 * `get_sampling`, `resample_streams`). Single unweighted streams give the identity mapping.
 */
import { defaultRng } from "../shuffle/numpy-rng.js";

export interface Weighting {
  proportion?: number;
  repeat?: number;
  choose?: number;
}

/** Samples each stream contributes per epoch. */
export function streamChoose(weights: Weighting[], sizes: number[], epochSize: number | null, seed: number): number[] {
  const relative = weights.map((w) => w.proportion !== undefined);
  if (relative.some((r) => r) && !relative.every((r) => r)) {
    throw new Error("streams: relative (proportion) and absolute (repeat/choose) weighting cannot be mixed");
  }
  if (relative.length && relative[0]) {
    const total = weights.reduce((a, w) => a + w.proportion!, 0);
    const size = epochSize ?? sizes.reduce((a, b) => a + b, 0);
    const choose = weights.map((w) => Math.floor((size * w.proportion!) / total));
    const short = size - choose.reduce((a, b) => a + b, 0);
    if (short > 0) for (const i of defaultRng(seed).choiceNoReplace(weights.length, short)) choose[i]! += 1;
    return choose;
  }
  return weights.map((w, i) => (w.choose !== undefined ? w.choose : w.repeat !== undefined ? Math.trunc(w.repeat * sizes[i]!) : sizes[i]!));
}

/** How many samples to draw from each shard of a stream (whole repeats + a random remainder). */
export function shardSampling(perShard: number[], choose: number, granularity: number, seed: number, epoch: number, useEpoch: boolean): number[] {
  const total = perShard.reduce((a, b) => a + b, 0);
  if (choose % total === 0) return perShard.map((s) => (s * choose) / total);
  const granShard: number[] = [];
  const granCount: number[] = [];
  perShard.forEach((s, id) => {
    for (let at = 0; at < s; at += granularity) {
      granShard.push(id);
      granCount.push(Math.min(granularity, s - at));
    }
  });
  const order = defaultRng(useEpoch ? seed + epoch : seed).permutation(granShard.length);
  const out = perShard.map((s) => s * Math.floor(choose / total));
  let left = choose % total;
  for (const g of order) {
    if (!left) break;
    const c = Math.min(left, granCount[g]!);
    out[granShard[g]!]! += c;
    left -= c;
  }
  return out;
}

/** Shuffle units (pseudo-shard sizes) and big->small sample id map for one epoch. */
export function resample(
  streams: Array<{ choose: number; shardSizes: number[]; sampleOffset: number }>,
  seed: number, epoch: number, granularity: number, balanced: boolean,
): { units: number[]; smallPerBig: Float64Array } {
  const rng = defaultRng(balanced ? seed + epoch : seed);
  const units: number[] = [];
  const ids: number[] = [];
  for (const st of streams) {
    const per = shardSampling(st.shardSizes, st.choose, granularity, seed, epoch, balanced);
    let offset = st.sampleOffset;
    st.shardSizes.forEach((n, s) => {
      const want = per[s]!;
      if (n > 0) {
        const full = Math.floor(want / n);
        const rem = want % n;
        for (let k = 0; k < full; k++) units.push(n);
        if (rem) units.push(rem);
        for (let k = 0; k < full; k++) for (let j = 0; j < n; j++) ids.push(offset + j);
        if (rem) for (const j of rng.choiceNoReplace(n, rem).sort((a, b) => a - b)) ids.push(offset + j);
      } // an empty shard contributes no shuffle unit (the reference's 0 // 0 gives none)
      offset += n;
    });
  }
  return { units, smallPerBig: Float64Array.from(ids) };
}
