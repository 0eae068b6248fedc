/**
 * Budgets for reading MDS data written by strangers. Each bounds what a small hostile file could
 * make the reader allocate before the data proves itself (see docs/reliability.md).
 */
import { parseByteSize } from "./sizes.js";

/**
 * Raw (decompressed) bytes of one shard. The reference writes 64 MiB shards by default; a shard is
 * held whole in memory, so a larger claim is refused unless the caller raises the limit
 * (`maxShardBytes` option, or MOSAICBERT_MAX_SHARD_BYTES for the CLI).
 */
export const DEFAULT_MAX_SHARD_BYTES = 512 * 2 ** 20;

/** index.json text (C4's 365 M samples fit in a few MB). */
export const MAX_INDEX_BYTES = 256 * 2 ** 20;

/** Shard offsets are u32, so a raw shard (whose size is its last offset) is below 4 GiB. */
export const MAX_RAW_SHARD_BYTES = 2 ** 32 - 1;

/** The shard size limit in force: the option, else MOSAICBERT_MAX_SHARD_BYTES, else the default. */
export function maxShardBytes(option?: number | string): number {
  if (option !== undefined) return parseByteSize(option, "maxShardBytes");
  const env = process.env.MOSAICBERT_MAX_SHARD_BYTES;
  if (env) return parseByteSize(/^\d+$/.test(env) ? Number(env) : env, "MOSAICBERT_MAX_SHARD_BYTES");
  return DEFAULT_MAX_SHARD_BYTES;
}
