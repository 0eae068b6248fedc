import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readPickle } from "./pickle.js";
import { MDSReader } from "./reader.js";

const MDS = new URL("../../../../../shared/data/mds/", import.meta.url).pathname;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mds-corrupt-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function copy(name: string, to: string): string {
  const dir = path.join(tmp, to);
  fs.cpSync(MDS + name, dir, { recursive: true });
  for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o644);
  return dir;
}

function editIndex(dir: string, edit: (o: any) => void): void {
  const f = path.join(dir, "index.json");
  const o = JSON.parse(fs.readFileSync(f, "utf8"));
  edit(o);
  fs.writeFileSync(f, JSON.stringify(o));
}

describe("corrupt input gets an error naming the file and the problem", () => {
  it("truncated raw shard", async () => {
    const dir = copy("tiny", "trunc");
    const f = path.join(dir, "shard.00000.mds");
    fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 250));
    await expect(new MDSReader(dir).get(0)).rejects.toThrow(`${f}: truncated: index.json says 281 bytes, file has 250`);
  });

  it("truncated compressed shard", async () => {
    const dir = copy("zstd", "trunczip");
    const f = path.join(dir, "shard.00001.mds.zstd");
    fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 1000));
    await expect(new MDSReader(dir).get(60)).rejects.toThrow(`${f}: truncated`);
  });

  it("wrong hash (same size, one byte flipped)", async () => {
    const dir = copy("basic", "hash");
    const f = path.join(dir, "shard.00002.mds");
    const b = fs.readFileSync(f);
    b[b.length - 1] ^= 0xff;
    fs.writeFileSync(f, b);
    await expect(new MDSReader(dir, { validateHash: "md5" }).get(120)).rejects.toThrow(new RegExp(`${f}: md5 hash mismatch: index.json says [0-9a-f]{32}, the file hashes to`));
    await expect(new MDSReader(dir, { validateHash: "blake2b" }).get(120)).rejects.toThrow(/cannot validate with blake2b: index.json lists only \[md5, sha1/);
  });

  it("corrupt compressed bytes with hashes off still fail on decompression", async () => {
    const dir = copy("gz", "gzbad");
    const f = path.join(dir, "shard.00000.mds.gz");
    const b = fs.readFileSync(f);
    b.fill(7, 100, 200);
    fs.writeFileSync(f, b);
    await expect(new MDSReader(dir, { validateHash: false }).get(0)).rejects.toThrow(`${f}: cannot decompress as gz`);
  });

  it("bad index.json: not JSON, wrong version, bad field", () => {
    const dir = copy("tiny", "idx");
    const f = path.join(dir, "index.json");
    fs.writeFileSync(f, "{not json");
    expect(() => new MDSReader(dir)).toThrow(`${f}: not valid JSON`);
    fs.writeFileSync(f, JSON.stringify({ shards: [], version: 3 }));
    expect(() => new MDSReader(dir)).toThrow(`${f}: version: expected 2`);
    fs.cpSync(MDS + "tiny/index.json", f);
    fs.chmodSync(f, 0o644);
    editIndex(dir, (o) => (o.shards[0].raw_data.bytes = "lots"));
    expect(() => new MDSReader(dir)).toThrow(`${f}: shards[0].raw_data.bytes: expected a non-negative integer, got "lots"`);
    editIndex(dir, (o) => (o.shards[0].raw_data = { basename: "../../etc/passwd", bytes: 1, hashes: {} }));
    expect(() => new MDSReader(dir)).toThrow(/shards\[0\]\.raw_data\.basename: expected a relative file name/);
    expect(() => new MDSReader(path.join(tmp, "nope"))).toThrow(/nope\/index.json: cannot read index/);
  });

  it("unknown encoding", async () => {
    const dir = copy("tiny", "enc");
    editIndex(dir, (o) => (o.shards[0].column_encodings[2] = "utf16"));
    // The shard header still says "str", so the header/index mismatch is caught first.
    await expect(new MDSReader(dir).get(0)).rejects.toThrow(/shard\.00000\.mds: header column_encodings .* differs from index.json/);
    const dir2 = copy("tiny", "enc2");
    const f = path.join(dir2, "shard.00000.mds");
    const b = Buffer.from(fs.readFileSync(f).toString("latin1").replace('"str"', '"xyz"'), "latin1");
    fs.writeFileSync(f, b);
    editIndex(dir2, (o) => (o.shards[0].column_encodings[2] = "xyz"));
    await expect(new MDSReader(dir2).get(0)).rejects.toThrow(/sample 0: column "name" \(xyz\): unknown column encoding "xyz"/);
  });

  it("sample count and offsets are checked against index.json", async () => {
    const dir = copy("tiny", "count");
    editIndex(dir, (o) => (o.shards[0].samples = 4));
    await expect(new MDSReader(dir).get(0)).rejects.toThrow(/shard\.00000\.mds: sample count field is 3, index.json says 4/);
  });

  it("pickles that import globals are refused", () => {
    // pickle.dumps(os.system) -style payload: PROTO 4, SHORT_BINUNICODE 'os', 'system', STACK_GLOBAL
    const evil = new Uint8Array([0x80, 4, 0x8c, 2, 0x6f, 0x73, 0x8c, 6, ...Buffer.from("system"), 0x93, 0x2e]);
    expect(() => readPickle(evil)).toThrow(/refusing opcode STACK_GLOBAL/);
    expect(() => readPickle(new Uint8Array([0x80, 2, 0x63, ...Buffer.from("os\nsystem\n"), 0x2e]))).toThrow(/refusing opcode GLOBAL/);
  });
});
