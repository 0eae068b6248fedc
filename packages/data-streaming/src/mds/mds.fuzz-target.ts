// Fuzz targets for the MDS reader, starting from the real datasets in shared/data/mds: index.json
// (structural JSON edits and text damage), raw shards (truncation, bit flips, lying sample counts and
// offsets, with index.json sizes kept consistent or not), compressed shards (every codec, lying frame
// sizes), single column values (pkl, json, ndarray, str_*) and hash verification.
import * as fs from "node:fs";
import fc from "fast-check";
import { applyBytes, applyJson, applyText, bytePlan, describePlan, jsonPlan, textPlan, type Plan } from "../../../../scripts/fuzz/mutate.mjs";
import type { FuzzTarget } from "../../../../scripts/fuzz/target.d.mts";
import { decompress } from "./compression.js";
import { type ShardEntry, parseIndexText } from "./index-file.js";
import { maxShardBytes } from "./limits.js";
import { decodeColumns } from "./reader.js";
import { renderColumn } from "./render.js";
import { RawShard } from "./shard.js";
import { verifyFile } from "./shard-file.js";

const MDS = new URL("../../../../../shared/data/mds/", import.meta.url).pathname;
const read = (p: string) => new Uint8Array(fs.readFileSync(MDS + p));
const INDEX_FILES = ["tiny/index.json", "basic/index.json", "zstd/index.json", "oversized-first/index.json", "c4-like/train/index.json", "images/index.json"];
const INDEX_TEXTS = INDEX_FILES.map((f) => fs.readFileSync(MDS + f, "utf8"));
const INDEX_DOCS = INDEX_TEXTS.map((t) => JSON.parse(t) as unknown);
const SRC_INDEX = "fuzz/index.json";
const SRC_SHARD = "fuzz/shard.00000.mds";

/** Accepted indexes: every shard entry has the fields the reader relies on, of the right types. */
function checkIndex(idx: ReturnType<typeof parseIndexText>): void {
  for (const s of idx.shards) {
    if (!Number.isInteger(s.samples) || s.samples < 0) throw new Error(`accepted shards entry with samples ${s.samples}`);
    if (typeof s.raw_data.basename !== "string" || !Number.isInteger(s.raw_data.bytes)) throw new Error("accepted a raw_data entry without basename/bytes");
    if (s.column_names.length !== s.column_encodings.length || s.column_names.length !== s.column_sizes.length) throw new Error("accepted ragged column lists");
  }
}

export const mdsIndexJson: FuzzTarget<Plan> = {
  name: "MDS index.json (JSON edits)",
  arbitrary: jsonPlan(INDEX_DOCS.length),
  source: () => SRC_INDEX,
  run: (p) => parseIndexText(JSON.stringify(applyJson(INDEX_DOCS[p.base], p.ops)) ?? "", SRC_INDEX),
  check: checkIndex,
  describe: describePlan,
};

export const mdsIndexText: FuzzTarget<Plan> = {
  name: "MDS index.json (text damage)",
  arbitrary: textPlan(INDEX_TEXTS.length),
  source: () => SRC_INDEX,
  run: (p) => parseIndexText(new TextDecoder().decode(applyText(INDEX_TEXTS[p.base]!, p.ops)), SRC_INDEX),
  check: checkIndex,
  describe: describePlan,
};

interface ShardSeed {
  bytes: Uint8Array;
  entry: ShardEntry;
}

function shardSeeds(dataset: string, picks: number[], zipped = false): ShardSeed[] {
  const idx = parseIndexText(fs.readFileSync(`${MDS}${dataset}/index.json`, "utf8"), dataset);
  return picks.map((i) => {
    const e = idx.shards[i]!;
    return { entry: e, bytes: read(`${dataset}/${zipped ? e.zip_data!.basename : e.raw_data.basename}`) };
  });
}

const RAW = [...shardSeeds("tiny", [0]), ...shardSeeds("basic", [2]), ...shardSeeds("oversized-first", [0, 1])];

/** Opens a shard and decodes every column of every sample, as a training loader would. */
function readAll(bytes: Uint8Array, entry: ShardEntry, file: string): number {
  const shard = new RawShard(bytes, file, entry);
  for (let i = 0; i < shard.count; i++) {
    decodeColumns({ shard: 0, indexInShard: i, columns: shard.columns(i), entry }, `${file} sample ${i}`);
  }
  return shard.count;
}

/**
 * Raw shard damage. `consistent`: index.json's byte count follows the damaged file (as if the index
 * had been rewritten), so the structural checks inside the shard are reached, not just the size check.
 */
export const mdsRawShard: FuzzTarget<{ plan: Plan; consistent: boolean }> = {
  name: "MDS raw shard",
  arbitrary: fc.record({ plan: bytePlan(RAW.length), consistent: fc.boolean() }),
  source: () => SRC_SHARD,
  run: ({ plan, consistent }) => {
    const seed = RAW[plan.base]!;
    const bytes = applyBytes(seed.bytes, plan.ops);
    const entry = consistent ? { ...seed.entry, raw_data: { ...seed.entry.raw_data, bytes: bytes.length } } : seed.entry;
    return readAll(bytes, entry, SRC_SHARD);
  },
  describe: describePlan,
};

const ZIPPED = ["zstd", "gz", "br", "bz2", "snappy"].map((d) => shardSeeds(d, [2], true)[0]!);
const SRC_ZIP = "fuzz/shard.00002.mds.z";

/** Compressed shard damage with hashes off: the codec and then the shard checks must catch it. */
export const mdsCompressedShard: FuzzTarget<Plan> = {
  name: "MDS compressed shard (zstd, gz, br, bz2, snappy)",
  arbitrary: bytePlan(ZIPPED.length),
  source: () => SRC_ZIP,
  run: async (p) => {
    const seed = ZIPPED[p.base]!;
    const raw = await decompress(seed.entry.compression!, applyBytes(seed.bytes, p.ops), SRC_ZIP, seed.entry.raw_data.bytes);
    return readAll(raw, seed.entry, SRC_ZIP);
  },
  describe: describePlan,
};

/** Hash verification: any change to a shard must be caught by every listed algorithm. */
export const mdsHashes: FuzzTarget<{ plan: Plan; algo: string }> = {
  name: "MDS shard hashes",
  arbitrary: fc.record({ plan: bytePlan(1), algo: fc.constantFrom("md5", "sha1", "sha256", "xxh128", "xxh32", "xxh3_64", "xxh64") }),
  source: () => SRC_SHARD,
  run: async ({ plan, algo }) => {
    const seed = RAW[1]!;
    const bytes = applyBytes(seed.bytes, plan.ops);
    await verifyFile(bytes, seed.entry.raw_data, seed.entry, algo, SRC_SHARD);
    return Buffer.compare(bytes, seed.bytes);
  },
  check: (same: number) => {
    if (same !== 0) throw new Error("a changed shard passed hash verification");
  },
  describe: describePlan,
};

/** One column value of every encoding in the basic dataset, cut out of real samples. */
const BASIC = RAW[1]!;
const COLUMNS = (() => {
  const shard = new RawShard(BASIC.bytes, "basic", BASIC.entry);
  const out: Array<{ col: number; bytes: Uint8Array }> = [];
  for (let i = 0; i < Math.min(shard.count, 6); i++) shard.columns(i).forEach((bytes, col) => out.push({ col, bytes: bytes.slice() }));
  return out;
})();

/** Column-value damage (pickle opcodes, Python JSON, ndarray headers, numeric text) through decodeColumns. */
export const mdsColumnValue: FuzzTarget<Plan> = {
  name: "MDS column values (pkl, json, ndarray, str_*)",
  arbitrary: bytePlan(COLUMNS.length),
  source: () => SRC_SHARD,
  field: /column "/,
  run: (p) => {
    const { col, bytes } = COLUMNS[p.base]!;
    const e = BASIC.entry;
    const entry = { ...e, column_names: [e.column_names[col]!], column_encodings: [e.column_encodings[col]!], column_sizes: [e.column_sizes[col]!] };
    return decodeColumns({ shard: 0, indexInShard: 0, columns: [applyBytes(bytes, p.ops)], entry }, `${SRC_SHARD} sample 0`);
  },
  describe: (p) => `${BASIC.entry.column_encodings[COLUMNS[p.base]!.col]} ${describePlan(p)}`,
};

// ---- structure-aware cases (issue #18): shared references, deep nesting, declared vs actual sizes ----

/** A pickle program as a tree of containers whose children may refer back to earlier containers (the memo). */
type PNode = { t: "int"; v: number } | { t: "str"; v: string } | { t: "list" | "dict" | "tuple"; kids: PNode[] } | { t: "ref"; back: number } | { t: "deep"; depth: number };

const pnode: fc.Arbitrary<PNode> = fc.letrec<{ node: PNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ t: fc.constant("int" as const), v: fc.integer({ min: -5, max: 300 }) }),
    fc.record({ t: fc.constant("str" as const), v: fc.constantFrom("a", "__proto__", "constructor", "k", "toString", "1") }),
    fc.record({ t: fc.constantFrom("list" as const, "dict" as const, "tuple" as const), kids: fc.array(tie("node"), { maxLength: 5 }) }),
    fc.record({ t: fc.constant("ref" as const), back: fc.nat(40) }),
    fc.record({ t: fc.constant("deep" as const), depth: fc.constantFrom(10, 999, 1001, 50_000) }),
  ),
})).node;

/** Serializes a PNode tree; every container is memoised, a `ref` re-pushes an earlier one (sharing, or a cycle when it is an ancestor). */
function assemble(root: PNode, doubling: number): Uint8Array {
  const out: number[] = [0x80, 4];
  let memo = 0;
  const emit = (n: PNode): void => {
    switch (n.t) {
      case "int": out.push(0x4a, n.v & 0xff, (n.v >> 8) & 0xff, (n.v >> 16) & 0xff, (n.v >> 24) & 0xff); return;
      case "str": { const b = Buffer.from(n.v); out.push(0x8c, b.length, ...b); return; }
      case "ref": {
        if (memo === 0) { out.push(0x4e); return; }
        const i = n.back % memo;
        out.push(0x6a, i & 0xff, (i >> 8) & 0xff, (i >> 16) & 0xff, (i >> 24) & 0xff);
        return;
      }
      case "deep": {
        for (let i = 0; i < n.depth; i++) out.push(0x5d);
        for (let i = 1; i < n.depth; i++) out.push(0x61);
        return;
      }
      case "tuple": out.push(0x28); for (const k of n.kids) emit(k); out.push(0x74, 0x94); memo++; return;
      case "list": out.push(0x5d, 0x94); memo++; if (n.kids.length) { out.push(0x28); for (const k of n.kids) emit(k); out.push(0x65); } return;
      case "dict": {
        out.push(0x7d, 0x94); memo++;
        if (n.kids.length) { out.push(0x28); n.kids.forEach((k, i) => { emit({ t: "str", v: i % 2 ? "__proto__" : `k${i}` }); emit(k); }); out.push(0x75); }
        return;
      }
    }
  };
  emit(root);
  // `doubling` levels of a list holding the previous value twice: 2^doubling printed paths.
  for (let i = 0; i < doubling; i++) { out.push(0x94, 0x30, 0x28, 0x6a, memo & 0xff, (memo >> 8) & 0xff, 0, 0, 0x6a, memo & 0xff, (memo >> 8) & 0xff, 0, 0, 0x6c); memo++; }
  out.push(0x2e);
  return Uint8Array.from(out);
}

const PKL_ENTRY = { ...BASIC.entry, column_names: ["v"], column_encodings: ["pkl"], column_sizes: [null] } as ShardEntry;
const JSON_ENTRY = { ...PKL_ENTRY, column_encodings: ["json"] } as ShardEntry;

/** A decoded value must keep "__proto__" as an own key and never change a prototype. */
function checkPlain(v: unknown, seen = new Set<unknown>()): void {
  if (v === null || typeof v !== "object" || seen.has(v)) return;
  seen.add(v);
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== Array.prototype && !(v instanceof Map) && !(v instanceof Uint8Array) && !Array.isArray(v)) {
    throw new Error("a decoded value's prototype was replaced");
  }
  for (const x of v instanceof Map ? v.values() : Object.values(v)) checkPlain(x, seen);
  if ((Object.prototype as Record<string, unknown>).polluted !== undefined) throw new Error("Object.prototype was polluted");
}

/** Pickle graphs: sharing, cycles, deep nesting, doubling expansions, __proto__ keys — decoded and printed. */
export const mdsPickleStructure: FuzzTarget<{ root: PNode; doubling: number }> = {
  name: "MDS pkl graphs (sharing, cycles, depth, expansion)",
  arbitrary: fc.record({ root: pnode, doubling: fc.constantFrom(0, 0, 3, 30, 60) }),
  source: () => SRC_SHARD,
  field: /column "v"/,
  run: ({ root, doubling }) => {
    const bytes = assemble(root, doubling);
    const decoded = decodeColumns({ shard: 0, indexInShard: 0, columns: [bytes], entry: PKL_ENTRY }, `${SRC_SHARD} sample 0`);
    checkPlain(decoded);
    try {
      renderColumn("pkl", bytes);
    } catch (e) {
      throw new Error(`${SRC_SHARD} sample 0: column "v" (pkl): ${(e as Error).message}`);
    }
    return decoded;
  },
  describe: ({ root, doubling }) => `${JSON.stringify(root).slice(0, 300)} doubling ${doubling}`,
};

/** JSON values nested up to 300k deep, with __proto__ keys, decoded and printed. */
export const mdsJsonStructure: FuzzTarget<{ depth: number; key: string; arrays: boolean }> = {
  name: "MDS json nesting and keys",
  arbitrary: fc.record({ depth: fc.oneof(fc.nat(1200), fc.constantFrom(300_000)), key: fc.constantFrom("a", "__proto__", "constructor"), arrays: fc.boolean() }),
  source: () => SRC_SHARD,
  field: /column "v"/,
  run: ({ depth, key, arrays }) => {
    const open = arrays ? "[" : `{"${key}": `;
    const close = arrays ? "]" : "}";
    const text = `${open.repeat(depth)}{"${key}": {"polluted": 1}}${close.repeat(depth)}`;
    const decoded = decodeColumns({ shard: 0, indexInShard: 0, columns: [Buffer.from(text)], entry: JSON_ENTRY }, `${SRC_SHARD} sample 0`);
    checkPlain(decoded);
    return decoded;
  },
  describe: (p) => JSON.stringify(p),
};

/** index.json sizes and counts that lie (or not) about a real compressed shard: the claim must never drive an allocation. */
export const mdsDeclaredSizes: FuzzTarget<{ base: number; samples: number; raw: number; zip: number }> = {
  name: "MDS declared vs actual sizes (index.json claims)",
  arbitrary: fc.record({
    base: fc.nat(ZIPPED.length - 1),
    samples: fc.oneof(fc.nat(300), fc.constantFrom(4e9, 2 ** 30, 2 ** 53 - 1)),
    raw: fc.oneof(fc.nat(20_000), fc.constantFrom(2 ** 32 - 1, 2 ** 32, 3 * 2 ** 30, 2 ** 53)),
    zip: fc.oneof(fc.nat(20_000), fc.constantFrom(2 ** 31, 2 ** 40)),
  }),
  source: () => SRC_INDEX,
  run: async ({ base, samples, raw, zip }) => {
    const seed = ZIPPED[base]!;
    const e = seed.entry;
    const doc = { shards: [{ ...e, samples, raw_data: { ...e.raw_data, bytes: raw, hashes: {} }, zip_data: { ...e.zip_data!, bytes: zip, hashes: {} }, hashes: [] }], version: 2 };
    const idx = parseIndexText(JSON.stringify(doc), SRC_INDEX);
    const entry = idx.shards[0]!;
    if (entry.raw_data.bytes > maxShardBytes()) return 0; // loadShard refuses it before reading (hostile.test.ts)
    try {
      await verifyFile(seed.bytes, entry.zip_data!, entry, false, SRC_INDEX);
      const data = await decompress(entry.compression!, seed.bytes, SRC_INDEX, entry.raw_data.bytes);
      return readAll(data, entry, SRC_INDEX);
    } catch (err) {
      if ((err as Error).message.includes(SRC_INDEX)) throw err;
      throw new Error(`${SRC_INDEX}: ${(err as Error).message}`);
    }
  },
  describe: (p) => JSON.stringify(p),
};
