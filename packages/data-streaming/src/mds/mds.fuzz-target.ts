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
import { decodeColumns } from "./reader.js";
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
