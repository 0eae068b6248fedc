// `pnpm bench`: runs every package's CPU benchmarks, packages/*/bench/*.bench.mjs, one after the other.
// Benchmarks import the built packages (dist/), so run `pnpm build` first. An optional argument filters by
// path substring: `pnpm bench tokenize`. Extra flags after `--` go to each benchmark.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const argv = process.argv.slice(2);
const dash = argv.indexOf("--");
const filters = dash >= 0 ? argv.slice(0, dash) : argv;
const passThrough = dash >= 0 ? argv.slice(dash + 1) : [];

const files = [];
for (const pkg of readdirSync(join(root, "packages")).sort()) {
  const dir = join(root, "packages", pkg, "bench");
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).sort()) if (f.endsWith(".bench.mjs")) files.push(join(dir, f));
}
const chosen = files.filter((f) => filters.every((s) => relative(root, f).includes(s)));
if (chosen.length === 0) {
  console.error(`bench: no benchmark matches ${JSON.stringify(filters)} (found: ${files.map((f) => relative(root, f)).join(", ") || "none"})`);
  process.exit(1);
}
let failed = 0;
for (const f of chosen) {
  console.log(`\n== ${relative(root, f)}`);
  const r = spawnSync(process.execPath, [f, ...passThrough], { stdio: "inherit", cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
