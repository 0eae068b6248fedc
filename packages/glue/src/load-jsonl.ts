import { readFileSync } from "node:fs";
import { dataError } from "./errors.js";
import type { GlueExample } from "./example.js";
import { exampleFromRecord } from "./record.js";
import { guardRow, type LoadOptions, type LoadedSplit, type SkippedRow } from "./split.js";
import type { TaskSpec } from "./tasks.js";

/** Loads a Hugging Face `glue` split exported as JSON lines (`Dataset.to_json`): one object per line. */
export function loadJsonlSplit(task: TaskSpec, file: string, opts?: LoadOptions): LoadedSplit {
  const lines = readFileSync(file, "utf8").split("\n");
  const skipped: SkippedRow[] = [];
  const examples: GlueExample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    if (text === "") continue;
    const line = i + 1;
    const ex = guardRow(opts, skipped, line, () => {
      let rec: unknown;
      try {
        rec = JSON.parse(text);
      } catch (err) {
        throw dataError(file, line, `${task.displayName}: not valid JSON (${(err as Error).message}); expected one JSON object per line`);
      }
      return exampleFromRecord(task, rec, file, line);
    });
    if (ex) examples.push(ex);
  }
  return { file, format: "jsonl", examples, skipped };
}
