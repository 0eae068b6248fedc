import { fuzzRuns } from "../../../scripts/fuzz/runner.mjs";
import { fuzzSuite } from "../../../scripts/fuzz/suite.mjs";

// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size (scripts/fuzz/suite.mjs).
const TARGET = new URL("./load.fuzz-target.ts", import.meta.url);
const RUNS = { glueTsv: fuzzRuns(300), glueJsonl: fuzzRuns(300) };

fuzzSuite("GLUE loaders under fuzzing: valid examples or an error naming file and line", TARGET, RUNS);
