/**
 * Hash algorithms of mosaicml-streaming's `get_hash`: hashlib names (through node:crypto) and the
 * xxhash family (through hash-wasm). Digests are lowercase hex over whole files.
 */
import crypto from "node:crypto";
import { md5, sha1, sha256, xxhash128, xxhash3, xxhash32, xxhash64 } from "hash-wasm";

const WASM: Record<string, (d: Uint8Array) => Promise<string>> = {
  md5, sha1, sha256,
  xxh32: (d) => xxhash32(d),
  xxh64: (d) => xxhash64(d),
  xxh3_64: (d) => xxhash3(d),
  xxh128: (d) => xxhash128(d),
  xxh3_128: (d) => xxhash128(d),
};

const NODE: Record<string, string> = {
  sha224: "sha224", sha384: "sha384", sha512: "sha512",
  sha3_224: "sha3-224", sha3_256: "sha3-256", sha3_384: "sha3-384", sha3_512: "sha3-512",
  blake2b: "blake2b512", blake2s: "blake2s256",
};

export function supportedHashes(): string[] {
  return [...Object.keys(WASM), ...Object.keys(NODE)].sort();
}

export function isSupportedHash(algo: string): boolean {
  return Object.hasOwn(WASM, algo) || Object.hasOwn(NODE, algo);
}

export async function hashHex(algo: string, data: Uint8Array): Promise<string> {
  const w = Object.hasOwn(WASM, algo) ? WASM[algo] : undefined;
  if (w) return w(data);
  const n = Object.hasOwn(NODE, algo) ? NODE[algo] : undefined;
  if (n) return crypto.createHash(n).update(data).digest("hex");
  throw new Error(`unknown hash algorithm "${algo}"; supported: ${supportedHashes().join(", ")}`);
}

/** Preferred order when the reader may pick any listed hash to verify (fastest first). */
export const VERIFY_PREFERENCE = ["xxh3_64", "xxh64", "xxh128", "xxh3_128", "xxh32", "sha1", "md5", "sha256"];
