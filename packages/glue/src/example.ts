import { dataError } from "./errors.js";
import type { TaskSpec } from "./tasks.js";

/** One labelled example: one text (CoLA, SST-2) or a pair, and a class id or (STS-B) a score. */
export interface GlueExample {
  a: string;
  b?: string;
  label: number;
}

const INT = /^-?\d+$/;

/**
 * A label as written in a file → class id (or score). Classification accepts the Hugging Face class
 * name ("entailment") or the id ("0", 0); anything else — including −1, the label of unlabelled
 * test rows — is an error naming the file and line. STS-B scores must be numbers in [0, 5].
 */
export function parseLabel(task: TaskSpec, raw: unknown, file: string, line: number, column: string): number {
  if (task.kind === "regression") {
    const v = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
    if (!Number.isFinite(v) || v < 0 || v > 5) {
      throw dataError(file, line, `${task.displayName}: column "${column}" is ${show(raw)}; expected a similarity score between 0 and 5`);
    }
    return v;
  }
  if (typeof raw === "string") {
    const byName = task.labelNames.indexOf(raw);
    if (byName >= 0) return byName;
    if (INT.test(raw)) return classId(task, Number(raw), raw, file, line, column);
  } else if (typeof raw === "number" && Number.isInteger(raw)) {
    return classId(task, raw, raw, file, line, column);
  }
  throw dataError(file, line, `${task.displayName}: unknown label ${show(raw)} in column "${column}"; ${expected(task)}`);
}

function classId(task: TaskSpec, id: number, raw: unknown, file: string, line: number, column: string): number {
  if (id >= 0 && id < task.numLabels) return id;
  const hint = id === -1 ? " (−1 marks an unlabelled test row; use the train and validation splits)" : "";
  throw dataError(file, line, `${task.displayName}: unknown label ${show(raw)} in column "${column}"${hint}; ${expected(task)}`);
}

function expected(task: TaskSpec): string {
  const ids = task.labelNames.map((_, i) => i).join(", ");
  return `expected one of ${task.labelNames.map((n) => `"${n}"`).join(", ")} or an id ${ids}`;
}

function show(v: unknown): string {
  if (v === undefined) return "missing";
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}
