import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MDSReader } from "../mds/reader.js";
import { MDSWriter } from "../mds/writer.js";
import { privateCacheDir } from "./cache-dir.js";
import { convertToMds } from "./cli-ops.js";
import { StreamingDataset } from "./dataset.js";
import { download } from "./download.js";
import { sendEndless } from "../testing/endless.js";
import { withEnv } from "../testing/env.js";

const MDS = new URL("../../../../../shared/data/mds/", import.meta.url).pathname;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mds-hardening-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("remote bodies are read up to the declared size", () => {
  it("a server that keeps sending is cut off past index.json's size; nothing is left behind", async () => {
    const count = { sent: 0 };
    const server = http.createServer((_req, res) => sendEndless(res, 0x41, count));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/shard.00000.mds`;
    const dest = path.join(tmp, "dl", "shard.00000.mds");
    try {
      await expect(download(url, dest, { maxBytes: 196, retries: 2 })).rejects.toThrow(
        `${url}: download failed after 1 attempt(s): the body runs past the 196 bytes expected`,
      );
    } finally {
      server.closeAllConnections();
      server.close();
    }
    expect(count.sent).toBeLessThan(64 << 20); // stopped early, and not retried
    expect(fs.existsSync(dest) || fs.existsSync(dest + ".tmp")).toBe(false);
  });

  it("a Content-Length above the limit is refused before the body is read; a local source too", async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { "content-length": String(1e9) });
      res.write("x");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/index.json`;
    try {
      await expect(download(url, path.join(tmp, "dl2", "index.json"), { maxBytes: 1000 })).rejects.toThrow(/the server sends 1000000000 bytes, more than the 1000 expected/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
    await expect(download(`${MDS}tiny/shard.00000.mds`, path.join(tmp, "dl3", "s.mds"), { maxBytes: 100 })).rejects.toThrow(/281 bytes, more than the 100 expected/);
  });
});

describe("private cache folder for a remote without local", () => {
  it("$XDG_CACHE_HOME/mosaicbert/mds/<hash>, mode 0700; remote shards are read through it", async () => {
    const xdg = path.join(tmp, "xdg");
    const dir = withEnv({ XDG_CACHE_HOME: xdg }, () => privateCacheDir(MDS + "tiny"));
    expect(path.dirname(dir)).toBe(path.join(xdg, "mosaicbert", "mds"));
    for (const d of [dir, path.dirname(dir), path.join(xdg, "mosaicbert")]) expect(fs.statSync(d).mode & 0o777).toBe(0o700);
    const ds = await withEnv({ XDG_CACHE_HOME: xdg }, () => StreamingDataset.create({ remote: MDS + "tiny" }));
    expect((await ds.get(2)).name).toBeDefined();
    expect(fs.existsSync(path.join(dir, "index.json"))).toBe(true);
    // Relative XDG_CACHE_HOME is ignored (XDG spec): ~/.cache.
    const home = path.join(tmp, "home");
    const d2 = withEnv({ XDG_CACHE_HOME: "rel/cache", HOME: home }, () => privateCacheDir("x"));
    expect(d2.startsWith(path.join(home, ".cache", "mosaicbert", "mds") + "/")).toBe(true);
  });

  it("refuses a symlink, a folder others can write, or one owned by another user", () => {
    const xdg = path.join(tmp, "xdg-evil");
    const target = path.join(tmp, "elsewhere");
    fs.mkdirSync(path.join(xdg), { recursive: true });
    fs.mkdirSync(target, { recursive: true });
    fs.symlinkSync(target, path.join(xdg, "mosaicbert"));
    expect(() => withEnv({ XDG_CACHE_HOME: xdg }, () => privateCacheDir("r"))).toThrow(`cache folder ${path.join(xdg, "mosaicbert")}: is a symbolic link; refusing to use it`);
    fs.unlinkSync(path.join(xdg, "mosaicbert"));
    fs.mkdirSync(path.join(xdg, "mosaicbert"), { mode: 0o700 });
    fs.chmodSync(path.join(xdg, "mosaicbert"), 0o777);
    expect(() => withEnv({ XDG_CACHE_HOME: xdg }, () => privateCacheDir("r"))).toThrow(/mosaicbert: can be written by any user \(mode 777\); refusing/);
    fs.chmodSync(path.join(xdg, "mosaicbert"), 0o770);
    expect(() => withEnv({ XDG_CACHE_HOME: xdg }, () => privateCacheDir("r"))).toThrow(/can be written by its group \(mode 770\)/);
    fs.chmodSync(path.join(xdg, "mosaicbert"), 0o700);
    if (process.getuid?.() === 0) {
      fs.chownSync(path.join(xdg, "mosaicbert"), 4242, 4242);
      expect(() => withEnv({ XDG_CACHE_HOME: xdg }, () => privateCacheDir("r"))).toThrow(/mosaicbert: is owned by user 4242, not by this user \(0\)/);
    }
  });
});

describe("data convert --overwrite removes the old dataset", () => {
  it("zstd over an uncompressed dataset: the stale raw shards are gone and the new dataset reads", async () => {
    const input = path.join(tmp, "in.jsonl");
    fs.writeFileSync(input, Array.from({ length: 50 }, (_, i) => JSON.stringify({ text: `document ${i} ${"word ".repeat(i)}` })).join("\n"));
    const out = path.join(tmp, "conv");
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, "notes.txt"), "mine");
    await convertToMds({ inputs: [input], out, sizeLimit: 1000 });
    const before = fs.readdirSync(out).filter((f) => f.startsWith("shard."));
    expect(before.length).toBeGreaterThan(2);
    await expect(convertToMds({ inputs: [input], out, compression: "zstd" })).rejects.toThrow(`${path.join(out, "index.json")} already exists (pass overwrite to replace the dataset)`);
    await convertToMds({ inputs: [input], out, compression: "zstd", overwrite: true });
    expect(fs.readdirSync(out).sort()).toEqual(["index.json", "notes.txt", "shard.00000.mds.zstd"]);
    const r = new MDSReader(out);
    expect(r.size).toBe(50);
    expect((await r.get(49)).text).toMatch(/^document 49 /);
  });

  it("shard files of a conversion killed before its index.json also block (or go with overwrite); symlinks are unlinked, not followed", async () => {
    const out = path.join(tmp, "killed");
    fs.mkdirSync(out);
    const victim = path.join(tmp, "victim.txt");
    fs.writeFileSync(victim, "keep me");
    fs.writeFileSync(path.join(out, "shard.00000.mds"), "stale");
    fs.symlinkSync(victim, path.join(out, "shard.00001.mds"));
    expect(() => new MDSWriter({ out, columns: { text: "str" } })).toThrow(`MDSWriter: ${out} holds shard files of an earlier conversion (shard.00000.mds, …) (pass overwrite to replace the dataset)`);
    const w = new MDSWriter({ out, columns: { text: "str" }, overwrite: true });
    await w.write({ text: "new" });
    await w.finish();
    expect(fs.readFileSync(victim, "utf8")).toBe("keep me");
    expect(fs.readdirSync(out).sort()).toEqual(["index.json", "shard.00000.mds"]);
    expect((await new MDSReader(out).get(0)).text).toBe("new");
  });
});

describe("index.json claims are checked against the files before anything is sized by them", () => {
  it("a local stream whose index.json claims more than its shard files hold is refused at create()", async () => {
    const dir = path.join(tmp, "claims");
    fs.cpSync(MDS + "tiny", dir, { recursive: true });
    const f = path.join(dir, "index.json");
    const o = JSON.parse(fs.readFileSync(f, "utf8"));
    o.shards[0].samples = 60;
    o.shards[0].raw_data.bytes = 8 + 60 * 24;
    fs.writeFileSync(f, JSON.stringify(o));
    await expect(StreamingDataset.create({ local: dir })).rejects.toThrow(`${path.join(dir, "shard.00000.mds")}: truncated: index.json says 1448 bytes, file has 281`);
    fs.rmSync(path.join(dir, "shard.00000.mds"));
    await expect(StreamingDataset.create({ local: dir })).rejects.toThrow(`${path.join(dir, "shard.00000.mds")}: shard file is missing (listed in ${f})`);
  });

  it("a shard above the raw size limit is refused, and the limit can be raised", async () => {
    await expect(new MDSReader(MDS + "tiny", { maxShardBytes: 100 }).get(0)).rejects.toThrow(/shard\.00000\.mds: index\.json says this shard holds 281 bytes, more than the 100-byte limit for one shard/);
    await expect(withEnv({ MOSAICBERT_MAX_SHARD_BYTES: "100" }, () => new MDSReader(MDS + "tiny")).get(0)).rejects.toThrow(/more than the 100-byte limit/);
    expect((await new MDSReader(MDS + "tiny", { maxShardBytes: "1kb" }).get(0)).name).toBeDefined();
  });
});
