import { defineConfig } from "vitest/config";
// @ts-expect-error: a plain .mjs helper without declarations
import { resolveSource } from "./scripts/workspace-sources.mjs";

// One vitest run over every package. Workspace packages (and their subpaths) resolve to their TypeScript
// sources through the `paths` of tsconfig.base.json, so tests never need a prior build; the published
// `exports` of each package.json name dist/ only.
const workspaceSources = {
  name: "mosaicbert-workspace-sources",
  enforce: "pre" as const,
  resolveId(id: string): string | null {
    return (resolveSource as (s: string) => string | null)(id);
  },
};

export default defineConfig({
  plugins: [workspaceSources],
  test: {
    include: ["packages/*/src/**/*.test.ts", "packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    // CI asks for a machine-readable summary as well (.ci/run prints "N passed, N failed").
    reporters: process.env.VITEST_JSON_OUT ? ["default", "json"] : ["default"],
    outputFile: process.env.VITEST_JSON_OUT ? { json: process.env.VITEST_JSON_OUT } : undefined,
  },
});
