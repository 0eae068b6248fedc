import { fuzzRuns } from "../../../../scripts/fuzz/runner.mjs";
import { fuzzSuite } from "../../../../scripts/fuzz/suite.mjs";

// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size (scripts/fuzz/suite.mjs).
const TARGET = new URL("./safetensors.fuzz-target.ts", import.meta.url);
const RUNS = { safetensorsBytes: fuzzRuns(300), safetensorsHeader: fuzzRuns(300), safetensorsStructure: fuzzRuns(200) };

fuzzSuite("safetensors reader under fuzzing: a valid result or an error naming file and field", TARGET, RUNS);
