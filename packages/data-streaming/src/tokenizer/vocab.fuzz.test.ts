import { fuzzRuns } from "../../../../scripts/fuzz/runner.mjs";
import { fuzzSuite } from "../../../../scripts/fuzz/suite.mjs";

// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size (scripts/fuzz/suite.mjs).
const TARGET = new URL("./vocab.fuzz-target.ts", import.meta.url);
const RUNS = { vocabTxt: fuzzRuns(150), tokenizerJson: fuzzRuns(300), tokenizerJsonText: fuzzRuns(300) };

fuzzSuite("vocabulary readers under fuzzing: a usable vocab or an error naming the file", TARGET, RUNS);
