/**
 * One Stream: a dataset folder (index.json + shards) read from a local folder, or downloaded from
 * a remote into a local cache on demand. Shards in memory are kept in a small LRU.
 */
import fs from "node:fs";
import path from "node:path";
import type { MdsIndex, ShardEntry } from "../mds/index-file.js";
import { readIndexFile } from "../mds/reader.js";
import type { RawShard } from "../mds/shard.js";
import { MAX_INDEX_BYTES, maxShardBytes } from "../mds/limits.js";
import { checkLocalShardSize, loadShard, type ValidateHash } from "../mds/shard-file.js";
import { privateCacheDir } from "./cache-dir.js";
import { download, joinRemote, type DownloadOptions } from "./download.js";

export interface StreamOptions {
  /**
   * Where shards come from: s3://bucket/prefix, gs://bucket/prefix, hf://datasets/owner/name/path,
   * http(s):// URL, file:// URL or folder. Omit to read `local` directly.
   */
  remote?: string;
  /** Local folder (the cache when `remote` is set; default: a private folder under $XDG_CACHE_HOME or ~/.cache, see cache-dir.ts). */
  local?: string;
  split?: string;
  /** Relative weight (at most one of proportion / repeat / choose). */
  proportion?: number;
  /** Multiplier of the stream's size per epoch. */
  repeat?: number;
  /** Absolute number of samples per epoch. */
  choose?: number;
  validateHash?: ValidateHash;
  /** Keep the compressed file after decompressing a downloaded shard (default false). */
  keepZip?: boolean;
  downloadTimeoutMs?: number;
  downloadRetry?: number;
  /** Largest raw shard read (bytes or "1gb"; default 512 MiB or MOSAICBERT_MAX_SHARD_BYTES). */
  maxShardBytes?: number | string;
}

export class Stream {
  readonly opts: StreamOptions;
  readonly localDir: string;
  readonly remoteDir: string | null;
  index!: MdsIndex;
  private readonly dl: DownloadOptions;
  private readonly maxShardBytes: number;

  constructor(opts: StreamOptions) {
    const weights = [opts.proportion, opts.repeat, opts.choose].filter((w) => w !== undefined);
    if (weights.length > 1) throw new Error("Stream: set at most one of proportion, repeat, choose");
    if (!opts.local && !opts.remote) throw new Error("Stream: give local and/or remote");
    this.opts = opts;
    this.maxShardBytes = maxShardBytes(opts.maxShardBytes);
    const local = opts.local ?? privateCacheDir(opts.remote!);
    this.localDir = path.join(local, opts.split ?? "");
    this.remoteDir = opts.remote && opts.remote !== opts.local ? joinRemote(opts.remote, opts.split ?? "") : null;
    this.dl = { timeoutMs: opts.downloadTimeoutMs ?? 60_000, retries: opts.downloadRetry ?? 2 };
  }

  /** Fetch (if remote) and parse index.json. */
  async init(): Promise<void> {
    const file = path.join(this.localDir, "index.json");
    if (this.remoteDir) await download(joinRemote(this.remoteDir, "index.json"), file, { ...this.dl, maxBytes: MAX_INDEX_BYTES });
    this.index = readIndexFile(file, this.remoteDir ? joinRemote(this.remoteDir, "index.json") : file);
    if (!this.index.shards.some((s) => s.samples > 0)) throw new Error(`${file}: stream contains no samples`);
    // A local dataset's shards are all there: their sizes are checked now, so an index.json claiming
    // more than its files hold is refused before anything is sized by its sample counts.
    if (!this.remoteDir) {
      for (const e of this.index.shards) {
        if (!checkLocalShardSize(this.localDir, e)) throw new Error(`${path.join(this.localDir, e.raw_data.basename)}: shard file is missing (listed in ${file})`);
      }
    }
  }

  /** Takes an index another thread already fetched, parsed and checked (`StreamingDataset.opened`), instead of `init()`. */
  adopt(index: MdsIndex): void {
    this.index = index;
  }

  get numSamples(): number {
    return this.index.shards.reduce((a, s) => a + s.samples, 0);
  }

  /** Bytes the shard occupies in the cache once local (raw, plus zip if kept). */
  cacheBytes(entry: ShardEntry): number {
    return entry.raw_data.bytes + (entry.zip_data && this.opts.keepZip ? entry.zip_data.bytes : 0);
  }

  isLocal(entry: ShardEntry): boolean {
    return fs.existsSync(path.join(this.localDir, entry.raw_data.basename)) ||
      (!!entry.zip_data && fs.existsSync(path.join(this.localDir, entry.zip_data.basename)));
  }

  /** Make shard `s` local (download when remote) and return it loaded. */
  async fetchAndLoad(s: number): Promise<RawShard> {
    const entry = this.index.shards[s]!;
    if (this.remoteDir && !this.isLocal(entry)) {
      const info = entry.zip_data ?? entry.raw_data;
      // The size index.json declares bounds the transfer (object stores stop there); hashes are checked on load.
      await download(joinRemote(this.remoteDir, info.basename), path.join(this.localDir, info.basename), { ...this.dl, maxBytes: info.bytes });
    }
    const shard = await loadShard(this.localDir, entry, this.opts.validateHash ?? "auto", !!this.remoteDir, this.maxShardBytes);
    if (this.remoteDir && entry.zip_data && !this.opts.keepZip) {
      fs.rmSync(path.join(this.localDir, entry.zip_data.basename), { force: true });
    }
    return shard;
  }

  /** Remove the shard's local files (cache eviction); returns the bytes freed. */
  evict(entry: ShardEntry): number {
    let freed = 0;
    for (const info of [entry.raw_data, entry.zip_data]) {
      if (!info) continue;
      const f = path.join(this.localDir, info.basename);
      if (fs.existsSync(f)) {
        freed += fs.statSync(f).size;
        fs.rmSync(f);
      }
    }
    return freed;
  }
}
