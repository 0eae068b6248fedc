/**
 * Load one shard from a local folder: the raw file if present, else the compressed one —
 * size-checked, hash-verified, decompressed. Errors name the file and what is wrong.
 */
import fsSync from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { decompress } from "./compression.js";
import { hashHex, VERIFY_PREFERENCE } from "./hashing.js";
import type { FileInfo, ShardEntry } from "./index-file.js";
import { maxShardBytes } from "./limits.js";
import { RawShard } from "./shard.js";

/** `"auto"`: check one hash the index lists (fastest first); a name: that one; false: none. */
export type ValidateHash = "auto" | false | string;

export function pickHash(entry: ShardEntry, info: FileInfo, mode: ValidateHash, file: string): string | null {
  if (mode === false) return null;
  const listed = Object.keys(info.hashes);
  if (mode === "auto") return VERIFY_PREFERENCE.find((h) => listed.includes(h)) ?? listed[0] ?? null;
  if (!listed.includes(mode)) throw new Error(`${file}: cannot validate with ${mode}: index.json lists only [${listed.join(", ")}] for this file`);
  return mode;
}

export async function verifyFile(data: Uint8Array, info: FileInfo, entry: ShardEntry, mode: ValidateHash, file: string): Promise<void> {
  if (data.length !== info.bytes) throw sizeMismatch(file, info.bytes, data.length);
  const algo = pickHash(entry, info, mode, file);
  if (!algo) return;
  const got = await hashHex(algo, data);
  if (got !== info.hashes[algo]!.toLowerCase()) {
    throw new Error(`${file}: ${algo} hash mismatch: index.json says ${info.hashes[algo]}, the file hashes to ${got}`);
  }
}

/** Size mismatch message shared by every check (the file against index.json). */
function sizeMismatch(file: string, declared: number, actual: number): Error {
  return new Error(`${file}: ${actual < declared ? "truncated" : "too long"}: index.json says ${declared} bytes, file has ${actual}`);
}

/**
 * The file's bytes, or null when it does not exist. Its size is checked against index.json's
 * before anything is read, so a 4 GB file standing in for a 200-byte shard is never loaded.
 */
async function readIfExists(file: string, declared: number): Promise<Uint8Array | null> {
  let size: number;
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) throw new Error("not a regular file");
    size = st.size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
  if (size !== declared) throw sizeMismatch(file, declared, size);
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
}

/** The size of the shard's local file (raw, else compressed) checked against index.json; false when neither exists. */
export function checkLocalShardSize(dir: string, entry: ShardEntry): boolean {
  for (const info of [entry.raw_data, entry.zip_data]) {
    if (!info) continue;
    const file = path.join(dir, info.basename);
    let st: fsSync.Stats;
    try {
      st = fsSync.statSync(file);
    } catch {
      continue;
    }
    if (!st.isFile()) throw new Error(`${file}: not a regular file`);
    if (st.size !== info.bytes) throw sizeMismatch(file, info.bytes, st.size);
    return true;
  }
  return false;
}

/**
 * Read shard `entry` from `dir`. With `writeRaw`, a decompressed shard is also saved beside the
 * compressed one (as `<raw>.tmp` then renamed, like the reference) so the next load is cheaper.
 */
export async function loadShard(dir: string, entry: ShardEntry, validateHash: ValidateHash = "auto", writeRaw = false, maxBytes = maxShardBytes()): Promise<RawShard> {
  const rawFile = path.join(dir, entry.raw_data.basename);
  if (entry.raw_data.bytes > maxBytes) {
    throw new Error(`${rawFile}: index.json says this shard holds ${entry.raw_data.bytes} bytes, more than the ${maxBytes}-byte limit for one shard (raise maxShardBytes or MOSAICBERT_MAX_SHARD_BYTES to read it)`);
  }
  const raw = await readIfExists(rawFile, entry.raw_data.bytes);
  if (raw) {
    if (!entry.zip_data) await verifyFile(raw, entry.raw_data, entry, validateHash, rawFile);
    return new RawShard(raw, rawFile, entry);
  }
  if (!entry.zip_data || !entry.compression) throw new Error(`${rawFile}: shard file is missing`);
  const zipFile = path.join(dir, entry.zip_data.basename);
  if (entry.zip_data.bytes > maxBytes + 2 ** 20) {
    throw new Error(`${zipFile}: index.json says this compressed shard holds ${entry.zip_data.bytes} bytes, more than the ${maxBytes}-byte limit for one shard (raise maxShardBytes or MOSAICBERT_MAX_SHARD_BYTES to read it)`);
  }
  const zip = await readIfExists(zipFile, entry.zip_data.bytes);
  if (!zip) {
    // Another process sharing this cache may have decompressed the shard meanwhile (and removed the zip).
    const again = await readIfExists(rawFile, entry.raw_data.bytes);
    if (again) return new RawShard(again, rawFile, entry);
  }
  if (!zip) throw new Error(`${zipFile}: shard file is missing (neither it nor ${entry.raw_data.basename} exists)`);
  await verifyFile(zip, entry.zip_data, entry, validateHash, zipFile);
  const data = await decompress(entry.compression, zip, zipFile, entry.raw_data.bytes);
  if (writeRaw) {
    // A temporary name of this process: ranks sharing a node's cache may decompress the same shard at once.
    const tmp = `${rawFile}.${process.pid}.tmp`;
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, rawFile);
  }
  return new RawShard(data, `${zipFile} (decompressed)`, entry);
}
