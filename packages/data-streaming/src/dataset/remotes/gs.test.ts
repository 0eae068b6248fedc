import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeGcs } from "../../testing/fake-gcs.js";
import { catLines, convertToMds } from "../cli-ops.js";
import { download } from "../download.js";
import { openObjectUrl, resetObjectStores } from "./index.js";

const MDS = new URL("../../../../../../shared/data/mds/", import.meta.url).pathname;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "gs-remote-"));
const gcs = new FakeGcs();
const saved = process.env.STORAGE_EMULATOR_HOST;

async function cat(url: string, local: string): Promise<string> {
  let out = "";
  for await (const line of catLines(url, Infinity, local)) out += line + "\n";
  return out;
}

beforeAll(async () => {
  await gcs.start();
  // The storage SDK's documented emulator switch: requests go there, unauthenticated.
  process.env.STORAGE_EMULATOR_HOST = gcs.url;
  resetObjectStores();
  gcs.buckets.set("bucket", new Map());
});
afterAll(async () => {
  if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
  else process.env.STORAGE_EMULATOR_HOST = saved;
  resetObjectStores();
  await gcs.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("gs:// remotes (@google-cloud/storage against a local JSON-API fake)", () => {
  it("uploads with the SDK, then cat prints what the reference reader returned", async () => {
    const { store } = await openObjectUrl("gs://bucket/");
    for (const name of ["zstd", "oversized-first"]) {
      await store.put(fs.readdirSync(MDS + name).map((f) => [`${name}/${f}`, path.join(MDS, name, f)] as [string, string]));
      expect(await cat(`gs://bucket/${name}`, path.join(tmp, name))).toBe(fs.readFileSync(`${MDS}${name}/expected.jsonl`, "utf8"));
    }
    gcs.pageSize = 4;
    expect((await store.list("zstd/")).map((o) => o.key).filter((k) => k.endsWith(".zstd"))).toHaveLength(11);
    expect(await store.head("zstd/index.json")).toEqual({ key: "zstd/index.json", size: fs.statSync(`${MDS}zstd/index.json`).size });
    expect(await store.head("zstd/none")).toBeNull();
  });

  it("convert --out gs:// writes index.json last and refuses to overwrite; errors are one line", async () => {
    const input = path.join(tmp, "in.jsonl");
    const lines = fs.readFileSync(`${MDS}c4-like/val/expected.jsonl`, "utf8").trimEnd().split("\n");
    fs.writeFileSync(input, lines.map((l) => JSON.stringify(JSON.parse(l).sample)).join("\n") + "\n");
    const before = gcs.requests.filter((r) => r.method === "POST").length;
    expect(await convertToMds({ inputs: [input], out: "gs://bucket/c4/val", compression: "zstd:7", sizeLimit: 65536 })).toBe(200);
    expect(gcs.requests.filter((r) => r.method === "POST").length - before).toBe(3);
    // Objects in upload order: the two shards (in either order), index.json last.
    const keys = [...gcs.buckets.get("bucket")!.keys()].filter((k) => k.startsWith("c4/"));
    expect(keys.at(-1)).toBe("c4/val/index.json");
    expect(keys.slice(0, -1).sort()).toEqual(["c4/val/shard.00000.mds.zstd", "c4/val/shard.00001.mds.zstd"]);
    expect(await cat("gs://bucket/c4/val", path.join(tmp, "c4"))).toBe(fs.readFileSync(`${MDS}c4-like/val/expected.jsonl`, "utf8"));
    await expect(convertToMds({ inputs: [input], out: "gs://bucket/c4/val" })).rejects.toThrow("gs://bucket/c4/val/index.json already exists (pass --overwrite to replace the dataset)");
    await expect(cat("gs://nobucket/x", path.join(tmp, "n"))).rejects.toThrow(/^gs:\/\/nobucket\/x\/index\.json: no such bucket "nobucket"$/);
    await expect(cat("gs://bucket/nothing", path.join(tmp, "n"))).rejects.toThrow(/^gs:\/\/bucket\/nothing\/index\.json: no such object$/);
  });

  it("a silent endpoint: every call (metadata, list, get, put, head, remove) gives up at the caller's timeout", async () => {
    const { store } = await openObjectUrl("gs://bucket/");
    const src = path.join(tmp, "small.bin");
    fs.writeFileSync(src, "x");
    gcs.stall = true;
    try {
      const t = performance.now();
      await expect(download("gs://bucket/x/index.json", path.join(tmp, "x.json"), { retries: 1, timeoutMs: 200 })).rejects.toThrow(
        /^gs:\/\/bucket\/x\/index\.json: download failed after 2 attempt\(s\): timed out after 200 ms$/,
      );
      const signal = () => AbortSignal.timeout(200);
      await expect(store.list("x/", { signal: signal() })).rejects.toThrow(/^gs:\/\/bucket\/x\/: timed out$/);
      await expect(store.head("x/index.json", { signal: signal() })).rejects.toThrow(/^gs:\/\/bucket\/x\/index\.json: timed out$/);
      await expect(store.put([["x/a.bin", src]], { signal: signal() })).rejects.toThrow(/^gs:\/\/bucket\/x\/a\.bin: timed out$/);
      await expect(store.remove("x/a.bin", { signal: signal() })).rejects.toThrow(/^gs:\/\/bucket\/x\/a\.bin: timed out$/);
      const ctl = new AbortController();
      setTimeout(() => ctl.abort(), 100);
      await expect(store.get("x/index.json", path.join(tmp, "y.json"), { signal: ctl.signal })).rejects.toThrow(/^gs:\/\/bucket\/x\/index\.json: timed out$/);
      expect(performance.now() - t).toBeLessThan(3000);
      expect(fs.existsSync(path.join(tmp, "y.json"))).toBe(false);
    } finally {
      gcs.stall = false;
    }
  }, 8000);

  it("convert --out gs:// to a silent endpoint fails in bounded time", async () => {
    const input = path.join(tmp, "stall.jsonl");
    fs.writeFileSync(input, Array.from({ length: 50 }, (_, i) => JSON.stringify({ text: `document ${i}` })).join("\n") + "\n");
    const t = performance.now();
    gcs.stall = (r) => r.method === "POST"; // listing answers, uploads never do
    try {
      await expect(convertToMds({ inputs: [input], out: "gs://bucket/stalled", uploadTimeoutMs: 200 })).rejects.toThrow(/^gs:\/\/bucket\/stalled\/.*: timed out$/);
    } finally {
      gcs.stall = false;
    }
    expect(performance.now() - t).toBeLessThan(4000);
  }, 8000);

  it("STORAGE_EMULATOR_HOST without a scheme: one line naming the variable and the expected form", async () => {
    const host = gcs.url.replace(/^http:\/\//, "");
    process.env.STORAGE_EMULATOR_HOST = host;
    resetObjectStores();
    try {
      await expect(download("gs://bucket/x/index.json", path.join(tmp, "z.json"), { retries: 2, timeoutMs: 500 })).rejects.toThrow(
        `gs://bucket/x/index.json: STORAGE_EMULATOR_HOST="${host}" is not a URL: expected the form http://host:port (or https://host:port)`,
      );
    } finally {
      process.env.STORAGE_EMULATOR_HOST = gcs.url;
      resetObjectStores();
    }
  });
});
