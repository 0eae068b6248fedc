import type { GlueExample } from "./example.js";
import type { GlueDataError } from "./errors.js";

export type SplitFormat = "tsv" | "jsonl" | "parquet";

export interface LoadOptions {
  /**
   * What to do with a malformed row (wrong field count, unknown label, missing text): "error" (default)
   * throws a GlueDataError naming the file and line; "skip" drops the row and lists it in `skipped` —
   * what Hugging Face's `glue` builder does silently (e.g. QQP train id 133273, whose label is glued to
   * the question by a space).
   */
  onMalformed?: "error" | "skip";
}

export interface SkippedRow {
  line: number;
  reason: string;
}

/** The examples of one split file, in file order. */
export interface LoadedSplit {
  file: string;
  format: SplitFormat;
  examples: GlueExample[];
  skipped: SkippedRow[];
}

/** Runs `parse` for one row, applying the onMalformed policy. */
export function guardRow(
  opts: LoadOptions | undefined,
  skipped: SkippedRow[],
  line: number,
  parse: () => GlueExample,
): GlueExample | undefined {
  try {
    return parse();
  } catch (err) {
    if (opts?.onMalformed !== "skip" || (err as GlueDataError)?.name !== "GlueDataError") throw err;
    skipped.push({ line, reason: (err as Error).message });
    return undefined;
  }
}
