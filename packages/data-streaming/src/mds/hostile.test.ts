import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catLines } from "../dataset/cli-ops.js";
import { decompress } from "./compression.js";
import { buildHostileCorpus, wideDict, type HostileCase } from "../testing/hostile-corpus.js";
import { PickleTuple, pickleToJs, readPickle } from "./pickle.js";
import { parsePyJson, pyJsonToJs } from "./pyjson.js";
import { MDSReader } from "./reader.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mds-hostile-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let cases: HostileCase[] = [];
beforeAll(async () => {
  cases = await buildHostileCorpus(tmp, { bombBytes: 16 * 2 ** 20 });
});
const byName = (n: string) => cases.find((c) => c.name === n)!;

async function readAll(dir: string): Promise<Array<Record<string, unknown>>> {
  const r = new MDSReader(dir);
  const out = [];
  for (let i = 0; i < r.size; i++) out.push(await r.get(i));
  return out;
}

async function catAll(dir: string): Promise<string[]> {
  const out = [];
  for await (const line of catLines(dir)) out.push(line);
  return out;
}

describe("hostile MDS corpus: each case ends in the reader's own error naming the file, or loads intact", () => {
  it("builds every case", () => {
    expect(cases.map((c) => c.name)).toEqual([
      "pkl-shared-lists", "pkl-shared-dicts", "pkl-cycle", "pkl-deep", "pkl-wide-dict", "pkl-proto-key", "json-deep", "json-proto-key",
      "gz-bomb", "br-bomb", "bz2-bomb", "zstd-lying-size", "zstd-bomb", "index-4e9-samples", "index-huge-shard", "raw-file-4gib",
      "no-hashes", "proto-column",
    ]);
  });

  it("decoding (MDSReader.get) and printing (data cat) each case", async () => {
    for (const c of cases) {
      const decode = readAll(c.dir);
      if (c.expect === "loads") await expect(decode, c.name).resolves.toBeDefined();
      else await expect(decode, c.name).rejects.toThrow(c.expect);
      const render = c.expectRender ?? c.expect;
      if (render === "loads") await expect(catAll(c.dir), c.name).resolves.toBeDefined();
      else await expect(catAll(c.dir), c.name).rejects.toThrow(render);
    }
  });

  it("shared containers decode shared (linear work), and a cycle decodes as a cycle", async () => {
    let v = (await readAll(byName("pkl-shared-lists").dir))[0]!.value as unknown[];
    for (let level = 40; level > 0; level--) {
      expect(v.length).toBe(2);
      expect(v[0]).toBe(v[1]);
      v = v[0] as unknown[];
    }
    expect(v).toEqual([1]);
    const d = (await readAll(byName("pkl-shared-dicts").dir))[0]!.value as Record<string, unknown>;
    expect(Object.keys(d)).toEqual(["a", "b"]);
    expect(d.a).toBe(d.b);
    const cyc = (await readAll(byName("pkl-cycle").dir))[0]!.value as unknown[];
    expect(cyc[0]).toBe(cyc);
  });

  it("a 20,000-key dict and __proto__ keys load with their content intact, prototypes untouched", async () => {
    const wide = (await readAll(byName("pkl-wide-dict").dir))[0]!.value as Record<string, number>;
    expect(Object.keys(wide).length).toBe(20_000);
    expect(wide.k0).toBe(0);
    expect(wide.k19999).toBe(19_999);
    expect(Object.keys(wide).slice(0, 3)).toEqual(["k0", "k1", "k2"]);

    for (const name of ["pkl-proto-key", "json-proto-key"]) {
      const o = (await readAll(byName(name).dir))[0]!.value as Record<string, unknown>;
      expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
      expect(Object.keys(o)).toEqual(["__proto__", "a"]);
      expect(Object.getOwnPropertyDescriptor(o, "__proto__")!.value).toEqual(name.startsWith("pkl") ? { polluted: 1 } : { polluted: true });
      expect((o as { polluted?: unknown }).polluted).toBeUndefined();
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    const [line] = await catAll(byName("pkl-proto-key").dir);
    expect(line).toContain('"value": {"__proto__": {"polluted": 1}, "a": 2}');

    const col = (await readAll(byName("proto-column").dir))[0]!;
    expect(Object.keys(col)).toEqual(["__proto__", "id"]);
    expect(Object.getOwnPropertyDescriptor(col, "__proto__")!.value).toBe("kept");
    expect(Object.getPrototypeOf(col)).toBe(Object.prototype);
  });

  it("an index.json without hashes loads (nothing to verify is not an error)", async () => {
    expect((await readAll(byName("no-hashes").dir)).map((s) => s.text)).toEqual(["a small honest sample", "and a second one"]);
  });
});

describe("pickle reader", () => {
  it("dict keys follow Python's equality: 1, 1.0 and True are one key (the first kept, the last value)", () => {
    // {1: 'a', 1.0: 'b', True: 'c', '1': 'd'}: PROTO 4, }, MARK, K1 'a', G1.0 'b', True 'c', '1' 'd', SETITEMS, STOP
    const f = [0x47, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0];
    const s = (t: string) => [0x8c, t.length, ...Buffer.from(t)];
    const v = readPickle(Uint8Array.from([0x80, 4, 0x7d, 0x28, 0x4b, 1, ...s("a"), ...f, ...s("b"), 0x88, ...s("c"), ...s("1"), ...s("d"), 0x75, 0x2e])) as Map<unknown, unknown>;
    expect([...v.entries()]).toEqual([[1n, "c"], ["1", "d"]]);
  });

  it("an 80,000-key dict reads with every key (one hash lookup per insert, not a scan)", () => {
    const o = pickleToJs(readPickle(wideDict(80_000))) as Record<string, number>;
    expect(Object.keys(o).length).toBe(80_000);
    expect(o.k79999).toBe(79_999);
  });

  it("APPENDS of more items than a call takes arguments, MARK and POP_MARK bookkeeping", () => {
    const n = 200_000;
    const b = [0x80, 4, 0x5d, 0x28];
    for (let i = 0; i < n; i++) b.push(0x4b, i & 0xff);
    b.push(0x65, 0x28, 0x4b, 9, 0x31, 0x2e); // APPENDS, MARK K9 POP_MARK, STOP
    const v = readPickle(Uint8Array.from(b)) as bigint[];
    expect(v.length).toBe(n);
    expect(v[n - 1]).toBe(BigInt((n - 1) & 0xff));
    expect(() => readPickle(Uint8Array.from([0x80, 4, 0x28, 0x4b, 1, 0x2e]))).toThrow(/MARK left open at STOP/);
    expect(() => readPickle(Uint8Array.from([0x80, 4, 0x4b, 1, 0x28, 0x61, 0x2e]))).toThrow(/stack underflow/);
    expect(readPickle(Uint8Array.from([0x80, 4, 0x29, 0x2e]))).toBeInstanceOf(PickleTuple);
  });
});

describe("JSON column values", () => {
  it("nesting is counted before descending: 200,000 levels is an error of the parser, 1000 still parse", () => {
    expect(() => parsePyJson("[".repeat(200_000) + "]".repeat(200_000))).toThrow(/invalid JSON at offset 1000: nested more than 1000 deep/);
    expect(() => parsePyJson('{"a":'.repeat(5000) + "1" + "}".repeat(5000))).toThrow(/nested more than 1000 deep/);
    const ok = pyJsonToJs(parsePyJson("[".repeat(1000) + "]".repeat(1000)));
    expect(Array.isArray(ok)).toBe(true);
  });
});

describe("decompression is capped at the declared size for every codec", () => {
  it("gz, br, bz2, zstd stop at the first byte past maxBytes; exact sizes still decode", async () => {
    const data = new TextEncoder().encode("x".repeat(5000));
    for (const spec of ["gz", "br", "zstd", "snappy"]) {
      const { compress } = await import("./compression.js");
      const z = await compress(spec, data);
      expect((await decompress(spec, z, `f.${spec}`, 5000)).length, spec).toBe(5000);
      await expect(decompress(spec, z, `f.${spec}`, 4999), spec).rejects.toThrow(new RegExp(`^f\\.${spec}: cannot decompress as ${spec}: `));
    }
    const bz = fs.readFileSync(path.join(byName("bz2-bomb").dir, "shard.00000.mds.bz2"));
    await expect(decompress("bz2", bz, "b.bz2", 1 << 20)).rejects.toThrow("b.bz2: cannot decompress as bz2: decompresses to more than the 1048576 bytes index.json declares");
    const hello = Buffer.from("QlpoOTFBWSZTWaNUVpIAAAdRgAAQQAAGRJCAIAAiv9VDT0QgyYjiIilrVpiMfF3JFOFCQo1RWkg=", "base64");
    expect(Buffer.from(await decompress("bz2", hello, "h.bz2", 36)).toString()).toBe("hello world\n".repeat(3));
    await expect(decompress("bz2", hello, "h.bz2", 35)).rejects.toThrow(/more than the 35 bytes/);
  });

  it("the zstd bomb of the corpus is a real frame without a content size (it decodes when allowed)", async () => {
    const z = fs.readFileSync(path.join(byName("zstd-bomb").dir, "shard.00000.mds.zstd"));
    expect(z[4]! >>> 6).toBe(0);
    expect((await decompress("zstd", z, "z.zstd", 16 * 2 ** 20)).length).toBe(16 * 2 ** 20);
  });
});
