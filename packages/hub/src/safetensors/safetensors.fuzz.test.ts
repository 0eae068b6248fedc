import { beforeAll, describe, expect, it } from "vitest";
import { type FuzzSummary, fuzzRuns, runFuzzTargets } from "../../../../scripts/fuzz/runner.mjs";

// The targets run in one worker with a deadline per input and a heap limit (see scripts/fuzz/).
// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size.
const TARGET = new URL("./safetensors.fuzz-target.ts", import.meta.url);
const RUNS = { safetensorsBytes: fuzzRuns(300), safetensorsHeader: fuzzRuns(300) };

describe("safetensors reader under fuzzing: a valid result or an error naming file and field", () => {
  let results: Record<string, FuzzSummary>;
  beforeAll(async () => {
    results = await runFuzzTargets(TARGET, Object.keys(RUNS), { runs: RUNS });
  });
  for (const [name, runs] of Object.entries(RUNS)) {
    it(name, () => {
      expect(results[name]!.failure, JSON.stringify(results[name]!.failure, null, 2)).toBeNull();
      expect(results[name]!.runs).toBe(runs);
    });
  }
});
