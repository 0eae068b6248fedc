/**
 * Load one shard from a local folder: the raw file if present, else the compressed one —
 * size-checked, hash-verified, decompressed. Errors name the file and what is wrong.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { decompress } from "./compression.js";
import { hashHex, VERIFY_PREFERENCE } from "./hashing.js";
import type { FileInfo, ShardEntry } from "./index-file.js";
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
  if (data.length !== info.bytes) {
    throw new Error(`${file}: ${data.length < info.bytes ? "truncated" : "too long"}: index.json says ${info.bytes} bytes, file has ${data.length}`);
  }
  const algo = pickHash(entry, info, mode, file);
  if (!algo) return;
  const got = await hashHex(algo, data);
  if (got !== info.hashes[algo]!.toLowerCase()) {
    throw new Error(`${file}: ${algo} hash mismatch: index.json says ${info.hashes[algo]}, the file hashes to ${got}`);
  }
}

async function readIfExists(file: string): Promise<Uint8Array | null> {
  try {
    return new Uint8Array(await fs.readFile(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`${file}: cannot read: ${(e as Error).message}`);
  }
}

/**
 * Read shard `entry` from `dir`. With `writeRaw`, a decompressed shard is also saved beside the
 * compressed one (as `<raw>.tmp` then renamed, like the reference) so the next load is cheaper.
 */
export async function loadShard(dir: string, entry: ShardEntry, validateHash: ValidateHash = "auto", writeRaw = false): Promise<RawShard> {
  const rawFile = path.join(dir, entry.raw_data.basename);
  const raw = await readIfExists(rawFile);
  if (raw) {
    if (!entry.zip_data) await verifyFile(raw, entry.raw_data, entry, validateHash, rawFile);
    return new RawShard(raw, rawFile, entry);
  }
  if (!entry.zip_data || !entry.compression) throw new Error(`${rawFile}: shard file is missing`);
  const zipFile = path.join(dir, entry.zip_data.basename);
  const zip = await readIfExists(zipFile);
  if (!zip) {
    // Another process sharing this cache may have decompressed the shard meanwhile (and removed the zip).
    const again = await readIfExists(rawFile);
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
