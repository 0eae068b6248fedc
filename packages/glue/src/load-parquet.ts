import { dataError } from "./errors.js";
import type { GlueExample } from "./example.js";
import { readParquetRecords } from "./parquet.js";
import { exampleFromRecord } from "./record.js";
import { guardRow, type LoadOptions, type LoadedSplit, type SkippedRow } from "./split.js";
import type { TaskSpec } from "./tasks.js";

/** Loads a Hugging Face `glue` split stored as parquet (`<split>-00000-of-00001.parquet`). Row numbers in errors are 1-based. */
export async function loadParquetSplit(task: TaskSpec, file: string, opts?: LoadOptions): Promise<LoadedSplit> {
  const wanted = [...task.textColumns, "label"];
  const { columns, records } = await readParquetRecords(file, wanted, `${task.displayName}: `, `expected a parquet file with columns ${wanted.join(", ")}`);
  const missing = task.textColumns.filter((c) => !columns.includes(c));
  if (missing.length) throw dataError(file, undefined, `${task.displayName}: no column ${missing.join(", ")} (columns: ${columns.join(", ")}); expected a parquet file with columns ${wanted.join(", ")}`);
  const skipped: SkippedRow[] = [];
  const examples: GlueExample[] = [];
  records.forEach((rec, i) => {
    const ex = guardRow(opts, skipped, i + 1, () => exampleFromRecord(task, rec, file, i + 1));
    if (ex) examples.push(ex);
  });
  return { file, format: "parquet", examples, skipped };
}
