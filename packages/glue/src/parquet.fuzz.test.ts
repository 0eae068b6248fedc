import { fuzzRuns } from "../../../scripts/fuzz/runner.mjs";
import { fuzzSuite } from "../../../scripts/fuzz/suite.mjs";

// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size (scripts/fuzz/suite.mjs).
const TARGET = new URL("./parquet.fuzz-target.ts", import.meta.url);

fuzzSuite("parquet reader under fuzzing: rows or an error naming the file, in bounded time and memory", TARGET, { parquetTable: fuzzRuns(300), parquetFooter: fuzzRuns(300), parquetHostileFiles: 1 });
