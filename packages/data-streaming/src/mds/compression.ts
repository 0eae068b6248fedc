/**
 * Shard compression families of mosaicml-streaming: zstd, gz, br, bz2 (read only), snappy.
 * A compression string is `family` or `family:level`; the shard file extension is the family.
 */
import zlib from "node:zlib";
import * as zstd from "@bokuweb/zstd-wasm";
// @ts-expect-error snappyjs ships no types
import snappy from "snappyjs";
// @ts-expect-error seek-bzip ships no types
import Bunzip from "seek-bzip";
import { checkSnappyBlock } from "./snappy-check.js";
import { zstdFrameContentSize } from "./zstd-frame.js";

export const COMPRESSION_FAMILIES = ["zstd", "gz", "br", "bz2", "snappy"] as const;
export type CompressionFamily = (typeof COMPRESSION_FAMILIES)[number];

const LEVELS: Record<CompressionFamily, { min: number; max: number; def: number } | null> = {
  zstd: { min: 1, max: 22, def: 3 },
  gz: { min: 0, max: 9, def: 9 },
  br: { min: 0, max: 11, def: 11 },
  bz2: { min: 1, max: 9, def: 9 },
  snappy: null,
};

export interface Compression {
  family: CompressionFamily;
  level: number | null;
}

/** Parse `zstd`, `zstd:7`, ...; throws naming the accepted forms. */
export function parseCompression(spec: string): Compression {
  const [family, level, ...rest] = spec.split(":");
  if (!(COMPRESSION_FAMILIES as readonly string[]).includes(family!) || rest.length) {
    throw new Error(`unknown compression "${spec}"; expected one of ${COMPRESSION_FAMILIES.join(", ")}, optionally ":level"`);
  }
  const f = family as CompressionFamily;
  const range = LEVELS[f];
  if (level === undefined) return { family: f, level: range ? range.def : null };
  if (!range) throw new Error(`compression "${spec}": ${f} takes no level`);
  const n = Number(level);
  if (!/^\d+$/.test(level) || n < range.min || n > range.max) {
    throw new Error(`compression "${spec}": level must be an integer in ${range.min}..${range.max}`);
  }
  return { family: f, level: n };
}

let zstdReady: Promise<void> | null = null;
function zstdInit(): Promise<void> {
  zstdReady ??= zstd.init();
  return zstdReady;
}

export async function compress(spec: string, data: Uint8Array): Promise<Uint8Array> {
  const { family, level } = parseCompression(spec);
  switch (family) {
    case "zstd":
      await zstdInit();
      return zstd.compress(data, level!);
    case "gz":
      return new Uint8Array(zlib.gzipSync(data, { level: level! }));
    case "br":
      return new Uint8Array(zlib.brotliCompressSync(data, {
        params: { [zlib.constants.BROTLI_PARAM_QUALITY]: level!, [zlib.constants.BROTLI_PARAM_LGWIN]: 22 },
      }));
    case "snappy":
      return new Uint8Array(snappy.compress(Buffer.from(data)));
    case "bz2":
      throw new Error("bz2 compression can be read but not written here (no practical pure-JS bzip2 compressor); use zstd, gz, br or snappy");
  }
}

/** Raw bytes a stream may decompress to when the caller gives no bound. */
const UNBOUNDED_DEFAULT = 1 << 30;

function tooBig(max: number): Error {
  return new Error(`decompresses to more than the ${max} bytes index.json declares`);
}

/*
 * The bounded decoders write into one buffer of the declared size, allocated up front: the memory
 * is only committed as it is written, so a stream that stops early costs what it produced, and a
 * complete one is never copied again.
 */

/** Runs a zlib stream over `data` into a buffer of at most `max` bytes, stopping as soon as it would pass it. */
function zlibBounded(stream: zlib.Gunzip | zlib.BrotliDecompress, data: Uint8Array, max: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const out = new Uint8Array(max);
    let n = 0;
    stream.on("data", (c: Buffer) => {
      if (n + c.length > max) {
        stream.destroy();
        reject(tooBig(max));
        return;
      }
      out.set(c, n);
      n += c.length;
    });
    stream.on("error", reject);
    stream.on("end", () => resolve(out.subarray(0, n)));
    stream.end(data);
  });
}

/** bzip2 through seek-bzip, writing into a buffer of `max` bytes and stopping at the first byte beyond. */
function bunzipBounded(data: Uint8Array, max: number): Uint8Array {
  const out = new Uint8Array(max);
  let pos = 0;
  const sink = {
    writeByte(b: number) {
      if (pos >= max) throw tooBig(max);
      out[pos++] = b;
    },
  };
  Bunzip.decode(Buffer.from(data.buffer, data.byteOffset, data.byteLength), sink);
  return out.subarray(0, pos);
}

/** One zstd frame into at most `max` bytes (`capacity` when the frame does not say its size); the decoder must be loaded. */
function zstdBounded(data: Uint8Array, max: number, capacity: number): Uint8Array {
  const size = zstdFrameContentSize(data);
  if (size !== null && size > max) throw new Error(`frame claims ${size} bytes, more than the ${max} expected`);
  // ZSTD_decompress writes at most this capacity; past it, error 70 (dstSize_tooSmall).
  try {
    return zstd.decompress(data, { defaultHeapSize: Math.max(1, capacity) });
  } catch (e) {
    if (/code -70\b/.test((e as Error).message)) throw tooBig(max);
    throw new Error(String((e as Error).message).replace("Failed to compress", "zstd error"));
  }
}

/**
 * A synchronous zstd decoder with `decompress`'s bounds, for APIs that take one (parquet pages):
 * `decode(data, maxBytes)` gives at most `maxBytes` bytes and throws past them. Resolves once the
 * WebAssembly decoder is loaded.
 */
export async function zstdDecoder(): Promise<(data: Uint8Array, maxBytes: number) => Uint8Array> {
  await zstdInit();
  return (data, maxBytes) => zstdBounded(data, maxBytes, maxBytes);
}

/**
 * Decompress; `file` names the shard in any error. `maxBytes` (the raw size index.json promises)
 * bounds the output of every codec, so a damaged or hostile stream cannot claim or produce more:
 * each one stops at the first byte past it.
 */
export async function decompress(spec: string, data: Uint8Array, file: string, maxBytes?: number): Promise<Uint8Array> {
  const { family } = parseCompression(spec);
  const max = maxBytes ?? UNBOUNDED_DEFAULT;
  try {
    switch (family) {
      case "zstd":
        await zstdInit();
        return zstdBounded(data, max, maxBytes ?? 1024 * 1024);
      case "gz":
        return await zlibBounded(zlib.createGunzip(), data, max);
      case "br":
        return await zlibBounded(zlib.createBrotliDecompress(), data, max);
      case "snappy":
        checkSnappyBlock(data, max);
        return new Uint8Array(snappy.uncompress(Buffer.from(data)));
      case "bz2":
        return bunzipBounded(data, max);
    }
  } catch (e) {
    throw new Error(`${file}: cannot decompress as ${family}: ${(e as Error).message ?? e}`);
  }
}
