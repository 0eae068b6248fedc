import { describe, expect, it } from "vitest";
import { getShuffle, SHUFFLE_ALGOS } from "./algos.js";
import { getPartition } from "./partition.js";

const SIZES = [59, 53, 11, 1, 47, 58, 52, 59, 54, 53, 53]; // basic/'s shard sizes
const N = SIZES.reduce((a, b) => a + b, 0);

function nodeRanges(n: number, c: number): Array<[number, number]> {
  return Array.from({ length: c }, (_, k) => [Math.floor((k * n) / c), Math.floor(((k + 1) * n) / c)]);
}

describe("shuffle algorithms", () => {
  for (const algo of SHUFFLE_ALGOS) {
    it(`${algo}: a permutation, deterministic, different per epoch`, () => {
      const a = getShuffle(algo, SIZES, 4, 9176, 0, 64);
      expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: N }, (_, i) => i));
      expect(getShuffle(algo, SIZES, 4, 9176, 0, 64)).toEqual(a);
      expect(getShuffle(algo, SIZES, 4, 9176, 1, 64)).not.toEqual(a);
      expect(getShuffle(algo, SIZES, 4, 9177, 0, 64)).not.toEqual(a);
    });
  }

  for (const algo of ["py1s", "py2s", "py1b", "py1br", "py1e"]) {
    it(`${algo}: each canonical node's positions hold the same sample set every epoch`, () => {
      const ranges = nodeRanges(N, 4);
      const e0 = getShuffle(algo, SIZES, 4, 5, 0, 64);
      const e1 = getShuffle(algo, SIZES, 4, 5, 1, 64);
      for (const [b, e] of ranges) {
        expect([...e1.slice(b, e)].sort((x, y) => x - y)).toEqual([...e0.slice(b, e)].sort((x, y) => x - y));
      }
    });
  }

  it("py1s keeps each shard piece contiguous", () => {
    const ids = getShuffle("py1s", SIZES, 1, 9176, 0);
    const shardOf = (id: number) => {
      let s = 0;
      let acc = SIZES[0]!;
      while (id >= acc) acc += SIZES[++s]!;
      return s;
    };
    const runs = [...ids].map(shardOf).filter((s, i, arr) => i === 0 || arr[i - 1] !== s);
    expect(runs.length).toBe(SIZES.length);
  });
});

describe("partition", () => {
  const flatten = (p: number[][][][], B: number) => {
    // Global order: step t takes batch t of every rank (workers round-robin per rank).
    const out: number[] = [];
    const ranks = p.flatMap((n) => n);
    const W = ranks[0]!.length;
    const T = ranks[0]![0]!.length / B;
    for (let t = 0; t < T; t++) for (let w = 0; w < W; w++) for (const r of ranks) out.push(...r[w]!.slice(t * B, (t + 1) * B));
    return out.filter((x) => x !== -1);
  };

  for (const algo of ["orig", "relaxed"]) {
    it(`${algo}: every position appears, padding repeats are few`, () => {
      const p = getPartition(algo, { numSamples: N, numCanonicalNodes: 4, numPhysicalNodes: 2, ranksPerNode: 2, workersPerRank: 3, batchSize: 4 });
      const all = flatten(p, 4);
      expect(new Set(all).size).toBe(N);
      expect(all.length - N).toBeLessThan(8);
    });
  }

  it("elastic determinism: same canonical nodes and global batch => same global order", () => {
    const a = flatten(getPartition("orig", { numSamples: 480, numCanonicalNodes: 8, numPhysicalNodes: 1, ranksPerNode: 8, workersPerRank: 1, batchSize: 2 }), 2);
    const b = flatten(getPartition("orig", { numSamples: 480, numCanonicalNodes: 8, numPhysicalNodes: 2, ranksPerNode: 4, workersPerRank: 1, batchSize: 2 }), 2);
    const c = flatten(getPartition("orig", { numSamples: 480, numCanonicalNodes: 8, numPhysicalNodes: 4, ranksPerNode: 1, workersPerRank: 1, batchSize: 4 }), 4);
    // Same multiset per global batch of 16.
    const batches = (x: number[]) => Array.from({ length: x.length / 16 }, (_, t) => x.slice(t * 16, t * 16 + 16).sort((p, q) => p - q));
    expect(batches(b)).toEqual(batches(a));
    expect(batches(c)).toEqual(batches(a));
  });

  it("resuming with dropFirst continues where the full epoch would be", () => {
    const args = { numSamples: 500, numCanonicalNodes: 4, numPhysicalNodes: 1, ranksPerNode: 2, workersPerRank: 1, batchSize: 5 };
    const full = flatten(getPartition("orig", args), 5);
    const resumed = flatten(getPartition("orig", { ...args, dropFirst: 100 }), 5);
    expect(resumed).toEqual(full.slice(100));
  });

  it("rejects incompatible node counts and bad names", () => {
    expect(() => getPartition("orig", { numSamples: 100, numCanonicalNodes: 3, numPhysicalNodes: 2, ranksPerNode: 1, workersPerRank: 1, batchSize: 1 })).toThrow(/must divide one another/);
    expect(() => getPartition("zigzag", { numSamples: 100, numCanonicalNodes: 1, numPhysicalNodes: 1, ranksPerNode: 1, workersPerRank: 1, batchSize: 1 })).toThrow(/unknown partition algorithm "zigzag"/);
    expect(() => getShuffle("py9", SIZES, 1, 1, 0)).toThrow(/unknown shuffle algorithm "py9"; expected one of naive, py1s, py2s, py1b, py1br, py1e/);
  });
});
