import { defineConfig } from "tsup";

export default defineConfig({
  entry: { index: "src/index.ts", "testing/index": "src/testing/index.ts" },
  format: ["esm"],
  // The declarations name Node types (Buffer, streams, NodeJS.*): @types/node is a dependency, referenced here.
  dts: { banner: "/// <reference types=\"node\" />" },
  sourcemap: true,
  clean: true,
  target: "node20",
});
