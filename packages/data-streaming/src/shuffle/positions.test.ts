import { describe, expect, it } from "vitest";
import { getShuffle, SHUFFLE_ALGOS } from "./algos.js";
import { rankPositions } from "./partition.js";
import { shufflePositions } from "./positions.js";

const SIZES = [59, 53, 11, 1, 47, 58, 52, 59, 54, 53, 53, 0, 7]; // basic/'s shard sizes, an empty and a small shard
const N = SIZES.reduce((a, b) => a + b, 0);

describe("shufflePositions", () => {
  for (const algo of SHUFFLE_ALGOS) {
    it(`${algo}: each rank's positions map to the whole shuffle's ids`, () => {
      for (const [C, R] of [[8, 8], [8, 2], [6, 4], [1, 3], [16, 1]] as const) {
        const full = getShuffle(algo, SIZES, C, 9176, 3, 64);
        for (let r = 0; r < R; r++) {
          const args = { numSamples: N, numCanonicalNodes: C, numPhysicalNodes: 1, ranksPerNode: R, workersPerRank: 1, batchSize: 4, dropFirst: 40 };
          const pos = rankPositions("orig", args, 0, r);
          const want = Array.from(pos, (p) => full[p]!);
          shufflePositions(pos, algo, SIZES, C, 9176, 3, 64);
          expect(Array.from(pos), `C ${C}, rank ${r} of ${R}`).toEqual(want);
        }
      }
    });
  }

  it("py1s: positions from a few canonical rows (the others' draws skipped) match the full shuffle", () => {
    const C = 16;
    const full = getShuffle("py1s", SIZES, C, 5, 0);
    const starts = Array.from({ length: C + 1 }, (_, k) => Math.floor((k * N) / C));
    for (const rows of [[0], [15], [3, 11], [1, 2, 9, 14]]) {
      const pos = Uint32Array.from(rows.flatMap((k) => Array.from({ length: starts[k + 1]! - starts[k]! }, (_, i) => starts[k]! + i)).reverse());
      const want = Array.from(pos, (p) => full[p]!);
      shufflePositions(pos, "py1s", SIZES, C, 5, 0);
      expect(Array.from(pos), `rows ${rows}`).toEqual(want);
    }
  });

  it("rejects a position outside the epoch", () => {
    expect(() => shufflePositions(Uint32Array.of(N), "py1s", SIZES, 4, 1, 0)).toThrow(/position 507 is outside the epoch.s 507 samples/);
    expect(() => shufflePositions(Uint32Array.of(N), "naive", SIZES, 4, 1, 0)).toThrow(/outside the epoch.s 507 samples/);
  });
});
