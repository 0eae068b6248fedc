import { defineConfig } from "vitest/config";
import base from "./vitest.config";

// Only the tests aimed at the mutated modules (stryker.config.mjs), so each Stryker run stays small: the
// 3,300-line tokenizer goldens and the MDS reader/corruption suites cover them too but would make every
// mutant of the collator, the truncation and the encodings cost seconds.
// (Spread rather than mergeConfig, which would append to the base include list.)
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      "packages/data-streaming/src/collator/collator.test.ts",
      "packages/data-streaming/src/tokenizer/{truncate,tokenizer}.test.ts",
      "packages/data-streaming/src/mds/{encodings,writer}.test.ts",
      "packages/layers/src/optim/*.test.ts",
      "packages/tensor/src/cpu/optim.test.ts",
      "packages/trainer/src/train/evaluate.test.ts",
      "packages/trainer/src/train/phases/train-step.test.ts",
      "packages/trainer/src/checkpoint/checkpoint.test.ts",
      "packages/glue/src/metrics.test.ts",
    ],
    maxWorkers: 1,
  },
});
