import { defineConfig } from "vitest/config";
import base from "./vitest.config";

// Only the tests that cover the mutated modules (stryker.config.mjs), so each Stryker run stays small.
// (Spread rather than mergeConfig, which would append to the base include list.)
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      "packages/data-streaming/src/collator/*.test.ts",
      "packages/data-streaming/src/tokenizer/*.test.ts",
      "packages/data-streaming/src/mds/{writer,reader,corrupt,encodings}.test.ts",
      "packages/layers/src/optim/*.test.ts",
      "packages/tensor/src/cpu/optim.test.ts",
      "packages/trainer/src/train/evaluate.test.ts",
      "packages/trainer/src/checkpoint/*.test.ts",
      "packages/glue/src/metrics.test.ts",
    ],
    maxWorkers: 1,
  },
});
