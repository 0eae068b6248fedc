#!/usr/bin/env node
// Merges Stryker JSON reports of per-module runs (`pnpm test:mutation --mutate FILE`, each report copied
// aside) into one report, later files winning for a file mutated in several; prints each file's score.
// Usage: node scripts/mutation-merge.mjs OUT.json PART.json [PART.json …]
import { readFileSync, writeFileSync } from "node:fs";

const [out, ...parts] = process.argv.slice(2);
if (!out || parts.length === 0) {
  console.error("usage: node scripts/mutation-merge.mjs OUT.json PART.json [PART.json …]");
  process.exit(2);
}
let merged = null;
for (const p of parts) {
  const r = JSON.parse(readFileSync(p, "utf8"));
  if (typeof r.files !== "object" || r.files === null) throw new Error(`${p}: files: expected a Stryker mutation report`);
  merged = merged ? { ...merged, ...r, files: { ...merged.files, ...r.files } } : r;
}
writeFileSync(out, JSON.stringify(merged));

/** Stryker's score: detected (killed + timeout) over valid mutants (detected + survived + no coverage). */
let [detected, valid] = [0, 0];
for (const [file, f] of Object.entries(merged.files)) {
  const n = {};
  for (const m of f.mutants) n[m.status] = (n[m.status] ?? 0) + 1;
  const d = (n.Killed ?? 0) + (n.Timeout ?? 0);
  const v = d + (n.Survived ?? 0) + (n.NoCoverage ?? 0);
  detected += d;
  valid += v;
  console.log(`${file}: ${((100 * d) / v).toFixed(1)}% (${d} of ${v}; ${n.Survived ?? 0} survived, ${n.NoCoverage ?? 0} no coverage, ${n.Ignored ?? 0} ignored)`);
}
console.log(`all: ${((100 * detected) / valid).toFixed(1)}% (${detected} of ${valid})`);
