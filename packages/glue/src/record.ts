import { dataError } from "./errors.js";
import { parseLabel, type GlueExample } from "./example.js";
import type { TaskSpec } from "./tasks.js";

/**
 * One row of a Hugging Face `glue` export (jsonl line or parquet row) → an example. The columns are
 * the dataset's: the task's text columns (e.g. `premise`, `hypothesis`) and `label`; others (`idx`)
 * are ignored.
 */
export function exampleFromRecord(task: TaskSpec, rec: unknown, file: string, line: number): GlueExample {
  if (rec === null || typeof rec !== "object" || Array.isArray(rec)) {
    throw dataError(file, line, `${task.displayName}: expected an object with columns ${[...task.textColumns, "label"].join(", ")}`);
  }
  const r = rec as Record<string, unknown>;
  const texts = task.textColumns.map((col) => {
    const v = r[col];
    if (typeof v !== "string") {
      throw dataError(file, line, `${task.displayName}: column "${col}" is ${v === undefined ? "missing" : typeof v}; expected a string (Hugging Face glue/${task.name} columns: ${[...task.textColumns, "label"].join(", ")})`);
    }
    return v;
  });
  let raw = r.label;
  if (typeof raw === "bigint") raw = Number(raw); // parquet INT64
  if (raw === undefined) throw dataError(file, line, `${task.displayName}: column "label" is missing`);
  const label = parseLabel(task, raw, file, line, "label");
  return texts.length > 1 ? { a: texts[0]!, b: texts[1]!, label } : { a: texts[0]!, label };
}
