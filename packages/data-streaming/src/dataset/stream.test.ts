import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MDSWriter } from "../mds/writer.js";
import { StreamingDataset } from "./dataset.js";

const MDS = new URL("../../../../../shared/data/mds/", import.meta.url).pathname;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mds-stream-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * Serves the files of `root` (read at each request, so a test can change the dataset in place);
 * `cut(file, n)` may shorten the n-th answer for a file (sent chunked, a complete response).
 * Counts the GETs per file.
 */
async function serve(root: () => string, cut: (file: string, n: number) => number | null = () => null) {
  const gets = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const name = decodeURIComponent(req.url!.slice(1));
    const f = path.join(root(), name);
    if (!fs.existsSync(f)) {
      res.writeHead(404).end();
      return;
    }
    const n = (gets.get(name) ?? 0) + 1;
    gets.set(name, n);
    const body = fs.readFileSync(f);
    res.writeHead(200);
    res.end(body.subarray(0, cut(name, n) ?? body.length));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    gets: (name: string) => gets.get(name) ?? 0,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function texts(ds: StreamingDataset): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < ds.size; i++) out.push((await ds.get(i)).text as string);
  return out;
}

async function write(out: string, docs: string[], sizeLimit: number): Promise<void> {
  const w = new MDSWriter({ out, columns: { text: "str" }, hashes: ["sha1"], sizeLimit, overwrite: true });
  for (const text of docs) await w.write({ text });
  await w.finish();
}

describe("a shard transfer cut short is never cached as complete", () => {
  it("the first GET of a shard is short: it is fetched again and the dataset reads whole; a later run reuses it", async () => {
    const s = await serve(() => MDS + "tiny", (f, n) => (f.endsWith(".mds") && n === 1 ? 100 : null));
    const local = path.join(tmp, "trunc");
    try {
      const ds = await StreamingDataset.create({ remote: s.url, local, validateHash: false });
      expect((await ds.get(2)).name).toBeDefined();
      expect(fs.statSync(path.join(local, "shard.00000.mds")).size).toBe(281);
      expect(s.gets("shard.00000.mds")).toBe(2);
      const again = await StreamingDataset.create({ remote: s.url, local, validateHash: false });
      expect((await again.get(0)).name).toBeDefined();
      expect(s.gets("shard.00000.mds")).toBe(2);
    } finally {
      s.close();
    }
  });

  it("a cached shard of the wrong size (an older truncated download) is downloaded again, not used", async () => {
    const s = await serve(() => MDS + "tiny");
    const local = path.join(tmp, "stale-size");
    fs.mkdirSync(local, { recursive: true });
    fs.copyFileSync(MDS + "tiny/index.json", path.join(local, "index.json"));
    fs.writeFileSync(path.join(local, "shard.00000.mds"), fs.readFileSync(MDS + "tiny/shard.00000.mds").subarray(0, 100));
    try {
      const ds = await StreamingDataset.create({ remote: s.url, local });
      expect((await ds.get(1)).name).toBeDefined();
      expect(s.gets("shard.00000.mds")).toBe(1);
      expect(fs.readFileSync(path.join(local, "shard.00000.mds")).equals(fs.readFileSync(MDS + "tiny/shard.00000.mds"))).toBe(true);
    } finally {
      s.close();
    }
  });
});

describe("a remote dataset changed in place", () => {
  it("shards whose index.json entry changed are fetched again; unchanged ones are kept", async () => {
    // Two shards; v2 changes the second one's text but not its size (same lengths), so only its hash differs.
    const v1 = path.join(tmp, "v1");
    const v2 = path.join(tmp, "v2");
    const docs = ["the first shard holds this text", "and this one", "the second shard holds this", "and that"];
    await write(v1, docs, 250);
    await write(v2, [...docs.slice(0, 2), "THE SECOND SHARD HOLDS THIS", "AND THAT"], 250);
    const names = fs.readdirSync(v1).filter((f) => f.endsWith(".mds")).sort();
    expect(names.length).toBe(2);
    for (const f of names) expect(fs.statSync(path.join(v2, f)).size).toBe(fs.statSync(path.join(v1, f)).size);

    let root = v1;
    const s = await serve(() => root);
    const local = path.join(tmp, "changed");
    try {
      // validateHash false: nothing but the index comparison can tell the stale shard from the new one.
      expect(await texts(await StreamingDataset.create({ remote: s.url, local, validateHash: false }))).toEqual(docs);
      root = v2;
      // The files on disk were all written before this run starts.
      for (const f of fs.readdirSync(local)) fs.utimesSync(path.join(local, f), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      const ds = await StreamingDataset.create({ remote: s.url, local, validateHash: false });
      expect(await texts(ds)).toEqual([...docs.slice(0, 2), "THE SECOND SHARD HOLDS THIS", "AND THAT"]);
      expect(s.gets(names[0]!)).toBe(1); // unchanged: kept
      expect(s.gets(names[1]!)).toBe(2); // changed: fetched again
    } finally {
      s.close();
    }
  });
});
