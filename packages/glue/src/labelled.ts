import { basename } from "node:path";
import { dataError } from "./errors.js";
import type { GlueExample } from "./example.js";
import { readTable, tableFormat, type Table, type TableFormat, type TableRow } from "./read-table.js";
import type { LabelSpace } from "./tasks.js";

/** Column names tried, in order, when no column flag is given. */
export const DEFAULT_TEXT_COLUMNS = ["text", "sentence", "sentence1"] as const;
export const DEFAULT_PAIR_COLUMNS = ["text_pair", "sentence2"] as const;
export const DEFAULT_LABEL_COLUMN = "label";

export interface LabelledOptions {
  /** Default: the first of text, sentence, sentence1 the training file has. */
  textColumn?: string;
  /** Second text of a pair. Default: text_pair or sentence2 when the file has one; null = single texts. */
  textPairColumn?: string | null;
  /** Default "label". */
  labelColumn?: string;
  /** "auto" (default): regression when every label is a number and some are not integers, else classification. */
  task?: "auto" | "classification" | "regression";
  /** Class names in id order (classification): every label must be one of them. Default: the training labels, sorted. */
  labels?: readonly string[];
  /** csv, tsv, jsonl or parquet; default from each file's extension. */
  format?: string;
}

export interface LabelledSplit {
  file: string;
  format: TableFormat;
  examples: GlueExample[];
}

export interface LabelledFiles {
  space: LabelSpace;
  columns: { text: string; pair: string | null; label: string };
  train: LabelledSplit;
  eval: LabelledSplit;
}

const INT = /^[+-]?\d+(\.0*)?$/;

function show(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** "true" / "false" in any case (pandas writes True / False): the booleans' one spelling. */
const BOOL = /^(true|false)$/i;

/**
 * A label cell as text: strings trimmed, numbers and booleans spelled out (booleans, and "True" /
 * "FALSE" / … strings, as "true" / "false", so files from different writers agree); empty, missing,
 * null or NaN (how pandas and pyarrow write a missing float) is an error, and so is ±Infinity.
 */
function labelText(file: string, row: TableRow, column: string): string {
  const v = row.values[column];
  if (v === undefined) throw dataError(file, row.line, `column "${column}" is missing; expected a label in every row`);
  if (typeof v === "number" && Number.isNaN(v)) throw dataError(file, row.line, `column "${column}" is NaN (a missing value); expected a label (a class name, an integer or a number) in every row`);
  if (typeof v === "number" && !Number.isFinite(v)) throw dataError(file, row.line, `column "${column}" is ${v}; expected a label (a class name, an integer or a finite number)`);
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number") return String(v);
  if (typeof v === "string" && BOOL.test(v.trim())) return v.trim().toLowerCase();
  if (typeof v !== "string" || v.trim() === "") throw dataError(file, row.line, `column "${column}" is ${v === null ? "null" : typeof v === "string" ? "empty" : typeof v}; expected a label (a class name, an integer or a number)`);
  return v.trim();
}

function textCell(file: string, row: TableRow, column: string): string {
  const v = row.values[column];
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  throw dataError(file, row.line, `column "${column}" is ${v === undefined ? "missing" : v === null ? "null" : typeof v}; expected a text`);
}


function need(t: Table, column: string, flag: string): void {
  // jsonl rows may differ in keys: a missing key is reported on its own line instead.
  if (t.format === "jsonl" || t.columns.includes(column)) return;
  throw dataError(t.file, t.headerLine, `no column "${column}" (columns: ${t.columns.join(", ")}); expected one, or name the column with ${flag}`);
}

function pickColumns(t: Table, o: LabelledOptions): LabelledFiles["columns"] {
  const text = o.textColumn ?? DEFAULT_TEXT_COLUMNS.find((c) => t.columns.includes(c));
  if (text === undefined) {
    throw dataError(t.file, t.headerLine, `no text column: none of ${DEFAULT_TEXT_COLUMNS.join(", ")} among the columns (${t.columns.join(", ")}); name it with --text-column`);
  }
  const pair = o.textPairColumn === undefined ? (DEFAULT_PAIR_COLUMNS.find((c) => t.columns.includes(c) && c !== text) ?? null) : o.textPairColumn;
  const label = o.labelColumn ?? DEFAULT_LABEL_COLUMN;
  need(t, text, "--text-column");
  if (pair !== null) need(t, pair, "--text-pair-column");
  need(t, label, "--label-column");
  return { text, pair, label };
}

function examplesOf(t: Table, cols: LabelledFiles["columns"], label: (row: TableRow) => number): GlueExample[] {
  return t.rows.map((row) => {
    const a = textCell(t.file, row, cols.text);
    const y = label(row);
    return cols.pair === null ? { a, label: y } : { a, b: textCell(t.file, row, cols.pair), label: y };
  });
}

/**
 * Reads a training and an evaluation file of labelled texts (single texts or pairs) and works out the
 * task: classification — class names kept as written ("positive", "3"), ids in sorted order (numeric
 * order for integers) unless `labels` fixes them — or regression (float targets). An eval label the
 * training file does not have is an error naming the eval file and line. Boolean labels (JSON / parquet
 * booleans, and "True" / "false" / … in CSV or TSV) are the classes "false" and "true" whatever the
 * writer. A missing label (empty, null, or NaN as pandas and pyarrow write a missing float) or ±Infinity
 * is an error naming the file, row and column. Parquet files are read for the columns used only.
 */
export async function loadLabelledFiles(trainFile: string, evalFile: string, o: LabelledOptions = {}): Promise<LabelledFiles> {
  // Parquet: the schema first, then only the columns used (a nested column nobody reads is no error).
  const parquet = tableFormat(trainFile, o.format) === "parquet";
  let train = await readTable(trainFile, { format: o.format, columns: parquet ? [] : undefined });
  const cols = pickColumns(train, o);
  const wanted = [cols.text, ...(cols.pair ? [cols.pair] : []), cols.label];
  if (parquet) train = await readTable(trainFile, { format: o.format, columns: wanted });
  const evalT = await readTable(evalFile, { format: o.format, columns: wanted });
  need(evalT, cols.text, "--text-column");
  if (cols.pair !== null) need(evalT, cols.pair, "--text-pair-column");
  need(evalT, cols.label, "--label-column");
  if (train.rows.length === 0) throw dataError(trainFile, undefined, "no rows after the header; expected one row per training example");
  if (evalT.rows.length === 0) throw dataError(evalFile, undefined, "no rows after the header; expected one row per evaluation example");

  const rawTrain = train.rows.map((r) => labelText(trainFile, r, cols.label));
  const numeric = rawTrain.every((s) => s !== "" && Number.isFinite(Number(s)));
  const task = o.task ?? "auto";
  const regression = task === "regression" || (task === "auto" && o.labels === undefined && numeric && rawTrain.some((s) => !INT.test(s)));
  const base = { displayName: basename(trainFile) };
  if (regression) {
    const score = (file: string) => (row: TableRow): number => {
      const s = labelText(file, row, cols.label);
      const v = Number(s);
      if (!Number.isFinite(v)) throw dataError(file, row.line, `column "${cols.label}" is ${show(s)}; expected a number (regression target)`);
      return v;
    };
    return {
      space: { ...base, kind: "regression", numLabels: 1, labelNames: [], scoreMetrics: ["spearman"], extraMetrics: ["pearson"] },
      columns: cols,
      train: { file: trainFile, format: train.format, examples: examplesOf(train, cols, score(trainFile)) },
      eval: { file: evalFile, format: evalT.format, examples: examplesOf(evalT, cols, score(evalFile)) },
    };
  }
  // Integer labels are one class each whatever their spelling ("1", "1.0", 1).
  const allInt = rawTrain.every((s) => INT.test(s));
  const key = (s: string): string => (allInt && INT.test(s) ? String(Number(s)) : s);
  let names: string[];
  if (o.labels) {
    // Boolean class names in the one spelling the labels are read in.
    names = o.labels.map((n) => (BOOL.test(n.trim()) ? n.trim().toLowerCase() : n));
    if (new Set(names).size !== names.length || names.length < 2) throw new Error(`--labels: expected two or more distinct class names, got ${names.join(",")}`);
  } else {
    names = [...new Set(rawTrain.map(key))].sort(allInt ? (a, b) => Number(a) - Number(b) : (a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (names.length < 2) {
      throw dataError(trainFile, undefined, `column "${cols.label}" holds a single label (${show(names[0])}); classification needs two or more classes (or pass --task regression)`);
    }
  }
  const ids = new Map(names.map((n, i) => [n, i]));
  const classOf = (file: string, what: string) => (row: TableRow): number => {
    const s = labelText(file, row, cols.label);
    const id = ids.get(key(s)) ?? ids.get(s);
    if (id === undefined) {
      const list = names.length > 12 ? `${names.slice(0, 12).map(show).join(", ")}, …` : names.map(show).join(", ");
      throw dataError(file, row.line, `column "${cols.label}": unknown label ${show(s)}; ${what} ${list}${o.labels ? "" : " (list every class with --labels)"}`);
    }
    return id;
  };
  return {
    space: { ...base, kind: "classification", numLabels: names.length, labelNames: names, scoreMetrics: ["accuracy"], extraMetrics: ["macro_f1"] },
    columns: cols,
    train: { file: trainFile, format: train.format, examples: examplesOf(train, cols, classOf(trainFile, "expected one of --labels")) },
    eval: { file: evalFile, format: evalT.format, examples: examplesOf(evalT, cols, classOf(evalFile, o.labels ? "expected one of --labels" : "the training file's labels are")) },
  };
}
