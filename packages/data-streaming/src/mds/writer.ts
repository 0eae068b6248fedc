/**
 * MDSWriter: the same files, byte for byte, as mosaicml-streaming's `MDSWriter` for the same
 * samples (compressed files may differ where the compressor library differs; gzip embeds a time).
 */
import fs from "node:fs";
import path from "node:path";
import { compress, parseCompression } from "./compression.js";
import { encodeValue, getCodec, type Codec } from "./encodings.js";
import { hashHex, isSupportedHash, supportedHashes } from "./hashing.js";
import type { FileInfo, ShardEntry } from "./index-file.js";
import { readIndexFile } from "./reader.js";
import { pyDumps, type PyJson } from "./pyjson.js";
import { buildShard, packSample } from "./shard.js";
import { parseByteSize } from "./sizes.js";

export interface MDSWriterOptions {
  /** Output folder (created if missing; must not already hold an index.json unless `overwrite`). */
  out: string;
  /** Column name -> encoding, e.g. {text: "str", tokens: "bytes"}. Stored sorted by name. */
  columns: Record<string, string>;
  /** "zstd", "zstd:7", "gz", "br", "snappy" (bz2 is read-only); default none. */
  compression?: string | null;
  /** Hash names, sorted and unique as the reference requires (e.g. ["sha1", "xxh64"]). */
  hashes?: string[];
  /** Raw shard size limit in bytes or "64mb"; default 1<<26; null/0 = one shard (index.json: null). */
  sizeLimit?: number | string | null;
  overwrite?: boolean;
  /** Called with the path of each shard file once written (uploads to a remote start here). */
  onShard?: (file: string) => void | Promise<void>;
}

export const DEFAULT_SIZE_LIMIT = 1 << 26;

/** Shard names a writer (this one or the reference) puts in a dataset folder, with their temp files. */
const SHARD_NAME = /^shard\.\d{5}\.mds(\.(zstd|gz|br|bz2|snappy))?(\.\d+)?(\.tmp)?$/;

/**
 * The files of a dataset already in `dir`: index.json, every file it lists, and any shard-named
 * file (a conversion killed before its index.json). Nothing else in the folder is touched.
 */
function oldDatasetFiles(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out = new Set(names.filter((n) => SHARD_NAME.test(n)));
  if (names.includes("index.json")) {
    out.add("index.json");
    try {
      // Listed names are relative and free of ".." (validateIndex); those inside a sub-folder (merged
      // indexes) are left alone, as the sub-folder could be a symlink to anywhere.
      for (const s of readIndexFile(path.join(dir, "index.json")).shards) {
        for (const info of [s.raw_data, s.zip_data]) if (info && !info.basename.includes("/")) out.add(info.basename);
      }
    } catch {
      // An unreadable index: its shard-named files are still found above.
    }
  }
  return [...out].sort((a, b) => (a === "index.json" ? -1 : b === "index.json" ? 1 : a < b ? -1 : 1));
}

/**
 * Removes an old dataset before a new one is written: index.json first (so the folder never looks
 * complete with stale shards), then each file — unlinked, never followed if it is a symlink, never
 * recursed into if it is a folder. A raw shard left from an uncompressed dataset would otherwise be
 * read in place of the new compressed one of the same name.
 */
function removeDataset(dir: string, files: string[]): void {
  for (const f of files) {
    const p = path.join(dir, f);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) throw new Error(`MDSWriter: ${p} is a folder where the old dataset had a file; remove it yourself`);
    try {
      fs.unlinkSync(p);
    } catch (e) {
      throw new Error(`MDSWriter: cannot remove ${p} of the old dataset: ${(e as Error).message}`);
    }
  }
}

/** What every shard's header stores; its index.json entry is this plus the shard's own fields. */
type ShardConfig = Omit<ShardEntry, "raw_data" | "samples" | "zip_data">;

export class MDSWriter {
  readonly out: string;
  private readonly names: string[];
  private readonly encodings: string[];
  private readonly codecs: Codec[];
  private readonly sizes: Array<number | null>;
  private readonly compression: string | null;
  private readonly hashes: string[];
  private readonly sizeLimit: number | null;
  /** What index.json and the header record (the user's value, 0 included). */
  private readonly storedSizeLimit: number | null;
  private readonly config: ShardConfig;
  private readonly header: Uint8Array;
  private readonly entries: ShardEntry[] = [];
  private pending: Uint8Array[] = [];
  private pendingSize: number;
  private finished = false;
  private readonly onShard: MDSWriterOptions["onShard"];

  constructor(opts: MDSWriterOptions) {
    this.out = opts.out;
    this.names = Object.keys(opts.columns).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (!this.names.length) throw new Error("MDSWriter: columns must name at least one column");
    this.encodings = this.names.map((n) => opts.columns[n]!);
    this.codecs = this.names.map((n, i) => {
      try {
        return getCodec(this.encodings[i]!);
      } catch (e) {
        throw new Error(`MDSWriter: column "${n}": ${(e as Error).message}`);
      }
    });
    this.sizes = this.codecs.map((c) => c.size);
    this.compression = opts.compression ?? null;
    if (this.compression !== null) {
      parseCompression(this.compression);
      if (this.compression.startsWith("bz2")) {
        throw new Error("MDSWriter: bz2 compression can be read but not written here (no practical pure-JS bzip2 compressor); use zstd, gz, br or snappy");
      }
    }
    this.hashes = opts.hashes ?? [];
    for (const h of this.hashes) {
      if (!isSupportedHash(h)) throw new Error(`MDSWriter: unknown hash "${h}"; supported: ${supportedHashes().join(", ")}`);
    }
    const sorted = [...new Set(this.hashes)].sort();
    if (sorted.join() !== this.hashes.join()) throw new Error(`MDSWriter: hashes must be sorted and unique, got ${JSON.stringify(this.hashes)}`);
    // As the reference (`size_limit_value = None` unless `size_limit` is truthy): 0, "" and null store
    // null; a value parsing to 0 ("0", "0kb") stores 0. Either way there is no limit.
    const given = opts.sizeLimit === undefined ? DEFAULT_SIZE_LIMIT : opts.sizeLimit;
    const limit = given === null || given === 0 || given === "" ? null : parseByteSize(given, "sizeLimit");
    if (limit !== null && limit >= 2 ** 32) throw new Error(`MDSWriter: sizeLimit ${limit} must be below 2^32 (offsets are u32)`);
    this.sizeLimit = limit === 0 ? null : limit;
    this.storedSizeLimit = limit;
    this.config = {
      column_encodings: this.encodings,
      column_names: this.names,
      column_sizes: this.sizes,
      compression: this.compression,
      format: "mds",
      hashes: this.hashes,
      size_limit: this.storedSizeLimit,
      version: 2,
    };
    this.onShard = opts.onShard;
    this.header = new TextEncoder().encode(pyDumps(this.config, true));
    this.pendingSize = 8 + this.header.length;
    const old = oldDatasetFiles(this.out);
    if (old.length && !opts.overwrite) {
      const what = old.includes("index.json") ? `${path.join(this.out, "index.json")} already exists` : `${this.out} holds shard files of an earlier conversion (${old[0]}, …)`;
      throw new Error(`MDSWriter: ${what} (pass overwrite to replace the dataset)`);
    }
    if (old.length) removeDataset(this.out, old);
    fs.mkdirSync(this.out, { recursive: true });
  }

  /** Encode one sample (an object with every column) and append it, flushing a shard first if full. */
  async write(sample: Record<string, unknown>): Promise<void> {
    if (this.finished) throw new Error("MDSWriter: write() after finish()");
    const values = this.names.map((n, i) => {
      if (!(n in sample)) throw new Error(`MDSWriter: sample ${this.count()} has no column "${n}"`);
      let v: Uint8Array;
      try {
        v = encodeValue(this.codecs[i]!, sample[n]);
      } catch (e) {
        throw new Error(`MDSWriter: sample ${this.count()}, column "${n}" (${this.encodings[i]}): ${(e as Error).message}`);
      }
      const fixed = this.sizes[i];
      if (fixed !== null && fixed !== undefined && v.length !== fixed) {
        throw new Error(`MDSWriter: sample ${this.count()}, column "${n}": ${v.length} bytes, the encoding ${this.encodings[i]} takes exactly ${fixed}`);
      }
      return v;
    });
    const packed = packSample(values, this.sizes);
    // The reference checks the limit before looking at whether the open shard is empty, so an
    // oversized very first sample leaves a 0-sample shard behind; mirrored on purpose.
    if (this.sizeLimit !== null && this.sizeLimit < this.pendingSize + packed.length + 4) await this.flush();
    this.pending.push(packed);
    this.pendingSize += packed.length + 4;
  }

  private count(): number {
    return this.entries.reduce((a, e) => a + e.samples, 0) + this.pending.length;
  }

  private async info(basename: string, data: Uint8Array): Promise<FileInfo> {
    const hashes: Record<string, string> = {};
    for (const h of this.hashes) hashes[h] = await hashHex(h, data);
    return { basename, bytes: data.length, hashes };
  }

  private async flush(): Promise<void> {
    const raw = buildShard(this.header, this.pending);
    const basename = `shard.${String(this.entries.length).padStart(5, "0")}.mds`;
    const rawInfo = await this.info(basename, raw);
    let zipInfo: FileInfo | null = null;
    if (this.compression) {
      const zip = await compress(this.compression, raw);
      const zipName = `${basename}.${parseCompression(this.compression).family}`;
      zipInfo = await this.info(zipName, zip);
      fs.writeFileSync(path.join(this.out, zipName), zip);
    } else {
      fs.writeFileSync(path.join(this.out, basename), raw);
    }
    await this.onShard?.(path.join(this.out, zipInfo?.basename ?? basename));
    // Key order does not matter: index.json is written with sorted keys, as the reference does.
    this.entries.push({ ...this.config, raw_data: rawInfo, samples: this.pending.length, zip_data: zipInfo });
    this.pending = [];
    this.pendingSize = 8 + this.header.length;
  }

  /** Flush the last shard and write index.json (last, so its presence means "complete"). */
  async finish(): Promise<ShardEntry[]> {
    if (this.finished) return this.entries;
    if (this.pending.length) await this.flush();
    this.finished = true;
    const index = { shards: this.entries as unknown as PyJson, version: 2 };
    fs.writeFileSync(path.join(this.out, "index.json"), pyDumps(index, true));
    return this.entries;
  }
}
