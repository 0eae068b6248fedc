/**
 * A corpus of hostile (and unusual but valid) MDS datasets, built from scratch: tests read each one
 * in-process, `scripts/hostile.mjs` runs each through the CLI (`mosaicbert data cat`) and measures
 * time and peak memory. Each case is a few hundred bytes to a few KB on disk (a sparse file aside).
 *
 * Every hostile case must end in an error of the reader's own that names the file; every "loads"
 * case must load with its content intact (see hostile.test.ts for the content checks).
 */
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import zlib from "node:zlib";
import { compress } from "../mds/compression.js";
import { readIndexFile } from "../mds/reader.js";
import { MDSWriter } from "../mds/writer.js";

export interface HostileCase {
  name: string;
  /** What the file does. */
  what: string;
  /** Dataset folder (index.json + shards). */
  dir: string;
  /** Reading every sample must fail with this message, or ("loads") succeed. */
  expect: RegExp | "loads";
  /** Only when its samples are rendered as JSON (`data cat`): this error instead of `expect`. */
  expectRender?: RegExp;
}

// ---- a tiny pickle assembler (protocol 4 opcodes) ----------------------------------------------

type Part = number | number[] | Uint8Array;
const u32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const PROTO4 = [0x80, 4];
const STOP = 0x2e;
const EMPTY_LIST = 0x5d;
const EMPTY_DICT = 0x7d;
const MARK = 0x28;
const APPEND = 0x61;
const APPENDS = 0x65;
const SETITEM = 0x73;
const SETITEMS = 0x75;
const MEMOIZE = 0x94;
const POP = 0x30;
const get = (i: number) => [0x6a, ...u32(i)]; // LONG_BINGET
const int = (i: number) => [0x4a, ...u32(i)]; // BININT
const str = (s: string) => {
  const b = new TextEncoder().encode(s);
  return b.length < 256 ? [0x8c, b.length, ...b] : [0x58, ...u32(b.length), ...b];
};

function pickle(...parts: Part[]): Uint8Array {
  return pickleOf(parts);
}

function pickleOf(parts: Part[]): Uint8Array {
  const out: number[] = [...PROTO4];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else for (const x of p) out.push(x);
  }
  out.push(STOP);
  return Uint8Array.from(out);
}

/** `levels` containers, each holding the previous one twice (through the memo): 2^levels paths. */
function sharedLists(levels: number): Uint8Array {
  const parts: Part[] = [EMPTY_LIST, int(1), APPEND, MEMOIZE, POP];
  for (let i = 1; i <= levels; i++) parts.push(EMPTY_LIST, MARK, get(i - 1), get(i - 1), APPENDS, MEMOIZE, ...(i < levels ? [POP] : []));
  return pickle(...parts);
}

function sharedDicts(levels: number): Uint8Array {
  const parts: Part[] = [EMPTY_DICT, str("x"), int(1), SETITEM, MEMOIZE, POP];
  for (let i = 1; i <= levels; i++) parts.push(EMPTY_DICT, MARK, str("a"), get(i - 1), str("b"), get(i - 1), SETITEMS, MEMOIZE, ...(i < levels ? [POP] : []));
  return pickleOf(parts);
}

/** `depth` lists, each inside the previous: a few bytes per level. */
function nestedLists(depth: number): Uint8Array {
  const b = new Uint8Array(2 + depth + (depth - 1) + 1);
  b.set(PROTO4);
  b.fill(EMPTY_LIST, 2, 2 + depth);
  b.fill(APPEND, 2 + depth, 2 + depth + depth - 1);
  b[b.length - 1] = STOP;
  return b;
}

/** A dict of `n` string keys k0… -> ints, in one SETITEMS. */
export function wideDict(n: number): Uint8Array {
  const parts: Part[] = [EMPTY_DICT, MARK];
  for (let i = 0; i < n; i++) parts.push(str(`k${i}`), int(i));
  parts.push(SETITEMS);
  return pickleOf(parts);
}

// ---- bombs -------------------------------------------------------------------------------------

/** Streams `n` zero bytes through a compressor into a buffer (never holding the zeros whole). */
async function zlibOfZeros(n: number, make: () => zlib.Gzip | zlib.BrotliCompress): Promise<Uint8Array> {
  const chunk = Buffer.alloc(1 << 20);
  async function* zeros() {
    for (let left = n; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
  }
  const out: Buffer[] = [];
  await pipeline(Readable.from(zeros()), make(), async (compressed: AsyncIterable<Buffer>) => {
    for await (const c of compressed) out.push(c);
  });
  return Buffer.concat(out);
}

/**
 * bz2 of 1 GiB of zero bytes (Python: `bz2.compress(bytes(1 << 30), 9)`, 785 bytes). No practical
 * bzip2 compressor exists in JS, so these bytes are kept as a fact.
 */
const BZ2_GIB_OF_ZEROS =
  "QlpoOTFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kO" +
  "CeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAA" +
  "CCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWp" +
  "CoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J" +
  "4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAI" +
  "IAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakK" +
  "gJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni" +
  "3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAgg" +
  "ADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqA" +
  "lzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1lIfF/J" +
  "AIpSyADAAAAEAAggADDMBSmmkSJDYUSJDxdyRThQkPaI5AI=";

/** A zstd frame of `n` zero bytes whose header does not record the content size (a streaming writer's frame). */
async function zstdOfZerosNoSize(n: number): Promise<Uint8Array> {
  const f = await compress("zstd:1", new Uint8Array(n));
  const fhd = f[4]!;
  const single = (fhd >>> 5) & 1;
  const fcsBytes = (fhd >>> 6) === 0 ? single : [1, 2, 4, 8][fhd >>> 6]!;
  const dictBytes = [0, 1, 2, 4][fhd & 3]!;
  const headerEnd = 5 + (single ? 0 : 1) + dictBytes + fcsBytes;
  // New header: no content size, not single-segment, so a Window_Descriptor (8 MiB window) instead.
  const header = [...f.subarray(0, 4), fhd & 0b00011111 & ~0b00100000, 13 << 3];
  return Uint8Array.from([...header, ...f.subarray(headerEnd)]);
}

// ---- datasets ----------------------------------------------------------------------------------

async function writeDataset(dir: string, columns: Record<string, string>, samples: Array<Record<string, unknown>>, compression: string | null = null, hashes: string[] = ["sha1"]): Promise<void> {
  const w = new MDSWriter({ out: dir, columns, compression, hashes, overwrite: true });
  for (const s of samples) await w.write(s);
  await w.finish();
}

function editIndex(dir: string, edit: (o: any) => void): void {
  const f = path.join(dir, "index.json");
  const o = JSON.parse(fs.readFileSync(f, "utf8"));
  edit(o);
  fs.writeFileSync(f, JSON.stringify(o));
}

/** Replaces shard 0's compressed file by `bytes`, index.json following its size (hashes dropped). */
function swapZip(dir: string, bytes: Uint8Array): void {
  const idx = readIndexFile(path.join(dir, "index.json"));
  const zip = idx.shards[0]!.zip_data!;
  fs.writeFileSync(path.join(dir, zip.basename), bytes);
  editIndex(dir, (o) => {
    o.shards[0].zip_data.bytes = bytes.length;
    o.shards[0].zip_data.hashes = {};
    o.shards[0].raw_data.hashes = {};
    o.shards[0].hashes = [];
  });
}

const TEXT_SAMPLES = [{ text: "a small honest sample" }, { text: "and a second one" }];

export interface CorpusOptions {
  /** Bytes the gz/br bombs decompress to (default 64 MiB; the CLI measurement uses 1 GiB). */
  bombBytes?: number;
}

/** Builds every case under `root` (created); returns them in a fixed order. */
export async function buildHostileCorpus(root: string, opts: CorpusOptions = {}): Promise<HostileCase[]> {
  const bomb = opts.bombBytes ?? 64 * 2 ** 20;
  fs.mkdirSync(root, { recursive: true });
  const cases: HostileCase[] = [];
  const add = async (c: Omit<HostileCase, "dir">, build: (dir: string) => Promise<void> | void) => {
    const dir = path.join(root, c.name);
    fs.rmSync(dir, { recursive: true, force: true });
    await build(dir);
    cases.push({ ...c, dir });
  };
  const pkl = (p: Uint8Array) => (dir: string) => writeDataset(dir, { value: "pkl" }, [{ value: p }]);
  // A Uint8Array is stored unchanged whatever the encoding (the reference's quirk): hostile text as is.
  const json = (text: string) => (dir: string) => writeDataset(dir, { value: "json" }, [{ value: new TextEncoder().encode(text) }]);
  const renderBudget = /shard\.00000\.mds sample 0: column "value" \(pkl\): pickle value expands to 3298534883327 values when printed, more than \d+/;

  await add({ name: "pkl-shared-lists", what: "pkl: 40 levels of lists holding the previous one twice (2^40 paths)", expect: "loads", expectRender: renderBudget }, pkl(sharedLists(40)));
  await add({ name: "pkl-shared-dicts", what: "pkl: 40 levels of dicts sharing one sub-dict under two keys", expect: "loads", expectRender: renderBudget }, pkl(sharedDicts(40)));
  await add(
    { name: "pkl-cycle", what: "pkl: a list that contains itself", expect: "loads", expectRender: /shard\.00000\.mds sample 0: column "value" \(pkl\): pickle value contains itself/ },
    pkl(pickle(EMPTY_LIST, MEMOIZE, get(0), APPEND)),
  );
  await add({ name: "pkl-deep", what: "pkl: lists nested 200,000 deep", expect: /shard\.00000\.mds sample 0: column "value" \(pkl\): pickle: containers nested more than 1000 deep/ }, pkl(nestedLists(200_000)));
  await add({ name: "pkl-wide-dict", what: "pkl: one dict of 20,000 keys (valid)", expect: "loads" }, pkl(wideDict(20_000)));
  await add({ name: "pkl-proto-key", what: 'pkl: a dict with a "__proto__" key (valid)', expect: "loads" }, pkl(pickle(EMPTY_DICT, MARK, str("__proto__"), EMPTY_DICT, str("polluted"), int(1), SETITEM, str("a"), int(2), SETITEMS)));
  await add({ name: "json-deep", what: "json: arrays nested 200,000 deep", expect: /shard\.00000\.mds sample 0: column "value" \(json\): invalid JSON at offset 1000: nested more than 1000 deep/ }, json("[".repeat(200_000) + "]".repeat(200_000)));
  await add({ name: "json-proto-key", what: 'json: an object with a "__proto__" key (valid)', expect: "loads" }, json('{"__proto__": {"polluted": true}, "a": 1}'));

  const zipped = (compression: string, bytes: () => Promise<Uint8Array> | Uint8Array) => async (dir: string) => {
    await writeDataset(dir, { text: "str" }, TEXT_SAMPLES, compression);
    swapZip(dir, await bytes());
  };
  const capped = (ext: string, family: string) =>
    new RegExp(`shard\\.00000\\.mds\\.${ext}: cannot decompress as ${family}: decompresses to more than the \\d+ bytes index.json declares`);
  await add({ name: "gz-bomb", what: `gz shard that inflates to ${bomb} bytes; index.json declares ~100`, expect: capped("gz", "gz") }, zipped("gz", () => zlibOfZeros(bomb, () => zlib.createGzip({ level: 1 }))));
  await add({ name: "br-bomb", what: `br shard that inflates to ${bomb} bytes`, expect: capped("br", "br") }, zipped("br", () => zlibOfZeros(bomb, () => zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } }))));
  await add(
    { name: "bz2-bomb", what: "bz2 shard (785 bytes) that inflates to 1 GiB", expect: capped("bz2", "bz2") },
    async (dir) => {
      // No bz2 writer: build as gz, then rename the file and the entry.
      await writeDataset(dir, { text: "str" }, TEXT_SAMPLES, "gz");
      fs.renameSync(path.join(dir, "shard.00000.mds.gz"), path.join(dir, "shard.00000.mds.bz2"));
      editIndex(dir, (o) => {
        o.shards[0].compression = "bz2";
        o.shards[0].zip_data.basename = "shard.00000.mds.bz2";
      });
      swapZip(dir, Buffer.from(BZ2_GIB_OF_ZEROS, "base64"));
    },
  );
  await add(
    { name: "zstd-lying-size", what: "zstd frame whose header claims 2^40 bytes", expect: /shard\.00000\.mds\.zstd: cannot decompress as zstd: frame claims 1099511627776 bytes/ },
    zipped("zstd", async () => {
      const f = await compress("zstd", new Uint8Array(1000));
      // Frame_Content_Size widened to 8 bytes: rebuild the header with FCS flag 3.
      const fhd = f[4]!;
      const single = (fhd >>> 5) & 1;
      const fcsBytes = (fhd >>> 6) === 0 ? single : [1, 2, 4, 8][fhd >>> 6]!;
      const at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
      const fcs = [0, 0, 0, 0, 0, 1, 0, 0]; // 2^40, little-endian
      return Uint8Array.from([...f.subarray(0, 4), fhd | 0b11000000, ...f.subarray(5, at), ...fcs, ...f.subarray(at + fcsBytes)]);
    }),
  );
  await add(
    { name: "zstd-bomb", what: `zstd frame without a content size that inflates to ${Math.min(bomb, 64 * 2 ** 20)} bytes`, expect: capped("zstd", "zstd") },
    zipped("zstd", () => zstdOfZerosNoSize(Math.min(bomb, 64 * 2 ** 20))),
  );
  await add({ name: "index-4e9-samples", what: "index.json claiming 4e9 samples in a 281-byte shard", expect: /index\.json: shards\[0\]\.samples: expected at most \d+ for a \d+-byte shard/ }, async (dir) => {
    await writeDataset(dir, { text: "str" }, TEXT_SAMPLES);
    editIndex(dir, (o) => (o.shards[0].samples = 4e9));
  });
  await add({ name: "index-huge-shard", what: "index.json declaring a 3 GiB raw shard behind a small gz file", expect: /shard\.00000\.mds: index\.json says this shard holds 3221225472 bytes, more than the \d+-byte limit for one shard/ }, async (dir) => {
    await writeDataset(dir, { text: "str" }, TEXT_SAMPLES, "gz");
    editIndex(dir, (o) => (o.shards[0].raw_data.bytes = 3 * 2 ** 30));
  });
  await add({ name: "raw-file-4gib", what: "a sparse 4 GiB file where index.json declares a ~100-byte shard", expect: /shard\.00000\.mds: too long: index\.json says \d+ bytes, file has 4294967296/ }, async (dir) => {
    await writeDataset(dir, { text: "str" }, TEXT_SAMPLES);
    fs.truncateSync(path.join(dir, "shard.00000.mds"), 2 ** 32);
  });
  await add({ name: "no-hashes", what: "index.json listing no hashes at all (valid)", expect: "loads" }, (dir) => writeDataset(dir, { text: "str" }, TEXT_SAMPLES, "zstd", []));
  await add({ name: "proto-column", what: 'a column named "__proto__" (valid)', expect: "loads" }, (dir) =>
    // JSON.parse makes "__proto__" an own key (an object literal would set the prototype instead).
    writeDataset(dir, JSON.parse('{"__proto__": "str", "id": "int"}'), [JSON.parse('{"__proto__": "kept", "id": 7}')]),
  );
  return cases;
}
