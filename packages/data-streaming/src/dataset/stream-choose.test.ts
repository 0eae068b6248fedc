import { describe, expect, it } from "vitest";
import { numpySum, streamChoose } from "./stream-choose.js";

// Expected values come from the reference: `Stream.validate_weights` + `Stream.apply_weights` of
// mosaicml-streaming @89e7bb90 (streaming/base/stream.py, the methods exec'd unchanged) with NumPy 2.4.6,
// called with streams carrying these attributes, samples_per_stream = sizes, choose_per_epoch = epochSize.

// Relative weights (`proportion`), samples_per_stream all 1000. The first seven are cases where the old
// `floor(epochSize * p / sum)` landed on the other side of an integer; the last has 9 streams (NumPy's
// 8-way pairwise sum).
const PROPORTION: Array<[proportion: number[], epochSize: number, seed: number, want: number[]]> = [
  [[0.7, 0.2, 0.1, 0.25], 1125, 9176, [629, 180, 90, 226]],
  [[0.86, 0.7, 0.7, 0.98, 0.26], 2165, 1394, [532, 433, 432, 607, 161]],
  [[0.17, 0.55, 0.13], 2924, 8870, [584, 1893, 447]],
  [[0.36, 0.22, 0.5], 1470, 2547, [491, 299, 680]],
  [[0.87, 0.63], 3100, 1010, [1797, 1303]],
  [[0.67, 0.14, 0.12, 0.15], 2259, 2096, [1402, 292, 252, 313]],
  [[0.13, 0.06, 0.93, 0.39, 0.81], 3480, 590, [195, 90, 1396, 584, 1215]],
  [[0.3, 0.1, 0.2, 0.05, 0.15, 0.07, 0.03, 0.6, 0.11], 100003, 17, [18635, 6212, 12422, 3105, 9318, 4348, 1863, 37268, 6832]],
];

// No weights at all: epochSize split in proportion to the streams' sizes (0 / null: the whole dataset).
const UNWEIGHTED: Array<[sizes: number[], epochSize: number | null, seed: number, want: number[]]> = [
  [[500], 100, 9176, [100]],
  [[500, 1500], 1000, 9176, [250, 750]],
  [[3, 5, 7], 10, 1, [2, 4, 4]],
  [[59, 53, 11, 1, 47], 100, 9176, [34, 30, 7, 1, 28]],
  [[59, 53, 11, 1, 47], 1000, 5, [346, 309, 65, 6, 274]],
  [[171, 165, 155, 166, 163, 157, 158, 165, 153, 157, 178, 12], 997, 42, [95, 91, 85, 92, 91, 86, 88, 91, 85, 87, 99, 7]],
  [[500, 1500], 0, 9176, [500, 1500]],
  [[500, 1500], null, 9176, [500, 1500]],
];

describe("streamChoose (reference Stream.apply_weights)", () => {
  it.each(PROPORTION)("proportion %j, epochSize %i, seed %i", (proportion, epochSize, seed, want) => {
    expect(streamChoose(proportion.map((p) => ({ proportion: p })), proportion.map(() => 1000), epochSize, seed)).toEqual(want);
  });

  it.each(UNWEIGHTED)("no weights, sizes %j, epochSize %s, seed %i", (sizes, epochSize, seed, want) => {
    expect(streamChoose(sizes.map(() => ({})), sizes, epochSize, seed)).toEqual(want);
  });

  it("epochSize with repeat/choose is an error (the reference: ValueError 'Only provide `choose` when weighting streams relatively')", () => {
    for (const w of [[{ repeat: 2 }], [{ choose: 10 }, {}], [{}, { repeat: 0.5 }]]) {
      expect(() => streamChoose(w, w.map(() => 500), 100, 1)).toThrow(/epochSize \(100\) cannot be combined with stream repeat\/choose weights; use proportion/);
    }
    // Without epochSize they apply: reference [10, 40, 15] for choose 10 / none / repeat 0.5 over sizes [500, 40, 31].
    expect(streamChoose([{ choose: 10 }, {}, { repeat: 0.5 }], [500, 40, 31], null, 1)).toEqual([10, 40, 15]);
    expect(() => streamChoose([{}], [5], -1, 1)).toThrow(/epochSize must be a non-negative integer/);
  });
});

describe("numpySum", () => {
  // np.array(a, np.float64).sum() for a[i] = ((i·7919) mod 1000 + 0.1) / (i mod 13 + 3), NumPy 2.4.6;
  // all but n = 5 and 300 differ from a left-to-right sum.
  it.each([[5, 620.197380952381], [9, 827.0261940836941], [100, 7780.872000777001], [130, 9670.194200244201], [300, 21848.459737762238], [1000, 70217.85428321679]])(
    "n = %i", (n, want) => {
      const a = Array.from({ length: n }, (_, i) => (((i * 7919) % 1000) + 0.1) / ((i % 13) + 3));
      expect(numpySum(a)).toBe(want);
    },
  );
});
