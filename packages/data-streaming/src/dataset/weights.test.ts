import { describe, expect, it } from "vitest";
import { defaultRng } from "../shuffle/numpy-rng.js";
import { bounded32, resample, shardSampling, streamChoose, type Weighting } from "./weights.js";

// A plain whole-epoch construction of mds-format §7.1, written from the spec with plain arrays and
// the generator's own permutation / choice: the reference the typed, per-position code must match.
function plainShardSampling(perShard: number[], choose: number, granularity: number, seed: number, epoch: number, useEpoch: boolean): number[] {
  const total = perShard.reduce((a, b) => a + b, 0);
  if (choose % total === 0) return perShard.map((s) => (s * choose) / total);
  const granules: Array<[shard: number, count: number]> = [];
  perShard.forEach((s, id) => {
    for (let at = 0; at < s; at += granularity) granules.push([id, Math.min(granularity, s - at)]);
  });
  const order = defaultRng(useEpoch ? seed + epoch : seed).permutation(granules.length);
  const out = perShard.map((s) => s * Math.floor(choose / total));
  let left = choose % total;
  for (const g of order) {
    if (!left) break;
    const [shard, count] = granules[g]!;
    const c = Math.min(left, count);
    out[shard]! += c;
    left -= c;
  }
  return out;
}

function plainResample(streams: Array<{ choose: number; shardSizes: number[]; sampleOffset: number }>, seed: number, epoch: number, granularity: number, balanced: boolean) {
  const rng = defaultRng(balanced ? seed + epoch : seed);
  const units: number[] = [];
  const smallPerBig: number[] = [];
  for (const st of streams) {
    const per = plainShardSampling(st.shardSizes, st.choose, granularity, seed, epoch, balanced);
    let offset = st.sampleOffset;
    st.shardSizes.forEach((n, s) => {
      if (n > 0) {
        const full = Math.floor(per[s]! / n);
        const rem = per[s]! % n;
        for (let k = 0; k < full; k++) {
          units.push(n);
          for (let j = 0; j < n; j++) smallPerBig.push(offset + j);
        }
        if (rem) {
          units.push(rem);
          for (const j of rng.choiceNoReplace(n, rem).sort((a, b) => a - b)) smallPerBig.push(offset + j);
        }
      }
      offset += n;
    });
  }
  return { units, smallPerBig };
}

/** Deterministic shard sizes: small shards (with empty ones), optionally one over NumPy's 10,000 tail-shuffle limit. */
function shards(count: number, salt: number, big: boolean): number[] {
  const out = Array.from({ length: count }, (_, i) => ((i * 7 + salt * 13) % 23) * ((i + salt) % 5 === 0 ? 0 : 1) + (i % 3));
  if (big) out[1] = 10_237 + salt;
  return out;
}

const WEIGHTS: Array<{ name: string; w: Weighting[]; epochSize?: number }> = [
  { name: "proportion 0.9 / 0.1", w: [{ proportion: 0.9 }, { proportion: 0.1 }] },
  { name: "proportion 3 / 1, epoch 137", w: [{ proportion: 3 }, { proportion: 1 }], epochSize: 137 },
  { name: "proportion 1 / 2 / 5, epoch 2,000", w: [{ proportion: 1 }, { proportion: 2 }, { proportion: 5 }], epochSize: 2000 },
  { name: "choose below / repeat 2.5", w: [{ choose: 61 }, { repeat: 2.5 }] },
  { name: "choose above / repeat 0.3 / whole", w: [{ choose: 519 }, { repeat: 0.3 }, {}] },
  { name: "repeat 2 (exact multiple) / choose 1", w: [{ repeat: 2 }, { choose: 1 }] },
  { name: "repeat 1.7 alone", w: [{ repeat: 1.7 }] },
];

describe("resample (typed, per-position big->small map)", () => {
  for (const { name, w, epochSize } of WEIGHTS) {
    for (const big of [false, true]) {
      it(`matches the plain whole-epoch construction: ${name}${big ? ", a shard over 10,000 samples" : ""}`, () => {
        let checked = 0;
        for (const [granularity, seed, balanced, epochs] of [[1, 9176, true, [0, 1, 3]], [3, 17, true, [2]], [1, 5, false, [0, 4]], [64, 9176, false, [1]]] as const) {
          const sizes = w.map((_, i) => shards(5 + 4 * i, i + seed, big && i === 0));
          const totals = sizes.map((s) => s.reduce((a, b) => a + b, 0));
          const choose = streamChoose(w, totals, epochSize ?? null, seed);
          let offset = 0;
          const streams = sizes.map((shardSizes, i) => {
            const st = { choose: choose[i]!, shardSizes, sampleOffset: offset };
            offset += totals[i]!;
            return st;
          });
          for (const epoch of epochs) {
            for (const st of streams) {
              expect(shardSampling(st.shardSizes, st.choose, granularity, seed, epoch, balanced))
                .toEqual(plainShardSampling(st.shardSizes, st.choose, granularity, seed, epoch, balanced));
            }
            const want = plainResample(streams, seed, epoch, granularity, balanced);
            const got = resample(streams, seed, epoch, granularity, balanced);
            expect(got.units).toEqual(want.units);
            expect(got.bigToSmall.length).toBe(want.smallPerBig.length);
            const mapped = Array.from({ length: want.smallPerBig.length }, (_, b) => got.bigToSmall.small(b));
            expect(mapped).toEqual(want.smallPerBig);
            // The in-place form the rank order uses, on positions in a scrambled order.
            const ids = Uint32Array.from(want.smallPerBig.keys()).reverse();
            got.bigToSmall.mapInPlace(ids);
            expect(Array.from(ids)).toEqual(want.smallPerBig.slice().reverse());
            checked += want.smallPerBig.length;
          }
        }
        expect(checked).toBeGreaterThan(100);
      });
    }
  }

  it("rejects a big id outside the epoch", () => {
    const { bigToSmall } = resample([{ choose: 7, shardSizes: [3, 2], sampleOffset: 0 }], 1, 0, 1, true);
    expect(() => bigToSmall.small(7)).toThrow("resample: big id 7 outside the epoch 0..6");
  });
});

describe("bounded32", () => {
  it("draws what Generator.boundedUint64 draws, rejections included (bounds near 2^32 reject often)", () => {
    for (const max of [0, 1, 6, 10_236, 2 ** 31, 2 ** 31 + 1, 3_000_000_000, 0xfffffffe, 0xffffffff]) {
      const a = defaultRng(9176 + max);
      const b = defaultRng(9176 + max);
      const got = Array.from({ length: 500 }, () => bounded32(a, max));
      const want = Array.from({ length: 500 }, () => Number(b.boundedUint64(BigInt(max))));
      expect(got).toEqual(want);
      expect(a.bitgen.nextUint32()).toBe(b.bitgen.nextUint32()); // same number of draws consumed
    }
  });
});
