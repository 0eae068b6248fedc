// data-streaming's hf:// remote against the hub package's fake Hub: here, in the trainer, which may import both
// (data-streaming and hub stand apart: docs/architecture.md).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FakeHub, sendJson } from "@mosaicbert/hub/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { catLines, convertToMds, download } from "@mosaicbert/data-streaming";
import { resetObjectStores } from "@mosaicbert/data-streaming/testing";

const TOKEN = "hf_fake_write_token_SECRET";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hf-remote-"));
const hub = new FakeHub(TOKEN);
const saved = { HF_ENDPOINT: process.env.HF_ENDPOINT, HF_TOKEN: process.env.HF_TOKEN };
const input = path.join(tmp, "in.jsonl");
const LINES = Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: `doc ${i}` }));

async function count(url: string, local: string): Promise<number> {
  let n = 0;
  for await (const _ of catLines(url, Infinity, local)) n++;
  return n;
}

beforeAll(async () => {
  await hub.start();
  fs.writeFileSync(input, LINES.join("\n") + "\n");
});
beforeEach(() => {
  process.env.HF_ENDPOINT = hub.url;
  process.env.HF_TOKEN = TOKEN;
  hub.override = null;
  resetObjectStores();
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetObjectStores();
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("hf:// remotes (@huggingface/hub against the hub package's fake Hub)", () => {
  it("HF_ENDPOINT with a trailing slash: requests go to /api/… and /datasets/…, not //…", async () => {
    process.env.HF_ENDPOINT = `${hub.url}/`;
    const before = hub.requests.length;
    expect(await convertToMds({ inputs: [input], out: "hf://datasets/me/slash" })).toBe(20);
    expect(await count("hf://datasets/me/slash", path.join(tmp, "slash"))).toBe(20);
    const paths = hub.requests.slice(before).map((r) => r.path);
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.filter((p) => p.startsWith("//"))).toEqual([]);
  });

  it("uploading with a token that may not create repos: a 403 from create is fine when the repo exists", async () => {
    expect(await convertToMds({ inputs: [input], out: "hf://datasets/org/ds/v1" })).toBe(20);
    resetObjectStores(); // another process: it does not know the repo exists
    const creates: number[] = [];
    hub.override = (req, res, p) => {
      if (req.method !== "POST" || p !== "/api/repos/create") return false;
      creates.push(403);
      return sendJson(res, 403, { error: 'You don\'t have the rights to create a dataset under the namespace "org"' });
    };
    expect(await convertToMds({ inputs: [input], out: "hf://datasets/org/ds/v2", sizeLimit: 256 })).toBe(20);
    expect(creates.length).toBe(1); // asked once, not before every commit
    expect(await count("hf://datasets/org/ds/v2", path.join(tmp, "v2"))).toBe(20);
    // A repo that does not exist: the 403 stands.
    await expect(convertToMds({ inputs: [input], out: "hf://datasets/org/other" })).rejects.toThrow(/^hf:\/\/datasets\/org\/other\/.*: access denied: the token lacks permission for this dataset repo$/);
  });

  it("a missing revision is reported as such, naming it; a missing file in an existing one as before", async () => {
    expect(await convertToMds({ inputs: [input], out: "hf://datasets/me/rev" })).toBe(20);
    await expect(download("hf://datasets/me/rev@v9/index.json", path.join(tmp, "r.json"), { retries: 2 })).rejects.toThrow(
      'hf://datasets/me/rev@v9/index.json: no such revision "v9" in the dataset repo me/rev (check the @REVISION of the URL: a branch, tag or commit)',
    );
    await expect(download("hf://datasets/me/rev@main/none/index.json", path.join(tmp, "r.json"), { retries: 2 })).rejects.toThrow(
      /^hf:\/\/datasets\/me\/rev@main\/none\/index\.json: no such file in the dataset repo$/,
    );
  });
});
