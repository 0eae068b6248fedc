/**
 * One Stream: a dataset folder (index.json + shards) read from a local folder, or downloaded from
 * a remote into a local cache on demand. Shards in memory are kept in a small LRU.
 */
import fs from "node:fs";
import path from "node:path";
import type { FileInfo, MdsIndex, ShardEntry } from "../mds/index-file.js";
import { isSupportedHash } from "../mds/hashing.js";
import { readIndexFile } from "../mds/reader.js";
import type { RawShard } from "../mds/shard.js";
import { MAX_INDEX_BYTES, maxShardBytes } from "../mds/limits.js";
import { checkLocalShardSize, loadShard, pickHash, type ValidateHash } from "../mds/shard-file.js";
import { privateCacheDir } from "./cache-dir.js";
import { download, joinRemote, redactUrl, type DownloadOptions } from "./download.js";

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

/** A JSON file's content, or null when it is missing or not JSON. */
function readJsonQuietly(file: string): unknown {
  try {
    if (fs.statSync(file).size > MAX_INDEX_BYTES) return null;
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return null;
  }
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

  /**
   * Fetch (if remote) and parse index.json. A remote dataset changed in place (its index.json differs
   * from the cached one) does not reuse stale shards: the cached files of every shard whose entry
   * changed, or that is gone, are removed (see dropChangedShards).
   */
  async init(): Promise<void> {
    const file = path.join(this.localDir, "index.json");
    let before: unknown = null;
    let since = 0;
    if (this.remoteDir) {
      since = Date.now();
      before = readJsonQuietly(file);
      await download(joinRemote(this.remoteDir, "index.json"), file, { ...this.dl, maxBytes: MAX_INDEX_BYTES });
    }
    this.index = readIndexFile(file, this.remoteDir ? redactUrl(joinRemote(this.remoteDir, "index.json")) : file);
    if (this.remoteDir && before !== null) this.dropChangedShards(before, readJsonQuietly(file), since);
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

  /**
   * Removes the cached files of shards that the previous index.json (`before`, as cached) listed and
   * `after` (the one just fetched) does not list identically: a dataset regenerated at the same URL
   * may keep its shard names and sizes, so a file is kept only when its shard's whole entry (sizes,
   * hashes, sample count, columns) is unchanged. Only files last written before `since` (when this
   * init started) are removed: a newer one was written by a process that already read the new index.
   */
  private dropChangedShards(before: unknown, after: unknown, since: number): void {
    const entries = (doc: unknown): Array<Record<string, unknown>> => {
      const shards = (doc as { shards?: unknown } | null)?.shards;
      return Array.isArray(shards) ? shards.filter((e): e is Record<string, unknown> => !!e && typeof e === "object") : [];
    };
    const filesOf = (e: Record<string, unknown>): string[] =>
      [e.raw_data, e.zip_data].map((d) => (d as { basename?: unknown } | null)?.basename).filter((b): b is string => typeof b === "string");
    const keep = new Map<string, string>();
    for (const e of entries(after)) for (const b of filesOf(e)) keep.set(b, JSON.stringify(e));
    for (const e of entries(before)) {
      const was = JSON.stringify(e);
      for (const b of filesOf(e)) {
        // A cached index.json is data from a server: only plain names inside this folder are touched.
        if (keep.get(b) === was || b !== path.basename(b) || b === "." || b === ".." || b === "index.json") continue;
        const f = path.join(this.localDir, b);
        try {
          const st = fs.lstatSync(f);
          if (st.isFile() && st.mtimeMs < since) fs.rmSync(f, { force: true });
        } catch {
          // Not there (never fetched, or evicted).
        }
      }
    }
  }

  /** Whether the file `info` names is in the local folder with the size index.json lists. */
  private hasFile(info: FileInfo): boolean {
    try {
      const st = fs.statSync(path.join(this.localDir, info.basename));
      return st.isFile() && st.size === info.bytes;
    } catch {
      return false;
    }
  }

  /** The shard is in the local folder: its raw or compressed file, with the size index.json lists. */
  isLocal(entry: ShardEntry): boolean {
    return this.hasFile(entry.raw_data) || (!!entry.zip_data && this.hasFile(entry.zip_data));
  }

  /** The hash a download of `info` is checked with before it enters the cache, or null. */
  private downloadHash(entry: ShardEntry, info: FileInfo): { algo: string; hex: string } | null {
    const mode = this.opts.validateHash ?? "auto";
    let algo: string | null;
    try {
      algo = pickHash(entry, info, mode, info.basename);
    } catch {
      return null; // a hash index.json does not list: loadShard says so
    }
    return algo && isSupportedHash(algo) ? { algo, hex: info.hashes[algo]! } : null;
  }

  /** Make shard `s` local (download when remote) and return it loaded. */
  async fetchAndLoad(s: number): Promise<RawShard> {
    const entry = this.index.shards[s]!;
    let verified = false;
    if (this.remoteDir && !this.isLocal(entry)) {
      // A cached file of the wrong size (a transfer cut short, a changed dataset) is not used: it is fetched again.
      for (const f of [entry.raw_data, entry.zip_data]) {
        if (!f) continue;
        const file = path.join(this.localDir, f.basename);
        try {
          const st = fs.statSync(file);
          if (st.isFile() && st.size !== f.bytes) fs.rmSync(file, { force: true });
        } catch {
          // missing
        }
      }
      const info = entry.zip_data ?? entry.raw_data;
      // The file is checked against index.json's size (and a hash it lists) before it enters the cache;
      // a mismatch is retried. The size also bounds the transfer (object stores stop there).
      const hash = this.downloadHash(entry, info);
      await download(joinRemote(this.remoteDir, info.basename), path.join(this.localDir, info.basename), {
        ...this.dl, maxBytes: info.bytes, expectBytes: info.bytes, ...(hash ? { expectHash: hash } : {}),
      });
      verified = hash !== null;
    }
    const shard = await loadShard(this.localDir, entry, verified ? false : this.opts.validateHash ?? "auto", !!this.remoteDir, this.maxShardBytes);
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
