// Mutation testing (`pnpm test:mutation`, not part of CI): Stryker mutates the modules whose numbers
// users trust and runs the tests that cover each mutant. See docs/testing.md for the modules, the
// score and the mutants that survive on purpose.
import { readFileSync } from "node:fs";

/** `file:start-end` covering one exported function (so the rest of a shared file is left alone). */
function functionRange(file, name) {
  const lines = readFileSync(new URL(file, import.meta.url), "utf8").split("\n");
  const start = lines.findIndex((l) => new RegExp(`^export (async )?function ${name}\\b`).test(l));
  if (start < 0) throw new Error(`stryker.config.mjs: ${file} has no exported function ${name}`);
  let end = start + 1;
  while (end < lines.length && lines[end] !== "}") end++;
  return `${file}:${start + 1}-${end + 1}`;
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  plugins: ["@stryker-mutator/vitest-runner"],
  mutate: [
    "packages/data-streaming/src/collator/mlm.ts",
    "packages/layers/src/optim/schedule.ts",
    "packages/layers/src/optim/adamw.ts",
    "packages/tensor/src/cpu/optim.ts",
    functionRange("packages/trainer/src/train/step.ts", "evaluate"),
    "packages/layers/src/optim/guard.ts",
    functionRange("packages/trainer/src/train/phases/train-step.ts", "progressOf"),
    "packages/data-streaming/src/tokenizer/truncate.ts",
    "packages/glue/src/metrics.ts",
    "packages/data-streaming/src/mds/encodings.ts",
    "packages/trainer/src/checkpoint/checkpoint.ts",
  ],
  coverageAnalysis: "perTest",
  // Reuses the results of the last run for mutants whose code and covering tests did not change
  // (`pnpm test:mutation --force` re-runs everything).
  incremental: true,
  // Static mutants (module-level tables: the MDS codec list, …) would re-run every test per mutant,
  // half the run's time; they are reported as ignored.
  ignoreStatic: true,
  incrementalFile: "reports/mutation/stryker-incremental.json",
  concurrency: Number(process.env.STRYKER_CONCURRENCY ?? 2),
  timeoutMS: 60_000,
  reporters: ["json", "clear-text", "progress-append-only"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
  ignorePatterns: ["reports", "runs", "corpora", "docs", "BENCHMARKS.md", "packages/kernels-cuda/native", ".mutation-why"],
  thresholds: { high: 90, low: 80, break: null },
};
