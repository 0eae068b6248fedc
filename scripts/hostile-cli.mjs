#!/usr/bin/env node
// Every hostile input of issue #18 through the real `mosaicbert` CLI, one process per case: weight
// folders built from the generated corpus (`infer --model`) and a hostile Hub on 127.0.0.1 (`hub pull`).
// For each: exit code, wall time, peak resident memory and the first line of the message; exit code 1
// when a case ends otherwise than with the CLI's own error in <= 10 s and <= 1 GiB (docs/reliability.md).
//   pnpm build && node scripts/hostile-cli.mjs          # the built CLI (packages/trainer/dist/cli.js)
//   node scripts/hostile-cli.mjs --src                  # from the TypeScript sources (slower start)
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { cliRunner } from "./hostile/run-cli.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const fromSrc = process.argv.includes("--src");
if (fromSrc) (await import("node:module")).register(new URL("../packages/trainer/src/from-source/ts-hooks.mjs", import.meta.url));
const testing = await import(fromSrc ? "../packages/hub/src/testing/index.ts" : "../packages/hub/dist/testing/index.js");
const { FakeHub, hostileBins, hostileSafetensors, sendJson: json } = testing;
const CONFIG = path.join(root, "../shared/data/golden/mosaic-tiny-mlm/config.json");
const TOKEN = "hf_hostile_cli_token_0123456789";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-cli-"));

const runCli = cliRunner({ fromSrc, env: { MOSAICBERT_CACHE: path.join(tmp, "cache") } });
async function run(args, env = {}) {
  const r = await runCli(args, env);
  const msg = r.stderr.split("\n").find((l) => l.startsWith("mosaicbert: ")) ?? r.stderr.trim().split("\n")[0] ?? "";
  return { ...r, msg };
}

const rows = [];
let bad = 0;
function record(name, what, r, mustName) {
  const ok = r.code === 1 && r.s <= 10 && r.mib <= 1024 && r.msg.startsWith("mosaicbert: ") && r.msg.includes(mustName) && !/[\u0000-\u0008\u000b-\u001f]/.test(r.msg);
  if (!ok) bad++;
  rows.push(`| ${name} | ${what} | ${r.code ?? r.signal} | ${r.s.toFixed(1)} s | ${r.mib.toFixed(0)} MiB | ${ok ? "ok" : "**FAIL**"} | ${r.msg.slice(12, 130).replaceAll("|", "\\|")} |`);
  process.stderr.write(`${ok ? "ok  " : "FAIL"} ${name}: exit ${r.code}, ${r.s.toFixed(1)} s, ${r.mib.toFixed(0)} MiB: ${r.msg.slice(0, 160)}\n`);
}

for (const c of [...hostileBins(), ...hostileSafetensors()].filter((x) => x.refuse)) {
  const dir = path.join(tmp, `${c.kind}-${c.name}`);
  fs.mkdirSync(dir);
  fs.copyFileSync(CONFIG, path.join(dir, "config.json"));
  const file = path.join(dir, c.kind === "bin" ? "pytorch_model.bin" : "model.safetensors");
  fs.writeFileSync(file, c.bytes);
  record(`infer ${c.kind} ${c.name}`, c.what, await run(["infer", "--model", dir, "--text", "a [MASK]"]), file);
}

// A hostile Hub: the fake Hub answering some routes the way an attacker would.
const hub = await new FakeHub(TOKEN).start();
const sha = "b".repeat(40);
const listing = (items, headers) => (req, res, p) => {
  if (p === "/api/models/me/evil/revision/main") return json(res, 200, { sha });
  if (p.startsWith("/api/models/me/evil/tree/")) return json(res, 200, items, headers);
  return false;
};
const held = [];
const hubCases = [
  ["foreign-link", "listing page links to another host", listing([], { Link: `<${hub.url.replace("127.0.0.1", "localhost")}/api/models/me/evil/tree/${sha}?cursor=1>; rel="next"` })],
  ["oversize", "a 10-byte file streamed as 300 MB", (req, res, p) => {
    if (p === `/me/evil/resolve/${sha}/w.bin`) {
      res.writeHead(200);
      const chunk = Buffer.alloc(1 << 16, 1);
      let sent = 0;
      const pump = () => { while (sent < 300e6 && !res.destroyed) { sent += chunk.length; if (!res.write(chunk)) return void res.once("drain", pump); } res.end(); };
      pump();
      return true;
    }
    return listing([{ type: "file", path: "w.bin", size: 10 }])(req, res, p);
  }],
  ["huge-listing", "an endless 1 GB listing", (req, res, p) => {
    if (p === "/api/models/me/evil/revision/main") return json(res, 200, { sha });
    if (!p.startsWith("/api/models/me/evil/tree/")) return false;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.write("[");
    const item = Buffer.from(`${JSON.stringify({ type: "file", path: "x".repeat(900), size: 1 })},`.repeat(64));
    let sent = 0;
    const pump = () => { while (sent < 1e9 && !res.destroyed) { sent += item.length; if (!res.write(item)) return void res.once("drain", pump); } res.end("]"); };
    pump();
    return true;
  }],
  ["ansi-name", "terminal escapes in a listed name", listing([{ type: "file", path: "\u001b]0;pwned\u0007\u001b[2J.bin", size: 1 }])],
  ["dot-path", "a listed path './'", listing([{ type: "file", path: "./", size: 1 }])],
  ["token-echo", "the token echoed in a 403 body", (req, res, p) => (p === "/api/models/me/evil/revision/main" ? json(res, 403, { error: `${"x".repeat(190)}${TOKEN}` }) : false)],
  ["redirect-loop", "a download redirecting to itself", (req, res, p) => {
    if (p === `/me/evil/resolve/${sha}/w.bin`) { res.writeHead(302, { Location: p }); res.end(); return true; }
    return listing([{ type: "file", path: "w.bin", size: 10 }])(req, res, p);
  }],
  ["silent", "a server that never answers", (req, res, p) => { if (p === "/api/models/me/evil/revision/main") { held.push(res); return true; } return false; }],
  ["missing-repo", "a repository that does not exist", () => false],
];
for (const [name, what, override] of hubCases) {
  hub.override = override;
  const r = await run(["hub", "pull", name === "missing-repo" ? "me/missing" : "me/evil", "--hub-url", hub.url, "--token", TOKEN]);
  record(`hub pull ${name}`, what, r, name === "missing-repo" ? "me/missing" : "me/evil");
  if (r.msg.includes(TOKEN.slice(0, 10))) { bad++; process.stderr.write(`FAIL ${name}: the token reached the terminal\n`); }
}
const gone = await new FakeHub(TOKEN).start();
await gone.close();
record("hub pull unreachable", "nothing listens on the port", await run(["hub", "pull", "me/evil", "--hub-url", gone.url]), new URL(gone.url).host);
for (const r of held) r.destroy();
await hub.close();
fs.rmSync(tmp, { recursive: true, force: true });

console.log("| case | input | exit | time | peak RSS | result | message (first 120 characters) |\n|---|---|---:|---:|---:|---|---|");
for (const r of rows) console.log(r);
console.log(`\n${fromSrc ? "CLI from sources" : "built CLI"}, node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}`);
process.exitCode = bad ? 1 : 0;
