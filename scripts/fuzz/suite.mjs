// One vitest suite per fuzzed module: every named target runs in one worker (runner.mjs) with a deadline
// per input and a heap limit, and each target must end with no failure after exactly its number of runs.
// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size.
import { beforeAll, describe, expect, it } from "vitest";
import { runFuzzTargets } from "./runner.mjs";

export function fuzzSuite(title, targetUrl, runs, more) {
  describe(title, () => {
    let results;
    beforeAll(async () => {
      results = await runFuzzTargets(targetUrl, Object.keys(runs), { runs });
    });
    for (const [name, n] of Object.entries(runs)) {
      it(name, () => {
        expect(results[name].failure, JSON.stringify(results[name].failure, null, 2)).toBeNull();
        expect(results[name].runs).toBe(n);
      });
    }
    if (more) more(() => results);
  });
}
