// `data convert --out s3://…`, `data cat s3://…` and `pretrain --data s3://…` against a local
// S3-compatible server (FakeS3, which checks Signature V4) with the real AWS SDK as client; hf://datasets/…
// against the project's fake Hub with @huggingface/hub as client.
import { spawn } from "node:child_process";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FakeS3, resetObjectStores } from "@mosaicbert/data-streaming/testing";
import { FakeHub } from "@mosaicbert/hub/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanup, quiet, SMALL, tmp } from "../testing/pretrain-fixtures.js";
import { pretrain } from "../train/pretrain.js";
import { c4Input as c4InputIn, dataCli, MDS_GOLDENS as MDS } from "../testing/data-cli.js";

const s3 = new FakeS3();
const hub = new FakeHub("hf_fake_write_token");
const saved = { ...process.env };
const work = fs.mkdtempSync(path.join(os.tmpdir(), "cli-data-remote-"));

const cli = dataCli;

const here = path.dirname(new URL(import.meta.url).pathname);

/** Runs the real CLI (TypeScript sources) with extra environment; resolves with exit code, stdout, stderr. */
function spawnCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    delete childEnv.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED; // as a user's shell: the CLI must keep stderr clean itself
    const p = spawn(process.execPath, ["--import", path.join(here, "../from-source/register-ts.mjs"), path.join(here, "../cli.ts"), ...args], { env: childEnv });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += String(d)));
    p.stderr.on("data", (d) => (err += String(d)));
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, out, err }));
  });
}

const c4Input = (split: string): string => c4InputIn(work, split);

beforeAll(async () => {
  await s3.start();
  await hub.start();
  for (const k of Object.keys(process.env)) if (/^(AWS_|S3_)/.test(k)) delete process.env[k];
  Object.assign(process.env, {
    S3_ENDPOINT_URL: s3.url, AWS_ACCESS_KEY_ID: "AKIDFAKES3TEST", AWS_SECRET_ACCESS_KEY: "fake-s3-secret-key",
    AWS_EC2_METADATA_DISABLED: "true", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", AWS_CONFIG_FILE: path.join(work, "none"), AWS_SHARED_CREDENTIALS_FILE: path.join(work, "none"),
    // pretrain --data caches remote shards under the user's cache folder: keep it inside the test.
    HOME: work, XDG_CACHE_HOME: path.join(work, "cache"),
  });
  resetObjectStores();
  s3.buckets.set("bucket", new Map());
});
afterAll(async () => {
  process.env = saved;
  resetObjectStores();
  await s3.close();
  await hub.close();
  cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("mosaicbert data / pretrain on s3:// and hf://", () => {
  it("convert --out s3:// uploads the reference's shards, index.json last; cat reads them back", async () => {
    const { err } = await cli(["convert", "--input", c4Input("val"), "--out", "s3://bucket/c4/val", "--compression", "zstd:7", "--size-limit", "65536", "--hashes", "sha1,xxh64"]);
    expect(err).toMatch(/wrote 200 samples to s3:\/\/bucket\/c4\/val/);
    const puts = s3.requests.filter((r) => r.method === "PUT" && r.key.startsWith("c4/val/")).map((r) => r.key);
    expect(puts.at(-1)).toBe("c4/val/index.json");
    expect(puts.slice(0, -1).sort()).toEqual(["c4/val/shard.00000.mds.zstd", "c4/val/shard.00001.mds.zstd"]);
    // Same raw shards as mosaicml-streaming wrote for these paragraphs.
    const ours = JSON.parse(s3.buckets.get("bucket")!.get("c4/val/index.json")!.toString());
    const ref = JSON.parse(fs.readFileSync(`${MDS}c4-like/val/index.json`, "utf8"));
    expect(ours.shards.map((s: { raw_data: unknown }) => s.raw_data)).toEqual(ref.shards.map((s: { raw_data: unknown }) => s.raw_data));
    const { out } = await cli(["cat", "s3://bucket/c4/val", "--local", path.join(work, "cat-cache")]);
    expect(out).toBe(fs.readFileSync(`${MDS}c4-like/val/expected.jsonl`, "utf8"));
    // A second convert to the same URL is refused unless --overwrite.
    await expect(cli(["convert", "--input", c4Input("val"), "--out", "s3://bucket/c4/val"])).rejects.toThrow("s3://bucket/c4/val/index.json already exists (pass --overwrite to replace the dataset)");
  });

  it("pretrain --data s3:// trains, and a resumed run continues from the bucket exactly", async () => {
    await cli(["convert", "--input", c4Input("train"), "--out", "s3://bucket/c4/train", "--size-limit", "65536"]);
    const base = { config: "tiny-cpu", overrides: [...SMALL, "save_interval=1ba"], device: "cpu" as const, data: "s3://bucket/c4", handleSignals: false, stderr: quiet };
    const whole = await pretrain({ ...base, maxDuration: "2ba", saveFolder: tmp() });
    expect(whole.status).toBe("completed");
    expect(whole.losses).toHaveLength(2);
    expect(whole.losses.every(Number.isFinite)).toBe(true);
    const gets = s3.requests.filter((r) => r.method === "GET" && r.key.startsWith("c4/train/shard."));
    expect(gets.length).toBeGreaterThan(0);
    // This node's cache: under the user's cache folder, named with the scheme and a hash of the URL and endpoint.
    const caches = fs.readdirSync(path.join(work, ".cache", "mosaicbert", "data"));
    expect(caches).toEqual([expect.stringMatching(/^s3_bucket_c4-[0-9a-f]{16}$/)]);
    expect(fs.readdirSync(path.join(work, ".cache", "mosaicbert", "data", caches[0]!, "train"))).toContain("index.json");
    const run = tmp();
    await pretrain({ ...base, maxDuration: "1ba", saveFolder: run });
    const resumed = await pretrain({ ...base, maxDuration: "2ba", saveFolder: run, resume: "auto" });
    expect(resumed.firstStep).toBe(1);
    expect(resumed.losses).toEqual(whole.losses.slice(1));
  });

  it("S3_ENDPOINT_URL=… mosaicbert data cat s3://bucket/basic (uploaded with the plain SDK) prints the reference's lines; the real CLI with a wrong key exits 1 with one line", async () => {
    const c = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "AKIDFAKES3TEST", secretAccessKey: "fake-s3-secret-key" } });
    await c.send(new CreateBucketCommand({ Bucket: "golden" }));
    for (const f of fs.readdirSync(MDS + "basic")) await c.send(new PutObjectCommand({ Bucket: "golden", Key: `basic/${f}`, Body: fs.readFileSync(path.join(MDS, "basic", f)) }));
    c.destroy();
    const { out } = await cli(["cat", "s3://golden/basic", "--local", path.join(work, "golden")]);
    expect(out).toBe(fs.readFileSync(`${MDS}basic/expected.jsonl`, "utf8"));
    // One real process (a few seconds of start-up): exit code, and stderr holding our line and nothing of the SDK's.
    const bad = await spawnCli(["data", "cat", "s3://golden/basic", "--local", path.join(work, "spawned")], { S3_ENDPOINT_URL: s3.url, AWS_SECRET_ACCESS_KEY: "a-wrong-secret" });
    expect(bad.code).toBe(1);
    expect(bad.out).toBe("");
    expect(bad.err).toBe("mosaicbert: s3://golden/basic/index.json: access denied: the request signature does not match (check AWS_SECRET_ACCESS_KEY)\n");
  });

  it("bad credentials and a missing bucket: one clear line", async () => {
    process.env.AWS_SECRET_ACCESS_KEY = "not-the-secret";
    resetObjectStores();
    try {
      const e = await cli(["cat", "s3://bucket/c4/val", "--local", path.join(work, "x")]).then(() => null, (x: Error) => x.message);
      expect(e).toBe("s3://bucket/c4/val/index.json: access denied: the request signature does not match (check AWS_SECRET_ACCESS_KEY)");
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = "fake-s3-secret-key";
      resetObjectStores();
    }
    const e = await cli(["order", "s3://no-bucket/c4/val"]).then(() => null, (x: Error) => x.message);
    expect(e).toBe(`s3://no-bucket/c4/val/index.json: no such bucket "no-bucket" at ${s3.url}`);
    const c = await cli(["convert", "--input", c4Input("val"), "--out", "s3://no-bucket/x"]).then(() => null, (x: Error) => x.message);
    expect(c).toBe(`s3://no-bucket/x/index.json: no such bucket "no-bucket" at ${s3.url}`);
  });

  it("hf://datasets/…: convert commits shards then index.json; cat and order read it; a bad token is one line", async () => {
    Object.assign(process.env, { HF_ENDPOINT: hub.url, HF_TOKEN: "hf_fake_write_token" });
    resetObjectStores();
    try {
      await cli(["convert", "--input", c4Input("val"), "--out", "hf://datasets/me/c4/val", "--compression", "zstd", "--size-limit", "65536"]);
      const repo = hub.repos.get("datasets/me/c4")!;
      // Commits: the repo's first (empty), the shards, then index.json alone.
      expect([...repo.commits.at(-2)!.files.keys()].sort()).toEqual(["val/shard.00000.mds.zstd", "val/shard.00001.mds.zstd"]);
      expect([...repo.commits.at(-1)!.files.keys()]).toContain("val/index.json");
      delete process.env.HF_TOKEN; // a public dataset reads without a token
      resetObjectStores();
      const noToken = await cli(["convert", "--input", c4Input("val"), "--out", "hf://datasets/me/c4/again"]).then(() => null, (x: Error) => x.message);
      expect(noToken).toBe("hf://datasets/me/c4/again/index.json: writing to the Hub needs a write token in HF_TOKEN");
      const { out } = await cli(["cat", "hf://datasets/me/c4/val", "--local", path.join(work, "hf-cache")]);
      expect(out).toBe(fs.readFileSync(`${MDS}c4-like/val/expected.jsonl`, "utf8"));
      const order = JSON.parse((await cli(["order", "hf://datasets/me/c4/val", "--no-shuffle"])).out);
      expect(order.ranks[0].workers[0].sample_ids).toEqual(Array.from({ length: 200 }, (_, i) => i));
      const missing = await cli(["cat", "hf://datasets/me/c4/nothing"]).then(() => null, (x: Error) => x.message);
      expect(missing).toBe("hf://datasets/me/c4/nothing/index.json: no such file in the dataset repo");
      process.env.HF_TOKEN = "hf_wrong_token_123";
      resetObjectStores();
      const bad = await cli(["cat", "hf://datasets/me/c4/val", "--local", path.join(work, "hf-cache2")]).then(() => null, (x: Error) => x.message);
      expect(bad).toBe("hf://datasets/me/c4/val/index.json: access denied: the token was rejected (check HF_TOKEN)");
    } finally {
      delete process.env.HF_ENDPOINT;
      delete process.env.HF_TOKEN;
      resetObjectStores();
    }
  });
});
