// The monorepo's source map: which TypeScript file an `@mosaicbert/*` import means inside the workspace.
// One table, the `paths` of tsconfig.base.json, serves tsc, esbuild (it reads tsconfig paths), vitest
// (vitest.config.ts) and the Node hooks that run sources in child processes (trainer/src/from-source/ts-hooks.mjs).
// Published packages resolve through their package.json `exports` (dist/ only) instead.
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

let cached = null;

/** tsconfig.base.json's compilerOptions.paths (the file may carry // line comments). */
export function sourcePaths() {
  if (cached) return cached;
  const text = readFileSync(resolve(repoRoot, "tsconfig.base.json"), "utf8").replace(/^\s*\/\/.*$/gm, "");
  return (cached = JSON.parse(text).compilerOptions.paths);
}

/** The source file for a workspace specifier ("@mosaicbert/hub", "@mosaicbert/hub/testing"), or null. */
export function resolveSource(specifier, paths = sourcePaths()) {
  if (!specifier.startsWith("@mosaicbert/")) return null;
  const exact = paths[specifier];
  if (exact) return resolve(repoRoot, exact[0]);
  // Like tsc: the longest matching prefix first ("@mosaicbert/hub/*" before "@mosaicbert/*").
  const patterns = Object.entries(paths).filter(([p]) => p.endsWith("/*")).sort(([a], [b]) => b.length - a.length);
  for (const [pattern, targets] of patterns) {
    if (!specifier.startsWith(pattern.slice(0, -1))) continue;
    const rest = specifier.slice(pattern.length - 1);
    for (const t of targets) {
      const file = resolve(repoRoot, t.replace("*", rest));
      if (existsSync(file)) return file;
    }
  }
  return null;
}
