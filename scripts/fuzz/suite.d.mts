import type { FuzzSummary } from "./runner.mjs";

/**
 * Declares a describe block that fuzzes every target in `runs` (export name → inputs) of the module at
 * `targetUrl`; `more` may add tests that read the results once they exist.
 */
export function fuzzSuite(
  title: string,
  targetUrl: URL,
  runs: Record<string, number>,
  more?: (results: () => Record<string, FuzzSummary>) => void,
): void;
