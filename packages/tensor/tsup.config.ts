import { defineConfig } from "tsup";

export default defineConfig({
  // The main entry and the two subpaths of package.json "exports".
  entry: { index: "src/index.ts", "backend-kit": "src/backend-kit.ts", testing: "src/testing.ts" },
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "node20",
});
