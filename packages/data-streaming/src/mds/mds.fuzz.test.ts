import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { fuzzRuns } from "../../../../scripts/fuzz/runner.mjs";
import { fuzzSuite } from "../../../../scripts/fuzz/suite.mjs";
import { compress, decompress } from "./compression.js";

// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size (scripts/fuzz/suite.mjs).
const TARGET = new URL("./mds.fuzz-target.ts", import.meta.url);
const RUNS = {
  mdsIndexJson: fuzzRuns(300), mdsIndexText: fuzzRuns(300), mdsRawShard: fuzzRuns(300),
  mdsCompressedShard: fuzzRuns(300), mdsHashes: fuzzRuns(200), mdsColumnValue: fuzzRuns(300),
  mdsPickleStructure: fuzzRuns(200), mdsJsonStructure: fuzzRuns(100), mdsDeclaredSizes: fuzzRuns(200),
};

fuzzSuite("MDS reader under fuzzing: a valid result or an error naming the file", TARGET, RUNS);

describe("regressions found by the fuzzer", () => {
  it("a snappy literal with a negative 4-byte length is refused (snappyjs looped forever on it)", async () => {
    const bad = Buffer.from("6dfc64b149a5a2a2", "hex");
    await expect(decompress("snappy", bad, "x/shard.00000.mds.snappy", 1000)).rejects.toThrow(/^x\/shard\.00000\.mds\.snappy: cannot decompress as snappy: snappy literal/);
  });

  it("a snappy stream that declares more bytes than it produces is refused (snappyjs zero-filled the rest)", async () => {
    const good = await compress("snappy", new TextEncoder().encode("hello hello hello hello"));
    const lying = Uint8Array.from(good);
    lying[0] = good[0]! + 5;
    await expect(decompress("snappy", lying, "f.snappy")).rejects.toThrow(/f\.snappy: .*produces 23 bytes but declares 28/);
  });

  it("a zstd frame whose content size lies beyond index.json's raw size is refused before allocating", async () => {
    const real = new Uint8Array(fs.readFileSync(new URL("../../../../../shared/data/mds/zstd/shard.00002.mds.zstd", import.meta.url)));
    const out = await decompress("zstd", real, "z.zstd", 1 << 20);
    const lying = real.slice();
    // Write the largest value the frame's Frame_Content_Size field can hold (1, 2, 4 or 8 bytes).
    const fhd = lying[4]!;
    const width = (fhd >>> 6) === 0 ? (fhd >>> 5) & 1 : [1, 2, 4, 8][fhd >>> 6]!;
    expect(width).toBeGreaterThan(1);
    const at = 5 + ((fhd >>> 5) & 1 ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
    lying.fill(0xff, at, at + width);
    await expect(decompress("zstd", lying, "z.zstd", out.length)).rejects.toThrow(/z\.zstd: cannot decompress as zstd: frame claims \d+ bytes, more than the 7337 expected/);
  });
});
