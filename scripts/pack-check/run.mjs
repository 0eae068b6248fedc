#!/usr/bin/env node
// The packages as a user gets them: `pnpm -r pack`, the tarballs installed with plain npm into an empty project
// outside the workspace, every entry point imported with `import` and with `require`, every README's ```js
// examples run as written (taken from the README inside the tarball, so the docs cannot drift), a strict
// TypeScript consumer type-checked, the `mosaicbert` command run from the project, from `npm i -g` and from
// `npx` (through a local registry for the @mosaicbert scope). Run by .ci/run; needs the packages built (the
// workspace install's `prepare` builds them) and the npm registry for third-party dependencies.
//   node scripts/pack-check/run.mjs [--keep]      (--keep leaves the work folder for inspection)
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../workspace-sources.mjs";
import { jsExamples } from "./readme.mjs";
import { startRegistry } from "./registry.mjs";

const keep = process.argv.includes("--keep");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "mosaicbert-pack-"));
const tarDir = path.join(work, "tarballs");
const app = path.join(work, "app");
const failures = [];
const started = Date.now();
// No GPU in CI: the kernels-cuda install script is exercised by its own test; here it only has to succeed.
const env = { ...process.env, MOSAICBERT_SKIP_CUDA_BUILD: "1", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
for (const k of Object.keys(env)) if (/^(npm_(config|package|lifecycle)_|PNPM_|pnpm_config_)/i.test(k) && !k.startsWith("npm_config_audit") && !k.startsWith("npm_config_fund") && !k.startsWith("npm_config_update")) delete env[k];

function step(name, fn) {
  const t = Date.now();
  try {
    fn();
    console.log(`pack-check: ${name} ok (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
    console.error(`pack-check: ${name} FAILED (${((Date.now() - t) / 1000).toFixed(1)} s)\n${e.message}`);
  }
}

/** Runs a command; throws with its output on a non-zero exit. */
function sh(cmd, args, o = {}) {
  const r = spawnSync(cmd, args, { cwd: o.cwd ?? app, env: o.env ?? env, encoding: "utf8", timeout: (o.timeoutS ?? 300) * 1000, maxBuffer: 64 << 20 });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  if (r.status !== 0) throw new Error(`\`${[cmd, ...args].join(" ")}\` exited ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ""}\n${out.trim().split("\n").slice(-40).join("\n")}`);
  return out;
}

// 1. Pack every package.
fs.mkdirSync(tarDir, { recursive: true });
sh("pnpm", ["-r", "--filter", "./packages/**", "pack", "--pack-destination", tarDir], { cwd: repoRoot, env: process.env });
const tarballs = fs.readdirSync(tarDir).filter((f) => f.endsWith(".tgz")).map((f) => {
  const file = path.join(tarDir, f);
  const manifest = JSON.parse(execFileSync("tar", ["-xzOf", file, "package/package.json"], { encoding: "utf8" }));
  const listing = execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).split("\n").filter(Boolean).map((p) => p.replace(/^package\//, ""));
  return { file, manifest, listing };
});
console.log(`pack-check: packed ${tarballs.map((t) => `${t.manifest.name} (${(fs.statSync(t.file).size / 1024).toFixed(0)} KB)`).join(", ")}`);

/** Every published entry point: "@mosaicbert/x" and "@mosaicbert/x/sub". */
const entryPoints = tarballs.flatMap((t) => Object.keys(t.manifest.exports ?? {}).map((sub) => (sub === "." ? t.manifest.name : `${t.manifest.name}/${sub.slice(2)}`)));

const SHIPPED = {
  "@mosaicbert/kernels-cuda": [/^scripts\/install\.mjs$/, /^native\/build\.sh$/, /^native\/\w+\.cu$/, /^native\/addon\.cc$/],
  "@mosaicbert/trainer": [/^recipes\/tiny-cpu\.yaml$/, /^recipes\/mosaic-bert-base\.yaml$/, /^assets\/sample-corpus\//],
  "@mosaicbert/data-streaming": [/^assets\/.*vocab\.txt$/],
};

// 2. The manifests: exports name shipped files (types first, then import, then default), no workspace: ranges.
step("manifests", () => {
  const errs = [];
  for (const { manifest: m, listing } of tarballs) {
    const has = (p) => listing.includes(p.replace(/^\.\//, ""));
    for (const k of ["sideEffects", "engines", "types", "exports", "files"]) if (m[k] === undefined) errs.push(`${m.name}: no "${k}"`);
    for (const [sub, conds] of Object.entries(m.exports ?? {})) {
      const keys = Object.keys(conds);
      if (keys[0] !== "types" || !keys.includes("import") || keys.at(-1) !== "default") errs.push(`${m.name} exports["${sub}"]: conditions ${keys.join(", ")} (expected types first, import, default last)`);
      for (const [c, target] of Object.entries(conds)) if (!has(target)) errs.push(`${m.name} exports["${sub}"].${c}: ${target} is not in the tarball`);
    }
    for (const [bin, target] of Object.entries(m.bin ?? {})) if (!has(target)) errs.push(`${m.name} bin ${bin}: ${target} is not in the tarball`);
    for (const [dep, range] of Object.entries({ ...m.dependencies, ...m.peerDependencies })) if (/^workspace:/.test(range)) errs.push(`${m.name}: ${dep} ${range}`);
    // What runs from the package at install or at run time, beside dist/.
    for (const re of SHIPPED[m.name] ?? []) if (!listing.some((p) => re.test(p))) errs.push(`${m.name}: nothing in the tarball matches ${re}`);
  }
  if (errs.length) throw new Error(errs.join("\n"));
});

// 3. An empty project outside the workspace, the tarballs installed with npm. ../shared beside it, as beside the
//    clone, so README examples that read the repository's test data run unchanged.
fs.mkdirSync(app);
fs.writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true, type: "module" }, null, 2));
const shared = path.resolve(repoRoot, "..", "shared");
if (fs.existsSync(shared)) fs.symlinkSync(shared, path.join(work, "shared"));
step("npm install of the tarballs", () => {
  const out = sh("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", ...tarballs.map((t) => t.file)]);
  if (/npm (ERR|error)/.test(out)) throw new Error(out);
});

step("npm rebuild @mosaicbert/kernels-cuda runs the addon's install script", () => {
  const out = sh("npm", ["rebuild", "@mosaicbert/kernels-cuda", "--foreground-scripts"]);
  if (!out.includes("@mosaicbert/kernels-cuda: MOSAICBERT_SKIP_CUDA_BUILD=1")) throw new Error(`the install script did not run:\n${out}`);
});

// 4. Every entry point with import and with require (Node ≥ 20.19 loads ES modules through require).
step("import every entry point", () => {
  const code = `for (const s of ${JSON.stringify(entryPoints)}) { const m = await import(s); if (Object.keys(m).length === 0) throw new Error(s + ": no exports"); }`;
  sh(process.execPath, ["--input-type=module", "-e", code]);
});
step("require every entry point", () => {
  const code = `for (const s of ${JSON.stringify(entryPoints)}) { const m = require(s); if (Object.keys(m).length === 0) throw new Error(s + ": no exports"); }`;
  sh(process.execPath, ["--input-type=commonjs", "-e", code]);
});

// 5. README examples, from the README each tarball ships.
for (const { manifest: m } of tarballs) {
  const readme = path.join(app, "node_modules", m.name, "README.md");
  const blocks = fs.existsSync(readme) ? jsExamples(fs.readFileSync(readme, "utf8")) : [];
  step(`${m.name} README examples (${blocks.length})`, () => {
    if (blocks.length === 0) throw new Error(`${readme}: no \`\`\`js example`);
    blocks.forEach((code, i) => {
      const file = path.join(app, `readme-${m.name.split("/")[1]}-${i + 1}.mjs`);
      fs.writeFileSync(file, code);
      sh(process.execPath, [file], { timeoutS: 240 });
    });
  });
}

// 6. A strict TypeScript consumer (no @types/node of its own: the packages bring what their declarations need).
step("strict TypeScript consumer", () => {
  const names = entryPoints.map((s, i) => ({ s, id: `m${i}` }));
  fs.writeFileSync(path.join(app, "consumer.ts"), `${names.map(({ s, id }) => `import * as ${id} from "${s}";`).join("\n")}\nexport const all: object[] = [${names.map((n) => n.id).join(", ")}];\n`);
  fs.writeFileSync(path.join(app, "consumer-cjs.cts"), `${names.map(({ s, id }) => `import ${id} = require("${s}");`).join("\n")}\nexport const all: object[] = [${names.map((n) => n.id).join(", ")}];\n`);
  fs.writeFileSync(path.join(app, "tsconfig.json"), JSON.stringify({
    compilerOptions: { strict: true, noUncheckedIndexedAccess: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", lib: ["es2022"], noEmit: true, skipLibCheck: false },
    files: ["consumer.ts", "consumer-cjs.cts"],
  }, null, 2));
  sh(process.execPath, [path.join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", app]);
});

// 7. The command line from the project: its recipes, sample corpus and vocab resolve from the installed package.
step("mosaicbert from the project (pretrain 2 steps, infer)", () => {
  const bin = path.join(app, "node_modules", ".bin", "mosaicbert");
  const save = path.join(work, "run");
  sh(bin, ["pretrain", "--max-duration", "2ba", "--save-folder", save, ...["global_train_batch_size=4", "device_train_microbatch_size=4", "max_seq_len=64", "eval_subset_num_batches=1"].flatMap((s) => ["--set", s])], { timeoutS: 240 });
  const ckpt = path.join(save, fs.readFileSync(path.join(save, "latest"), "utf8").trim());
  const out = sh(bin, ["infer", "--model", ckpt, "--text", "the capital of france is [MASK] ."]);
  if (!/position \d+:/.test(out)) throw new Error(`infer printed no prediction:\n${out}`);
});

// 8. npm i -g and npx, from a registry that serves the packed tarballs for the @mosaicbert scope.
const registry = await startRegistry(tarballs);
const scope = `--@mosaicbert:registry=${registry.url}`;
await stepAsync("npm i -g @mosaicbert/trainer", async () => {
  const prefix = path.join(work, "global");
  await shAsync("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", scope, "@mosaicbert/trainer"]);
  const out = await shAsync(path.join(prefix, "bin", "mosaicbert"), ["pretrain", "--help"]);
  if (!/tiny-cpu/.test(out)) throw new Error(`mosaicbert pretrain --help does not list the recipes:\n${out}`);
  await shAsync(path.join(prefix, "bin", "mosaicbert"), ["tokenize", "--help"]);
});
await stepAsync("npx @mosaicbert/trainer", async () => {
  // A cache of its own: npx would otherwise reuse an earlier run's install of the same name.
  const out = await shAsync("npx", ["--yes", "--cache", path.join(work, "npx-cache"), scope, "-p", "@mosaicbert/trainer", "mosaicbert", "--help"], { cwd: work });
  if (!/pretrain/.test(out)) throw new Error(`npx mosaicbert --help:\n${out}`);
});
await registry.close();

// The registry runs in this process, so npm must run without blocking it.
async function shAsync(cmd, args, o = {}) {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: o.cwd ?? app, env, timeout: 300_000 });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    p.on("error", reject);
    p.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`\`${[cmd, ...args].join(" ")}\` exited ${code}\n${out.trim().split("\n").slice(-40).join("\n")}`))));
  });
}
async function stepAsync(name, fn) {
  const t = Date.now();
  try {
    await fn();
    console.log(`pack-check: ${name} ok (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failures.push(`${name}: ${e.message}`);
    console.error(`pack-check: ${name} FAILED (${((Date.now() - t) / 1000).toFixed(1)} s)\n${e.message}`);
  }
}

if (!keep) fs.rmSync(work, { recursive: true, force: true });
else console.log(`pack-check: work folder kept: ${work}`);
console.log(`pack-check: ${failures.length ? `${failures.length} failed` : "all passed"} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exitCode = failures.length ? 1 : 0;
