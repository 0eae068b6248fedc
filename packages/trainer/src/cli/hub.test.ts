import { Command } from "commander";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "./program.js";
import { registerHub } from "./hub.js";
import { FakeHub } from "@mosaicbert/hub/testing";

const TOKEN = "hf_cli_test_token";
const root = fs.mkdtempSync(path.join(os.tmpdir(), "cli-hub-"));
let hub: FakeHub;

beforeAll(async () => {
  hub = await new FakeHub(TOKEN).start();
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(root, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ out: string; err: string }> {
  let out = "";
  let err = "";
  const program = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  registerHub(program, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s), isTTY: false } });
  await program.parseAsync(["hub", ...args], { from: "user" });
  return { out, err };
}

describe("mosaicbert hub", () => {
  it("is registered on the program", () => {
    const hubCmd = buildProgram().commands.find((c) => c.name() === "hub");
    expect(hubCmd?.commands.map((c) => c.name())).toEqual(["pull", "push"]);
  });

  it("pushes a folder and pulls it back", async () => {
    const src = path.join(root, "model");
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, "config.json"), '{"model_type":"bert"}\n');
    fs.writeFileSync(path.join(src, "model.safetensors"), new Uint8Array(20_000).map((_, i) => i % 251));
    const push = await cli(["push", src, "me/cli", "--hub-url", hub.url, "--token", TOKEN, "--private"]);
    expect(push.out).toMatch(new RegExp(`^${hub.url}/me/cli/commit/[0-9a-f]{40}\n$`));
    expect(push.err).toContain("pushed 2 files to me/cli");
    expect(push.err).not.toContain(TOKEN);
    const to = path.join(root, "pulled");
    process.env.MOSAICBERT_CACHE = path.join(root, "cache");
    try {
      const pull = await cli(["pull", "me/cli", "--to", to, "--hub-url", hub.url, "--token", TOKEN]);
      expect(pull.out).toBe(`${to}\n`);
      expect(pull.err).toMatch(/pull model\.safetensors \[#+\] 100%/);
    } finally {
      delete process.env.MOSAICBERT_CACHE;
    }
    expect(Buffer.compare(fs.readFileSync(path.join(to, "model.safetensors")), fs.readFileSync(path.join(src, "model.safetensors")))).toBe(0);
  });
});
