import { fuzzRuns } from "../../../../scripts/fuzz/runner.mjs";
import { fuzzSuite } from "../../../../scripts/fuzz/suite.mjs";

// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size (scripts/fuzz/suite.mjs).
const TARGET = new URL("./recipe.fuzz-target.ts", import.meta.url);
const RUNS = { recipeDoc: fuzzRuns(300), recipeText: fuzzRuns(150) };

fuzzSuite("YAML recipes under fuzzing: a valid recipe or an error naming file and key", TARGET, RUNS);
