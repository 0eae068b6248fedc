#!/usr/bin/env node
// Full-size fuzz run (#11): every parser target, N mutated inputs each (default 10,000), a 2 s
// deadline per input, then a markdown table for docs/reliability.md.
//   node scripts/fuzz.mjs [--runs 10000] [--seed 20240611] [--timeout-ms 2000] [--only mds,torch]
import { runFuzzTargets } from "./fuzz/runner.mjs";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const runs = Number(opt("runs", "10000"));
const seed = Number(opt("seed", "20240611"));
const timeoutMs = Number(opt("timeout-ms", "2000"));
const only = opt("only", "")?.split(",").filter(Boolean) ?? [];

const root = new URL("../packages/", import.meta.url);
const MODULES = [
  ["safetensors", "hub/src/safetensors/safetensors.fuzz-target.ts", ["safetensorsBytes", "safetensorsHeader", "safetensorsStructure"]],
  ["torch", "hub/src/torch/torch.fuzz-target.ts", ["torchPickle", "torchZip", "torchLegacy", "torchForbidden", "torchStructure"]],
  ["mds", "data-streaming/src/mds/mds.fuzz-target.ts", ["mdsIndexJson", "mdsIndexText", "mdsRawShard", "mdsCompressedShard", "mdsHashes", "mdsColumnValue"]],
  ["vocab", "data-streaming/src/tokenizer/vocab.fuzz-target.ts", ["vocabTxt", "tokenizerJson", "tokenizerJsonText"]],
  ["glue", "glue/src/load.fuzz-target.ts", ["glueTsv", "glueJsonl"]],
  ["parquet", "glue/src/parquet.fuzz-target.ts", ["parquetTable", "parquetFooter"]],
  ["config", "layers/src/config.fuzz-target.ts", ["configJson", "configText"]],
  ["recipe", "trainer/src/config/recipe.fuzz-target.ts", ["recipeDoc", "recipeText"]],
];

const rows = [];
let failed = 0;
for (const [key, file, names] of MODULES) {
  if (only.length && !only.includes(key)) continue;
  const res = await runFuzzTargets(new URL(file, root), names, { runs, seed, timeoutMs });
  for (const n of names) {
    const r = res[n];
    if (r.failure) failed++;
    rows.push(r);
    const errs = Object.entries(r.errorNames).map(([k, v]) => `${k} ${v}`).join(", ");
    process.stderr.write(`${r.failure ? "FAIL" : "ok  "} ${r.name}: ${r.runs} inputs, ${r.accepted ?? "?"} accepted, ${r.rejected ?? "?"} refused (${errs}), ${(r.ms / 1000).toFixed(1)} s\n`);
    if (r.failure) process.stderr.write(`     ${r.failure.kind}: ${r.failure.message}\n     input: ${r.failure.input}\n`);
  }
}
console.log(`| parser | inputs | accepted | refused (clear error) | time | result |\n|---|---:|---:|---:|---:|---|`);
for (const r of rows) {
  console.log(`| ${r.name} | ${r.runs} | ${r.accepted ?? "–"} | ${r.rejected ?? "–"} | ${(r.ms / 1000).toFixed(1)} s | ${r.failure ? `**${r.failure.kind}**` : "ok"} |`);
}
console.log(`\nseed ${seed}, ${runs} inputs per parser, ${timeoutMs} ms deadline per input, node ${process.version}`);
process.exitCode = failed ? 1 : 0;
