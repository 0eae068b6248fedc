import { defineConfig } from "tsup";

export default defineConfig({
  // batch-worker: the data producer's worker_threads entry, loaded from dist/ beside the chunks (train/prefetch.ts).
  entry: { index: "src/index.ts", cli: "src/cli.ts", "batch-worker": "src/train/batch-worker.ts" },
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  target: "node20",
  banner: ({ format }) => (format === "esm" ? {} : {}),
});
