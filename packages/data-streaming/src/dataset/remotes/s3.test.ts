import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { FakeS3 } from "../../testing/fake-s3.js";
import { catLines, convertToMds, epochOrder } from "../cli-ops.js";
import { download } from "../download.js";
import { StreamingDataset } from "../dataset.js";
import { openObjectUrl, parseObjectUrl, resetObjectStores } from "./index.js";

const MDS = new URL("../../../../../../shared/data/mds/", import.meta.url).pathname;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "s3-remote-"));
const s3 = new FakeS3();
const saved = { ...process.env };
const KEY = { accessKeyId: "AKIDFAKES3TEST", secretAccessKey: "fake-s3-secret-key" };

/** Sets the environment a user would (endpoint, keys, nothing else of AWS reachable). */
function useEnv(over: Record<string, string | undefined> = {}): void {
  for (const k of Object.keys(process.env)) if (/^(AWS_|S3_)/.test(k)) delete process.env[k];
  Object.assign(process.env, {
    S3_ENDPOINT_URL: s3.url, AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: "true", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true", AWS_CONFIG_FILE: path.join(tmp, "none"), AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, "none"),
  });
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  resetObjectStores();
}

/** Uploads a folder with the plain SDK (any S3 client), as a user would. */
async function upload(dir: string, bucket: string, prefix: string): Promise<void> {
  const c = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: "us-east-1", credentials: KEY });
  await c.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
  const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
  for (const f of walk(dir)) {
    await c.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${path.relative(dir, f)}`, Body: fs.readFileSync(f) }));
  }
  c.destroy();
}

async function cat(url: string, local?: string): Promise<string> {
  let out = "";
  for await (const line of catLines(url, Infinity, local)) out += line + "\n";
  return out;
}

beforeAll(async () => {
  await s3.start();
  useEnv();
  for (const name of ["basic", "zstd", "tiny", "oversized-first", "c4-like"]) await upload(MDS + name, "bucket", name);
});
beforeEach(() => useEnv());
afterAll(async () => {
  process.env = saved;
  resetObjectStores();
  await s3.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("s3:// remotes", () => {
  it("parses URLs and refuses malformed ones", () => {
    expect(parseObjectUrl("s3://bucket/a/b/")).toEqual({ scheme: "s3", container: "bucket", key: "a/b" });
    expect(parseObjectUrl("hf://datasets/me/c4@v1/train")).toEqual({ scheme: "hf", container: "me/c4", revision: "v1", key: "train" });
    expect(() => parseObjectUrl("s3://Bad_Bucket!/x")).toThrow(/not a valid bucket name/);
    expect(() => parseObjectUrl("s3://bucket/a/../b")).toThrow(/"\.\." path segments/);
    expect(() => parseObjectUrl("hf://models/me/x")).toThrow(/expected hf:\/\/datasets\/OWNER\/NAME/);
  });

  it("data cat s3://bucket/NAME prints what the reference reader returned", async () => {
    for (const name of ["basic", "zstd", "tiny", "oversized-first"]) {
      expect(await cat(`s3://bucket/${name}`, path.join(tmp, "cache", name))).toBe(fs.readFileSync(`${MDS}${name}/expected.jsonl`, "utf8"));
    }
    // Every request was signed with the user's key.
    expect(s3.requests.every((r) => r.auth === "ok")).toBe(true);
  });

  it("StreamingDataset reads a split, with a small cache limit evicting shards", async () => {
    const local = path.join(tmp, "cache", "c4-train");
    const ds = await StreamingDataset.create({ remote: "s3://bucket/c4-like", local, split: "train", cacheLimit: 4 * 90_000 });
    const want = fs.readFileSync(`${MDS}c4-like/train/expected.jsonl`, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).sample.text);
    for (let i = 0; i < ds.size; i += 97) expect((await ds.get(i)).text).toBe(want[i]);
    const cached = fs.readdirSync(path.join(local, "train")).filter((f) => f.startsWith("shard."));
    expect(cached.length).toBeLessThan(12);
    const order = await epochOrder("s3://bucket/c4-like/val", { worldSize: 2, workers: 1, epoch: 0, shuffle: true, local: path.join(tmp, "cache", "order") });
    expect(order.ranks.flatMap((r) => r.workers[0]!.sample_ids).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it("two nodes of two ranks share one remote, each node with its own cache, concurrently", async () => {
    const want = fs.readFileSync(`${MDS}c4-like/train/expected.jsonl`, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).sample.text);
    const seen = new Map<number, number>();
    await Promise.all([0, 1, 2, 3].map(async (rank) => {
      const node = Math.floor(rank / 2);
      const ds = await StreamingDataset.create({
        remote: "s3://bucket/c4-like", local: path.join(tmp, "nodes", `node${node}`), split: "train", shuffle: true, shuffleAlgo: "py1s",
        numCanonicalNodes: 4, batchSize: 8, world: { numNodes: 2, ranksPerNode: 2, rank, workersPerRank: 1 },
      });
      for (const id of ds.rankOrder(0)) {
        expect((await ds.get(id)).text).toBe(want[id]);
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
    }));
    // Every sample of the epoch was read (the partition pads with repeats, so a few twice).
    expect(seen.size).toBe(1800);
    for (const node of ["node0", "node1"]) {
      const files = fs.readdirSync(path.join(tmp, "nodes", node, "train"));
      expect(files).toContain("index.json");
      expect(files.filter((f) => f.endsWith(".tmp"))).toEqual([]);
    }
  });

  it("lists, heads and puts objects", async () => {
    const { store } = await openObjectUrl("s3://bucket/");
    const keys = (await store.list("basic/")).map((o) => o.key);
    expect(keys).toContain("basic/index.json");
    expect(keys.filter((k) => k.startsWith("basic/shard."))).toHaveLength(11);
    s3.pageSize = 3; // pagination
    expect((await store.list("basic/")).length).toBe(keys.length);
    s3.pageSize = 1000;
    expect(await store.head("basic/index.json")).toEqual({ key: "basic/index.json", size: fs.statSync(`${MDS}basic/index.json`).size });
    expect(await store.head("basic/nothing")).toBeNull();
    await store.put([["up/index.json", `${MDS}tiny/index.json`]]);
    expect(s3.buckets.get("bucket")!.get("up/index.json")).toEqual(fs.readFileSync(`${MDS}tiny/index.json`));
  });

  it("a shard larger than index.json declares is cut off and refused", async () => {
    const dest = path.join(tmp, "big");
    await expect(download("s3://bucket/basic/shard.00000.mds", dest, { maxBytes: 100 })).rejects.toThrow(/s3:\/\/bucket\/basic\/shard\.00000\.mds: the object is \d+ bytes, more than the 100 bytes index.json declares/);
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith("big"))).toEqual([]);
  });

  it("wrong credentials, a missing bucket or object, no credentials: one clear line, no secret", async () => {
    const fail = async (url: string) => {
      const e = await cat(url, path.join(tmp, "cache", "fail")).then(() => null, (x: Error) => x);
      expect(e).not.toBeNull();
      expect(e!.message).not.toMatch(/\n/);
      expect(e!.message).not.toContain("wrong-secret");
      expect(e!.message).not.toContain(KEY.secretAccessKey);
      return e!.message;
    };
    useEnv({ AWS_SECRET_ACCESS_KEY: "wrong-secret" });
    expect(await fail("s3://bucket/tiny")).toMatch(/^s3:\/\/bucket\/tiny\/index\.json: access denied: the request signature does not match \(check AWS_SECRET_ACCESS_KEY\)$/);
    useEnv({ AWS_ACCESS_KEY_ID: "AKIDNOBODY" });
    expect(await fail("s3://bucket/tiny")).toMatch(/index\.json: access denied: the access key id was rejected/);
    useEnv();
    expect(await fail("s3://nobucket/tiny")).toBe(`s3://nobucket/tiny/index.json: no such bucket "nobucket" at ${s3.url}`);
    expect(await fail("s3://bucket/nothing-here")).toBe("s3://bucket/nothing-here/index.json: no such object");
    useEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined });
    expect(await fail("s3://bucket/tiny")).toMatch(/index\.json: access denied: no AWS credentials were found and the bucket does not allow anonymous access/);
  });

  it("a dead endpoint and a silent one fail in bounded time", async () => {
    const dead = new FakeS3();
    await dead.start();
    const deadUrl = dead.url;
    await dead.close();
    useEnv({ S3_ENDPOINT_URL: deadUrl });
    let t = performance.now();
    await expect(download("s3://bucket/tiny/index.json", path.join(tmp, "x.json"), { retries: 1, timeoutMs: 2000 })).rejects.toThrow(
      `s3://bucket/tiny/index.json: download failed after 2 attempt(s): cannot reach ${deadUrl} (ECONNREFUSED)`,
    );
    expect(performance.now() - t).toBeLessThan(3000);
    useEnv();
    s3.stall = true;
    t = performance.now();
    try {
      await expect(download("s3://bucket/tiny/index.json", path.join(tmp, "x.json"), { retries: 1, timeoutMs: 300 })).rejects.toThrow(/download failed after 2 attempt\(s\): timed out after 300 ms/);
    } finally {
      s3.stall = false;
    }
    expect(performance.now() - t).toBeLessThan(3000);
  });

  it("convert --out to a silent endpoint fails in bounded time, with no index.json written", async () => {
    const input = path.join(tmp, "in.jsonl");
    fs.writeFileSync(input, Array.from({ length: 300 }, (_, i) => JSON.stringify({ text: `document ${i} `.repeat(20) })).join("\n") + "\n");
    let t = performance.now();
    s3.stall = true;
    try {
      await expect(convertToMds({ inputs: [input], out: "s3://bucket/stalled", uploadTimeoutMs: 300 })).rejects.toThrow("s3://bucket/stalled/index.json: timed out");
      expect(performance.now() - t).toBeLessThan(2000);
      // Listing answers, uploads never do: each is cancelled and retried, then the conversion stops.
      s3.stall = (r) => r.method === "PUT";
      t = performance.now();
      await expect(convertToMds({ inputs: [input], out: "s3://bucket/stalled", sizeLimit: 8192, uploadTimeoutMs: 300 })).rejects.toThrow(/^s3:\/\/bucket\/stalled\/shard\.\d{5}\.mds: timed out$/);
      expect(performance.now() - t).toBeLessThan(5000);
    } finally {
      s3.stall = false;
    }
    expect(await (await openObjectUrl("s3://bucket/")).store.head("stalled/index.json")).toBeNull();
  });

  it("temporary 4xx (RequestTimeout, RequestTimeTooSkewed, RequestExpired) are retried, reading and uploading", async () => {
    try {
      for (const [status, code] of [[400, "RequestTimeout"], [403, "RequestTimeTooSkewed"], [400, "RequestExpired"]] as const) {
        let left = 1;
        s3.failWith = (r) => (r.key === "tiny/index.json" && left-- > 0 ? { status, code, message: "temporary" } : null);
        const before = s3.requests.length;
        await download("s3://bucket/tiny/index.json", path.join(tmp, `t-${code}.json`), { retries: 1 });
        expect(s3.requests.length - before, code).toBe(2);
      }
      // convert --out: the first PUT gets 400 RequestTimeout, the uploader tries again.
      let left = 1;
      s3.failWith = (r) => (r.method === "PUT" && left-- > 0 ? { status: 400, code: "RequestTimeout", message: "Your socket connection to the server was not read from or written to within the timeout period." } : null);
      const input = path.join(tmp, "retry.jsonl");
      fs.writeFileSync(input, Array.from({ length: 20 }, (_, i) => JSON.stringify({ text: `doc ${i}` })).join("\n") + "\n");
      expect(await convertToMds({ inputs: [input], out: "s3://bucket/retried" })).toBe(20);
      expect(left).toBeLessThan(0);
      // A permanent 4xx is still not retried.
      s3.failWith = (r) => (r.key === "tiny/index.json" ? { status: 400, code: "InvalidArgument", message: "bad" } : null);
      const before = s3.requests.length;
      await expect(download("s3://bucket/tiny/index.json", path.join(tmp, "t-bad.json"), { retries: 2 })).rejects.toThrow(/InvalidArgument \(HTTP 400\)/);
      expect(s3.requests.length - before).toBe(1);
    } finally {
      s3.failWith = null;
    }
  });

  it("AWS_DEFAULT_REGION is used when AWS_REGION is unset", async () => {
    const regionOf = async (over: Record<string, string>) => {
      useEnv(over);
      await download("s3://bucket/tiny/index.json", path.join(tmp, "r.json"), { retries: 0 });
      return s3.requests.at(-1)!.region;
    };
    expect(await regionOf({})).toBe("us-east-1");
    expect(await regionOf({ AWS_DEFAULT_REGION: "eu-central-1" })).toBe("eu-central-1");
    expect(await regionOf({ AWS_DEFAULT_REGION: "eu-central-1", AWS_REGION: "ap-south-1" })).toBe("ap-south-1");
  });

  it("a misspelled AWS_PROFILE is an error naming the profile and the files, not unsigned requests", async () => {
    const creds = path.join(tmp, "credentials");
    fs.writeFileSync(creds, `[default]\naws_access_key_id = ${KEY.accessKeyId}\naws_secret_access_key = ${KEY.secretAccessKey}\n`);
    useEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SHARED_CREDENTIALS_FILE: creds, AWS_PROFILE: "nosuch" });
    const before = s3.requests.length;
    await expect(download("s3://bucket/tiny/index.json", path.join(tmp, "p.json"), { retries: 2 })).rejects.toThrow(
      `s3://bucket/tiny/index.json: AWS_PROFILE="nosuch": no such profile in ${path.join(tmp, "none")} or ${creds}`,
    );
    expect(s3.requests.length).toBe(before);
    useEnv({ AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SHARED_CREDENTIALS_FILE: creds, AWS_PROFILE: "default" });
    await download("s3://bucket/tiny/index.json", path.join(tmp, "p.json"), { retries: 0 });
    expect(s3.requests.at(-1)!.auth).toBe("ok");
  });

  it("S3_ENDPOINT_URL without a scheme: one line naming the variable and the expected form", async () => {
    for (const name of ["S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"]) {
      const bare = s3.url.replace(/^http:\/\//, "");
      useEnv({ S3_ENDPOINT_URL: undefined, [name]: bare });
      await expect(download("s3://bucket/tiny/index.json", path.join(tmp, "e.json"), { retries: 2 })).rejects.toThrow(
        `s3://bucket/tiny/index.json: ${name}="${bare}" is not a URL: expected the form http://host:port (or https://host)`,
      );
    }
  });
});
