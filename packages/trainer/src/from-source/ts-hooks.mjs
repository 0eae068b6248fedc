// Node module hooks that run this monorepo's TypeScript sources directly (no build): workspace
// packages resolve to their sources through tsconfig.base.json's `paths` (scripts/workspace-sources.mjs),
// `./x.js` imports find `./x.ts`, and .ts files are transpiled with the TypeScript compiler on load.
// Used when the trainer runs from its sources: the batch producer's worker threads (train/prefetch.ts),
// scripts, and tests that run the trainer in a real child process (kill -9 mid-run, multi-process data
// parallelism). Built packages (dist/) never load it.
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";
import { resolveSource } from "../../../../scripts/workspace-sources.mjs";

export async function resolve(specifier, context, next) {
  const source = resolveSource(specifier);
  if (source) return { url: pathToFileURL(source).href, shortCircuit: true, format: "module" };
  try {
    return await next(specifier, context);
  } catch (e) {
    if ((specifier.startsWith(".") || specifier.startsWith("/")) && specifier.endsWith(".js") && context.parentURL) {
      const ts = new URL(specifier.replace(/\.js$/, ".ts"), context.parentURL);
      if (existsSync(fileURLToPath(ts))) return { url: ts.href, shortCircuit: true, format: "module" };
    }
    throw e;
  }
}

export async function load(url, context, next) {
  if (url.startsWith("file:") && url.endsWith(".ts")) {
    const source = readFileSync(fileURLToPath(url), "utf8");
    const out = ts.transpileModule(source, {
      fileName: fileURLToPath(url),
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, inlineSourceMap: true, verbatimModuleSyntax: false, isolatedModules: true },
    });
    return { format: "module", source: out.outputText, shortCircuit: true };
  }
  return next(url, context);
}
