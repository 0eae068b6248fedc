import { readFileSync } from "node:fs";
import { dataError } from "./errors.js";
import { parseLabel, type GlueExample } from "./example.js";
import { guardRow, type LoadOptions, type LoadedSplit, type SkippedRow } from "./split.js";
import { splitTsv } from "./tsv.js";
import type { TaskSpec } from "./tasks.js";

/**
 * Loads a train or dev file of the original GLUE TSV distribution. Columns are found by header name
 * (so MNLI's 12-column train and 16-column dev files both work) or, for CoLA's headerless files, by
 * position. A row whose field count differs from the header's, or whose label is unknown, is an error
 * naming the file and line (or skipped, with `onMalformed: "skip"`).
 */
export function loadTsvSplit(task: TaskSpec, file: string, opts?: LoadOptions): LoadedSplit {
  const rows = splitTsv(readFileSync(file, "utf8"));
  const layout = task.tsv;
  let names: readonly string[];
  let textIdx: number[];
  let labelIdx: number;
  let body = rows;
  if (layout.header) {
    const head = rows[0];
    if (!head) throw dataError(file, undefined, `${task.displayName}: empty file; expected a header line with columns ${[...layout.text, layout.label].join(", ")}`);
    names = head.fields;
    const find = (col: string): number => {
      const i = names.indexOf(col);
      if (i < 0) {
        throw dataError(file, head.line, `${task.displayName}: header has no column "${col}" (found: ${names.join(", ")}); expected the GLUE TSV layout with columns ${[...layout.text, layout.label].join(", ")}`);
      }
      return i;
    };
    textIdx = layout.text.map(find);
    labelIdx = find(layout.label);
    body = rows.slice(1);
  } else {
    names = layout.columnNames;
    textIdx = [...layout.text];
    labelIdx = layout.label;
  }
  const skipped: SkippedRow[] = [];
  const examples: GlueExample[] = [];
  for (const row of body) {
    const ex = guardRow(opts, skipped, row.line, () => {
      if (row.fields.length !== names.length) {
        throw dataError(file, row.line, `${task.displayName}: expected ${names.length} tab-separated fields (${names.join(", ")}), found ${row.fields.length}`);
      }
      const label = parseLabel(task, row.fields[labelIdx], file, row.line, names[labelIdx]!);
      const a = row.fields[textIdx[0]!]!;
      const b = textIdx.length > 1 ? row.fields[textIdx[1]!]! : undefined;
      return b === undefined ? { a, label } : { a, b, label };
    });
    if (ex) examples.push(ex);
  }
  return { file, format: "tsv", examples, skipped };
}
