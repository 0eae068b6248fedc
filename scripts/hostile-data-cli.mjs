#!/usr/bin/env node
// The hostile MDS datasets and recipes of issue #18 through the real `mosaicbert` CLI, one process per
// case: `data cat <dataset>` for every case of the generated corpus
// (packages/data-streaming/src/testing/hostile-corpus.ts, bombs of 1 GiB) and `pretrain --config <recipe>`
// for hostile recipes and recipes whose data is a hostile dataset. For each: exit code, wall time, peak
// resident memory and the first line of the message. Exit code 1 when a hostile case ends otherwise than
// with the CLI's own error naming the file in <= 10 s and <= 1 GiB, or a valid one does not load.
//   pnpm build && node scripts/hostile-data-cli.mjs     # the built CLI (packages/trainer/dist/cli.js)
//   node scripts/hostile-data-cli.mjs --src             # from the TypeScript sources (slower start)
import * as fs from "node:fs";
import { register } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { cliRunner } from "./hostile/run-cli.mjs";

const fromSrc = process.argv.includes("--src");
// The corpus builder is test support (not in dist): always read from the sources.
register(new URL("../packages/trainer/src/from-source/ts-hooks.mjs", import.meta.url));
const { buildHostileCorpus } = await import("../packages/data-streaming/src/testing/hostile-corpus.ts");
const { hostileRecipes } = await import("../packages/trainer/src/testing/hostile-recipes.ts");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-data-cli-"));

const runCli = cliRunner({ fromSrc, env: { XDG_CACHE_HOME: path.join(tmp, "cache") } });
async function run(args) {
  const r = await runCli(args);
  // The CLI's own message: from "mosaicbert: " to the memory report (a config error spans lines).
  const at = r.stderr.indexOf("mosaicbert: ");
  const msg = at < 0 ? "" : r.stderr.slice(at).replace(/\n\[maxrss-kib \d+\]\n?$/, "").trim();
  return { ...r, msg };
}

const rows = [];
let bad = 0;
function record(name, what, r, expect) {
  const inBudget = r.s <= 10 && r.mib <= 1024;
  const ok = expect === "loads"
    ? r.code === 0 && inBudget
    : r.code === 1 && inBudget && r.msg.startsWith("mosaicbert: ") && expect.test(r.msg);
  if (!ok) bad++;
  const shown = r.code === 0 ? "(loads)" : r.msg.replace(/\s*\n\s*/g, " ").slice(12, 140).replaceAll("|", "\\|");
  rows.push(`| ${name} | ${what} | ${r.code ?? r.signal} | ${r.s.toFixed(1)} s | ${r.mib.toFixed(0)} MiB | ${ok ? "ok" : "**FAIL**"} | ${shown} |`);
  process.stderr.write(`${ok ? "ok  " : "FAIL"} ${name}: exit ${r.code}, ${r.s.toFixed(1)} s, ${r.mib.toFixed(0)} MiB: ${r.msg.replace(/\s*\n\s*/g, " ").slice(0, 200)}\n`);
}

const cases = await buildHostileCorpus(path.join(tmp, "corpus"), { bombBytes: 2 ** 30 });
for (const c of cases) {
  const expect = c.expectRender ?? c.expect;
  const named = expect === "loads" ? "loads" : new RegExp(`${c.dir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}/${expect.source}`);
  record(`data cat ${c.name}`, c.what, await run(["data", "cat", c.dir]), named);
}

for (const r of hostileRecipes(path.join(tmp, "recipes"), cases)) {
  record(`pretrain ${r.name}`, r.what, await run(["pretrain", "--config", r.file, "--device", "cpu", ...r.args]), r.expect);
}

fs.rmSync(tmp, { recursive: true, force: true });
console.log("| case | input | exit | time | peak RSS | result | message (first 128 characters) |\n|---|---|---:|---:|---:|---|---|");
for (const r of rows) console.log(r);
console.log(`\n${fromSrc ? "CLI from sources" : "built CLI"}, node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}`);
process.exitCode = bad ? 1 : 0;
