import { describe, expect, it } from "vitest";
import { getPartition, rankPositionCount, rankPositions } from "./partition.js";

// Expected from the reference get_partitions (mosaicml-streaming @89e7bb90, streaming/base/partition,
// run as is with NumPy 2.4.6): "error" = ValueError('Resuming further into the dataset …'), else the
// number of non-(−1) positions of each physical node's ranks. Its pre-check allows a dropFirst up to
// N + (world − N mod world); beyond the padded epoch that gives empty partitions, not an error.
type Case = [algo: string, N: number, C: number, P: number, R: number, W: number, B: number, dropFirst: number, P0: number | null, want: number[][] | "error"];
const CASES: Case[] = [
  ["orig", 323, 8, 2, 2, 3, 1, 325, null, "error"],
  ["orig", 323, 8, 2, 2, 3, 1, 324, null, [[1, 1], [1, 1]]],
  ["orig", 304, 4, 2, 4, 2, 4, 307, null, [[0, 0, 0, 0], [0, 0, 0, 0]]],
  ["orig", 304, 4, 2, 4, 2, 4, 312, null, [[0, 0, 0, 0], [0, 0, 0, 0]]],
  ["orig", 304, 4, 2, 4, 2, 4, 313, null, "error"],
  ["orig", 200, 128, 1, 1, 1, 32, 201, null, [[55]]],
  ["orig", 200, 128, 1, 1, 1, 32, 202, null, "error"],
  ["orig", 200, 128, 1, 1, 1, 32, 224, null, "error"],
  ["orig", 200, 128, 1, 2, 1, 16, 202, null, [[27, 27]]],
  ["orig", 200, 128, 1, 2, 1, 16, 203, null, "error"],
  ["orig", 10, 8, 1, 1, 1, 1, 11, null, [[5]]],
  ["orig", 10, 8, 1, 1, 1, 1, 12, null, "error"],
  ["orig", 5, 4, 2, 3, 1, 1, 6, null, [[1, 1, 1], [1, 1, 1]]],
  ["orig", 5, 4, 2, 3, 1, 1, 7, null, "error"],
  ["relaxed", 301, 6, 4, 2, 2, 3, 304, 2, [[1, 0], [1, 0], [1, 0], [1, 0]]],
  ["relaxed", 301, 6, 4, 2, 2, 3, 309, 2, "error"],
  ["relaxed", 301, 6, 4, 2, 2, 3, 310, 2, "error"],
  // The check uses the current world (8 ranks: up to 312), not the initial one (4 ranks: 308).
  ["relaxed", 305, 6, 4, 2, 2, 3, 310, 2, [[0, 0], [0, 0], [0, 0], [0, 0]]],
  ["relaxed", 305, 6, 4, 2, 2, 3, 312, 2, [[0, 0], [0, 0], [0, 0], [0, 0]]],
  ["relaxed", 305, 6, 4, 2, 2, 3, 313, 2, "error"],
];

describe("resuming near or past the end of an epoch (reference get_partitions pre-check)", () => {
  it.each(CASES)("%s N %i C %i P %i R %i W %i B %i dropFirst %i P0 %s", (algo, N, C, P, R, W, B, dropFirst, P0, want) => {
    const args = { numSamples: N, numCanonicalNodes: C, numPhysicalNodes: P, ranksPerNode: R, workersPerRank: W, batchSize: B, dropFirst, initialPhysicalNodes: P0 };
    if (want === "error") {
      const world = P * R, most = N + world - (N % world);
      const msg = `partition: resuming further into the dataset (dropFirst ${dropFirst}) than it has samples (${N}); dropFirst (sample_in_epoch) must be at most ${most} (${N} + ${most - N} repeated to fill ${world} ranks)`;
      expect(() => getPartition(algo, args)).toThrow(msg);
      expect(() => rankPositions(algo, args, 0, 0)).toThrow(msg);
      return;
    }
    const part = getPartition(algo, args);
    expect(part.map((node) => node.map((rank) => rank.flat().filter((x) => x !== -1).length))).toEqual(want);
    for (let p = 0; p < P; p++) for (let r = 0; r < R; r++) {
      expect(rankPositions(algo, args, p, r).length).toBe(want[p]![r]);
      expect(rankPositionCount(algo, args, p, r)).toBe(want[p]![r]);
    }
  });
});
