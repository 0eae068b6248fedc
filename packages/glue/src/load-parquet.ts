import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { asyncBufferFromFile, parquetReadObjects, type Compressors } from "hyparquet";
import { dataError } from "./errors.js";
import type { GlueExample } from "./example.js";
import { exampleFromRecord } from "./record.js";
import { guardRow, type LoadOptions, type LoadedSplit, type SkippedRow } from "./split.js";
import type { TaskSpec } from "./tasks.js";

// hyparquet (pure JS) decodes UNCOMPRESSED and SNAPPY itself — what Hugging Face's parquet exports use.
// GZIP and BROTLI come from node:zlib. ZSTD, LZ4 and LZO are not available without native code on
// Node 20, so such files fail with an error that says how to convert them.
export const parquetCompressors: Compressors = {
  GZIP: (input) => new Uint8Array(gunzipSync(input)),
  BROTLI: (input) => new Uint8Array(brotliDecompressSync(input)),
};

/** Loads a Hugging Face `glue` split stored as parquet (`<split>-00000-of-00001.parquet`). Row numbers in errors are 1-based. */
export async function loadParquetSplit(task: TaskSpec, file: string, opts?: LoadOptions): Promise<LoadedSplit> {
  let rows: Record<string, unknown>[];
  try {
    const buf = await asyncBufferFromFile(file);
    rows = await parquetReadObjects({ file: buf, columns: [...task.textColumns, "label"], compressors: parquetCompressors });
  } catch (err) {
    const msg = (err as Error).message;
    const hint = /compression codec/.test(msg)
      ? "; supported codecs: UNCOMPRESSED, SNAPPY, GZIP, BROTLI — rewrite the file with one of them or export the split as jsonl (Dataset.to_json)"
      : `; expected a parquet file with columns ${[...task.textColumns, "label"].join(", ")}`;
    throw dataError(file, undefined, `${task.displayName}: cannot read parquet (${msg})${hint}`);
  }
  const skipped: SkippedRow[] = [];
  const examples: GlueExample[] = [];
  rows.forEach((rec, i) => {
    const ex = guardRow(opts, skipped, i + 1, () => exampleFromRecord(task, rec, file, i + 1));
    if (ex) examples.push(ex);
  });
  return { file, format: "parquet", examples, skipped };
}
