import { openParquet } from "@mosaicbert/data-streaming";
import { dataError } from "./errors.js";

export interface ParquetRecords {
  /** The top-level columns of the schema. */
  columns: string[];
  /** One object per row with the columns read (all, or those of `wanted` the file has; none: no rows). */
  records: Record<string, unknown>[];
}

/**
 * The rows of a parquet file (data-streaming's reader: every codec the common writers use, each page
 * bounded). Any failure — not parquet, a codec it does not know, a damaged page — is a GlueDataError
 * naming the file, `what` (e.g. "SST-2: ") and `expected`.
 */
export async function readParquetRecords(file: string, wanted: readonly string[] | undefined, what: string, expected: string): Promise<ParquetRecords> {
  try {
    const pq = await openParquet(file);
    const read = wanted ? wanted.filter((c) => pq.columns.includes(c)) : pq.columns;
    const records = read.length ? await pq.read(read, 0, pq.numRows) : [];
    return { columns: pq.columns, records };
  } catch (e) {
    const msg = (e as Error).message;
    const hint = /compression codec/.test(msg)
      ? "; supported codecs: UNCOMPRESSED, SNAPPY, GZIP, BROTLI, ZSTD, LZ4_RAW, LZ4 — rewrite the file with one of them or export it as jsonl"
      : `; ${expected}`;
    throw dataError(file, undefined, `${what}cannot read parquet (${msg})${hint}`);
  }
}
