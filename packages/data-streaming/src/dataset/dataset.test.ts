import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { StreamingDataset } from "./dataset.js";

const MDS = new URL("../../../../../shared/data/mds/", import.meta.url).pathname;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mds-dataset-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const expectedText = (name: string) =>
  fs.readFileSync(`${MDS}${name}/expected.jsonl`, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l).sample.text as string);

async function collect(ds: StreamingDataset, limit = Infinity): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for await (const s of ds) {
    out.push(s);
    if (out.length >= limit) break;
  }
  return out;
}

describe("StreamingDataset", () => {
  it("reopen: another thread's dataset from opened() reads the same samples in the same order without any index.json", async () => {
    const dir = path.join(tmp, "reopen");
    fs.cpSync(MDS + "c4-like", dir, { recursive: true });
    const opts = { local: dir, split: "train", shuffle: true, shuffleAlgo: "py1s", numCanonicalNodes: 8, batchSize: 4 };
    const ds = await StreamingDataset.create(opts);
    const handed = structuredClone(ds.opened()); // what a worker thread receives
    fs.rmSync(path.join(dir, "train", "index.json"));
    const again = StreamingDataset.reopen(handed);
    expect([again.size, again.epochSize]).toEqual([ds.size, ds.epochSize]);
    expect(Array.from(again.rankOrder(1))).toEqual(Array.from(ds.rankOrder(1)));
    for (const id of [0, 17, ds.size - 1]) expect((await again.get(id)).text).toBe((await ds.get(id)).text);
    await expect(StreamingDataset.create(opts)).rejects.toThrow(/index\.json/);
    expect(() => StreamingDataset.reopen({ ...handed, indexes: [] })).toThrow(/reopen: 0 indexes for 1 streams/);
  });

  it("local split, no shuffle: samples in order, equal to expected.jsonl", async () => {
    const ds = await StreamingDataset.create({ local: MDS + "c4-like", split: "val", batchSize: 4 });
    expect(ds.size).toBe(200);
    const got = await collect(ds);
    expect(got.map((s) => s.text)).toEqual(expectedText("c4-like/val"));
  });

  it("shuffled over 2 nodes × 2 ranks × 3 workers: each epoch covers every sample, ranks equal length", async () => {
    const opts = { local: MDS + "c4-like", split: "train", shuffle: true, shuffleAlgo: "py1e", shuffleBlockSize: 256, numCanonicalNodes: 4, batchSize: 8 };
    for (const epoch of [0, 1]) {
      const seen: number[] = [];
      const lens: number[] = [];
      for (let rank = 0; rank < 4; rank++) {
        const ds = await StreamingDataset.create({ ...opts, world: { numNodes: 2, ranksPerNode: 2, rank, workersPerRank: 3 } });
        const ids = ds.rankOrder(epoch);
        lens.push(ids.length);
        seen.push(...ids);
      }
      expect(new Set(seen).size).toBe(1800);
      expect(seen.length).toBe(1800); // 1800 divides evenly: no padding repeats
      expect(new Set(lens).size).toBe(1);
    }
  });

  it("resumes mid-epoch deterministically from its state dict", async () => {
    const opts = { local: MDS + "c4-like", split: "train", shuffle: true, shuffleAlgo: "py1s", numCanonicalNodes: 8, batchSize: 16, shuffleSeed: 17 };
    const full = (await collect(await StreamingDataset.create(opts))).map((s) => s.url);
    const a = await StreamingDataset.create(opts);
    const first = (await collect(a, 333)).map((s) => s.url);
    const state = a.stateDict();
    expect(state).toEqual({ epoch: 0, sample_in_epoch: 333, num_canonical_nodes: 8, shuffle_seed: 17, initial_physical_nodes: 1 });
    const b = await StreamingDataset.create({ ...opts, shuffleSeed: 99, numCanonicalNodes: 2 }); // state overrides these
    b.loadStateDict(JSON.parse(JSON.stringify(state)));
    const rest = (await collect(b)).map((s) => s.url);
    expect([...first, ...rest]).toEqual(full);
    // The next epoch is a different order of the same samples.
    const next = (await collect(b)).map((s) => s.url);
    expect(next).not.toEqual(full);
    expect([...next].sort()).toEqual([...full].sort());
  });

  it("remote over http with a cache limit: downloads, evicts, reads back equal", async () => {
    const root = MDS + "c4-like";
    const server = http.createServer((req, res) => {
      const f = path.join(root, decodeURIComponent(req.url!.slice(1)));
      if (!f.startsWith(root) || !fs.existsSync(f)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200).end(fs.readFileSync(f));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const local = path.join(tmp, "cache-http");
      const ds = await StreamingDataset.create({
        remote: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, split: "train", local, cacheLimit: 400_000, batchSize: 4, validateHash: "xxh64",
      });
      const got = (await collect(ds)).map((s) => s.text);
      expect(got).toEqual(expectedText("c4-like/train"));
      const dir = path.join(local, "train");
      const files = fs.readdirSync(dir);
      expect(files).toContain("index.json");
      expect(files.some((f) => f.endsWith(".zstd"))).toBe(false); // zips dropped after decompression
      const used = files.reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
      expect(used).toBeLessThanOrEqual(400_000);
      expect(files.filter((f) => f.endsWith(".mds")).length).toBeLessThan(12); // some were evicted
      await expect(StreamingDataset.create({ remote: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, split: "train", local: path.join(tmp, "c2"), cacheLimit: 1000 }))
        .rejects.toThrow(/cacheLimit 1000 is below 4 × the largest shard/);
    } finally {
      server.close();
    }
  });

  it("a server that never answers fails with a timeout instead of hanging", async () => {
    const server = http.createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await expect(StreamingDataset.create({ remote: url, local: path.join(tmp, "hang"), downloadTimeoutMs: 200, downloadRetry: 1 }))
        .rejects.toThrow(`${url}/index.json: download failed after 2 attempt(s): timed out after 200 ms`);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it("file:// remote and several weighted streams", async () => {
    const ds = await StreamingDataset.create({
      local: path.join(tmp, "multi"),
      streams: [
        { remote: pathToFileURL(MDS + "c4-like").href, split: "val", local: path.join(tmp, "m1"), proportion: 3 },
        { remote: pathToFileURL(MDS + "c4-like-tokens").href, split: "val", local: path.join(tmp, "m2"), proportion: 1 },
      ],
      epochSize: 100, shuffle: true, batchSize: 2,
    });
    expect(ds.size).toBe(318);
    expect(ds.streamChoose).toEqual([75, 25]);
    const samples = await collect(ds);
    expect(samples.length).toBe(100);
    expect(samples.filter((s) => "tokens" in s).length).toBe(25);
    expect(samples.filter((s) => "text" in s).length).toBe(75);
  });
});
