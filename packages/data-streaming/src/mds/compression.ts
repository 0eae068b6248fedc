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

/**
 * Decompress; `file` names the shard in any error. `maxBytes` (the raw size index.json promises)
 * bounds the output, so a damaged or hostile stream cannot claim gigabytes.
 */
export async function decompress(spec: string, data: Uint8Array, file: string, maxBytes?: number): Promise<Uint8Array> {
  const { family } = parseCompression(spec);
  const limit = maxBytes === undefined ? undefined : { maxOutputLength: Math.max(1, maxBytes) };
  try {
    switch (family) {
      case "zstd": {
        const size = zstdFrameContentSize(data);
        if (size !== null && maxBytes !== undefined && size > maxBytes) throw new Error(`frame claims ${size} bytes, more than the ${maxBytes} expected`);
        await zstdInit();
        return zstd.decompress(data, { defaultHeapSize: maxBytes ?? 1024 * 1024 });
      }
      case "gz":
        return new Uint8Array(zlib.gunzipSync(data, limit));
      case "br":
        return new Uint8Array(zlib.brotliDecompressSync(data, limit));
      case "snappy":
        checkSnappyBlock(data, maxBytes ?? 2 ** 32);
        return new Uint8Array(snappy.uncompress(Buffer.from(data)));
      case "bz2":
        return new Uint8Array(Bunzip.decode(Buffer.from(data)));
    }
  } catch (e) {
    throw new Error(`${file}: cannot decompress as ${family}: ${(e as Error).message ?? e}`);
  }
}
