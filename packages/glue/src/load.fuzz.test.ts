import { beforeAll, describe, expect, it } from "vitest";
import { type FuzzSummary, fuzzRuns, runFuzzTargets } from "../../../scripts/fuzz/runner.mjs";

// The targets run in one worker with a deadline per input and a heap limit (see scripts/fuzz/).
// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size.
const TARGET = new URL("./load.fuzz-target.ts", import.meta.url);
const RUNS = { glueTsv: fuzzRuns(300), glueJsonl: fuzzRuns(300) };

describe("GLUE loaders under fuzzing: valid examples or an error naming file and line", () => {
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
