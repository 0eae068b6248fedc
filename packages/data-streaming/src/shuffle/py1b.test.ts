import { describe, expect, it } from "vitest";
import { getShuffle } from "./algos.js";
import { shufflePositions } from "./positions.js";

// Expected orders from the reference `get_shuffle_py1b` (mosaicml-streaming v0.9.1,
// streaming/base/shuffle/py1b.py, run as is) with NumPy 2.4.6: get_shuffle_py1b(sizes, C, seed, epoch, block_size).
const SMALL = [7, 3, 0, 5, 9, 1, 6];
const SMALL_CASES: Array<[nodes: number, seed: number, epoch: number, blockSize: number, want: number[]]> = [
  [1, 9176, 0, 4, [28, 26, 27, 25, 7, 29, 8, 30, 16, 15, 9, 17, 20, 18, 19, 21, 23, 0, 22, 1, 2, 4, 3, 5, 11, 6, 10, 24, 14, 12, 13]],
  [2, 9176, 1, 4, [25, 28, 27, 26, 24, 29, 7, 30, 9, 11, 10, 8, 14, 13, 12, 2, 1, 0, 3, 15, 4, 5, 6, 16, 17, 19, 18, 23, 20, 22, 21]],
  [3, 5, 2, 10, [15, 21, 20, 18, 19, 7, 16, 8, 17, 9, 23, 14, 25, 13, 27, 11, 26, 10, 12, 22, 28, 4, 5, 0, 1, 29, 24, 2, 30, 3, 6]],
  [4, 17, 0, 1 << 18, [9, 1, 3, 0, 8, 7, 2, 16, 17, 15, 18, 4, 6, 19, 5, 23, 27, 20, 21, 26, 28, 22, 25, 30, 12, 10, 13, 29, 14, 11, 24]],
  [2, 1, 3, 1, [15, 16, 17, 18, 24, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 25, 26, 27, 28, 29, 30, 19, 20, 21, 22, 23, 10, 11, 12, 13, 14]],
];

// basic/'s shard sizes (507 samples): the first 12 ids and Σ ids[k]·(k+1) of the reference's order.
const BASIC = [59, 53, 11, 1, 47, 58, 52, 59, 54, 53, 53];
const BASIC_CASES: Array<[nodes: number, seed: number, epoch: number, blockSize: number, head: number[], checksum: number]> = [
  [4, 9176, 0, 64, [375, 401, 388, 377, 342, 390, 395, 389, 403, 370, 355, 366], 27170491],
  [8, 9176, 5, 100, [427, 422, 409, 443, 405, 411, 430, 434, 416, 402, 118, 433], 27663295],
  [1, 42, 1, 1 << 18, [235, 15, 36, 403, 0, 331, 14, 265, 225, 64, 301, 485], 31838755],
];

describe("py1b shuffle (reference get_shuffle_py1b)", () => {
  it.each(SMALL_CASES)("sizes [7,3,0,5,9,1,6], C %i, seed %i, epoch %i, block %i", (nodes, seed, epoch, blockSize, want) => {
    expect(Array.from(getShuffle("py1b", SMALL, nodes, seed, epoch, blockSize))).toEqual(want);
  });

  it.each(BASIC_CASES)("basic/ sizes, C %i, seed %i, epoch %i, block %i", (nodes, seed, epoch, blockSize, head, checksum) => {
    const ids = getShuffle("py1b", BASIC, nodes, seed, epoch, blockSize);
    expect(Array.from(ids.subarray(0, 12))).toEqual(head);
    expect(ids.reduce((a, v, k) => a + v * (k + 1), 0)).toBe(checksum);
    const pos = Uint32Array.from({ length: ids.length }, (_, k) => ids.length - 1 - k);
    shufflePositions(pos, "py1b", BASIC, nodes, seed, epoch, blockSize);
    expect(Array.from(pos)).toEqual(Array.from(ids).reverse());
  });

  it("rejects a block size that is not a positive integer", () => {
    expect(() => getShuffle("py1b", SMALL, 1, 1, 0, 0)).toThrow(/py1b: blockSize must be a positive integer, got 0/);
  });
});
