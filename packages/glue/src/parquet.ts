import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema, snappyUncompress, type Compressors } from "hyparquet";
import { zstdDecoder } from "@mosaicbert/data-streaming";
import { dataError } from "./errors.js";
import { lz4HadoopDecompress, lz4RawDecompress } from "./lz4.js";

/** The most one page may hold once decompressed (pyarrow writes 1 MiB data pages; dictionaries are larger). */
export const MAX_PAGE_BYTES = 256 * 2 ** 20;

/** What all the pages of one file may decompress to together: 64 × the file, and at least 1 GiB. */
export function parquetBudget(fileBytes: number): number {
  return Math.max(2 ** 30, 64 * fileBytes);
}

type Codec = (input: Uint8Array, size: number) => Uint8Array;

/**
 * The page codecs, each bounded by the page header's uncompressed size (the file is a stranger's: a
 * page claiming more than MAX_PAGE_BYTES, pages claiming more than the budget in all, or data that
 * inflates past its claim are refused before the memory is taken). UNCOMPRESSED and every codec
 * pyarrow, polars, DuckDB and Spark write: SNAPPY, GZIP, BROTLI, ZSTD, LZ4_RAW and the older LZ4.
 * `needZstd` false: the ZSTD decoder is not loaded (and a ZSTD page is refused).
 */
export async function parquetCodecs(fileBytes: number, needZstd = true): Promise<Compressors> {
  // The WebAssembly decoder loads only for a file that has ZSTD pages.
  const zstd = needZstd ? await zstdDecoder() : () => { throw new Error("internal: a ZSTD page in a file whose column chunks did not say ZSTD"); };
  const budget = parquetBudget(fileBytes);
  let left = budget;
  const bounded = (name: string, decode: Codec): Codec => (input, size) => {
    if (size > MAX_PAGE_BYTES) throw new Error(`a ${name} page claims ${size} bytes once decompressed, more than the ${MAX_PAGE_BYTES} a page may hold`);
    if (size > left) throw new Error(`the pages claim more than ${budget} bytes once decompressed (64 × the file, at least 1 GiB)`);
    left -= size;
    return decode(input, size);
  };
  const zlibOptions = (size: number) => ({ maxOutputLength: Math.max(1, size) });
  return {
    SNAPPY: bounded("SNAPPY", (input, size) => {
      const out = new Uint8Array(size);
      snappyUncompress(input, out);
      return out;
    }),
    GZIP: bounded("GZIP", (input, size) => new Uint8Array(gunzipSync(input, zlibOptions(size)))),
    BROTLI: bounded("BROTLI", (input, size) => new Uint8Array(brotliDecompressSync(input, zlibOptions(size)))),
    ZSTD: bounded("ZSTD", (input, size) => zstd(input, size)),
    LZ4_RAW: bounded("LZ4_RAW", lz4RawDecompress),
    LZ4: bounded("LZ4", lz4HadoopDecompress),
  };
}

export interface ParquetRecords {
  /** The top-level columns of the schema. */
  columns: string[];
  /** One object per row with the columns read (all, or those of `wanted` the file has; none: no rows). */
  records: Record<string, unknown>[];
}

/**
 * The rows of a parquet file (BigInt values as numbers). Any failure — not parquet, a codec it does
 * not know, a damaged page — is a GlueDataError naming the file, `what` (e.g. "SST-2: ") and `expected`.
 */
export async function readParquetRecords(file: string, wanted: readonly string[] | undefined, what: string, expected: string): Promise<ParquetRecords> {
  try {
    const buf = await asyncBufferFromFile(file);
    const meta = await parquetMetadataAsync(buf);
    const columns = parquetSchema(meta).children.map((c) => c.element.name);
    const read = wanted ? wanted.filter((c) => columns.includes(c)) : columns;
    const zstd = meta.row_groups.some((g) => g.columns.some((c) => c.meta_data?.codec === "ZSTD"));
    const records = read.length ? await parquetReadObjects({ file: buf, columns: read, compressors: await parquetCodecs(buf.byteLength, zstd) }) : [];
    for (const values of records) for (const [k, v] of Object.entries(values)) if (typeof v === "bigint") values[k] = Number(v);
    return { columns, records };
  } catch (e) {
    const msg = (e as Error).message;
    const hint = /compression codec/.test(msg)
      ? "; supported codecs: UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD, LZ4_RAW, LZ4 — rewrite the file with one of them or export it as jsonl"
      : `; ${expected}`;
    throw dataError(file, undefined, `${what}cannot read parquet (${msg})${hint}`);
  }
}
