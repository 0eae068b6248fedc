import { spawn } from "node:child_process";
import type * as http from "node:http";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import { Command } from "commander";
import { FakeHub, hostileBins, hostileSafetensors, sendJson } from "@mosaicbert/hub/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerHub } from "./hub.js";
import { register as registerInferCmd } from "./infer.js";

// Hostile inputs through the `mosaicbert` CLI (issue #18): weight folders built from the generated
// hostile corpus (`infer --model`) and a hostile Hub on 127.0.0.1 (`hub pull`). Every case ends with the
// program's own error naming the file (or repo and host), never an engine error or a hang. Two cases
// run the real CLI in a child process to check its exit code and peak memory; scripts/hostile-cli.mjs
// runs all of them that way and times them (docs/reliability.md).
const here = fileURLToPath(new URL(".", import.meta.url));
const CLI = path.join(here, "../cli.ts");
const HOOKS = path.join(here, "../from-source/register-ts.mjs");
const RSS = path.join(here, "../testing/report-rss.mjs");
const CONFIG = fileURLToPath(new URL("../../../../../shared/data/golden/mosaic-tiny-mlm/config.json", import.meta.url));
const TOKEN = "hf_cli_hostile_token_abcdef0123456789";
const root = fs.mkdtempSync(path.join(os.tmpdir(), "cli-hostile-"));
let hub: FakeHub;

beforeAll(async () => {
  hub = await new FakeHub(TOKEN).start();
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** A model folder: the golden tiny config and the hostile weights file. */
function folder(name: string, kind: "bin" | "safetensors", bytes: Uint8Array): { dir: string; file: string } {
  const dir = path.join(root, `${kind}-${name}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(CONFIG, path.join(dir, "config.json"));
  const file = path.join(dir, kind === "bin" ? "pytorch_model.bin" : "model.safetensors");
  fs.writeFileSync(file, bytes);
  return { dir, file };
}

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

async function cliError(args: string[], io?: { stdout: { write(s: string): unknown }; stderr: { write(s: string): unknown; isTTY?: boolean } }): Promise<string> {
  const p = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  registerInferCmd(p);
  registerHub(p, io ?? { stdout: sink(), stderr: sink() });
  try {
    await p.parseAsync(args, { from: "user" });
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`mosaicbert ${args.join(" ")} succeeded`);
}

/** Runs the real CLI; resolves with its exit code, stderr and peak resident memory. */
function spawnCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string; maxRssMiB: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", HOOKS, "--import", RSS, CLI, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += String(d)));
    p.on("error", reject);
    p.on("close", (code) => {
      const kib = Number(/\[maxrss-kib (\d+)\]/.exec(stderr)?.[1] ?? NaN);
      resolve({ code, stderr, maxRssMiB: kib / 1024 });
    });
  });
}

const weightCases = [...hostileBins(), ...hostileSafetensors()].filter((c) => c.refuse);

describe("mosaicbert infer --model <hostile weights>", () => {
  it.each(weightCases.map((c) => [`${c.kind} ${c.name}`, c] as const))("%s: a clear error naming the file", async (_n, c) => {
    const { dir, file } = folder(c.name, c.kind, c.bytes);
    const msg = await cliError(["infer", "--model", dir, "--text", "a [MASK]"]);
    expect(msg).toContain(file);
    expect(msg).toMatch(c.refuse!);
  });

  it("the real CLI exits 1 with its own message, within 1 GiB (64 stride-0 views of 1 GiB each)", async () => {
    const c = weightCases.find((x) => x.name === "stride0")!;
    const { dir, file } = folder("spawned", "bin", c.bytes);
    const r = await spawnCli(["infer", "--model", dir, "--text", "a [MASK]"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`mosaicbert: ${file}: tensor 'w0': the tensors need more than`);
    expect(r.maxRssMiB).toBeLessThan(1024);
  }, 120_000);
});


describe("mosaicbert hub pull <hostile server>", () => {
  const pull = (repo: string, extra: string[] = []) => ["hub", "pull", repo, "--hub-url", hub.url, "--token", TOKEN, ...extra];
  const sha = "a".repeat(40);
  const serve = (tree: (req: http.IncomingMessage, res: http.ServerResponse) => boolean) => {
    hub.override = (req, res, p) => {
      if (p === "/api/models/me/evil/revision/main") return sendJson(res, 200, { sha });
      if (p.startsWith("/api/models/me/evil/tree/")) return tree(req, res);
      return false;
    };
  };

  it("a missing repo: 'repository not found', not 'token rejected'", async () => {
    const msg = await cliError(pull("me/missing", ["--to", path.join(root, "m")]));
    expect(msg).toMatch(/resolving me\/missing@main failed with HTTP 401: repository not found/);
  });

  it("an unreachable Hub: names the host and why", async () => {
    const gone = await new FakeHub(TOKEN).start();
    await gone.close();
    const msg = await cliError(["hub", "pull", "me/x", "--hub-url", gone.url]);
    expect(msg).toMatch(new RegExp(`cannot reach ${new URL(gone.url).host} \\(ECONNREFUSED`));
  });

  it("a terminal escape in a listed name never reaches the terminal", async () => {
    serve((_q, res) => sendJson(res, 200, [{ type: "file", path: "\u001b]0;pwned\u0007\u001b[2Jx.bin", size: 1 }]));
    let stderr = "";
    try {
      const msg = await cliError(pull("me/evil"), { stdout: sink(), stderr: { write: (s: string) => (stderr += s), isTTY: false } });
      expect(msg).toMatch(/unsafe file path '\\x1b\]0;pwned\\x07\\x1b\[2Jx\.bin'/);
      expect(msg + stderr).not.toMatch(/[\u0000-\u001f]/);
    } finally {
      hub.override = null;
    }
  });

  it("the real CLI refuses a foreign next-page link: exit 1, the token never sent there", async () => {
    const hits: string[] = [];
    serve((req, res) => {
      if (req.url!.includes("cursor")) hits.push(req.headers.authorization ?? "none");
      return sendJson(res, 200, [], { Link: `<${hub.url.replace("127.0.0.1", "localhost")}/api/models/me/evil/tree/${sha}?cursor=1>; rel="next"` });
    });
    try {
      const r = await spawnCli(pull("me/evil"), { MOSAICBERT_CACHE: path.join(root, "cache-spawn") });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/mosaicbert: listing files of me\/evil@aaaaaaaaaaaa: the next-page link points to another host \(localhost:\d+\)/);
      expect(r.stderr).not.toContain(TOKEN);
      expect(hits).toEqual([]);
      expect(r.maxRssMiB).toBeLessThan(1024);
    } finally {
      hub.override = null;
    }
  }, 120_000);
});
