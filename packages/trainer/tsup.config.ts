import { defineConfig } from "tsup";

export default defineConfig({
  // batch-worker: the data producer's worker_threads entry, loaded from dist/ beside the chunks (train/prefetch.ts).
  entry: { index: "src/index.ts", cli: "src/cli.ts", "batch-worker": "src/train/batch-worker.ts" },
  format: ["esm"],
  // The declarations name Node types (NodeJS.*): @types/node is a dependency, referenced here.
  dts: { entry: "src/index.ts", banner: "/// <reference types=\"node\" />" },
  sourcemap: true,
  clean: true,
  target: "node20",
  banner: ({ format }) => (format === "esm" ? {} : {}),
});
