import { expect, it } from "vitest";
import { fuzzRuns } from "../../../../scripts/fuzz/runner.mjs";
import { fuzzSuite } from "../../../../scripts/fuzz/suite.mjs";

// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size (scripts/fuzz/suite.mjs).
const TARGET = new URL("./torch.fuzz-target.ts", import.meta.url);
const RUNS = { torchPickle: fuzzRuns(150), torchZip: fuzzRuns(300), torchLegacy: fuzzRuns(300), torchForbidden: fuzzRuns(300), torchStructure: fuzzRuns(200) };

fuzzSuite("PyTorch .bin reader under fuzzing: a valid result or an error naming the source", TARGET, RUNS, (results) => {
  it("forbidden globals are never accepted", () => {
    expect(results().torchForbidden!.accepted).toBe(0);
  });
});
