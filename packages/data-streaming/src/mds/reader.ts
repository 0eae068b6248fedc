/**
 * MDSReader: random access to the samples of one local MDS folder (index.json + shards).
 * Shards are loaded on demand and a few are kept in memory (least recently used dropped first).
 */
import fs from "node:fs";
import path from "node:path";
import { getCodec, type Codec } from "./encodings.js";
import { parseIndexText, type MdsIndex, type ShardEntry } from "./index-file.js";
import { MAX_INDEX_BYTES, maxShardBytes } from "./limits.js";
import { setOwn } from "./pyjson.js";
import type { RawShard } from "./shard.js";
import { loadShard, type ValidateHash } from "./shard-file.js";

export interface MDSReaderOptions {
  /** Sub-folder holding index.json (e.g. "train"). */
  split?: string;
  /** Hash check on load: "auto" (default), an algorithm name, or false. */
  validateHash?: ValidateHash;
  /** Decoded shards kept in memory (default 4). */
  cachedShards?: number;
  /** Largest raw shard read (bytes or "1gb"; default 512 MiB or MOSAICBERT_MAX_SHARD_BYTES). */
  maxShardBytes?: number | string;
}

export interface RawSample {
  shard: number;
  indexInShard: number;
  /** Column bytes in column_names order. */
  columns: Uint8Array[];
  entry: ShardEntry;
}

/** Reads and validates an index.json; `name` is how errors about its contents name it (a remote URL, say). */
export function readIndexFile(file: string, name = file): MdsIndex {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_INDEX_BYTES) throw new Error(`${size} bytes, more than the ${MAX_INDEX_BYTES} an index.json may have`);
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read index: ${(e as Error).message}`);
  }
  return parseIndexText(text, name);
}

export class MDSReader {
  readonly dir: string;
  readonly indexFile: string;
  readonly index: MdsIndex;
  /** Global sample id of each shard's first sample (plus the total at the end). */
  readonly shardStarts: number[];
  private readonly validateHash: ValidateHash;
  private readonly maxCached: number;
  private readonly maxShardBytes: number;
  private readonly cache = new Map<number, Promise<RawShard>>();

  constructor(dir: string, opts: MDSReaderOptions = {}) {
    this.dir = path.join(dir, opts.split ?? "");
    this.indexFile = path.join(this.dir, "index.json");
    this.index = readIndexFile(this.indexFile);
    this.validateHash = opts.validateHash ?? "auto";
    this.maxCached = Math.max(1, opts.cachedShards ?? 4);
    this.maxShardBytes = maxShardBytes(opts.maxShardBytes);
    this.shardStarts = [0];
    for (const s of this.index.shards) this.shardStarts.push(this.shardStarts.at(-1)! + s.samples);
  }

  get size(): number {
    return this.shardStarts.at(-1)!;
  }

  /** (shard, index in shard) of a global sample id; binary search over shard starts. */
  locate(i: number): { shard: number; indexInShard: number } {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new Error(`${this.indexFile}: sample ${i} out of range 0..${this.size - 1}`);
    let lo = 0;
    let hi = this.index.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.shardStarts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    // Skip 0-sample shards that share the same start.
    while (this.shardStarts[lo + 1]! <= i) lo++;
    return { shard: lo, indexInShard: i - this.shardStarts[lo]! };
  }

  loadShard(s: number): Promise<RawShard> {
    let p = this.cache.get(s);
    if (p) {
      this.cache.delete(s);
      this.cache.set(s, p);
      return p;
    }
    p = loadShard(this.dir, this.index.shards[s]!, this.validateHash, false, this.maxShardBytes);
    p.catch(() => this.cache.delete(s));
    this.cache.set(s, p);
    while (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value!);
    return p;
  }

  async getRaw(i: number): Promise<RawSample> {
    const { shard, indexInShard } = this.locate(i);
    const raw = await this.loadShard(shard);
    return { shard, indexInShard, columns: raw.columns(indexInShard), entry: raw.entry };
  }

  /** Decoded sample i: column name -> value (see encodings.ts for the JS types). */
  async get(i: number): Promise<Record<string, unknown>> {
    const r = await this.getRaw(i);
    return decodeColumns(r, `${path.join(this.dir, r.entry.raw_data.basename)} sample ${r.indexInShard}`);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Record<string, unknown>> {
    for (let i = 0; i < this.size; i++) yield await this.get(i);
  }
}

const codecCache = new Map<string, Codec>();
function codecFor(enc: string): Codec {
  let c = codecCache.get(enc);
  if (!c) {
    c = getCodec(enc);
    codecCache.set(enc, c);
  }
  return c;
}

export function decodeColumns(r: RawSample, where: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  r.entry.column_names.forEach((name, c) => {
    try {
      setOwn(out, name, codecFor(r.entry.column_encodings[c]!).decode(r.columns[c]!));
    } catch (e) {
      throw new Error(`${where}: column "${name}" (${r.entry.column_encodings[c]}): ${(e as Error).message}`);
    }
  });
  return out;
}
