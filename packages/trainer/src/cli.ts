#!/usr/bin/env node
import { buildProgram } from "./cli/program.js";

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`mosaicbert: ${msg}\n`);
    if (process.env.MOSAICBERT_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = 1;
  });
